"""Drawing primitives for procedural stand-ins, for any canvas size: signed distances, noise, blur, colours.

Arithmetic only (+ - * / sqrt, which IEEE 754 rounds the same on every machine) and float32 arrays, so the
same NumPy version draws the same bytes everywhere. Coordinates are pixel centres with the frame centre at 0
(see :func:`pixel_centres`); distances are negative inside a shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

F32 = np.float32
Arr = np.ndarray | float  # an array broadcastable against the canvas, or a scalar
Rot = tuple[np.ndarray, np.ndarray]  # (sin, cos) of a rotation angle

GREYS = [(0.92, 0.92, 0.93), (0.75, 0.76, 0.78), (0.55, 0.56, 0.6), (0.35, 0.36, 0.4), (0.14, 0.14, 0.16)]


def pixel_centres(size: int) -> np.ndarray:
    """float32 (size,) pixel-centre coordinates with the frame centre at 0: -size/2 + 0.5 ... size/2 - 0.5."""
    return (np.arange(size, dtype=F32) + F32(0.5)) - F32(size / 2)


def sincos(angle: Arr) -> Rot:
    """sin and cos by Taylor series (|angle| <= pi/2): avoids libm/SIMD differences between machines."""
    a = np.asarray(angle, dtype=np.float64)
    a2 = a * a
    s = a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72 * (1 - a2 / 110 * (1 - a2 / 156))))))
    c = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56 * (1 - a2 / 90 * (1 - a2 / 132)))))
    return s.astype(F32), c.astype(F32)


def sd_ellipse(u: Arr, v: Arr, cx: Arr, cy: Arr, a: Arr, b: Arr, rot: Rot | None = None) -> np.ndarray:
    """Approximate signed distance to an ellipse (centre cx,cy, semi-axes a,b, optional rotation (sin,cos))."""
    x = u - cx
    y = v - cy
    if rot is not None:
        s, c = rot
        x, y = c * x + s * y, -s * x + c * y
    x = x / a
    y = y / b
    k0 = np.sqrt(x * x + y * y)
    k1 = np.sqrt(x * x / (a * a) + y * y / (b * b))
    return k0 * (k0 - 1) / np.maximum(k1, F32(1e-4))


def sd_circle(u: Arr, v: Arr, cx: Arr, cy: Arr, r: Arr) -> np.ndarray:
    """Signed distance to a circle of radius ``r`` centred at (cx, cy)."""
    x = u - cx
    y = v - cy
    return np.sqrt(x * x + y * y) - r


def sd_capsule(u: Arr, v: Arr, x0: Arr, y0: Arr, x1: Arr, y1: Arr, r0: Arr, r1: Arr | None = None) -> np.ndarray:
    """Signed distance to a segment of thickness r0 (at x0,y0) tapering to r1 (at x1,y1)."""
    if r1 is None:
        r1 = r0
    pax = u - x0
    pay = v - y0
    bax = x1 - x0
    bay = y1 - y0
    h = np.clip((pax * bax + pay * bay) / np.maximum(bax * bax + bay * bay, F32(1e-6)), 0, 1)
    dx = pax - bax * h
    dy = pay - bay * h
    return np.sqrt(dx * dx + dy * dy) - (r0 + (r1 - r0) * h)


def sd_box(u: Arr, v: Arr, cx: Arr, cy: Arr, hw: Arr, hh: Arr, r: Arr = 0.0) -> np.ndarray:
    """Signed distance to an axis-aligned box (half sizes hw, hh) with corner radius r."""
    qx = np.abs(u - cx) - hw + r
    qy = np.abs(v - cy) - hh + r
    ox = np.maximum(qx, 0)
    oy = np.maximum(qy, 0)
    return np.sqrt(ox * ox + oy * oy) + np.minimum(np.maximum(qx, qy), 0) - r


def sd_poly(u: Arr, v: Arr, pts: Sequence[tuple[Arr, Arr]]) -> np.ndarray:
    """Signed distance (exact inside, approximate outside) to a convex polygon given as [(x, y), ...]."""
    n = len(pts)
    area: Arr = 0
    for i in range(n):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % n]
        area = area + (x0 * y1 - x1 * y0)
    sign = np.where(np.asarray(area) > 0, F32(1), F32(-1))
    d = None
    for i in range(n):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % n]
        ex = x1 - x0
        ey = y1 - y0
        length = np.maximum(np.sqrt(ex * ex + ey * ey), F32(1e-6))
        di = -sign * (ex * (v - y0) - ey * (u - x0)) / length
        d = di if d is None else np.maximum(d, di)
    assert d is not None
    return d


def lerp_axis(arr: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Linear up-sampling of a coarse grid (g+1 knots) along ``axis`` to ``size`` samples."""
    g = arr.shape[axis] - 1
    t = (np.arange(size, dtype=F32) + F32(0.5)) * F32(g / size)
    i0 = np.minimum(t.astype(np.int64), g - 1)
    w = (t - i0.astype(F32)).astype(F32)
    shape = [1] * arr.ndim
    shape[axis] = size
    w = w.reshape(shape)
    return np.take(arr, i0, axis=axis) * (1 - w) + np.take(arr, i0 + 1, axis=axis) * w


def smooth_noise(rng: np.random.Generator, n: int, grid: int, size: int, channels: int = 0) -> np.ndarray:
    """Smooth random field in about [-1, 1] with ``grid`` cells a side: (n, size, size) or (n, size, size, channels)."""
    shape = (n, grid + 1, grid + 1) + ((channels,) if channels else ())
    coarse = rng.uniform(-1, 1, shape).astype(F32)
    return lerp_axis(lerp_axis(coarse, 1, size), 2, size)


def blur3(img: np.ndarray) -> np.ndarray:
    """3x3 binomial blur of (n, H, W, C) images with edge padding."""
    p = np.concatenate([img[:, :1], img, img[:, -1:]], axis=1)
    img = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) * F32(0.25)
    p = np.concatenate([img[:, :, :1], img, img[:, :, -1:]], axis=2)
    return (p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]) * F32(0.25)


def pick(rng: np.random.Generator, n: int, palette: Sequence[tuple[float, float, float]],
         jitter: float = 0.08) -> np.ndarray:
    """``n`` random RGB colours (float32 (n, 3) in 0..1) from ``palette``, each channel jittered by +-``jitter``."""
    pal = np.asarray(palette, dtype=F32)
    col = pal[rng.integers(0, len(pal), n)] + rng.uniform(-jitter, jitter, (n, 3)).astype(F32)
    return np.clip(col, 0, 1).astype(F32)


def shade(col: np.ndarray, f: float) -> np.ndarray:
    """Colours ``col`` scaled by ``f`` (darker below 1, lighter above) and clipped to 0..1."""
    return np.clip(col * F32(f), 0, 1).astype(F32)
