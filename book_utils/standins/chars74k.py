"""The Chars74k stand-in generator: handwriting-like glyphs in the real ``English/Hnd/Img`` folder layout.

Used by :mod:`book_utils.datasets.chars74k` (notebook 02-2) when the real images are not on disk. Each
glyph is rendered with one of the TTF fonts that ship with matplotlib, thickened, rotated, sheared,
elastically bent, placed with lots of white space and lightly speckled, so the book's binarize, crop,
resize and HOG pipeline runs on it unchanged.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

from book_utils._validate import require_int

CHARS74K_CLASSES: tuple[str, ...] = tuple(string.digits + string.ascii_uppercase + string.ascii_lowercase)
"""The 62 classes in the order of the real folders: ``Sample001`` is ``0``, ``Sample011`` is ``A``, ``Sample037`` ``a``."""

VERSION = 2
WIDTH, HEIGHT = 128, 96  # the real images are 1200x900; 4:3 kept, 9x smaller
PER_CLASS = 40  # the real set has 55 writers per class
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf",
)


def sample_folder(cls: str) -> str:
    """The real folder name of a class character, e.g. ``'A'`` -> ``'Sample011'``."""
    if cls not in CHARS74K_CLASSES:
        raise ValueError(f"{cls!r} is not a Chars74k class; the classes are 0-9, A-Z and a-z (one character each)")
    return f"Sample{CHARS74K_CLASSES.index(cls) + 1:03d}"


def font_paths() -> list[Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = [folder / name for name in FONTS if (folder / name).is_file()]
    if len(fonts) < 4:
        raise RuntimeError(f"Only {len(fonts)} of the stand-in fonts were found in {folder}; reinstall matplotlib.")
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


def render_glyph(cls: str, rng: np.random.Generator, fonts: list[Path], width: int = WIDTH,
                 height: int = HEIGHT) -> np.ndarray:
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
        raise RuntimeError(f"font {font_path.name} drew nothing for {cls!r}")
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
        raise RuntimeError(f"the distortions erased {cls!r} drawn with {font_path.name}")
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


def write_chars74k(dest: Path, per_class: int = PER_CLASS, seed: int = 0) -> dict:
    """Render ``per_class`` samples of every class into ``dest/English/Hnd/Img/SampleNNN/imgNNN-MMM.png``
    (the real layout); returns facts for the manifest.

    Every image has its own random generator seeded by ``(seed, class, sample)``, so the files do not
    depend on the order they are written in.
    """
    from PIL import Image

    from book_utils.interactive import progress

    per_class = require_int("per_class", per_class, 1)
    seed = require_int("seed", seed, 0)
    fonts = font_paths()
    img_root = Path(dest) / "English" / "Hnd" / "Img"
    bar = progress(CHARS74K_CLASSES, desc="Chars74k stand-in (once)", unit="class", leave=False)
    for k, cls in enumerate(bar):
        folder = img_root / sample_folder(cls)
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            rng = np.random.default_rng([seed, k, j])
            Image.fromarray(render_glyph(cls, rng, fonts)).save(folder / f"img{k + 1:03d}-{j + 1:03d}.png",
                                                                compress_level=3)
    return {"width": WIDTH, "height": HEIGHT, "fonts": [f.name for f in fonts]}
