"""The generator of the "1 vs 100" banknote image set (notebooks 03-3 and 03-6), apart from its loader.

It stands in for the course's RMB photo set (100 photos each of the 1-yuan and 100-yuan notes) and keeps
its lesson: in the ``train``/``valid``/``test`` splits the 1-notes are green and the 100-notes red, so
colour alone separates them; in ``test_new`` (a "new series") the colours are swapped, and only the drawn
denomination (one bar for 1, a bar and two rings for 100) still tells them apart. Both tints have the same
luminance, so a model that ignores colour (e.g. trained with ``RandomGrayscale``) is not fooled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from book_utils._validate import require_int

CLASSES = ("1", "100")
SPLITS = ("train", "valid", "test", "test_new")
VERSION = 3  # 3: written under data/standins with a manifest (images as in version 2)
_LUMA = np.array([0.299, 0.587, 0.114])
# Tints with equal luminance (0.299 R + 0.587 G + 0.114 B): green for the old 1-note, red for the old 100-note.
_TINTS = {"green": np.array([0.30, 0.62, 0.38]), "red": np.array([0.86, 0.40, 0.38])}


def _tint(name: str, brightness: float) -> np.ndarray:
    base = _TINTS[name]
    return np.clip(base * brightness / float(base @ _LUMA) * 0.55, 0, 1)


def render_banknote(value: str, tint: str, rng: np.random.Generator, size: tuple[int, int] = (48, 96)) -> Image.Image:
    """Draw one note photo: ``value`` is ``"1"`` or ``"100"``, ``tint`` ``"green"`` or ``"red"``; RGB, ``size`` (h, w)."""
    if value not in CLASSES:
        raise ValueError(f"value must be one of {CLASSES}, got {value!r}")
    if tint not in _TINTS:
        raise ValueError(f"tint must be one of {tuple(_TINTS)}, got {tint!r}")
    h, w = size
    if w < 16 or h < 8:
        raise ValueError(f"size {size} is too small; use at least (8, 16) (height, width)")
    scale = 4  # draw large, then shrink: smooth edges
    W, H = w * scale, h * scale
    table = tuple(int(v) for v in rng.uniform(90, 170, 3))
    img = Image.new("RGB", (W, H), table)
    note = Image.new("RGB", (int(W * 0.8), int(H * 0.74)))
    nw, nh = note.size
    paper = _tint(tint, rng.uniform(0.85, 1.15))
    arr = np.ones((nh, nw, 3)) * paper
    # faint guilloche stripes so the paper is not flat
    yy, xx = np.mgrid[0:nh, 0:nw]
    phase = rng.uniform(0, 2 * np.pi)
    arr *= 1 + 0.06 * np.sin(xx / rng.uniform(6, 14) + yy / rng.uniform(8, 20) + phase)[..., None]
    note = Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8))
    d = ImageDraw.Draw(note)
    ink = tuple(int(v * 255) for v in np.clip(paper * 0.35, 0, 1))
    d.rectangle([4, 4, nw - 5, nh - 5], outline=ink, width=4)
    # the denomination: a bar ("1") or a bar and two rings ("100"), in the left or right half
    left = rng.random() < 0.5
    gh = nh * rng.uniform(0.45, 0.6)
    x0 = nw * (rng.uniform(0.1, 0.2) if left else rng.uniform(0.5, 0.6))
    y0 = (nh - gh) / 2 + rng.uniform(-0.08, 0.08) * nh
    stroke = max(6, int(gh * 0.16))
    d.rectangle([x0, y0, x0 + stroke, y0 + gh], fill=ink)
    if value == "100":
        rw = gh * 0.5
        for k in range(2):
            cx = x0 + stroke * 2 + k * (rw + stroke)
            d.ellipse([cx, y0, cx + rw, y0 + gh], outline=ink, width=stroke)
    # an emblem on the other side, the same for both classes: a small filled diamond
    ex = nw * (0.8 if left else 0.2)
    er = nh * rng.uniform(0.1, 0.16)
    ey = nh / 2 + rng.uniform(-0.1, 0.1) * nh
    d.polygon([(ex - er, ey), (ex, ey - er), (ex + er, ey), (ex, ey + er)], fill=ink)
    angle = rng.uniform(-8, 8)
    note = note.convert("RGBA").rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    ox = int((W - note.size[0]) / 2 + rng.uniform(-0.06, 0.06) * W)
    oy = int((H - note.size[1]) / 2 + rng.uniform(-0.08, 0.08) * H)
    img.paste(note, (ox, oy), note)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img).astype(np.float32) * rng.uniform(0.8, 1.2) + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def write_banknotes(dest: Path, per_class: int = 100, n_new: int = 50, seed: int = 0,
                    size: tuple[int, int] = (48, 96)) -> dict:
    """Write the set into ``dest/<split>/<class>/*.png`` (an ImageFolder tree per split); returns the counts.

    ``per_class`` old-series notes per class are split 80/10/10 into train/valid/test; ``test_new`` holds
    ``n_new`` colour-swapped notes per class. Each (split, class) has its own seeded generator.
    """
    require_int("per_class (split 80/10/10)", per_class, 10)
    require_int("n_new", n_new, 1)
    n_per_class = per_class
    n_valid = max(1, n_per_class // 10)
    n_train = n_per_class - 2 * n_valid
    counts = {"train": n_train, "valid": n_valid, "test": n_valid, "test_new": n_new}
    old = {"1": "green", "100": "red"}
    new = {"1": "red", "100": "green"}
    for si, split in enumerate(SPLITS):
        for ci, value in enumerate(CLASSES):
            folder = dest / split / value
            folder.mkdir(parents=True)
            rng = np.random.default_rng([seed, si, ci])
            tints = new if split == "test_new" else old
            for i in range(counts[split]):
                render_banknote(value, tints[value], rng, size).save(folder / f"{value}_{i:04d}.png")
    return counts


