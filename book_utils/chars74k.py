"""Chars74k handwritten characters (``EnglishHnd``): the real images when available, else a rendered stand-in.

Introduced in Chapter 2.2 (book §2.1.4). The real set has 62 classes (``0-9``, ``A-Z``, ``a-z``), 55 images
each, stored as ``English/Hnd/Img/Sample001 ... Sample062/img001-001.png ...``. :func:`load_chars74k` looks
for it in ``<data_dir>/chars74k`` (extracted by hand, or downloaded and unpacked by
:mod:`book_utils.download` when the network is allowed). Otherwise it writes a deterministic stand-in in the
same folder layout under ``<data_dir>/chars74k-standin``: each glyph is rendered with one of the TTF fonts
that ship with matplotlib, thickened, rotated, sheared, elastically bent, placed with lots of white space
and lightly speckled, so the book's binarize, crop, resize and HOG pipeline runs on it unchanged.
"""

from __future__ import annotations

import json
import shutil
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from book_utils.cache import build_once, file_lock
from book_utils.config import data_dir, is_offline

CHARS74K_CLASSES: tuple[str, ...] = tuple(string.digits + string.ascii_uppercase + string.ascii_lowercase)
"""The 62 classes in the order of the real folders: ``Sample001`` is ``0``, ``Sample011`` is ``A``, ``Sample037`` ``a``."""

URL = "http://www.ee.surrey.ac.uk/CVSSP/demos/chars74k/EnglishHnd.tgz"
STANDIN_VERSION = 2
STANDIN_WIDTH, STANDIN_HEIGHT = 128, 96  # the real images are 1200x900; 4:3 kept, 9x smaller
STANDIN_PER_CLASS = 40  # the real set has 55 writers per class
STANDIN_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
)


class Chars74kError(RuntimeError):
    """The Chars74k files are missing, incomplete or unreadable; the message says how to fix it."""


@dataclass
class Chars74k:
    """What :func:`load_chars74k` returns: images, integer labels and where they came from."""

    images: np.ndarray  # N x size x size uint8 grayscale, dark ink on white paper
    labels: np.ndarray  # N int64 indices into ``classes``
    classes: tuple[str, ...]  # the character of each label
    paths: list[Path]  # the PNG file of each image
    source: str  # "real" or "standin"
    root: Path  # the ``Img`` folder that was read

    def __len__(self) -> int:
        return len(self.labels)


def sample_folder(cls: str) -> str:
    """The real folder name of a class character, e.g. ``'A'`` -> ``'Sample011'``."""
    if cls not in CHARS74K_CLASSES:
        raise ValueError(f"{cls!r} is not a Chars74k class; the classes are 0-9, A-Z and a-z (one character each)")
    return f"Sample{CHARS74K_CLASSES.index(cls) + 1:03d}"


# ----------------------------------------------------------------------------------------------------------
# The stand-in generator


def _font_paths() -> list[Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [folder / name for name in STANDIN_FONTS if (folder / name).is_file()]
    if len(fonts) < 4:
        raise Chars74kError(f"Only {len(fonts)} of the stand-in fonts were found in {folder}; reinstall matplotlib.")
    return fonts


def _elastic(img: np.ndarray, rng: np.random.Generator, alpha: float, grid: int = 4) -> np.ndarray:
    """Bend ``img`` (float32, white = 1) with a smooth random displacement field of about ``alpha`` pixels."""
    import cv2

    h, w = img.shape
    coarse = rng.normal(0.0, alpha, size=(2, grid, grid)).astype(np.float32)
    dy, dx = (cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC) for c in coarse)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx + dx, yy + dy, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=1.0)


def render_glyph(cls: str, rng: np.random.Generator, fonts: list[Path], width: int = STANDIN_WIDTH,
                 height: int = STANDIN_HEIGHT) -> np.ndarray:
    """Draw one stand-in sample of character ``cls`` as a ``height x width`` uint8 image (ink 0, paper 255)."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = fonts[int(rng.integers(len(fonts)))]
    px = int(rng.integers(int(height * 0.45), int(height * 0.85)))  # glyph size: plenty of white space
    font = ImageFont.truetype(str(font_path), px)
    stroke = int(rng.choice([0, 0, 1, 1, 2]))  # pen width varies between writers
    side = 2 * px  # room for rotation and shear around the centred glyph
    glyph = Image.new("L", (side, side), 255)
    ImageDraw.Draw(glyph).text((px, px), cls, font=font, fill=0, anchor="mm", stroke_width=stroke, stroke_fill=0)
    box = Image.eval(glyph, lambda v: 255 - v).getbbox()
    if box is None:
        raise Chars74kError(f"font {font_path.name} drew nothing for {cls!r}")
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    # One affine map around the glyph's centre: rotation, shear and an uneven stretch.
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    sx, sy = rng.uniform(0.8, 1.15), rng.uniform(0.85, 1.15)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    fwd = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    inv = np.linalg.inv(fwd)
    out_c = np.array([glyph.width / 2, glyph.height / 2])
    offset = np.array([cx, cy]) - inv @ out_c
    coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
    glyph = glyph.transform(glyph.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR,
                            fillcolor=255)
    arr = np.asarray(glyph, dtype=np.float32) / 255.0
    ink = np.argwhere(arr < 0.99)
    (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0) + 1
    alpha = rng.uniform(0.5, 2.0) * px / 40
    m = int(3 * alpha) + 3  # room for the bending
    arr = arr[max(y0 - m, 0):y1 + m, max(x0 - m, 0):x1 + m]
    arr = _elastic(arr, rng, alpha)
    ink = np.argwhere(arr < 0.5)
    if len(ink) == 0:
        raise Chars74kError(f"the distortions erased {cls!r} drawn with {font_path.name}")
    (y0, x0), (y1, x1) = ink.min(axis=0), ink.max(axis=0) + 1
    m = 2  # keep the anti-aliased rim
    y0, x0, y1, x1 = max(y0 - m, 0), max(x0 - m, 0), min(y1 + m, arr.shape[0]), min(x1 + m, arr.shape[1])
    patch = arr[y0:y1, x0:x1]
    ph, pw = patch.shape
    if ph > height - 4 or pw > width - 4:  # too big after distortion: shrink to fit
        f = min((height - 4) / ph, (width - 4) / pw)
        small = Image.fromarray((patch * 255).astype(np.uint8)).resize(
            (max(1, int(pw * f)), max(1, int(ph * f))), Image.Resampling.BILINEAR)
        patch = np.asarray(small, dtype=np.float64) / 255.0
        ph, pw = patch.shape
    page = np.ones((height, width))
    top = int(rng.integers(2, height - ph - 1)) if height - ph - 1 > 2 else 0
    left = int(rng.integers(2, width - pw - 1)) if width - pw - 1 > 2 else 0
    page[top:top + ph, left:left + pw] = patch
    # Paper tone, sensor noise and a few specks of dirt.
    page = page * rng.uniform(0.88, 1.0) + rng.normal(0.0, rng.uniform(0.0, 0.05), page.shape)
    for _ in range(int(rng.integers(0, 4))):
        y, x = int(rng.integers(height)), int(rng.integers(width))
        # light specks (never lighter than the ink below them): binarizing at 0.5 removes them
        page[y:y + 2, x:x + 2] = np.minimum(page[y:y + 2, x:x + 2], rng.uniform(0.55, 0.85))
    return (np.clip(page, 0.0, 1.0) * 255).round().astype(np.uint8)


def _manifest(per_class: int, seed: int) -> dict:
    return {"generator": "book_utils.chars74k", "version": STANDIN_VERSION, "per_class": per_class,
            "seed": seed, "width": STANDIN_WIDTH, "height": STANDIN_HEIGHT, "fonts": list(STANDIN_FONTS)}


def write_standin(dest: Path, per_class: int = STANDIN_PER_CLASS, seed: int = 0) -> Path:
    """Render the stand-in into ``dest/English/Hnd/Img/SampleNNN/imgNNN-MMM.png`` (the real layout); returns ``dest``.

    Every image has its own random generator seeded by ``(seed, class, sample)``, so the files do not
    depend on the order they are written in.
    """
    from PIL import Image

    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    fonts = _font_paths()
    img_root = Path(dest) / "English" / "Hnd" / "Img"
    for k, cls in enumerate(CHARS74K_CLASSES):
        folder = img_root / sample_folder(cls)
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            rng = np.random.default_rng([seed, k, j])
            Image.fromarray(render_glyph(cls, rng, fonts)).save(folder / f"img{k + 1:03d}-{j + 1:03d}.png", compress_level=3)
    (Path(dest) / "standin.json").write_text(json.dumps(_manifest(per_class, seed), indent=1) + "\n")
    return Path(dest)


def standin_dir() -> Path:
    """Where the stand-in lives: ``<data_dir>/chars74k-standin``."""
    return data_dir() / "chars74k-standin"


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ensure_standin() -> Path:
    """Build the stand-in once (process-safe; rebuilt when the generator changed) and return its ``Img`` folder."""
    target = standin_dir()
    want = _manifest(STANDIN_PER_CLASS, 0)
    manifest = target / "standin.json"
    if target.exists() and _read_manifest(manifest) != want:
        # Written by another version of this module, or damaged: rebuild it, under the lock.
        with file_lock(target.with_name(target.name + ".lock")):
            if target.exists() and _read_manifest(manifest) != want:
                print(f"Chars74k: rebuilding the stand-in at {target} (it was made by another version)")
                shutil.rmtree(target)
    build_once(target, lambda tmp: write_standin(tmp, STANDIN_PER_CLASS, 0))
    return target / "English" / "Hnd" / "Img"


# ----------------------------------------------------------------------------------------------------------
# Finding and reading the real files


def _find_img_dir(base: Path) -> Path | None:
    """The ``Img`` folder under ``base`` (``base`` itself, or ``[EnglishHnd/]English/Hnd/Img`` below it)."""
    for cand in (base, base / "English" / "Hnd" / "Img", base / "EnglishHnd" / "English" / "Hnd" / "Img",
                 base / "Img"):
        if cand.is_dir() and any(cand.glob("Sample0[0-9][0-9]")):
            return cand
    return None


def _real_img_dir(base: Path, allow_download: bool) -> Path | None:
    found = _find_img_dir(base)
    if found is not None or not allow_download:
        return found
    archive = base / "EnglishHnd.tgz"
    if is_offline() and not archive.is_file():
        return None  # nothing to unpack and no network: go quietly to the stand-in
    from book_utils import download

    resource = download.register(download.Resource(
        name="chars74k-englishhnd",
        url=URL,
        sha256=None,  # unknown: the Chars74k site publishes no checksum
        filename="EnglishHnd.tgz",
        extract=True,
    ))
    unpacked = download.try_fetch(resource, dest_dir=base)
    return _find_img_dir(unpacked) if unpacked is not None else None


def _read(path: Path, size: int, source: str) -> np.ndarray:
    """Read one PNG as grayscale, shrink it to fit ``size x size`` and pad it with white paper."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            gray = im.convert("L")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        fix = (f"delete the folder {path.parents[4]} and run again to regenerate it" if source == "standin"
               else "extract EnglishHnd.tgz again")
        raise Chars74kError(f"Cannot read the Chars74k image {path}: {exc}. The file is damaged; {fix}.") from exc
    scale = min(size / gray.width, size / gray.height)
    w, h = max(1, round(gray.width * scale)), max(1, round(gray.height * scale))
    if (w, h) != gray.size:
        gray = gray.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = np.full((size, size), 255, dtype=np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    out[top:top + h, left:left + w] = np.asarray(gray)
    return out


def load_chars74k(
    size: int = 128,
    *,
    per_class: int | None = None,
    classes: Iterable[str] | None = None,
    source: str = "auto",
    root: Path | None = None,
    verbose: bool = True,
) -> Chars74k:
    """Load Chars74k ``EnglishHnd`` as grayscale images that fit a ``size x size`` square (aspect kept).

    ``source``: ``"auto"`` (real files, then a download when online, then the stand-in), ``"real"`` or
    ``"standin"``. ``per_class`` keeps the first N images of each class; ``classes`` picks a subset
    (labels then index into that subset). ``root`` replaces ``<data_dir>/chars74k`` as the place to look.
    No preprocessing beyond the resize: binarizing and cropping are the notebook's job.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 16:
        raise ValueError(f"size must be an int >= 16 (pixels), got {size!r}")
    if per_class is not None and (not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class must be a positive int or None, got {per_class!r}")
    if source not in ("auto", "real", "standin"):
        raise ValueError(f"source must be 'auto', 'real' or 'standin', got {source!r}")
    wanted = CHARS74K_CLASSES if classes is None else tuple(classes)
    for cls in wanted:
        sample_folder(cls)  # raises a clear ValueError for anything that is not a class
    if not wanted or len(set(wanted)) != len(wanted):
        raise ValueError(f"classes must be distinct Chars74k characters, got {wanted!r}")

    base = Path(root) if root is not None else data_dir() / "chars74k"
    img_dir = None
    if source in ("auto", "real"):
        img_dir = _real_img_dir(base, allow_download=True)
        if img_dir is None and source == "real":
            raise Chars74kError(
                f"The real Chars74k EnglishHnd images are not in {base}. Download {URL} and extract it there "
                f"(giving {base}/English/Hnd/Img/Sample001 ...), or unset BOOK_OFFLINE to let book_utils do it, "
                "or use source='auto' for the offline stand-in."
            )
    used = "real" if img_dir is not None else "standin"
    if img_dir is None:
        img_dir = ensure_standin()

    paths: list[Path] = []
    labels: list[int] = []
    for label, cls in enumerate(wanted):
        files = sorted((img_dir / sample_folder(cls)).glob("*.png"))
        if not files:
            fix = (f"delete {img_dir.parents[2]} to regenerate the stand-in" if used == "standin"
                   else "the download or extraction was incomplete: extract EnglishHnd.tgz again")
            raise Chars74kError(f"No PNG images for class {cls!r} in {img_dir / sample_folder(cls)}; {fix}.")
        files = files[:per_class] if per_class is not None else files
        paths += files
        labels += [label] * len(files)
    images = np.stack([_read(p, size, used) for p in paths])
    if verbose:
        what = ("real EnglishHnd images" if used == "real"
                else "offline stand-in (glyphs rendered with matplotlib's fonts and distorted; see data/README.md)")
        print(f"Chars74k: {what}, {len(paths)} images of {len(wanted)} classes, from {img_dir}")
    return Chars74k(images=images, labels=np.asarray(labels, dtype=np.int64), classes=wanted, paths=paths,
                    source=used, root=img_dir)
