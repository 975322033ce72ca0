"""CIFAR-10 stand-in objects: the drawing state, the class palettes and the four vehicles.

Each drawer paints parts in object coordinates (``u`` forward, ``v`` down, about [-1, 1]^2) through an
:class:`ObjectCanvas`; the six animals are in :mod:`book_utils.standins.cifar10_animals`.
"""

from __future__ import annotations

import numpy as np

from book_utils.standins.draw import (
    F32,
    GREYS,
    Arr,
    pick,
    sd_box,
    sd_capsule,
    sd_circle,
    sd_ellipse,
    sd_poly,
    shade,
)

PALETTES = {
    "airplane": GREYS + [(0.62, 0.66, 0.74), (0.7, 0.22, 0.18), (0.85, 0.75, 0.3), (0.42, 0.44, 0.3),
                         (0.3, 0.4, 0.65), (0.6, 0.55, 0.45)],
    "bird": GREYS + [(0.45, 0.32, 0.2), (0.3, 0.2, 0.12), (0.25, 0.4, 0.72), (0.72, 0.22, 0.15),
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
    "ship": GREYS + [(0.55, 0.15, 0.12), (0.2, 0.3, 0.55), (0.2, 0.35, 0.25), (0.75, 0.6, 0.3)],
    "automobile": GREYS + [(0.75, 0.12, 0.1), (0.15, 0.3, 0.7), (0.85, 0.75, 0.2), (0.2, 0.5, 0.3),
                           (0.85, 0.45, 0.12), (0.45, 0.15, 0.3), (0.5, 0.7, 0.85)],
    "truck": GREYS + [(0.75, 0.12, 0.1), (0.15, 0.3, 0.7), (0.85, 0.75, 0.2), (0.2, 0.5, 0.3),
                      (0.85, 0.45, 0.12), (0.45, 0.35, 0.25), (0.5, 0.7, 0.85)],
}
#: every class colour: the palette of clutter, occluders and the abstract backgrounds
ANY_COLOURS = [c for pal in PALETTES.values() for c in pal]


class ObjectCanvas:
    """Per-class drawing state: local coordinates, pixel scale, shading, the image and the object mask."""

    def __init__(self, rng: np.random.Generator, img: np.ndarray, u: np.ndarray, v: np.ndarray,
                 px: np.ndarray, light: np.ndarray) -> None:
        self.rng = rng
        self.n = img.shape[0]
        self.img = img
        self.u = u
        self.v = v
        self.px = px
        self.light = light
        self.mask = np.zeros(u.shape, dtype=bool)
        self.cover = np.zeros(u.shape, dtype=F32)

    def r(self, lo: float, hi: float) -> np.ndarray:
        """One uniform draw in [lo, hi) per image, shaped (n, 1, 1)."""
        return self.rng.uniform(lo, hi, (self.n, 1, 1)).astype(F32)

    def chance(self, p: float) -> np.ndarray:
        """One coin with probability ``p`` per image, bool (n, 1, 1)."""
        return self.rng.random((self.n, 1, 1)) < p

    def paint(self, d: np.ndarray, col: np.ndarray, on: np.ndarray | None = None, shade: bool = True,
              in_mask: bool = True) -> None:
        """Composite a part with signed distance ``d`` (object units) and colour ``col`` (n,3).

        Shading (light and fur texture) is applied once to all shaded parts in :meth:`finish`.
        """
        a = d * self.px
        np.subtract(F32(0.5), a, out=a)
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
        """The painted images with the light applied to the shaded parts."""
        lit = 1 + (self.light - 1) * self.cover
        return self.img * lit[..., None]


def draw_airplane(o: ObjectCanvas) -> None:
    """An airliner seen from the side or from below (swept wings, tail, optional engines)."""
    u, v = o.u, o.v
    body = pick(o.rng, o.n, PALETTES["airplane"])
    accent = np.where(o.chance(0.5)[:, 0], pick(o.rng, o.n, PALETTES["airplane"]), shade(body, 0.8))
    top_view = o.chance(0.45)
    L = o.r(0.8, 0.95)
    t = o.r(0.09, 0.15)
    sweep = o.r(0.1, 0.45)
    span = o.r(0.6, 0.95)
    wx = o.r(-0.15, 0.15)
    # top view: symmetric swept wings and tailplane
    wing_top = np.minimum(
        sd_poly(u, v, [(wx + 0.2, -t * 0.5), (wx - 0.25, -t * 0.5), (wx - 0.25 - sweep, -span),
                       (wx - 0.1 - sweep, -span)]),
        sd_poly(u, v, [(wx + 0.2, t * 0.5), (wx - 0.1 - sweep, span), (wx - 0.25 - sweep, span),
                       (wx - 0.25, t * 0.5)]),
    )
    tail_top = sd_poly(u, v, [(-L + 0.25, 0 * t), (-L - 0.05, -0.32 + 0 * t), (-L + 0.02, 0 * t),
                              (-L - 0.05, 0.32 + 0 * t)])
    # side view: wing seen edge-on, a fin at the back
    wing_side = sd_poly(u, v, [(wx + 0.15, t * 0.3), (wx - 0.2, t * 0.3), (wx - 0.3 - sweep * 0.5, t + 0.2),
                               (wx - 0.15 - sweep * 0.5, t + 0.2)])
    fin = sd_poly(u, v, [(-L + 0.35, -t * 0.5), (-L - 0.02, -t * 0.2), (-L - 0.08, -0.5 + 0 * t),
                         (-L + 0.1, -0.5 + 0 * t)])
    stab = sd_ellipse(u, v, -L + 0.12, -t * 0.1, 0.18, 0.04)
    side = ~top_view
    o.paint(np.where(top_view, tail_top, fin), accent)
    o.paint(np.where(top_view, wing_top, np.minimum(wing_side, stab)), shade(body, 0.85))
    o.paint(sd_ellipse(u, v, 0, 0, L, t), body)
    engines = o.chance(0.5)
    o.paint(sd_ellipse(u, v, wx - 0.05, t + 0.1, 0.14, 0.06), shade(body, 0.6), on=engines & side)
    o.paint(sd_ellipse(u, v, wx - 0.1 - sweep * 0.3, -span * 0.45, 0.12, 0.05), shade(body, 0.6),
            on=engines & top_view)
    o.paint(sd_ellipse(u, v, wx - 0.1 - sweep * 0.3, span * 0.45, 0.12, 0.05), shade(body, 0.6),
            on=engines & top_view)
    o.paint(sd_capsule(u, v, -L * 0.8, t * 0.1, L * 0.7, t * 0.1, 0.025), accent, on=o.chance(0.4) & side)
    o.paint(sd_ellipse(u, v, L * 0.8, -t * 0.3, 0.08, 0.04), shade(body, 0.35), in_mask=False)


def draw_ship(o: ObjectCanvas) -> None:
    """A hull with superstructure, funnel, mast, containers, or a sailing boat."""
    u, v = o.u, o.v
    hull = pick(o.rng, o.n, PALETTES["ship"])
    sup = np.where(o.chance(0.7)[:, 0], pick(o.rng, o.n, GREYS[:2]), pick(o.rng, o.n, PALETTES["ship"]))
    sail = o.chance(0.18)
    L = o.r(0.85, 0.98)
    h = np.where(sail, o.r(0.1, 0.16), o.r(0.18, 0.32))
    deck = o.r(0.05, 0.2)
    bow = o.r(0.05, 0.25)
    o.paint(sd_poly(u, v, [(-L, deck), (L + bow * 0.3, deck - bow), (L * 0.8, deck + h), (-L * 0.9, deck + h)]),
            hull)
    o.paint(sd_capsule(u, v, -L * 0.9, deck + h * 0.25, L * 0.85, deck + h * 0.25, 0.02), shade(hull, 1.6),
            on=o.chance(0.4), in_mask=False)
    # superstructure blocks
    x = o.r(-0.6, -0.1)
    for k in range(3):
        w = o.r(0.12, 0.3)
        hh = o.r(0.08, 0.2)
        on = ~sail & (o.chance(0.85) if k == 0 else o.chance(0.55))
        o.paint(sd_box(u, v, x, deck - hh, w, hh), sup, on=on)
        o.paint(sd_capsule(u, v, x - w * 0.8, deck - hh * 1.2, x + w * 0.8, deck - hh * 1.2, 0.02),
                shade(sup, 0.4), on=on, in_mask=False)
        x = x + w + o.r(0.1, 0.35)
    funnel = o.chance(0.5) & ~sail
    fx = o.r(-0.4, 0.2)
    o.paint(sd_box(u, v, fx, deck - 0.38, 0.07, 0.14), pick(o.rng, o.n, [(0.7, 0.15, 0.1), (0.1, 0.1, 0.1),
                                                                         (0.85, 0.7, 0.2)]), on=funnel)
    mast = o.chance(0.6) | sail
    mh = np.where(sail, o.r(0.8, 1.0), o.r(0.35, 0.7))
    mx = np.where(sail, o.r(-0.1, 0.15), o.r(-0.2, 0.5))
    o.paint(sd_capsule(u, v, mx, deck, mx, deck - mh, 0.025), shade(sup, 0.5), on=mast)
    o.paint(sd_poly(u, v, [(mx - 0.04, deck - 0.06), (mx - 0.04, deck - mh), (mx - o.r(0.5, 0.8), deck - 0.06)]),
            pick(o.rng, o.n, [(0.95, 0.95, 0.93), (0.85, 0.82, 0.75), (0.8, 0.3, 0.2)]), on=sail)
    containers = o.chance(0.3) & ~sail
    for k in range(4):
        cx = L * 0.7 - k * 0.22
        o.paint(sd_box(u, v, cx, deck - 0.07, 0.1, 0.07), pick(o.rng, o.n, ANY_COLOURS), on=containers)


def wheel(o: ObjectCanvas, x: Arr, y: Arr, rad: Arr, on: np.ndarray | None = None) -> None:
    """A tyre with a hub (the hub is not part of the mask's outline, the tyre is)."""
    tyre = pick(o.rng, o.n, [(0.08, 0.08, 0.08), (0.15, 0.15, 0.16)], 0.03)
    hub = pick(o.rng, o.n, [(0.7, 0.7, 0.72), (0.45, 0.45, 0.47)], 0.05)
    o.paint(sd_circle(o.u, o.v, x, y, rad), tyre, on=on)
    o.paint(sd_circle(o.u, o.v, x, y, rad * 0.5), hub, on=on, in_mask=False)


def window_colour(o: ObjectCanvas) -> np.ndarray:
    """Glass colours (n, 3), from dark tinted to bright reflections."""
    return pick(o.rng, o.n, [(0.25, 0.3, 0.4), (0.55, 0.65, 0.75), (0.15, 0.15, 0.18), (0.7, 0.75, 0.8)], 0.05)


def draw_automobile(o: ObjectCanvas) -> None:
    """A car or SUV from the side: body, cabin with windows, two wheels."""
    u, v = o.u, o.v
    col = pick(o.rng, o.n, PALETTES["automobile"])
    suv = o.chance(0.2)
    L = o.r(0.85, 0.98)
    bh = np.where(suv, o.r(0.18, 0.26), o.r(0.12, 0.19))
    by = o.r(0.05, 0.15)
    ch = np.where(suv, o.r(0.22, 0.32), o.r(0.16, 0.28))
    c0 = o.r(-0.65, -0.35)
    c1 = o.r(0.2, 0.5)
    top = by - bh
    o.paint(sd_poly(u, v, [(c0, top + 0.02), (c1, top + 0.02), (c1 - o.r(0.1, 0.3), top - ch),
                           (c0 + o.r(0.05, 0.25), top - ch)]), col)
    o.paint(sd_poly(u, v, [(c0 + 0.08, top), (c1 - 0.08, top), (c1 - 0.25, top - ch + 0.05),
                           (c0 + 0.22, top - ch + 0.05)]), window_colour(o), in_mask=False)
    o.paint(sd_box(u, v, 0 * L, by, L, bh, 0.07), col)
    o.paint(sd_capsule(u, v, c0 * 0.3 + 0.12, top + 0.02, c0 * 0.3 + 0.12, by + bh * 0.8, 0.012),
            shade(col, 0.5), in_mask=False)
    o.paint(sd_ellipse(u, v, L - 0.05, by - bh * 0.3, 0.05, 0.035), pick(o.rng, o.n, [(0.95, 0.92, 0.7)]),
            in_mask=False)
    wr = o.r(0.15, 0.22)
    for wx in (-0.58, 0.58):
        wheel(o, wx * L, by + bh, wr)


def draw_truck(o: ObjectCanvas) -> None:
    """A lorry from the side: cab, then a box body, an open pickup bed or a tank; two or three axles."""
    u, v = o.u, o.v
    cab = pick(o.rng, o.n, PALETTES["truck"])
    cargo = np.where(o.chance(0.5)[:, 0], pick(o.rng, o.n, GREYS[:3] + PALETTES["truck"]), cab)
    kind = o.rng.random((o.n, 1, 1))
    pickup = kind < 0.22
    tanker = (kind >= 0.22) & (kind < 0.35)
    box = kind >= 0.35
    L = o.r(0.88, 0.98)
    floor = o.r(0.2, 0.35)
    cab_w = o.r(0.22, 0.32)
    cab_h = o.r(0.45, 0.7)
    cab_x = L - cab_w
    o.paint(sd_box(u, v, 0 * L - 0.1, floor, L * 0.95, 0.05), shade(cab, 0.3))  # chassis
    # cab with a sloped front
    o.paint(sd_poly(u, v, [(cab_x - cab_w, floor), (cab_x + cab_w, floor), (cab_x + cab_w, floor - cab_h * 0.55),
                           (cab_x + cab_w * 0.5, floor - cab_h), (cab_x - cab_w, floor - cab_h)]), cab)
    o.paint(sd_poly(u, v, [(cab_x + cab_w * 0.05, floor - cab_h * 0.55), (cab_x + cab_w * 0.85, floor - cab_h * 0.55),
                           (cab_x + cab_w * 0.45, floor - cab_h * 0.9), (cab_x + cab_w * 0.05, floor - cab_h * 0.9)]),
            window_colour(o), in_mask=False)
    rear = -L
    front = cab_x - cab_w - 0.04
    mid = (rear + front) * 0.5
    half = (front - rear) * 0.5
    hb = np.where(box, o.r(0.3, 0.48), o.r(0.1, 0.16))
    o.paint(sd_box(u, v, mid, floor - 0.05 - hb, half, hb, 0.02), cargo, on=box)
    o.paint(sd_box(u, v, mid, floor - 0.05 - hb, half, hb, 0.02), cab, on=pickup)
    o.paint(sd_capsule(u, v, rear + 0.2, floor - 0.28, front - 0.2, floor - 0.28, 0.24), cargo, on=tanker)
    wr = o.r(0.12, 0.18)
    wheel(o, cab_x, floor + 0.05, wr)
    wheel(o, rear + 0.3, floor + 0.05, wr)
    wheel(o, rear + 0.3 + wr * 2.2, floor + 0.05, wr, on=o.chance(0.7))
