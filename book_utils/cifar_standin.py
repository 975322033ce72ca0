"""The CIFAR-10 stand-in generator: procedurally drawn look-alikes of the ten classes, in the real format.

Used by :mod:`book_utils.cifar` when the real dataset is not on disk and cannot be downloaded. Images are
silhouettes of the ten CIFAR classes on textured, class-correlated backgrounds with pose, colour, clutter,
occlusion, blur and noise; each object's mask is kept. NumPy-only and seeded: the same NumPy version gives
the same bytes. Files are written in exactly the real ``cifar-10-batches-py`` pickle layout. See
data/README.md for the dataset card.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

STANDIN_VERSION = 3
N_TRAIN = 50_000
N_TEST = 10_000
_ROWS_PER_BATCH = 10_000
_CHUNK = 2_000  # images drawn per vectorised chunk; each chunk has its own seed, so results do not depend on workers
_SIZE = 32
_BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)]
_ALL_FILES = [*_BATCH_FILES, "test_batch", "batches.meta"]


# --------------------------------------------------------------------------------------------------
# Pickle writer in the real files' (Python 2) flavour
# --------------------------------------------------------------------------------------------------


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """Protocol-2 pickler that writes ``bytes`` as Python-2 ``str`` (BINSTRING), like the real CIFAR files.

    Loaded with ``encoding="bytes"`` they come back as ``bytes``, with ``encoding="latin1"`` as ``str``.
    NumPy globals are written under their NumPy-1 names (``numpy.core.multiarray``), which NumPy 2 reads too.
    """

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module = getattr(obj, "__module__", None) or "builtins"
        name = name or obj.__qualname__
        if module.startswith("numpy._core"):
            module = "numpy.core" + module[len("numpy._core") :]
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[type] = save_global
    dispatch[type(len)] = save_global


def _write_pickle(path: Path, obj: Any) -> None:
    with open(path, "wb") as fh:
        _Py2Pickler(fh, protocol=2).dump(obj)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed zip timestamps, so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


# --------------------------------------------------------------------------------------------------
# Drawing primitives (arithmetic only: + - * / sqrt, which IEEE 754 rounds the same on every machine)
# --------------------------------------------------------------------------------------------------

_F = np.float32
_PIX = (np.arange(_SIZE, dtype=_F) + _F(0.5)) - _F(_SIZE / 2)  # pixel centres, frame centre at 0


def _sincos(angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos by Taylor series (|angle| <= pi/2): avoids libm/SIMD differences between machines."""
    a = np.asarray(angle, dtype=np.float64)
    a2 = a * a
    s = a * (1 - a2 / 6 * (1 - a2 / 20 * (1 - a2 / 42 * (1 - a2 / 72 * (1 - a2 / 110 * (1 - a2 / 156))))))
    c = 1 - a2 / 2 * (1 - a2 / 12 * (1 - a2 / 30 * (1 - a2 / 56 * (1 - a2 / 90 * (1 - a2 / 132)))))
    return s.astype(_F), c.astype(_F)


def _sd_ellipse(u, v, cx, cy, a, b, rot=None):
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
    return k0 * (k0 - 1) / np.maximum(k1, _F(1e-4))


def _sd_circle(u, v, cx, cy, r):
    x = u - cx
    y = v - cy
    return np.sqrt(x * x + y * y) - r


def _sd_capsule(u, v, x0, y0, x1, y1, r0, r1=None):
    """Signed distance to a segment of thickness r0 (at x0,y0) tapering to r1 (at x1,y1)."""
    if r1 is None:
        r1 = r0
    pax = u - x0
    pay = v - y0
    bax = x1 - x0
    bay = y1 - y0
    h = np.clip((pax * bax + pay * bay) / np.maximum(bax * bax + bay * bay, _F(1e-6)), 0, 1)
    dx = pax - bax * h
    dy = pay - bay * h
    return np.sqrt(dx * dx + dy * dy) - (r0 + (r1 - r0) * h)


def _sd_box(u, v, cx, cy, hw, hh, r=0.0):
    """Signed distance to an axis-aligned box (half sizes hw, hh) with corner radius r."""
    qx = np.abs(u - cx) - hw + r
    qy = np.abs(v - cy) - hh + r
    ox = np.maximum(qx, 0)
    oy = np.maximum(qy, 0)
    return np.sqrt(ox * ox + oy * oy) + np.minimum(np.maximum(qx, qy), 0) - r


def _sd_poly(u, v, pts):
    """Signed distance (exact inside, approximate outside) to a convex polygon given as [(x, y), ...]."""
    n = len(pts)
    area = 0
    for i in range(n):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % n]
        area = area + (x0 * y1 - x1 * y0)
    sign = np.where(area > 0, _F(1), _F(-1))
    d = None
    for i in range(n):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % n]
        ex = x1 - x0
        ey = y1 - y0
        length = np.maximum(np.sqrt(ex * ex + ey * ey), _F(1e-6))
        di = -sign * (ex * (v - y0) - ey * (u - x0)) / length
        d = di if d is None else np.maximum(d, di)
    return d


def _lerp_axis(arr: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Linear up-sampling of a coarse grid (g+1 knots) along ``axis`` to ``size`` samples."""
    g = arr.shape[axis] - 1
    t = (np.arange(size, dtype=_F) + _F(0.5)) * _F(g / size)
    i0 = np.minimum(t.astype(np.int64), g - 1)
    w = (t - i0.astype(_F)).astype(_F)
    shape = [1] * arr.ndim
    shape[axis] = size
    w = w.reshape(shape)
    return np.take(arr, i0, axis=axis) * (1 - w) + np.take(arr, i0 + 1, axis=axis) * w


def _smooth_noise(rng: np.random.Generator, n: int, grid: int, channels: int = 0) -> np.ndarray:
    """Smooth random field in about [-1, 1], shape (n, 32, 32) or (n, 32, 32, channels)."""
    shape = (n, grid + 1, grid + 1) + ((channels,) if channels else ())
    coarse = rng.uniform(-1, 1, shape).astype(_F)
    return _lerp_axis(_lerp_axis(coarse, 1, _SIZE), 2, _SIZE)


def _blur3(img: np.ndarray) -> np.ndarray:
    """3x3 binomial blur of (n, H, W, C) images with edge padding."""
    p = np.concatenate([img[:, :1], img, img[:, -1:]], axis=1)
    img = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) * _F(0.25)
    p = np.concatenate([img[:, :, :1], img, img[:, :, -1:]], axis=2)
    return (p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]) * _F(0.25)


# --------------------------------------------------------------------------------------------------
# Palettes (RGB in 0..1)
# --------------------------------------------------------------------------------------------------

_GREYS = [(0.92, 0.92, 0.93), (0.75, 0.76, 0.78), (0.55, 0.56, 0.6), (0.35, 0.36, 0.4), (0.14, 0.14, 0.16)]
_PAL = {
    "airplane": _GREYS + [(0.62, 0.66, 0.74), (0.7, 0.22, 0.18), (0.85, 0.75, 0.3), (0.42, 0.44, 0.3),
                          (0.3, 0.4, 0.65), (0.6, 0.55, 0.45)],
    "bird": _GREYS + [(0.45, 0.32, 0.2), (0.3, 0.2, 0.12), (0.25, 0.4, 0.72), (0.72, 0.22, 0.15),
                      (0.82, 0.72, 0.28), (0.65, 0.56, 0.44), (0.5, 0.52, 0.4)],
    "cat": [(0.85, 0.55, 0.25), (0.5, 0.5, 0.52), (0.13, 0.12, 0.12), (0.88, 0.86, 0.82), (0.5, 0.38, 0.25),
            (0.82, 0.72, 0.56), (0.65, 0.5, 0.35), (0.35, 0.3, 0.27)],
    "dog": [(0.5, 0.33, 0.18), (0.75, 0.6, 0.4), (0.13, 0.12, 0.12), (0.88, 0.86, 0.82), (0.55, 0.55, 0.55),
            (0.85, 0.65, 0.35), (0.35, 0.24, 0.15), (0.65, 0.5, 0.35)],
    "deer": [(0.55, 0.38, 0.22), (0.68, 0.52, 0.34), (0.6, 0.36, 0.2), (0.5, 0.44, 0.36), (0.38, 0.27, 0.17),
             (0.65, 0.5, 0.35)],
    "horse": [(0.5, 0.33, 0.18), (0.55, 0.28, 0.15), (0.13, 0.12, 0.12), (0.82, 0.8, 0.78), (0.35, 0.22, 0.13),
              (0.7, 0.55, 0.38), (0.55, 0.55, 0.55)],
    "frog": [(0.3, 0.58, 0.25), (0.45, 0.5, 0.25), (0.5, 0.38, 0.22), (0.6, 0.68, 0.3), (0.2, 0.38, 0.18),
             (0.5, 0.46, 0.38), (0.7, 0.55, 0.3), (0.38, 0.3, 0.22)],
    "ship": _GREYS + [(0.55, 0.15, 0.12), (0.2, 0.3, 0.55), (0.2, 0.35, 0.25), (0.75, 0.6, 0.3)],
    "automobile": _GREYS + [(0.75, 0.12, 0.1), (0.15, 0.3, 0.7), (0.85, 0.75, 0.2), (0.2, 0.5, 0.3),
                            (0.85, 0.45, 0.12), (0.45, 0.15, 0.3), (0.5, 0.7, 0.85)],
    "truck": _GREYS + [(0.75, 0.12, 0.1), (0.15, 0.3, 0.7), (0.85, 0.75, 0.2), (0.2, 0.5, 0.3),
                       (0.85, 0.45, 0.12), (0.45, 0.35, 0.25), (0.5, 0.7, 0.85)],
}
_ANY = [c for pal in _PAL.values() for c in pal]


def _pick(rng: np.random.Generator, n: int, palette, jitter: float = 0.08) -> np.ndarray:
    pal = np.asarray(palette, dtype=_F)
    col = pal[rng.integers(0, len(pal), n)] + rng.uniform(-jitter, jitter, (n, 3)).astype(_F)
    return np.clip(col, 0, 1).astype(_F)


# --------------------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------------------

_BG_TYPES = ("sky", "water", "grass", "foliage", "road", "indoor", "texture", "stripes", "blobs", "gradient")
# probability of each background type per class (rows follow CIFAR10_CLASSES, columns _BG_TYPES)
_BG_PROBS = np.array(
    [
        [0.45, 0.06, 0.08, 0.02, 0.09, 0.0, 0.08, 0.06, 0.06, 0.10],  # airplane
        [0.03, 0.0, 0.06, 0.06, 0.40, 0.07, 0.1, 0.08, 0.1, 0.10],  # automobile
        [0.33, 0.08, 0.12, 0.17, 0.02, 0.02, 0.07, 0.05, 0.06, 0.08],  # bird
        [0.02, 0.0, 0.14, 0.06, 0.03, 0.33, 0.12, 0.1, 0.1, 0.10],  # cat
        [0.03, 0.0, 0.32, 0.32, 0.0, 0.0, 0.1, 0.06, 0.09, 0.08],  # deer
        [0.02, 0.0, 0.26, 0.07, 0.05, 0.26, 0.1, 0.08, 0.08, 0.08],  # dog
        [0.0, 0.06, 0.3, 0.2, 0.0, 0.02, 0.16, 0.06, 0.1, 0.10],  # frog
        [0.04, 0.0, 0.4, 0.14, 0.02, 0.0, 0.1, 0.08, 0.1, 0.12],  # horse
        [0.06, 0.66, 0.0, 0.0, 0.0, 0.0, 0.08, 0.06, 0.06, 0.08],  # ship
        [0.03, 0.0, 0.06, 0.06, 0.40, 0.04, 0.1, 0.1, 0.1, 0.11],  # truck
    ]
)
_BG_PROBS = _BG_PROBS / _BG_PROBS.sum(axis=1, keepdims=True)


def _vgrad(n: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = ((_PIX + _SIZE / 2) / _SIZE).astype(_F)[None, :, None, None]
    out = top[:, None, None, :] * (1 - t) + bottom[:, None, None, :] * t
    return np.broadcast_to(out, (n, _SIZE, _SIZE, 3)).astype(_F)


def _paint_soft_blobs(rng, img, count, colors, rmin, rmax, alpha):
    n = img.shape[0]
    X = _PIX[None, None, :]
    Y = _PIX[None, :, None]
    for _ in range(count):
        cx = rng.uniform(-16, 16, (n, 1, 1)).astype(_F)
        cy = rng.uniform(-16, 16, (n, 1, 1)).astype(_F)
        a = rng.uniform(rmin, rmax, (n, 1, 1)).astype(_F)
        b = a * rng.uniform(0.4, 1.0, (n, 1, 1)).astype(_F)
        d = _sd_ellipse(X, Y, cx, cy, a, b)
        al = np.clip(0.5 - d / 1.5, 0, 1) * rng.uniform(*alpha, (n, 1, 1)).astype(_F)
        col = colors(n)
        img += (col[:, None, None, :] - img) * al[..., None]
    return img


def _sky(rng, n, horizon):
    top = _pick(rng, n, [(0.3, 0.5, 0.85), (0.45, 0.65, 0.92), (0.6, 0.75, 0.95), (0.7, 0.72, 0.76),
                         (0.55, 0.6, 0.7), (0.85, 0.6, 0.45), (0.35, 0.45, 0.6)], 0.06)
    bottom = np.clip(top + rng.uniform(0.05, 0.3, (n, 1)).astype(_F), 0, 1)
    img = _vgrad(n, top, bottom)
    cloud = lambda m: _pick(rng, m, [(0.95, 0.95, 0.97), (0.85, 0.86, 0.9), (0.7, 0.72, 0.76)], 0.04)  # noqa: E731
    img = _paint_soft_blobs(rng, img, 3, cloud, 3, 12, (0.0, 0.8))
    return img


def _ground(rng, n, horizon, upper, lower_col, tex_amp, stripes=False):
    img = upper
    y = _PIX[None, :, None]
    m = np.clip((y - horizon[:, None, None]) / 1.5 + 0.5, 0, 1)[..., None]
    tex = _smooth_noise(rng, n, 8)[..., None] * tex_amp[:, None, None, None]
    fine = rng.uniform(-1, 1, (n, _SIZE, _SIZE, 1)).astype(_F) * (tex_amp[:, None, None, None] * 0.7)
    low = lower_col[:, None, None, :] * (1 + tex + fine)
    if stripes:
        lane = np.abs(y - (horizon[:, None, None] + 8)) < 0.8
        low = np.where(lane[..., None] & (rng.random((n, 1, 1, 1)) < 0.5), _F(0.85), low)
    return img * (1 - m) + low * m


def _background(rng: np.random.Generator, kind: str, n: int, horizon: np.ndarray) -> np.ndarray:
    """Draw ``n`` backgrounds of one kind; ``horizon`` (n,) is the row where ground or water starts."""
    amp = lambda lo, hi: rng.uniform(lo, hi, n).astype(_F)  # noqa: E731
    if kind == "sky":
        return _sky(rng, n, horizon)
    if kind == "water":
        up = _sky(rng, n, horizon)
        col = _pick(rng, n, [(0.15, 0.3, 0.5), (0.25, 0.4, 0.55), (0.2, 0.35, 0.35), (0.35, 0.42, 0.5),
                             (0.1, 0.2, 0.35)], 0.06)
        img = _ground(rng, n, horizon, up, col, amp(0.05, 0.2))
        wave = (_smooth_noise(rng, n, 16) * _F(0.1))[..., None]
        band = ((_PIX[None, :, None] * _F(0.7)) % 2 < 1).astype(_F)[..., None] * _F(0.06)
        below = (_PIX[None, :, None] > horizon[:, None, None])[..., None]
        return np.where(below, img * (1 + wave) + band, img)
    if kind in ("grass", "foliage"):
        if kind == "grass":
            col = _pick(rng, n, [(0.3, 0.55, 0.2), (0.45, 0.6, 0.25), (0.55, 0.55, 0.3), (0.35, 0.45, 0.2),
                                 (0.6, 0.5, 0.3)], 0.06)
            up_kind = rng.random(n) < 0.5
            upper = np.where(up_kind[:, None, None, None], _sky(rng, n, horizon),
                             _vgrad(n, col * 0.6, col * 0.8))
            return _ground(rng, n, horizon, upper, col, amp(0.15, 0.35))
        base = _pick(rng, n, [(0.15, 0.3, 0.12), (0.25, 0.35, 0.15), (0.3, 0.25, 0.15), (0.2, 0.25, 0.2)], 0.05)
        img = np.broadcast_to(base[:, None, None, :], (n, _SIZE, _SIZE, 3)).copy()
        leaf = lambda m: _pick(rng, m, [(0.2, 0.45, 0.15), (0.35, 0.5, 0.2), (0.4, 0.3, 0.18),  # noqa: E731
                                        (0.1, 0.18, 0.08), (0.55, 0.6, 0.35)], 0.06)
        img = _paint_soft_blobs(rng, img, 7, leaf, 1.5, 6, (0.5, 1.0))
        return img * (1 + _smooth_noise(rng, n, 16)[..., None] * _F(0.25))
    if kind == "road":
        upper_sky = _sky(rng, n, horizon)
        wall = _pick(rng, n, _GREYS + [(0.6, 0.5, 0.4), (0.25, 0.4, 0.2)], 0.08)
        use_sky = (rng.random(n) < 0.5)[:, None, None, None]
        upper = np.where(use_sky, upper_sky, _vgrad(n, wall, wall * 0.8))
        col = _pick(rng, n, [(0.35, 0.35, 0.36), (0.45, 0.45, 0.45), (0.28, 0.28, 0.3), (0.55, 0.52, 0.48)], 0.05)
        return _ground(rng, n, horizon, upper, col, amp(0.05, 0.2), stripes=True)
    if kind == "indoor":
        wall = _pick(rng, n, [(0.85, 0.8, 0.7), (0.7, 0.65, 0.55), (0.6, 0.62, 0.65), (0.5, 0.4, 0.3),
                              (0.8, 0.75, 0.78), (0.4, 0.45, 0.55)], 0.06)
        floor = _pick(rng, n, [(0.55, 0.38, 0.22), (0.7, 0.55, 0.38), (0.4, 0.3, 0.25), (0.6, 0.6, 0.6),
                               (0.5, 0.2, 0.2)], 0.06)
        upper = _vgrad(n, wall, wall * 0.85)
        period = rng.uniform(3, 8, (n, 1, 1)).astype(_F)
        stripe = (((_PIX[None, None, :] + 16) / period) % 1 < 0.5) & (rng.random((n, 1, 1)) < 0.4)
        upper = upper * np.where(stripe, _F(0.85), _F(1))[..., None]
        return _ground(rng, n, horizon, upper, floor, amp(0.05, 0.15))
    if kind == "texture":
        c0 = _pick(rng, n, _ANY, 0.1)
        c1 = _pick(rng, n, _ANY, 0.1)
        t = (_smooth_noise(rng, n, int(rng.integers(3, 9))) * 0.5 + 0.5)[..., None]
        fine = rng.uniform(-0.08, 0.08, (n, _SIZE, _SIZE, 1)).astype(_F)
        return c0[:, None, None] * (1 - t) + c1[:, None, None] * t + fine
    if kind == "stripes":
        c0 = _pick(rng, n, _ANY, 0.1)
        c1 = _pick(rng, n, _ANY, 0.1)
        ang = rng.uniform(-1.5, 1.5, (n, 1, 1))
        s, c = _sincos(ang)
        period = rng.uniform(3, 10, (n, 1, 1)).astype(_F)
        coord = (c * _PIX[None, None, :] + s * _PIX[None, :, None]) / period
        frac = coord % 1
        t = np.clip((np.abs(frac - 0.5) - 0.25) * 4 + 0.5, 0, 1)[..., None]
        return c0[:, None, None] * (1 - t) + c1[:, None, None] * t
    if kind == "blobs":
        base = _pick(rng, n, _ANY, 0.1)
        img = np.broadcast_to(base[:, None, None, :], (n, _SIZE, _SIZE, 3)).copy()
        return _paint_soft_blobs(rng, img, 6, lambda m: _pick(rng, m, _ANY, 0.1), 2, 9, (0.4, 1.0))
    if kind == "gradient":
        c0 = _pick(rng, n, _ANY, 0.1)
        c1 = _pick(rng, n, _ANY, 0.1)
        ang = rng.uniform(-1.5, 1.5, (n, 1, 1))
        s, c = _sincos(ang)
        t = np.clip((c * _PIX[None, None, :] + s * _PIX[None, :, None]) / 32 + 0.5, 0, 1)[..., None]
        return c0[:, None, None] * (1 - t) + c1[:, None, None] * t
    raise ValueError(f"unknown background kind {kind!r}")


# --------------------------------------------------------------------------------------------------
# Objects: each class paints parts in object coordinates (u forward, v down, roughly [-1, 1]^2)
# --------------------------------------------------------------------------------------------------


class _Obj:
    """Per-class drawing state: local coordinates, pixel scale, shading, the image and the object mask."""

    def __init__(self, rng, img, u, v, px, light):
        self.rng = rng
        self.n = img.shape[0]
        self.img = img
        self.u = u
        self.v = v
        self.px = px
        self.light = light
        self.mask = np.zeros(u.shape, dtype=bool)
        self.cover = np.zeros(u.shape, dtype=_F)

    def r(self, lo, hi):
        return self.rng.uniform(lo, hi, (self.n, 1, 1)).astype(_F)

    def chance(self, p):
        return (self.rng.random((self.n, 1, 1)) < p)

    def paint(self, d, col, on=None, shade=True, in_mask=True):
        """Composite a part with signed distance ``d`` (object units) and colour ``col`` (n,3).

        Shading (light and fur texture) is applied once to all shaded parts in :meth:`finish`.
        """
        a = d * self.px
        np.subtract(_F(0.5), a, out=a)
        np.clip(a, 0, 1, out=a)
        if on is not None:
            a *= on
        if in_mask:
            self.mask |= a > 0.5
        if shade:
            np.maximum(self.cover, a, out=self.cover)
        c = col[:, None, None, :] - self.img
        c *= a[..., None]
        self.img += c

    def finish(self) -> np.ndarray:
        shade = 1 + (self.light - 1) * self.cover
        return self.img * shade[..., None]


def _shade(col, f):
    return np.clip(col * _F(f), 0, 1).astype(_F)


def _draw_airplane(o: _Obj) -> None:
    u, v = o.u, o.v
    body = _pick(o.rng, o.n, _PAL["airplane"])
    accent = np.where(o.chance(0.5)[:, 0], _pick(o.rng, o.n, _PAL["airplane"]), _shade(body, 0.8))
    top_view = o.chance(0.45)
    L = o.r(0.8, 0.95)
    t = o.r(0.09, 0.15)
    sweep = o.r(0.1, 0.45)
    span = o.r(0.6, 0.95)
    wx = o.r(-0.15, 0.15)
    # top view: symmetric swept wings and tailplane
    wing_top = np.minimum(
        _sd_poly(u, v, [(wx + 0.2, -t * 0.5), (wx - 0.25, -t * 0.5), (wx - 0.25 - sweep, -span),
                        (wx - 0.1 - sweep, -span)]),
        _sd_poly(u, v, [(wx + 0.2, t * 0.5), (wx - 0.1 - sweep, span), (wx - 0.25 - sweep, span),
                        (wx - 0.25, t * 0.5)]),
    )
    tail_top = _sd_poly(u, v, [(-L + 0.25, 0 * t), (-L - 0.05, -0.32 + 0 * t), (-L + 0.02, 0 * t),
                              (-L - 0.05, 0.32 + 0 * t)])
    # side view: wing seen edge-on, a fin at the back
    wing_side = _sd_poly(u, v, [(wx + 0.15, t * 0.3), (wx - 0.2, t * 0.3), (wx - 0.3 - sweep * 0.5, t + 0.2),
                                (wx - 0.15 - sweep * 0.5, t + 0.2)])
    fin = _sd_poly(u, v, [(-L + 0.35, -t * 0.5), (-L - 0.02, -t * 0.2), (-L - 0.08, -0.5 + 0 * t),
                          (-L + 0.1, -0.5 + 0 * t)])
    stab = _sd_ellipse(u, v, -L + 0.12, -t * 0.1, 0.18, 0.04)
    side = ~top_view
    o.paint(np.where(top_view, tail_top, fin), accent)
    o.paint(np.where(top_view, wing_top, np.minimum(wing_side, stab)), _shade(body, 0.85))
    o.paint(_sd_ellipse(u, v, 0, 0, L, t), body)
    engines = o.chance(0.5)
    o.paint(_sd_ellipse(u, v, wx - 0.05, t + 0.1, 0.14, 0.06), _shade(body, 0.6), on=engines & side)
    o.paint(_sd_ellipse(u, v, wx - 0.1 - sweep * 0.3, -span * 0.45, 0.12, 0.05), _shade(body, 0.6),
            on=engines & top_view)
    o.paint(_sd_ellipse(u, v, wx - 0.1 - sweep * 0.3, span * 0.45, 0.12, 0.05), _shade(body, 0.6),
            on=engines & top_view)
    o.paint(_sd_capsule(u, v, -L * 0.8, t * 0.1, L * 0.7, t * 0.1, 0.025), accent, on=o.chance(0.4) & side)
    o.paint(_sd_ellipse(u, v, L * 0.8, -t * 0.3, 0.08, 0.04), _shade(body, 0.35), in_mask=False)


def _draw_bird(o: _Obj) -> None:
    u, v = o.u, o.v
    body = _pick(o.rng, o.n, _PAL["bird"])
    wingc = np.where(o.chance(0.5)[:, 0], _pick(o.rng, o.n, _PAL["bird"]), _shade(body, 0.75))
    head = np.where(o.chance(0.3)[:, 0], _pick(o.rng, o.n, _PAL["bird"]), body)
    beakc = _pick(o.rng, o.n, [(0.9, 0.7, 0.2), (0.2, 0.2, 0.2), (0.6, 0.55, 0.5), (0.9, 0.45, 0.15)])
    flying = o.chance(0.5)
    spread = o.chance(0.5) & flying  # seen from below: both wings out like an airplane
    tilt = np.where(flying, o.r(-0.1, 0.1), o.r(-0.7, -0.2))
    rot = _sincos(tilt)
    a = np.where(flying, o.r(0.4, 0.55), o.r(0.35, 0.5))
    b = np.where(flying, o.r(0.12, 0.18), o.r(0.2, 0.28))
    s, c = rot
    hx = c * a * 0.95 + s * b * 0.4
    hy = -s * a * 0.95 - c * b * 0.4
    hr = o.r(0.13, 0.2)
    tx_ = -c * a * 0.9
    ty_ = s * a * 0.9
    tail_len = o.r(0.25, 0.45)
    o.paint(_sd_poly(u, v, [(tx_ + 0.1, ty_ - 0.05), (tx_ - tail_len, ty_ - 0.15 + tilt * 0.3),
                            (tx_ - tail_len, ty_ + 0.15 + tilt * 0.3), (tx_ + 0.1, ty_ + 0.05)]),
            wingc)
    # legs and perch for sitting birds
    perched = ~flying
    legs_y = b + o.r(0.1, 0.25)
    for dx in (-0.08, 0.08):
        o.paint(_sd_capsule(u, v, dx * 1 + 0 * a, b * 0.6, dx * 1 + 0 * a, legs_y, 0.025), beakc, on=perched)
    branch = o.chance(0.6) & perched
    o.paint(_sd_capsule(u, v, -1.1 + 0 * a, legs_y + 0.03, 1.1 + 0 * a, legs_y + o.r(-0.1, 0.1), 0.05),
            _pick(o.rng, o.n, [(0.35, 0.25, 0.15), (0.25, 0.2, 0.15)]), on=branch, in_mask=False)
    span = o.r(0.55, 0.95)
    sweep = o.r(-0.1, 0.3)
    # far wing (behind body) when flying side-on, raised
    up = o.chance(0.5)
    wing_up = _sd_poly(u, v, [(0.2 + 0 * a, -b * 0.5), (-0.25 + 0 * a, -b * 0.5),
                              (-0.2 - sweep, -span), (0.0 - sweep, -span * 0.9)])
    wing_dn = _sd_poly(u, v, [(0.2 + 0 * a, b * 0.3), (-0.25 + 0 * a, b * 0.3),
                              (-0.2 - sweep, span * 0.8), (0.0 - sweep, span * 0.75)])
    spread_wings = np.minimum(
        _sd_ellipse(u, v, -sweep * 0.5, -span * 0.5, 0.16, span * 0.5, _sincos(sweep * 0.5)),
        _sd_ellipse(u, v, -sweep * 0.5, span * 0.5, 0.16, span * 0.5, _sincos(-sweep * 0.5)),
    )
    side_fly = flying & ~spread
    o.paint(np.where(spread, spread_wings, np.where(up, wing_up, wing_dn)), wingc, on=flying)
    o.paint(_sd_ellipse(u, v, 0, 0, a, b, rot), body)
    o.paint(_sd_ellipse(u, v, -a * 0.1, -b * 0.1, a * 0.6, b * 0.55, rot), wingc, on=perched)
    o.paint(_sd_ellipse(u, v, -a * 0.1, -b * 0.2, a * 0.5, b * 0.4), wingc, on=side_fly & ~up)
    o.paint(_sd_circle(u, v, hx, hy, hr), head)
    bl = o.r(0.08, 0.22)
    o.paint(_sd_poly(u, v, [(hx + hr * 0.7, hy - hr * 0.3), (hx + hr + bl, hy + hr * 0.05),
                            (hx + hr * 0.7, hy + hr * 0.35)]), beakc)
    o.paint(_sd_circle(u, v, hx + hr * 0.35, hy - hr * 0.25, hr * 0.25), _shade(body, 0.15), shade=False,
            in_mask=False)


def _quadruped(o: _Obj, kind: str) -> None:
    u, v = o.u, o.v
    r = o.r
    col = _pick(o.rng, o.n, _PAL[kind])
    dark = _shade(col, 0.7)
    second = np.where(o.chance(0.35)[:, 0], _pick(o.rng, o.n, _PAL[kind]), col)
    if kind == "cat":
        a, b, leg, lw, neck, nw, nang = r(0.42, 0.58), r(0.17, 0.25), r(0.2, 0.38), r(0.05, 0.075), r(0.08, 0.2), \
            r(0.1, 0.13), r(0.3, 1.0)
        ha, hb, snout, tail_len, tail_w, tail_ang = r(0.16, 0.21), r(0.15, 0.19), r(0.0, 0.06), r(0.45, 0.75), \
            r(0.035, 0.05), r(-1.2, 0.3)
        sit = o.chance(0.35)
    elif kind == "dog":
        a, b, leg, lw, neck, nw, nang = r(0.45, 0.65), r(0.18, 0.28), r(0.22, 0.4), r(0.055, 0.085), \
            r(0.1, 0.22), r(0.1, 0.14), r(0.3, 1.1)
        ha, hb, snout, tail_len, tail_w, tail_ang = r(0.16, 0.22), r(0.14, 0.19), r(0.08, 0.2), r(0.2, 0.45), \
            r(0.04, 0.06), r(-1.1, 0.2)
        sit = o.chance(0.3)
    elif kind == "deer":
        a, b, leg, lw, neck, nw, nang = r(0.48, 0.62), r(0.18, 0.25), r(0.5, 0.72), r(0.028, 0.045), \
            r(0.32, 0.48), r(0.065, 0.09), r(1.0, 1.4)
        ha, hb, snout, tail_len, tail_w, tail_ang = r(0.15, 0.2), r(0.08, 0.11), r(0.06, 0.12), r(0.08, 0.15), \
            r(0.035, 0.05), r(-0.8, -0.2)
        sit = o.chance(0.0)
    else:  # horse
        a, b, leg, lw, neck, nw, nang = r(0.55, 0.72), r(0.22, 0.3), r(0.45, 0.62), r(0.055, 0.08), \
            r(0.35, 0.5), r(0.1, 0.14), r(0.75, 1.2)
        ha, hb, snout, tail_len, tail_w, tail_ang = r(0.21, 0.28), r(0.085, 0.115), r(0.05, 0.1), r(0.35, 0.6), \
            r(0.05, 0.08), r(0.6, 1.3)
        sit = o.chance(0.0)
    # body rotates up about its rear when sitting
    phi = np.where(sit, r(-0.9, -0.6), r(-0.1, 0.1))
    s, c = _sincos(phi)
    bx, by = 0 * a, -b * 0.2 - 0.05
    front = (bx + c * a * 0.6 + s * b * 0.4, by - s * a * 0.6 + c * b * 0.4)
    rear = (bx - c * a * 0.6 + s * b * 0.4, by + s * a * 0.6 + c * b * 0.4)
    ground = np.where(sit, front[1] + leg * 1.2 + 0.1, by + b * 0.6 + leg)
    ground = np.minimum(ground, 0.95)
    stride = r(-0.12, 0.12)
    # far legs (darker) first, then tail, body, near legs, neck, head
    o.paint(_sd_capsule(u, v, front[0] - 0.06, front[1], front[0] - 0.06 - stride, ground, lw, lw * 0.8), dark)
    o.paint(_sd_capsule(u, v, rear[0] + 0.06, rear[1], rear[0] + 0.06 - stride, ground, lw, lw * 0.8), dark,
            on=~sit)
    tail0 = (bx - c * a * 0.92, by + s * a * 0.92 - b * 0.2)
    ts, tc = _sincos(tail_ang)
    tail1 = (tail0[0] - tc * tail_len, tail0[1] + ts * tail_len)
    o.paint(_sd_capsule(u, v, tail0[0], tail0[1], tail1[0], tail1[1], tail_w, tail_w * 0.7), second)
    o.paint(_sd_ellipse(u, v, bx, by, a, b, (s, c)), col)
    o.paint(_sd_ellipse(u, v, rear[0] + 0.05, rear[1] - b * 0.2, a * 0.45, b * 0.9, (s, c)), col, on=sit)
    o.paint(_sd_capsule(u, v, front[0] + 0.06, front[1], front[0] + 0.06 + stride, ground, lw, lw * 0.8), col)
    o.paint(_sd_capsule(u, v, rear[0] - 0.06, rear[1], rear[0] - 0.06 + stride, ground, lw, lw * 0.8), col,
            on=~sit)
    o.paint(_sd_ellipse(u, v, rear[0] - 0.02, ground - 0.04, lw * 2.5, lw * 1.2), col, on=sit)
    ns, nc = _sincos(nang)
    n0 = (bx + c * a * 0.75 + s * b * 0.2, by - s * a * 0.75 - c * b * 0.5)
    n1 = (n0[0] + nc * neck, n0[1] - ns * neck)
    o.paint(_sd_capsule(u, v, n0[0], n0[1], n1[0], n1[1], nw * 1.2, nw), col)
    if kind == "horse":
        o.paint(_sd_capsule(u, v, n0[0] - nw * 0.8, n0[1] - nw * 0.3, n1[0] - nw * 0.6, n1[1] - nw * 0.5,
                            nw * 0.4), second)
    hang = np.where(o.chance(0.5), r(-0.9, -0.4), r(-0.3, 0.2)) if kind in ("horse", "deer") else r(-0.3, 0.3)
    hs, hc = _sincos(-hang)
    hx, hy = n1[0] + hc * ha * 0.4, n1[1] + hs * ha * 0.4
    # ears / antlers before the head so the head overlaps their roots
    if kind == "cat":
        el = r(0.12, 0.2)
        for dx in (-0.08, 0.06):
            o.paint(_sd_poly(u, v, [(hx + dx - 0.07, hy - hb * 0.5), (hx + dx + 0.07, hy - hb * 0.5),
                                    (hx + dx + 0.01, hy - hb * 0.5 - el)]), col)
    elif kind == "dog":
        pointy = o.chance(0.25)
        el = r(0.1, 0.2)
        o.paint(_sd_poly(u, v, [(hx - 0.1, hy - hb * 0.5), (hx + 0.03, hy - hb * 0.5),
                                (hx - 0.04, hy - hb * 0.5 - el)]), col, on=pointy)
        o.paint(_sd_ellipse(u, v, hx - ha * 0.5, hy + el * 0.3, 0.06, el * 0.8, _sincos(r(-0.4, 0.1))),
                dark, on=~pointy)
    else:
        el = r(0.08, 0.14)
        o.paint(_sd_poly(u, v, [(hx - ha * 0.4 - 0.04, hy - hb * 0.6), (hx - ha * 0.4 + 0.04, hy - hb * 0.6),
                                (hx - ha * 0.6, hy - hb * 0.6 - el)]), col)
        if kind == "deer":
            ant = o.chance(0.6)
            acol = _pick(o.rng, o.n, [(0.35, 0.28, 0.2), (0.55, 0.48, 0.38), (0.25, 0.2, 0.15)])
            base = (hx - ha * 0.3, hy - hb * 0.6)
            h_ = r(0.25, 0.42)
            o.paint(_sd_capsule(u, v, base[0], base[1], base[0] - 0.12, base[1] - h_, 0.025), acol, on=ant)
            o.paint(_sd_capsule(u, v, base[0] - 0.05, base[1] - h_ * 0.5, base[0] + 0.1, base[1] - h_ * 0.8,
                                0.02), acol, on=ant)
            o.paint(_sd_capsule(u, v, base[0] - 0.1, base[1] - h_ * 0.8, base[0] - 0.25, base[1] - h_ * 0.95,
                                0.02), acol, on=ant)
    o.paint(_sd_ellipse(u, v, hx, hy, ha, hb, (hs, hc)), col)
    sx, sy = hx + hc * (ha * 0.7), hy + hs * (ha * 0.7) + hb * 0.2
    o.paint(_sd_ellipse(u, v, sx, sy, snout + 0.04, hb * 0.55, (hs, hc)), second)
    o.paint(_sd_circle(u, v, hx + hc * ha * 0.2, hy - hb * 0.35, 0.035), _shade(col, 0.2), shade=False,
            in_mask=False)


def _draw_frog(o: _Obj) -> None:
    u, v = o.u, o.v
    col = _pick(o.rng, o.n, _PAL["frog"])
    belly = np.clip(col + 0.25, 0, 1)
    front = o.chance(0.3)
    a, b = o.r(0.5, 0.7), o.r(0.26, 0.36)
    tilt = o.r(-0.35, -0.1)
    rot = _sincos(np.where(front, 0 * tilt, tilt))
    # folded hind leg (side view) or two splayed legs (front view)
    o.paint(_sd_ellipse(u, v, -a * 0.45, b * 0.45, a * 0.45, b * 0.45, _sincos(o.r(-0.5, -0.1))), col, on=~front)
    o.paint(_sd_capsule(u, v, -a * 0.3, b * 0.95, a * 0.1, b * 1.05, 0.06), _shade(col, 0.8), on=~front)
    for sgn in (-1, 1):
        o.paint(_sd_ellipse(u, v, sgn * a * 0.85, b * 0.55, a * 0.35, b * 0.35), _shade(col, 0.85), on=front)
    o.paint(_sd_ellipse(u, v, 0, 0, a, b, rot), col)
    o.paint(_sd_ellipse(u, v, 0, b * 0.45, a * 0.7, b * 0.4), belly, on=front)
    o.paint(_sd_capsule(u, v, a * 0.5, b * 0.4, a * 0.6, b * 1.05, 0.05), _shade(col, 0.9), on=~front)
    er = o.r(0.08, 0.13)
    eye_y = -b * 0.75
    ex_side = a * 0.55
    pupil = _shade(col, 0.1)
    eyecol = np.where(o.chance(0.5)[:, 0], col, _pick(o.rng, o.n, [(0.85, 0.75, 0.3), (0.9, 0.9, 0.85)]))
    for ex, on in ((ex_side, ~front), (-a * 0.45, front), (a * 0.45, front)):
        o.paint(_sd_circle(u, v, ex, eye_y, er), eyecol, on=on)
        o.paint(_sd_circle(u, v, ex + 0.02, eye_y, er * 0.5), pupil, on=on, shade=False)
    spots = o.chance(0.4)
    for _ in range(3):
        o.paint(_sd_circle(u, v, o.r(-0.4, 0.3), o.r(-0.15, 0.1), o.r(0.04, 0.08)), _shade(col, 0.6),
                on=spots & ~front, in_mask=False)
    o.paint(_sd_capsule(u, v, a * 0.55, -b * 0.05, a * 0.95, b * 0.05, 0.02), _shade(col, 0.5), on=~front,
            in_mask=False)


def _draw_ship(o: _Obj) -> None:
    u, v = o.u, o.v
    hull = _pick(o.rng, o.n, _PAL["ship"])
    sup = np.where(o.chance(0.7)[:, 0], _pick(o.rng, o.n, _GREYS[:2]), _pick(o.rng, o.n, _PAL["ship"]))
    sail = o.chance(0.18)
    L = o.r(0.85, 0.98)
    h = np.where(sail, o.r(0.1, 0.16), o.r(0.18, 0.32))
    deck = o.r(0.05, 0.2)
    bow = o.r(0.05, 0.25)
    o.paint(_sd_poly(u, v, [(-L, deck), (L + bow * 0.3, deck - bow), (L * 0.8, deck + h), (-L * 0.9, deck + h)]),
            hull)
    o.paint(_sd_capsule(u, v, -L * 0.9, deck + h * 0.25, L * 0.85, deck + h * 0.25, 0.02), _shade(hull, 1.6),
            on=o.chance(0.4), in_mask=False)
    # superstructure blocks
    x = o.r(-0.6, -0.1)
    for k in range(3):
        w = o.r(0.12, 0.3)
        hh = o.r(0.08, 0.2)
        on = ~sail & (o.chance(0.85) if k == 0 else o.chance(0.55))
        o.paint(_sd_box(u, v, x, deck - hh, w, hh), sup, on=on)
        o.paint(_sd_capsule(u, v, x - w * 0.8, deck - hh * 1.2, x + w * 0.8, deck - hh * 1.2, 0.02),
                _shade(sup, 0.4), on=on, in_mask=False)
        x = x + w + o.r(0.1, 0.35)
    funnel = o.chance(0.5) & ~sail
    fx = o.r(-0.4, 0.2)
    o.paint(_sd_box(u, v, fx, deck - 0.38, 0.07, 0.14), _pick(o.rng, o.n, [(0.7, 0.15, 0.1), (0.1, 0.1, 0.1),
                                                                             (0.85, 0.7, 0.2)]), on=funnel)
    mast = o.chance(0.6) | sail
    mh = np.where(sail, o.r(0.8, 1.0), o.r(0.35, 0.7))
    mx = np.where(sail, o.r(-0.1, 0.15), o.r(-0.2, 0.5))
    o.paint(_sd_capsule(u, v, mx, deck, mx, deck - mh, 0.025), _shade(sup, 0.5), on=mast)
    o.paint(_sd_poly(u, v, [(mx - 0.04, deck - 0.06), (mx - 0.04, deck - mh), (mx - o.r(0.5, 0.8), deck - 0.06)]),
            _pick(o.rng, o.n, [(0.95, 0.95, 0.93), (0.85, 0.82, 0.75), (0.8, 0.3, 0.2)]), on=sail)
    containers = o.chance(0.3) & ~sail
    for k in range(4):
        cx = L * 0.7 - k * 0.22
        o.paint(_sd_box(u, v, cx, deck - 0.07, 0.1, 0.07), _pick(o.rng, o.n, _ANY), on=containers)


def _wheel(o, x, y, rad, on=None):
    tyre = _pick(o.rng, o.n, [(0.08, 0.08, 0.08), (0.15, 0.15, 0.16)], 0.03)
    hub = _pick(o.rng, o.n, [(0.7, 0.7, 0.72), (0.45, 0.45, 0.47)], 0.05)
    o.paint(_sd_circle(o.u, o.v, x, y, rad), tyre, on=on)
    o.paint(_sd_circle(o.u, o.v, x, y, rad * 0.5), hub, on=on, in_mask=False)


def _window_col(o):
    return _pick(o.rng, o.n, [(0.25, 0.3, 0.4), (0.55, 0.65, 0.75), (0.15, 0.15, 0.18), (0.7, 0.75, 0.8)], 0.05)


def _draw_automobile(o: _Obj) -> None:
    u, v = o.u, o.v
    col = _pick(o.rng, o.n, _PAL["automobile"])
    suv = o.chance(0.2)
    L = o.r(0.85, 0.98)
    bh = np.where(suv, o.r(0.18, 0.26), o.r(0.12, 0.19))
    by = o.r(0.05, 0.15)
    ch = np.where(suv, o.r(0.22, 0.32), o.r(0.16, 0.28))
    c0 = o.r(-0.65, -0.35)
    c1 = o.r(0.2, 0.5)
    top = by - bh
    o.paint(_sd_poly(u, v, [(c0, top + 0.02), (c1, top + 0.02), (c1 - o.r(0.1, 0.3), top - ch),
                            (c0 + o.r(0.05, 0.25), top - ch)]), col)
    o.paint(_sd_poly(u, v, [(c0 + 0.08, top), (c1 - 0.08, top), (c1 - 0.25, top - ch + 0.05),
                            (c0 + 0.22, top - ch + 0.05)]), _window_col(o), in_mask=False)
    o.paint(_sd_box(u, v, 0 * L, by, L, bh, 0.07), col)
    o.paint(_sd_capsule(u, v, c0 * 0.3 + 0.12, top + 0.02, c0 * 0.3 + 0.12, by + bh * 0.8, 0.012),
            _shade(col, 0.5), in_mask=False)
    o.paint(_sd_ellipse(u, v, L - 0.05, by - bh * 0.3, 0.05, 0.035), _pick(o.rng, o.n, [(0.95, 0.92, 0.7)]),
            in_mask=False)
    wr = o.r(0.15, 0.22)
    for wx in (-0.58, 0.58):
        _wheel(o, wx * L, by + bh, wr)


def _draw_truck(o: _Obj) -> None:
    u, v = o.u, o.v
    cab = _pick(o.rng, o.n, _PAL["truck"])
    cargo = np.where(o.chance(0.5)[:, 0], _pick(o.rng, o.n, _GREYS[:3] + _PAL["truck"]), cab)
    kind = o.rng.random((o.n, 1, 1))
    pickup = kind < 0.22
    tanker = (kind >= 0.22) & (kind < 0.35)
    box = kind >= 0.35
    L = o.r(0.88, 0.98)
    floor = o.r(0.2, 0.35)
    cab_w = o.r(0.22, 0.32)
    cab_h = o.r(0.45, 0.7)
    cab_x = L - cab_w
    o.paint(_sd_box(u, v, 0 * L - 0.1, floor, L * 0.95, 0.05), _shade(cab, 0.3))  # chassis
    # cab with a sloped front
    o.paint(_sd_poly(u, v, [(cab_x - cab_w, floor), (cab_x + cab_w, floor), (cab_x + cab_w, floor - cab_h * 0.55),
                            (cab_x + cab_w * 0.5, floor - cab_h), (cab_x - cab_w, floor - cab_h)]), cab)
    o.paint(_sd_poly(u, v, [(cab_x + cab_w * 0.05, floor - cab_h * 0.55), (cab_x + cab_w * 0.85, floor - cab_h * 0.55),
                            (cab_x + cab_w * 0.45, floor - cab_h * 0.9), (cab_x + cab_w * 0.05, floor - cab_h * 0.9)]),
            _window_col(o), in_mask=False)
    rear = -L
    front = cab_x - cab_w - 0.04
    mid = (rear + front) * 0.5
    half = (front - rear) * 0.5
    hb = np.where(box, o.r(0.3, 0.48), o.r(0.1, 0.16))
    o.paint(_sd_box(u, v, mid, floor - 0.05 - hb, half, hb, 0.02), cargo, on=box)
    o.paint(_sd_box(u, v, mid, floor - 0.05 - hb, half, hb, 0.02), cab, on=pickup)
    o.paint(_sd_capsule(u, v, rear + 0.2, floor - 0.28, front - 0.2, floor - 0.28, 0.24), cargo, on=tanker)
    wr = o.r(0.12, 0.18)
    _wheel(o, cab_x, floor + 0.05, wr)
    _wheel(o, rear + 0.3, floor + 0.05, wr)
    _wheel(o, rear + 0.3 + wr * 2.2, floor + 0.05, wr, on=o.chance(0.7))


def _draw_cat(o):
    _quadruped(o, "cat")


def _draw_dog(o):
    _quadruped(o, "dog")


def _draw_deer(o):
    _quadruped(o, "deer")


def _draw_horse(o):
    _quadruped(o, "horse")


_DRAW: dict[int, Callable[[_Obj], None]] = {
    0: _draw_airplane,
    1: _draw_automobile,
    2: _draw_bird,
    3: _draw_cat,
    4: _draw_deer,
    5: _draw_dog,
    6: _draw_frog,
    7: _draw_horse,
    8: _draw_ship,
    9: _draw_truck,
}
# where the ground / water line sits in object coordinates (None: anywhere)
_GROUND_V = {0: None, 1: 0.35, 2: None, 3: 0.6, 4: 0.75, 5: 0.65, 6: 0.35, 7: 0.75, 8: 0.3, 9: 0.45}
_MAX_TILT = {0: 0.45, 2: 0.35}
# difficulty knobs (tuned so HOG + random forest and a small CNN land where they do on real CIFAR-10)
_KNOBS = {
    "scale": (0.6, 1.0),  # object half-size as a fraction of half the frame
    "shift": 0.6,  # fraction of the free room the object centre may move
    "clutter": 0.2,  # chance of each of three clutter shapes
    "occlusion": 0.15,  # chance of an occluding patch
    "noise": 0.05,  # max Gaussian noise sigma
}


# --------------------------------------------------------------------------------------------------
# Chunk rendering
# --------------------------------------------------------------------------------------------------


def _render_chunk(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image per label; returns uint8 images (n, 32, 32, 3) and bool object masks (n, 32, 32)."""
    n = len(labels)
    # pose: scale (object half-size in pixels), rotation, flip, translation
    px = (rng.uniform(*_KNOBS["scale"], n) * 16).astype(_F)
    max_tilt = np.array([_MAX_TILT.get(int(k), 0.26) for k in labels])
    tilt = rng.uniform(-1, 1, n) * max_tilt
    flip = np.where(rng.random(n) < 0.5, _F(-1), _F(1))
    room = np.maximum(16 - 0.9 * px, 1.0) * _KNOBS["shift"]
    tx = (rng.uniform(-1, 1, n) * room).astype(_F)
    ty = (rng.uniform(-1, 1, n) * room).astype(_F)
    gv = np.array([np.nan if _GROUND_V[int(k)] is None else _GROUND_V[int(k)] for k in labels])
    horizon = np.where(np.isnan(gv), rng.uniform(-6, 14, n), ty + px * np.nan_to_num(gv) + rng.uniform(-2, 3, n))
    horizon = horizon.astype(_F)

    # backgrounds
    probs = _BG_PROBS[labels]
    cum = np.cumsum(probs, axis=1)
    kinds = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(_BG_TYPES) - 1)
    img = np.empty((n, _SIZE, _SIZE, 3), dtype=_F)
    for ki, kind in enumerate(_BG_TYPES):
        idx = np.flatnonzero(kinds == ki)
        if len(idx):
            img[idx] = _background(rng, kind, len(idx), horizon[idx])
    img = np.clip(img, 0, 1)

    X = _PIX[None, None, :]
    Y = _PIX[None, :, None]
    # clutter behind the object
    for _ in range(3):
        on = rng.random((n, 1, 1)) < _KNOBS["clutter"]
        cx = rng.uniform(-16, 16, (n, 1, 1)).astype(_F)
        cy = rng.uniform(-16, 16, (n, 1, 1)).astype(_F)
        a = rng.uniform(1.5, 5, (n, 1, 1)).astype(_F)
        b = rng.uniform(1.0, 5, (n, 1, 1)).astype(_F)
        rad = np.minimum(a, b) * (rng.random((n, 1, 1)) < 0.5)
        d = _sd_box(X, Y, cx, cy, a, b, rad)
        al = np.clip(0.5 - d, 0, 1) * on
        col = _pick(rng, n, _ANY, 0.1)
        img += (col[:, None, None, :] - img) * al[..., None]

    # objects, class by class
    s, c = _sincos(tilt)
    dx = X - tx[:, None, None]
    dy = Y - ty[:, None, None]
    inv = (1 / px)[:, None, None]
    u = (c[:, None, None] * dx + s[:, None, None] * dy) * inv * flip[:, None, None]
    v = (-s[:, None, None] * dx + c[:, None, None] * dy) * inv
    light_amp = rng.uniform(0.0, 0.35, (n, 1, 1)).astype(_F)
    fur = _smooth_noise(rng, n, 8) * rng.uniform(0.0, 0.15, (n, 1, 1)).astype(_F)
    light = (1 - light_amp * (np.clip(v, -1, 1) + 1) * 0.5) * (1 + fur)
    masks = np.zeros((n, _SIZE, _SIZE), dtype=bool)
    for k in range(10):
        idx = np.flatnonzero(labels == k)
        if not len(idx):
            continue
        obj = _Obj(rng, img[idx], u[idx], v[idx], px[idx, None, None], light[idx])
        _DRAW[k](obj)
        img[idx] = obj.finish()
        masks[idx] = obj.mask

    # occluder in front of part of the object
    occ = rng.random((n, 1, 1)) < _KNOBS["occlusion"]
    ox = tx[:, None, None] + rng.uniform(-0.8, 0.8, (n, 1, 1)).astype(_F) * px[:, None, None]
    oy = ty[:, None, None] + rng.uniform(-0.8, 0.8, (n, 1, 1)).astype(_F) * px[:, None, None]
    oa = rng.uniform(0.2, 0.45, (n, 1, 1)).astype(_F) * px[:, None, None]
    ob = rng.uniform(0.2, 0.45, (n, 1, 1)).astype(_F) * px[:, None, None]
    d = _sd_box(X, Y, ox, oy, oa, ob, np.minimum(oa, ob) * (rng.random((n, 1, 1)) < 0.5))
    al = np.clip(0.5 - d, 0, 1) * occ
    col = _pick(rng, n, _ANY, 0.1)
    img += (col[:, None, None, :] - img) * al[..., None]

    # photometric nuisances: blur, grey, brightness/contrast, noise
    blur = rng.uniform(0.3, 1.0, n).astype(_F) * (rng.random(n) < 0.5)
    bi = np.flatnonzero(blur > 0)
    if len(bi):
        sub = img[bi]
        img[bi] = sub + (_blur3(sub) - sub) * blur[bi, None, None, None]
    gi = np.flatnonzero(rng.random(n) < 0.05)
    if len(gi):
        sub = img[gi]
        img[gi] = sub[..., :1] * _F(0.299) + sub[..., 1:2] * _F(0.587) + sub[..., 2:] * _F(0.114)
    contrast = rng.uniform(0.7, 1.2, (n, 1, 1, 1)).astype(_F)
    offset = rng.uniform(-0.12, 0.12, (n, 1, 1, 1)).astype(_F) + _F(0.5) * (1 - contrast)
    sigma = rng.uniform(0.0, _KNOBS["noise"], (n, 1, 1, 1)).astype(_F)
    noise = rng.standard_normal((n, _SIZE, _SIZE, 3), dtype=_F)
    noise *= sigma
    img *= contrast * _F(255)
    img += offset * _F(255) + _F(0.5)
    noise *= _F(255)
    img += noise
    np.clip(img, 0, 255, out=img)
    out = img.astype(np.uint8)
    return out, masks


def _chunk_rng(seed: int, split: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(split, chunk)))


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _split_labels(n: int, seed: int, split: int) -> np.ndarray:
    return _chunk_rng(seed, split, 10_000_000).permutation(np.arange(n) % 10)


def _chunks(n: int) -> list[tuple[int, int]]:
    return [(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]


def _render_split(n: int, seed: int, split: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = _split_labels(n, seed, split)
    parts = [_render_chunk(labels[a:b], _chunk_rng(seed, split, ci)) for ci, (a, b) in enumerate(_chunks(n))]
    return np.concatenate([p[0] for p in parts]), labels, np.concatenate([p[1] for p in parts])


def _worker_main(seed: int, sizes: list[int], worker: int, workers: int, out: str) -> None:
    """Entry point of a helper process: draw every ``workers``-th chunk and save it under ``out``."""
    jobs = [(split, ci, a, b) for split, n in enumerate(sizes) for ci, (a, b) in enumerate(_chunks(n))]
    labels = [_split_labels(n, seed, split) for split, n in enumerate(sizes)]
    for split, ci, a, b in jobs[worker::workers]:
        img, mask = _render_chunk(labels[split][a:b], _chunk_rng(seed, split, ci))
        tmp = Path(out) / f".{split}_{ci}.npz"
        np.savez(tmp, img=img, mask=mask)
        os.replace(tmp, Path(out) / f"{split}_{ci}.npz")


def _render_all(sizes: list[int], seed: int, workers: int, scratch: Path) -> list[tuple[np.ndarray, ...]]:
    """Render every split in ``sizes``; chunks are shared between this process and ``workers - 1`` helpers.

    Helpers are plain ``python -c`` subprocesses (no multiprocessing), so scripts without a
    ``__main__`` guard and notebooks work alike; any chunk a helper did not deliver is drawn here.
    """
    import subprocess
    import sys

    procs = []
    if workers > 1 and sum(len(_chunks(n)) for n in sizes) > 1:
        scratch.mkdir(parents=True, exist_ok=True)
        pkg_parent = str(Path(__file__).resolve().parent.parent)
        paths = [pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        for w in range(1, workers):
            code = f"from book_utils.cifar import _worker_main; _worker_main({seed}, {list(sizes)}, {w}, {workers}, {str(scratch)!r})"
            procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
    else:
        workers = 1
    results: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    jobs = [(split, ci, a, b) for split, n in enumerate(sizes) for ci, (a, b) in enumerate(_chunks(n))]
    labels = [_split_labels(n, seed, split) for split, n in enumerate(sizes)]
    for split, ci, a, b in jobs[0::workers]:
        results[split, ci] = _render_chunk(labels[split][a:b], _chunk_rng(seed, split, ci))
    for p in procs:
        p.communicate()
    for split, ci, a, b in jobs:
        if (split, ci) in results:
            continue
        path = scratch / f"{split}_{ci}.npz"
        if path.is_file():
            with np.load(path) as z:
                results[split, ci] = (z["img"], z["mask"])
        else:  # the helper failed: draw it here
            results[split, ci] = _render_chunk(labels[split][a:b], _chunk_rng(seed, split, ci))
    out = []
    for split, n in enumerate(sizes):
        parts = [results[split, ci] for ci in range(len(_chunks(n)))]
        out.append((np.concatenate([p[0] for p in parts]), labels[split], np.concatenate([p[1] for p in parts])))
    return out


def render_standin(n: int, seed: int = 0, train: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` stand-in images in memory: uint8 (n, 32, 32, 3), int labels (n,), bool masks (n, 32, 32).

    These are the same images :func:`generate_standin` writes for a split of ``n`` images.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return _render_split(int(n), int(seed), 0 if train else 1)


def _to_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) HWC -> (N, 3072) rows: the R plane, then G, then B, each row-major."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))


def generate_standin(
    dest: Path | str, n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0, workers: int | None = None
) -> Path:
    """Write a stand-in ``cifar-10-batches-py`` folder (real pickle format) plus masks into ``dest``.

    ``n_train`` is split over the five ``data_batch_*`` files like the real 50,000 (10,000 each).
    ``workers`` processes draw the chunks (default: 2 when the machine has 2 cores); the bytes written do
    not depend on it. Returns the ``cifar-10-batches-py`` folder.
    """
    for name, val in (("n_train", n_train), ("n_test", n_test), ("seed", seed)):
        if not isinstance(val, (int, np.integer)) or val < (0 if name == "seed" else 5 if name == "n_train" else 1):
            raise ValueError(f"{name} must be an int (n_train >= 5, n_test >= 1, seed >= 0), got {val!r}")
    dest = Path(dest)
    folder = dest / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    workers = _default_workers() if workers is None else int(workers)
    scratch = dest / ".parts"
    (tr_img, tr_lab, tr_mask), (te_img, te_lab, te_mask) = _render_all([int(n_train), int(n_test)], int(seed),
                                                                       workers, scratch)
    if scratch.exists():
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    bounds = np.linspace(0, n_train, 6).astype(int)
    for b, fname in enumerate(_BATCH_FILES):
        lo, hi = bounds[b], bounds[b + 1]
        _write_pickle(folder / fname, {
            b"batch_label": f"training batch {b + 1} of 5".encode(),
            b"labels": [int(x) for x in tr_lab[lo:hi]],
            b"data": _to_rows(tr_img[lo:hi]),
            b"filenames": [f"standin_{CIFAR10_CLASSES[int(k)]}_s_{i:06d}.png".encode()
                           for i, k in zip(range(lo, hi), tr_lab[lo:hi])],
        })
    _write_pickle(folder / "test_batch", {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(x) for x in te_lab],
        b"data": _to_rows(te_img),
        b"filenames": [f"standin_{CIFAR10_CLASSES[int(k)]}_t_{i:06d}.png".encode() for i, k in enumerate(te_lab)],
    })
    _write_pickle(folder / "batches.meta", {
        b"num_cases_per_batch": int(bounds[1] - bounds[0]),
        b"label_names": [c.encode() for c in CIFAR10_CLASSES],
        b"num_vis": 3072,
    })
    _write_npz(dest / "masks.npz", {"train": tr_mask, "test": te_mask})
    info = {
        "version": STANDIN_VERSION,
        "seed": int(seed),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "numpy": np.__version__,
        "sizes": {f: (folder / f).stat().st_size for f in _ALL_FILES},
    }
    (dest / "standin.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return folder
