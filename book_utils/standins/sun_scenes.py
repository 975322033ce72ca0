"""The book's "sun on a sky" detection and segmentation scenes (chapters 5 and 6), generated as the book does.

The book pastes 1–3 copies of a hand-drawn sun (``img/sun.png``) onto about 1,500 sky photos: each sun
75–120 px on a 300×300 image, inside the image, never overlapping another, cut out of its white
background by the rule "mean of R, G, B below 250". Here the sun is drawn with PIL, the skies are
procedural (a gradient with soft clouds, sometimes a sea below the horizon) plus some crops of photos that
ship with scikit-image and scikit-learn, and scene ``i`` has its own random generator seeded by
``(seed, i)``, so any number of scenes is a prefix of a longer run. A folder of your own photos replaces the
backgrounds (the book used its own). Each scene is written in two real formats:

* the book's: ``object_detection/NNNN.jpg`` with ``NNNN.txt`` holding ``[(cx, cy, side), ...]`` in pixels,
  and ``segmentation/NNNN.png``, a 0/255 mask (the book saved masks as JPEG, which blurs them);
* Pascal VOC 2012's: ``VOCdevkit/VOC2012/`` with ``JPEGImages``, ``Annotations`` (XML, 1-based inclusive
  ``bndbox``), ``SegmentationClass`` and ``SegmentationObject`` (palette PNGs with a 255 "void" band along
  object edges, as in VOC) and ``ImageSets`` split as the book splits (``train_test_split(test_size=0.2,
  random_state=20)``), so ``torchvision.datasets.VOCDetection`` reads it.

Loaders: :mod:`book_utils.datasets.sun_scenes` (the book's layout, notebook 05-1) and
:mod:`book_utils.datasets.voc` (the VOC layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from book_utils._validate import require_int
from book_utils.standins import backgrounds
from book_utils.standins.draw import F32, pixel_centres, smooth_noise

VERSION = 1
SIZE = 300
SIDE = (75, 120)  # the book: object side / image side in [0.25, 0.4] of 300 px
COUNTS = (1, 2, 3)
PHOTO_SHARE = 0.15  # share of scenes on a crop of a bundled photo instead of a drawn sky
SEA_SHARE = 0.3  # share of drawn skies with a sea below the horizon
CLASSES = ("background", "sun")


@lru_cache(maxsize=1)
def draw_sun(size: int = 240) -> np.ndarray:
    """The sun the scenes paste: a smiling disc with twelve rays on white, uint8 ``size``×``size``×3."""
    from PIL import Image, ImageDraw

    big = 4 * size  # draw large, then shrink: smooth edges
    img = Image.new("RGB", (big, big), (255, 255, 255))
    d = ImageDraw.Draw(img)
    c, r_disc, r_in, r_out = big / 2, 0.3 * big, 0.34 * big, 0.49 * big
    for k in range(12):  # rays: thin triangles between the disc and the edge
        a = 2 * np.pi * k / 12
        half = np.pi / 24
        tip = (c + r_out * np.cos(a), c + r_out * np.sin(a))
        left = (c + r_in * np.cos(a - half), c + r_in * np.sin(a - half))
        right = (c + r_in * np.cos(a + half), c + r_in * np.sin(a + half))
        d.polygon([left, tip, right], fill=(245, 140, 20))
    d.ellipse([c - r_disc, c - r_disc, c + r_disc, c + r_disc], fill=(255, 205, 30), outline=(230, 120, 10),
              width=big // 60)
    eye = 0.035 * big
    for ex in (c - 0.1 * big, c + 0.1 * big):
        d.ellipse([ex - eye, c - 0.1 * big - eye, ex + eye, c - 0.1 * big + eye], fill=(90, 50, 10))
    d.arc([c - 0.16 * big, c - 0.1 * big, c + 0.16 * big, c + 0.16 * big], 20, 160, fill=(90, 50, 10),
          width=big // 45)
    return np.asarray(img.resize((size, size), resample=3))  # 3 = LANCZOS


def cut_out(rgb: np.ndarray) -> np.ndarray:
    """The book's rule for the object's pixels: the mean of R, G and B is below 250 (not white)."""
    return np.asarray(rgb, dtype=np.float32).mean(axis=2) < 250


@lru_cache(maxsize=1)
def bundled_photos() -> tuple[np.ndarray, ...]:
    """Colour photos that ship with scikit-image and scikit-learn (no download): backgrounds for some scenes."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    photos += [load_sample_image("china.jpg"), load_sample_image("flower.jpg")]
    return tuple(np.ascontiguousarray(p[..., :3]) for p in photos)


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((size, size), resample=2))  # 2 = BILINEAR


def background(rng: np.random.Generator, photos: Sequence[np.ndarray] = (), size: int = SIZE,
               index: int = 0) -> np.ndarray:
    """A uint8 background. With your ``photos``: photo ``index % len(photos)`` resized to ``size`` (the book
    pastes one scene on each of its photos). Without: a crop of a bundled photo (probability
    :data:`PHOTO_SHARE`), else a drawn sky with clouds, with a sea below the horizon sometimes."""
    if photos:
        return _resize(np.ascontiguousarray(photos[index % len(photos)][..., :3]), size)
    if rng.random() < PHOTO_SHARE:
        pool = bundled_photos()  # loaded only when a scene needs one
        photo = pool[int(rng.integers(len(pool)))]
        h, w = photo.shape[:2]
        side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        return _resize(photo[top:top + side, left:left + side], size)
    horizon = np.array([rng.uniform(0.1, 0.4) * size], dtype=F32)  # frame centre at 0: the lower half
    painter = backgrounds.water if rng.random() < SEA_SHARE else backgrounds.sky
    img = painter(rng, 1, size, horizon, ())[0]
    # blurred-noise clouds: two octaves of smooth noise, thresholded softly, kept above the horizon
    field = smooth_noise(rng, 1, 5, size)[0] + F32(0.5) * smooth_noise(rng, 1, 17, size)[0]
    cover = np.clip((field - rng.uniform(0.2, 0.9)) / F32(0.35), 0, 1) * F32(rng.uniform(0.3, 0.9))
    rows = pixel_centres(size)[:, None]
    cover = cover * np.clip((horizon[0] - rows) / F32(4), 0, 1) if painter is backgrounds.water else cover
    img = img + (F32(0.93) - img) * cover[..., None]
    img = img + rng.normal(0, 0.01, img.shape).astype(F32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def place(rng: np.random.Generator, size: int = SIZE) -> list[tuple[int, int, int]]:
    """The book's placement: 1–3 squares ``(cx, cy, side)``, side 75–120, inside the image, not overlapping."""
    count = int(rng.choice(COUNTS))
    boxes: list[tuple[int, int, int]] = []
    while len(boxes) < count:
        side = int(rng.integers(SIDE[0], SIDE[1] + 1))
        cx, cy = int(rng.integers(0, size)), int(rng.integers(0, size))
        left, top = cx - side / 2, cy - side / 2
        if left < 0 or top < 0 or left + side > size or top + side > size:
            continue
        if any(abs(cx - bx) < (side + bs) / 2 and abs(cy - by) < (side + bs) / 2 for bx, by, bs in boxes):
            continue  # axis-aligned overlap with an earlier sun
        boxes.append((cx, cy, side))
    return boxes


def render_scene(index: int, seed: int = 0, photos: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, list, np.ndarray]:
    """Scene ``index``: the uint8 300×300×3 image, its ``[(cx, cy, side), ...]`` and an instance map (uint8,
    0 = background, k = the k-th sun). Each sun is resized from the pristine drawing (the book resized the
    same image over and over, blurring it a little more each time)."""
    from PIL import Image

    rng = np.random.default_rng([require_int("seed", seed, 0), require_int("index", index, 0)])
    img = background(rng, photos, index=index).copy()
    instances = np.zeros(img.shape[:2], dtype=np.uint8)
    boxes = place(rng)
    sun = draw_sun()
    for k, (cx, cy, side) in enumerate(boxes, 1):
        small = np.asarray(Image.fromarray(sun).resize((side, side), resample=3))
        mask = cut_out(small)
        left, top, _, _ = pasted_square(cx, cy, side)
        img[top:top + side, left:left + side][mask] = small[mask]
        instances[top:top + side, left:left + side][mask] = k
    return img, boxes, instances


def book_split(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """The book's split of the sorted image names: ``train_test_split(test_size=0.2, random_state=20)``."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(sorted(ids), test_size=0.2, random_state=20)
    return list(train), list(test)


def pasted_square(cx: int, cy: int, side: int) -> tuple[int, int, int, int]:
    """The pixels a sun ``(cx, cy, side)`` was pasted on, as xyxy pixel edges: columns ``x0 .. x1 - 1``.

    (The book's label converts to corners ``cx ± side/2``, half a pixel off this when ``side`` is odd.)
    """
    left, top = int(cx - side / 2), int(cy - side / 2)
    return left, top, left + side, top + side


def write_sun_scenes(dest: Path, n: int, seed: int = 0, photos: Sequence[np.ndarray] = ()) -> dict:
    """Write scenes ``0 .. n-1`` into ``dest`` in the book's layout and in the VOC layout; returns facts.

    The JPEG is encoded once (quality 95) and written to both layouts, so both hold the same pixels.
    """
    import io

    from PIL import Image

    from book_utils.interactive import progress
    from book_utils.standins import voc_format

    n, seed = require_int("n", n, 2), require_int("seed", seed, 0)
    book_det, book_seg = Path(dest) / "object_detection", Path(dest) / "segmentation"
    book_det.mkdir(parents=True)
    book_seg.mkdir(parents=True)
    voc = voc_format.voc_root(Path(dest))
    ids = [f"{i:04d}" for i in range(n)]
    suns = 0
    for i, image_id in enumerate(progress(ids, desc="drawing sun scenes (once)", unit="scene", leave=False)):
        img, boxes, instances = render_scene(i, seed, photos)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=95)
        (book_det / f"{image_id}.jpg").write_bytes(buf.getvalue())
        (book_det / f"{image_id}.txt").write_text(str(boxes))
        Image.fromarray(np.where(instances > 0, 255, 0).astype(np.uint8)).save(book_seg / f"{image_id}.png")
        objects = [("sun", pasted_square(*b)) for b in boxes]
        voc_format.write_sample(voc, image_id, buf.getvalue(), objects, (instances > 0).astype(np.uint8),
                                instances, "book_utils sun scenes")
        suns += len(boxes)
    train, val = book_split(ids)
    voc_format.write_image_sets(voc, {"train": train, "val": val}, {"sun": set(ids)})
    return {"scenes": n, "suns": suns, "train": len(train), "val": len(val)}
