"""Sky scenes: a four-class flavour of the sun scenes for semantic and instance segmentation (chapter 6).

Suns, moons, balloons and kites (VOC colormap indices 1–4) on the same procedural skies and photo crops as
:mod:`book_utils.standins.sun_scenes`, 1–4 objects per image, 40–110 px, allowed to touch and overlap a
little (a later object hides part of an earlier one, so instance masks are what is visible). About one image
in twelve is smaller than 256 px on a side, so a "drop images smaller than the crop" filter (d2l's VOC
reader) has something to do. Written in the VOC layout only (:mod:`book_utils.standins.voc_format`), split
like the sun scenes; read by :func:`book_utils.datasets.voc.load_voc` with ``flavour="sky"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from book_utils._validate import require_int
from book_utils.standins.sun_scenes import background, book_split, draw_sun

VERSION = 1
CLASSES = ("background", "sun", "moon", "balloon", "kite")
SIZES = (40, 110)
COUNTS = (1, 2, 3, 4)
SMALL_SHARE = 1 / 12  # images smaller than a 256-px crop
MAX_OVERLAP = 0.15  # largest share of a new object's box that may cover earlier boxes


def _canvas(size: int) -> tuple:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img), 4 * size


def _finish(img: object, size: int) -> np.ndarray:
    return np.asarray(img.resize((size, size), resample=3))  # type: ignore[attr-defined]


@cache
def draw_object(kind: str, variant: int = 0, size: int = 200) -> np.ndarray:
    """One object as uint8 RGBA ``size``×``size`` (alpha = its mask); ``variant`` 0–3 changes colours."""
    if kind == "sun":
        rgb = draw_sun(size)
        alpha = np.where(rgb.astype(np.float32).mean(axis=2) < 250, 255, 0).astype(np.uint8)
        return np.dstack([rgb, alpha])
    img, d, big = _canvas(size)
    c = big / 2
    if kind == "moon":  # a crescent: a pale disc minus an offset disc, with two craters
        from PIL import Image, ImageChops, ImageDraw

        r = 0.45 * big
        disc = Image.new("L", (big, big), 0)
        ImageDraw.Draw(disc).ellipse([c - r, c - r, c + r, c + r], fill=255)
        bite = Image.new("L", (big, big), 0)
        shift = (0.35 + 0.1 * variant) * r
        ImageDraw.Draw(bite).ellipse([c - r + shift, c - r - 0.1 * r, c + r + shift, c + r - 0.1 * r], fill=255)
        mask = ImageChops.subtract(disc, bite)
        body = Image.new("RGBA", (big, big), (236, 232, 200, 255))
        img.paste(body, (0, 0), mask)
        for dy, cr in ((-0.15, 0.16), (0.3, 0.11)):  # craters, inside the crescent's thick part
            x, y, rr = c - r + 0.45 * shift, c + dy * r, cr * shift
            d.ellipse([x - rr, y - rr, x + rr, y + rr], fill=(205, 200, 172, 255))
    elif kind == "balloon":  # a party balloon: an egg shape, a highlight, a knot and a string
        colours = [(220, 40, 50), (40, 90, 210), (40, 170, 80), (230, 120, 200)]
        col = colours[variant % 4]
        d.ellipse([c - 0.3 * big, 0.05 * big, c + 0.3 * big, 0.72 * big], fill=(*col, 255))
        d.ellipse([c - 0.17 * big, 0.14 * big, c - 0.07 * big, 0.3 * big], fill=(255, 255, 255, 170))
        d.polygon([(c - 0.05 * big, 0.74 * big), (c + 0.05 * big, 0.74 * big), (c, 0.69 * big)], fill=(*col, 255))
        d.line([(c, 0.74 * big), (c - 0.06 * big, 0.85 * big), (c + 0.03 * big, 0.97 * big)], fill=(60, 60, 60, 255),
               width=big // 80)
    elif kind == "kite":  # a diamond with two sticks and a tail of bows
        colours = [(250, 200, 0), (0, 170, 200), (220, 60, 140), (120, 200, 60)]
        col = colours[variant % 4]
        top, left, right, bottom = (c, 0.03 * big), (0.22 * big, 0.36 * big), (0.78 * big, 0.36 * big), (c, 0.72 * big)
        d.polygon([top, right, bottom, left], fill=(*col, 255))
        d.line([top, bottom], fill=(90, 60, 30, 255), width=big // 70)
        d.line([left, right], fill=(90, 60, 30, 255), width=big // 70)
        d.line([bottom, (0.6 * big, 0.85 * big), (0.45 * big, 0.97 * big)], fill=(60, 60, 60, 255), width=big // 90)
        for t in (0.84, 0.93):
            x, y = 0.5 * big + (0.1 if t < 0.9 else -0.03) * big, t * big
            d.polygon([(x - 0.05 * big, y - 0.03 * big), (x + 0.05 * big, y + 0.03 * big),
                       (x + 0.05 * big, y - 0.03 * big), (x - 0.05 * big, y + 0.03 * big)], fill=(230, 30, 30, 255))
    else:
        raise ValueError(f"unknown object {kind!r}; use one of {CLASSES[1:]}")
    return _finish(img, size)


def render_sky_scene(index: int, seed: int = 0, photos: Sequence[np.ndarray] = ()
                     ) -> tuple[np.ndarray, list[tuple[int, tuple[int, int, int, int]]], np.ndarray]:
    """Scene ``index``: the uint8 image, its objects ``[(class index, (x0, y0, x1, y1) of the visible part),
    ...]`` and its instance map (uint8, k = the k-th object, 0 = background). Hidden objects are dropped."""
    from PIL import Image

    rng = np.random.default_rng([require_int("seed", seed, 0), require_int("index", index, 0), 6])
    img = background(rng, photos, index=index).copy()
    if rng.random() < SMALL_SHARE:  # a few images smaller than a 256-px crop
        h, w = int(rng.integers(180, 250)), int(rng.integers(180, 300))
        img = np.asarray(Image.fromarray(img).resize((w, h), resample=2)).copy()
    h, w = img.shape[:2]
    instances = np.zeros((h, w), dtype=np.uint8)
    placed: list[tuple[int, int, int, int, int]] = []
    for _ in range(int(rng.choice(COUNTS))):
        for _attempt in range(50):
            cls = int(rng.integers(1, len(CLASSES)))
            side = int(rng.integers(SIZES[0], min(SIZES[1], h, w) + 1))
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            covered = sum(max(0, min(x0 + side, bx1) - max(x0, bx0)) * max(0, min(y0 + side, by1) - max(y0, by0))
                          for _, bx0, by0, bx1, by1 in placed)
            if covered <= MAX_OVERLAP * side * side:
                break
        else:
            continue
        rgba = np.asarray(Image.fromarray(draw_object(CLASSES[cls], int(rng.integers(4)))).resize((side, side), 3))
        mask = rgba[..., 3] > 127
        img[y0:y0 + side, x0:x0 + side][mask] = rgba[..., :3][mask]
        instances[y0:y0 + side, x0:x0 + side][mask] = len(placed) + 1
        placed.append((cls, x0, y0, x0 + side, y0 + side))
    objects, final = [], np.zeros_like(instances)
    for k, (cls, *_box) in enumerate(placed, 1):
        ys, xs = np.nonzero(instances == k)
        if len(ys) < 20:  # almost hidden by later objects: not an object any more
            continue
        final[instances == k] = len(objects) + 1
        objects.append((cls, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)))
    return img, objects, final


def write_sky_scenes(dest: Path, n: int, seed: int = 0, photos: Sequence[np.ndarray] = ()) -> dict:
    """Write scenes ``0 .. n-1`` in the VOC layout under ``dest`` (split as the sun scenes); returns counts."""
    import io

    from PIL import Image

    from book_utils.interactive import progress
    from book_utils.standins import voc_format

    n = require_int("n", n, 2)
    voc = voc_format.voc_root(Path(dest))
    ids = [f"{i:04d}" for i in range(n)]
    present: dict[str, set[str]] = {c: set() for c in CLASSES[1:]}
    counts = dict.fromkeys(CLASSES[1:], 0)
    for i, image_id in enumerate(progress(ids, desc="drawing sky scenes (once)", unit="scene", leave=False)):
        img, objects, instances = render_sky_scene(i, seed, photos)
        class_map = np.zeros_like(instances)
        for k, (cls, _) in enumerate(objects, 1):
            class_map[instances == k] = cls
            present[CLASSES[cls]].add(image_id)
            counts[CLASSES[cls]] += 1
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=95)
        voc_format.write_sample(voc, image_id, buf.getvalue(), [(CLASSES[c], b) for c, b in objects], class_map,
                                instances, "book_utils sky scenes")
    train, val = book_split(ids)
    voc_format.write_image_sets(voc, {"train": train, "val": val}, present)
    return {"scenes": n, **counts}
