"""Procedural faces with identities, for the PubFig stand-in (Chapter 7, introduced in notebook 07-1).

An :class:`Identity` fixes what stays the same across a person's photos: face shape, skin, eyes, brows, nose,
mouth, hair, beard and glasses. A :class:`Shot` is what changes from photo to photo: pose (yaw and roll),
expression, light, colour cast, a hat, blur, noise. :func:`draw_face` paints one face as an RGBA image whose
alpha is the head's silhouette, so that :mod:`book_utils.standins.pubfig` can paste it into a scene. The
drawings are cartoons, but they have what a frontal-face detector looks for (dark eyes and brows above a
lighter nose bridge and cheeks): scikit-image's bundled LBP cascade finds them (``tests/test_pubfig.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SUPERSAMPLE = 3
ROUNDNESS = 0.6
HAIR_STYLES = ("short", "long", "bald", "fringe", "curly", "bun")
SKIN_TONES = np.array([[236, 204, 178], [224, 182, 150], [198, 150, 115], [160, 112, 80], [118, 80, 58],
                       [245, 214, 196], [210, 170, 130]], dtype=float)
HAIR_COLOURS = np.array([[20, 16, 14], [60, 40, 26], [110, 72, 40], [170, 130, 80], [220, 190, 130],
                         [130, 50, 30], [150, 150, 150], [235, 235, 230]], dtype=float)
IRIS_COLOURS = np.array([[60, 40, 20], [40, 80, 140], [70, 110, 60], [30, 25, 20], [110, 90, 60]], dtype=float)


@dataclass(frozen=True)
class Identity:
    """What stays the same in every photo of one person (all lengths relative to the face's half-width)."""

    aspect: float  # face height / width
    jaw: float  # 0 = round chin, 1 = square jaw
    skin: tuple[float, float, float]
    eye_gap: float
    eye_size: float
    eye_height: float
    iris: tuple[float, float, float]
    brow_thickness: float
    brow_tilt: float
    nose_length: float
    nose_width: float
    mouth_width: float
    lip: float
    hair_style: str
    hair: tuple[float, float, float]
    beard: int  # 0 none, 1 moustache, 2 full beard
    glasses: float  # probability of wearing glasses in a photo (0 for most people)
    ears: float


def make_identity(rng: np.random.Generator) -> Identity:
    """Draw one person's features."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.06, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15)
    return Identity(
        aspect=float(rng.uniform(1.15, 1.5)), jaw=float(rng.uniform(0, 1)),
        skin=tuple(np.clip(skin, 0, 255).tolist()),
        eye_gap=float(rng.uniform(0.32, 0.5)), eye_size=float(rng.uniform(0.13, 0.22)),
        eye_height=float(rng.uniform(-0.28, -0.1)), iris=tuple(IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))].tolist()),
        brow_thickness=float(rng.uniform(0.03, 0.08)), brow_tilt=float(rng.uniform(-0.12, 0.12)),
        nose_length=float(rng.uniform(0.25, 0.45)), nose_width=float(rng.uniform(0.1, 0.22)),
        mouth_width=float(rng.uniform(0.28, 0.5)), lip=float(rng.uniform(0.04, 0.1)),
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        hair=tuple(np.clip(hair, 0, 255).tolist()),
        beard=int(rng.choice(3, p=[0.7, 0.15, 0.15])),
        glasses=float(rng.uniform(0.6, 0.95) if rng.random() < 0.2 else 0.0),
        ears=float(rng.uniform(0.12, 0.2)),
    )


@dataclass(frozen=True)
class Shot:
    """What changes from one photo of a person to the next."""

    yaw: float  # -1..1: the features slide sideways and the far half of the face narrows
    roll: float  # degrees
    smile: float  # -0.3..1
    brow_raise: float
    light: float  # -1..1: direction of a side light
    light_strength: float
    cast: tuple[float, float, float]  # per-channel gain
    exposure: float
    hat: bool
    glasses: bool
    blur: float  # Gaussian sigma in output pixels
    noise: float  # standard deviation in grey levels


def make_shot(rng: np.random.Generator, who: Identity) -> Shot:
    """Draw the conditions of one photo of ``who``."""
    return Shot(
        yaw=float(np.clip(rng.normal(0, 0.25), -0.6, 0.6)), roll=float(rng.normal(0, 6)),
        smile=float(rng.uniform(-0.3, 1.0)), brow_raise=float(rng.uniform(-0.03, 0.06)),
        light=float(rng.uniform(-1, 1)), light_strength=float(rng.uniform(0, 0.35)),
        cast=tuple(rng.uniform(0.85, 1.15, 3).tolist()), exposure=float(rng.uniform(0.75, 1.2)),
        hat=bool(rng.random() < 0.12), glasses=bool(rng.random() < who.glasses),
        blur=float(rng.choice([0.0, rng.uniform(0.3, 1.5)], p=[0.6, 0.4])),
        noise=float(rng.uniform(0, 8)),
    )


def _rgb(c: tuple[float, ...] | np.ndarray, k: float = 1.0) -> tuple[int, int, int]:
    a = np.clip(np.asarray(c, dtype=float) * k, 0, 255)
    return int(a[0]), int(a[1]), int(a[2])


def draw_face(who: Identity, shot: Shot, size: int, rng: np.random.Generator) -> Image.Image:
    """Paint one face on a transparent ``(1.6 size) x (1.6 size)`` canvas; the face (skin oval) is ``size`` wide.

    The face box is centred in the canvas: it spans ``[0.3 size, 1.3 size]`` horizontally and its height is
    ``size * aspect``, centred vertically. Returns an RGBA image (alpha = head and hair).
    """
    k = SUPERSAMPLE
    side = int(round(1.6 * size)) * k
    w = size * k / 2  # half-width of the face
    h = w * who.aspect
    cx, cy = side / 2, side / 2
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    skin, hair = _rgb(who.skin), _rgb(who.hair)
    shadow = _rgb(who.skin, 0.72)
    yaw = shot.yaw
    fx = cx + yaw * w * 0.25  # where the features are centred

    # hair behind the head, ears, the face
    if who.hair_style == "long":
        d.rounded_rectangle([cx - w * 1.18, cy - h * 1.08, cx + w * 1.18, cy + h * 0.85], radius=w * 0.6, fill=hair)
    elif who.hair_style == "bun":
        d.ellipse([cx - w * 0.45, cy - h * 1.35, cx + w * 0.45, cy - h * 0.75], fill=hair)
    for s in (-1, 1):
        ex = cx + s * w * (0.98 - 0.1 * s * yaw)
        r = who.ears * w * 1.6
        d.ellipse([ex - r * 0.6, cy - h * 0.2 - r, ex + r * 0.6, cy - h * 0.2 + r], fill=shadow)
    left, right = cx - w * (1 + 0.12 * min(yaw, 0)), cx + w * (1 - 0.12 * max(yaw, 0))
    jaw_r = w * (1.0 - 0.7 * who.jaw)
    d.ellipse([left, cy - h, right, cy + h * 0.2], fill=skin)
    d.rounded_rectangle([left, cy - h * 0.3, right, cy + h], radius=jaw_r, fill=skin)
    # hair on top
    top = cy - h * 1.05
    if who.hair_style in ("short", "long", "fringe", "bun"):
        d.chord([left - w * 0.05, top, right + w * 0.05, cy - h * 0.05], 180, 360, fill=hair)
    if who.hair_style == "fringe":
        d.rectangle([left + w * 0.05, cy - h * 0.62, right - w * 0.05, cy - h * 0.48], fill=hair)
    elif who.hair_style == "curly":
        for i in range(9):
            a = np.pi * (0.05 + 0.9 * i / 8)
            px, py = cx - np.cos(a) * w * 0.95, cy - h * 0.5 - np.sin(a) * h * 0.5
            d.ellipse([px - w * 0.28, py - w * 0.28, px + w * 0.28, py + w * 0.28], fill=hair)
    elif who.hair_style == "bald":
        d.chord([left + w * 0.1, cy - h * 0.75, right - w * 0.1, cy - h * 0.2], 180, 360, fill=_rgb(who.skin, 1.06))
    if shot.hat:
        colour = _rgb(rng.integers(30, 220, 3))
        d.chord([left - w * 0.1, top - h * 0.15, right + w * 0.1, cy - h * 0.25], 180, 360, fill=colour)
        d.rectangle([left - w * 0.3, cy - h * 0.52, right + w * 0.3, cy - h * 0.42], fill=colour)

    # eyes, brows, glasses
    ey = cy + who.eye_height * h
    er = who.eye_size * w
    brow = _rgb(np.minimum(np.asarray(who.hair) * 0.7, np.asarray(who.skin) * 0.45))
    for s in (-1, 1):
        ex = fx + s * who.eye_gap * w * (1 - 0.3 * s * yaw)
        d.ellipse([ex - er * 1.8, ey - er * 1.3, ex + er * 1.8, ey + er * 1.1], fill=_rgb(who.skin, 0.8))
        d.ellipse([ex - er * 1.3, ey - er * 0.75, ex + er * 1.3, ey + er * 0.75], fill=(245, 245, 240))
        d.ellipse([ex - er * 0.7 + yaw * er * 0.4, ey - er * 0.7, ex + er * 0.7 + yaw * er * 0.4, ey + er * 0.7],
                  fill=_rgb(who.iris))
        d.ellipse([ex - er * 0.3 + yaw * er * 0.4, ey - er * 0.3, ex + er * 0.3 + yaw * er * 0.4, ey + er * 0.3],
                  fill=(10, 8, 8))
        by = ey - er * 1.6 - shot.brow_raise * h
        tilt = s * who.brow_tilt * w
        d.line([ex - er * 1.6, by + tilt, ex + er * 1.6, by - tilt], fill=brow,
               width=max(1, int(who.brow_thickness * w)))
        if shot.glasses:
            d.ellipse([ex - er * 2, ey - er * 1.4, ex + er * 2, ey + er * 1.4], outline=(25, 25, 30),
                      width=max(1, int(0.035 * w)))
    if shot.glasses:
        d.line([fx - who.eye_gap * w + er * 2, ey, fx + who.eye_gap * w - er * 2, ey], fill=(25, 25, 30),
               width=max(1, int(0.03 * w)))

    # nose, beard, mouth
    ny = ey + who.nose_length * h
    nw = who.nose_width * w
    d.polygon([(fx + yaw * nw * 0.5, ey + er), (fx - nw + yaw * nw, ny), (fx + nw + yaw * nw, ny)], fill=shadow)
    my = ny + (cy + h - ny) * 0.4
    mw = who.mouth_width * w
    if who.beard == 2:
        d.chord([left + w * 0.1, my - h * 0.25, right - w * 0.1, cy + h * 1.02], 0, 180, fill=hair)
        d.rectangle([left + w * 0.15, my - h * 0.08, right - w * 0.15, my + h * 0.12], fill=hair)
    if who.beard >= 1:
        d.rounded_rectangle([fx - mw * 1.1, my - h * 0.1, fx + mw * 1.1, my - h * 0.02], radius=w * 0.04, fill=hair)
    lip = _rgb((150, 70, 70)) if who.beard < 2 else _rgb((110, 50, 50))
    curve = shot.smile * h * 0.12
    thick = max(2, int(who.lip * w))
    d.line([(fx - mw, my - curve), (fx - mw * 0.5, my), (fx, my + curve * 0.3), (fx + mw * 0.5, my),
            (fx + mw, my - curve)], fill=lip, width=thick, joint="curve")

    # light: a soft shade across the face; then roll, supersampling, blur, colour
    rgba = np.asarray(img, dtype=np.float32)
    xs = (np.arange(side, dtype=np.float32) - fx) / w
    ys = (np.arange(side, dtype=np.float32) - cy) / h
    # a head is round: its edges are darker than its middle (the cascade relies on that contrast)
    relief = np.clip(1.15 - ROUNDNESS * (xs[None, :] ** 2 + (ys[:, None] + 0.1) ** 2), 0.45, 1.15)
    shade = relief * (1 + shot.light_strength * shot.light * np.clip(xs, -1.2, 1.2)[None, :] / 1.2)
    rgba[..., :3] *= shade[..., None] * shot.exposure * np.asarray(shot.cast, dtype=np.float32)
    img = Image.fromarray(np.clip(rgba, 0, 255).astype(np.uint8), "RGBA")
    img = img.rotate(shot.roll, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    out = img.resize((side // k, side // k), Image.Resampling.LANCZOS)
    if shot.blur > 0:
        out = out.filter(ImageFilter.GaussianBlur(shot.blur))
    return out


def add_noise(img: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Gaussian sensor noise of ``sigma`` grey levels (an RGB image)."""
    if sigma <= 0:
        return img
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0, sigma, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), img.mode)
