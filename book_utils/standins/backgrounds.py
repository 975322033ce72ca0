"""Background painters for procedural stand-ins (sky, water, grass, foliage, road, indoor and four abstract kinds).

Every painter has the signature ``painter(rng, n, size, horizon, colours) -> float32 (n, size, size, 3)``:
``horizon`` (n,) is the row (pixel-centre coordinate, frame centre 0) where ground or water starts, and
``colours`` the palette of the abstract kinds (texture, stripes, blobs, gradient). Lengths are given for a
32-pixel canvas and scale with ``size``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from book_utils.standins.draw import F32, GREYS, pick, pixel_centres, sd_ellipse, sincos, smooth_noise

Colour = tuple[float, float, float]
Painter = Callable[[np.random.Generator, int, int, np.ndarray, Sequence[Colour]], np.ndarray]

SKY_COLOURS = [(0.3, 0.5, 0.85), (0.45, 0.65, 0.92), (0.6, 0.75, 0.95), (0.7, 0.72, 0.76), (0.55, 0.6, 0.7),
               (0.85, 0.6, 0.45), (0.35, 0.45, 0.6)]
CLOUD_COLOURS = [(0.95, 0.95, 0.97), (0.85, 0.86, 0.9), (0.7, 0.72, 0.76)]


def vgradient(n: int, top: np.ndarray, bottom: np.ndarray, size: int) -> np.ndarray:
    """``n`` vertical gradients from ``top`` (n, 3) colours at the top row to ``bottom`` (n, 3) at the last."""
    pix = pixel_centres(size)
    t = ((pix + size / 2) / size).astype(F32)[None, :, None, None]
    out = top[:, None, None, :] * (1 - t) + bottom[:, None, None, :] * t
    return np.broadcast_to(out, (n, size, size, 3)).astype(F32)


def soft_blobs(rng: np.random.Generator, img: np.ndarray, count: int, colours: Callable[[int], np.ndarray],
               rmin: float, rmax: float, alpha: tuple[float, float]) -> np.ndarray:
    """Blend ``count`` soft ellipses (radii ``rmin``..``rmax`` px, opacity in ``alpha``) into ``img`` in place."""
    n, size = img.shape[0], img.shape[1]
    pix = pixel_centres(size)
    X = pix[None, None, :]
    Y = pix[None, :, None]
    for _ in range(count):
        cx = rng.uniform(-size / 2, size / 2, (n, 1, 1)).astype(F32)
        cy = rng.uniform(-size / 2, size / 2, (n, 1, 1)).astype(F32)
        a = rng.uniform(rmin, rmax, (n, 1, 1)).astype(F32)
        b = a * rng.uniform(0.4, 1.0, (n, 1, 1)).astype(F32)
        d = sd_ellipse(X, Y, cx, cy, a, b)
        al = np.clip(0.5 - d / 1.5, 0, 1) * rng.uniform(*alpha, (n, 1, 1)).astype(F32)
        col = colours(n)
        img += (col[:, None, None, :] - img) * al[..., None]
    return img


def ground(rng: np.random.Generator, horizon: np.ndarray, upper: np.ndarray, lower_col: np.ndarray,
           tex_amp: np.ndarray, stripes: bool = False) -> np.ndarray:
    """``upper`` above the horizon, a textured ``lower_col`` (n, 3) ground below it (with lane marks if ``stripes``)."""
    n, size = upper.shape[0], upper.shape[1]
    k = size / 32
    y = pixel_centres(size)[None, :, None]
    m = np.clip((y - horizon[:, None, None]) / 1.5 + 0.5, 0, 1)[..., None]
    tex = smooth_noise(rng, n, 8, size)[..., None] * tex_amp[:, None, None, None]
    fine = rng.uniform(-1, 1, (n, size, size, 1)).astype(F32) * (tex_amp[:, None, None, None] * 0.7)
    low = lower_col[:, None, None, :] * (1 + tex + fine)
    if stripes:
        lane = np.abs(y - (horizon[:, None, None] + 8 * k)) < 0.8 * k
        low = np.where(lane[..., None] & (rng.random((n, 1, 1, 1)) < 0.5), F32(0.85), low)
    return upper * (1 - m) + low * m


def _amp(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    return rng.uniform(lo, hi, n).astype(F32)


def sky(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """A sky gradient with a few soft clouds (``horizon`` and ``colours`` unused)."""
    k = size / 32
    top = pick(rng, n, SKY_COLOURS, 0.06)
    bottom = np.clip(top + rng.uniform(0.05, 0.3, (n, 1)).astype(F32), 0, 1)
    img = vgradient(n, top, bottom, size)
    return soft_blobs(rng, img, 3, lambda m: pick(rng, m, CLOUD_COLOURS, 0.04), 3 * k, 12 * k, (0.0, 0.8))


def water(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Sky above the horizon, rippled water below."""
    k = size / 32
    up = sky(rng, n, size, horizon, colours)
    col = pick(rng, n, [(0.15, 0.3, 0.5), (0.25, 0.4, 0.55), (0.2, 0.35, 0.35), (0.35, 0.42, 0.5),
                        (0.1, 0.2, 0.35)], 0.06)
    img = ground(rng, horizon, up, col, _amp(rng, n, 0.05, 0.2))
    pix = pixel_centres(size)
    wave = (smooth_noise(rng, n, 16, size) * F32(0.1))[..., None]
    band = ((pix[None, :, None] * F32(0.7 / k)) % 2 < 1).astype(F32)[..., None] * F32(0.06)
    below = (pix[None, :, None] > horizon[:, None, None])[..., None]
    return np.where(below, img * (1 + wave) + band, img)


def grass(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Grass below the horizon, sky or a darker green band above."""
    col = pick(rng, n, [(0.3, 0.55, 0.2), (0.45, 0.6, 0.25), (0.55, 0.55, 0.3), (0.35, 0.45, 0.2),
                        (0.6, 0.5, 0.3)], 0.06)
    up_kind = rng.random(n) < 0.5
    upper = np.where(up_kind[:, None, None, None], sky(rng, n, size, horizon, colours),
                     vgradient(n, col * 0.6, col * 0.8, size))
    return ground(rng, horizon, upper, col, _amp(rng, n, 0.15, 0.35))


def foliage(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Leafy blobs all over (``horizon`` unused)."""
    k = size / 32
    base = pick(rng, n, [(0.15, 0.3, 0.12), (0.25, 0.35, 0.15), (0.3, 0.25, 0.15), (0.2, 0.25, 0.2)], 0.05)
    img = np.broadcast_to(base[:, None, None, :], (n, size, size, 3)).copy()
    leaves = [(0.2, 0.45, 0.15), (0.35, 0.5, 0.2), (0.4, 0.3, 0.18), (0.1, 0.18, 0.08), (0.55, 0.6, 0.35)]
    img = soft_blobs(rng, img, 7, lambda m: pick(rng, m, leaves, 0.06), 1.5 * k, 6 * k, (0.5, 1.0))
    return img * (1 + smooth_noise(rng, n, 16, size)[..., None] * F32(0.25))


def road(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Asphalt with lane marks below the horizon, sky or a wall above."""
    upper_sky = sky(rng, n, size, horizon, colours)
    wall = pick(rng, n, GREYS + [(0.6, 0.5, 0.4), (0.25, 0.4, 0.2)], 0.08)
    use_sky = (rng.random(n) < 0.5)[:, None, None, None]
    upper = np.where(use_sky, upper_sky, vgradient(n, wall, wall * 0.8, size))
    col = pick(rng, n, [(0.35, 0.35, 0.36), (0.45, 0.45, 0.45), (0.28, 0.28, 0.3), (0.55, 0.52, 0.48)], 0.05)
    return ground(rng, horizon, upper, col, _amp(rng, n, 0.05, 0.2), stripes=True)


def indoor(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """A wall (sometimes striped wallpaper) above the horizon, a floor below."""
    k = size / 32
    wall = pick(rng, n, [(0.85, 0.8, 0.7), (0.7, 0.65, 0.55), (0.6, 0.62, 0.65), (0.5, 0.4, 0.3),
                         (0.8, 0.75, 0.78), (0.4, 0.45, 0.55)], 0.06)
    floor = pick(rng, n, [(0.55, 0.38, 0.22), (0.7, 0.55, 0.38), (0.4, 0.3, 0.25), (0.6, 0.6, 0.6),
                          (0.5, 0.2, 0.2)], 0.06)
    upper = vgradient(n, wall, wall * 0.85, size)
    period = rng.uniform(3 * k, 8 * k, (n, 1, 1)).astype(F32)
    pix = pixel_centres(size)
    stripe = (((pix[None, None, :] + size / 2) / period) % 1 < 0.5) & (rng.random((n, 1, 1)) < 0.4)
    upper = upper * np.where(stripe, F32(0.85), F32(1))[..., None]
    return ground(rng, horizon, upper, floor, _amp(rng, n, 0.05, 0.15))


def texture(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Two colours mixed by smooth noise, plus fine grain."""
    c0 = pick(rng, n, colours, 0.1)
    c1 = pick(rng, n, colours, 0.1)
    t = (smooth_noise(rng, n, int(rng.integers(3, 9)), size) * 0.5 + 0.5)[..., None]
    fine = rng.uniform(-0.08, 0.08, (n, size, size, 1)).astype(F32)
    return c0[:, None, None] * (1 - t) + c1[:, None, None] * t + fine


def stripes(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Soft stripes of two colours at a random angle."""
    k = size / 32
    c0 = pick(rng, n, colours, 0.1)
    c1 = pick(rng, n, colours, 0.1)
    s, c = sincos(rng.uniform(-1.5, 1.5, (n, 1, 1)))
    period = rng.uniform(3 * k, 10 * k, (n, 1, 1)).astype(F32)
    pix = pixel_centres(size)
    frac = ((c * pix[None, None, :] + s * pix[None, :, None]) / period) % 1
    t = np.clip((np.abs(frac - 0.5) - 0.25) * 4 + 0.5, 0, 1)[..., None]
    return c0[:, None, None] * (1 - t) + c1[:, None, None] * t


def blobs(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """Soft blobs of random colours on a plain ground."""
    k = size / 32
    base = pick(rng, n, colours, 0.1)
    img = np.broadcast_to(base[:, None, None, :], (n, size, size, 3)).copy()
    return soft_blobs(rng, img, 6, lambda m: pick(rng, m, colours, 0.1), 2 * k, 9 * k, (0.4, 1.0))


def gradient(rng: np.random.Generator, n: int, size: int, horizon: np.ndarray, colours: Sequence[Colour]) -> np.ndarray:
    """A linear gradient between two colours at a random angle."""
    c0 = pick(rng, n, colours, 0.1)
    c1 = pick(rng, n, colours, 0.1)
    s, c = sincos(rng.uniform(-1.5, 1.5, (n, 1, 1)))
    pix = pixel_centres(size)
    t = np.clip((c * pix[None, None, :] + s * pix[None, :, None]) / size + 0.5, 0, 1)[..., None]
    return c0[:, None, None] * (1 - t) + c1[:, None, None] * t


PAINTERS: dict[str, Painter] = {
    "sky": sky, "water": water, "grass": grass, "foliage": foliage, "road": road, "indoor": indoor,
    "texture": texture, "stripes": stripes, "blobs": blobs, "gradient": gradient,
}
KINDS = tuple(PAINTERS)


def paint_background(rng: np.random.Generator, kind: str, n: int, size: int, horizon: np.ndarray,
                     colours: Sequence[Colour]) -> np.ndarray:
    """Draw ``n`` backgrounds of one ``kind`` (one of :data:`KINDS`): float32 (n, size, size, 3), roughly 0..1."""
    if kind not in PAINTERS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return PAINTERS[kind](rng, n, size, horizon, colours)
