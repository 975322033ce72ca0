"""CIFAR-10 stand-in animals: bird, frog and the four quadrupeds (cat, deer, dog, horse).

Drawers paint in object coordinates (``u`` forward, ``v`` down, about [-1, 1]^2) on an
:class:`~book_utils.standins.cifar10_objects.ObjectCanvas`.
"""

from __future__ import annotations

import numpy as np

from book_utils.standins.cifar10_objects import PALETTES, ObjectCanvas
from book_utils.standins.draw import pick, sd_capsule, sd_circle, sd_ellipse, sd_poly, shade, sincos


def draw_bird(o: ObjectCanvas) -> None:
    """A bird perched (sometimes on a branch) or flying, side-on or with both wings spread."""
    u, v = o.u, o.v
    body = pick(o.rng, o.n, PALETTES["bird"])
    wingc = np.where(o.chance(0.5)[:, 0], pick(o.rng, o.n, PALETTES["bird"]), shade(body, 0.75))
    head = np.where(o.chance(0.3)[:, 0], pick(o.rng, o.n, PALETTES["bird"]), body)
    beakc = pick(o.rng, o.n, [(0.9, 0.7, 0.2), (0.2, 0.2, 0.2), (0.6, 0.55, 0.5), (0.9, 0.45, 0.15)])
    flying = o.chance(0.5)
    spread = o.chance(0.5) & flying  # seen from below: both wings out like an airplane
    tilt = np.where(flying, o.r(-0.1, 0.1), o.r(-0.7, -0.2))
    rot = sincos(tilt)
    a = np.where(flying, o.r(0.4, 0.55), o.r(0.35, 0.5))
    b = np.where(flying, o.r(0.12, 0.18), o.r(0.2, 0.28))
    s, c = rot
    hx = c * a * 0.95 + s * b * 0.4
    hy = -s * a * 0.95 - c * b * 0.4
    hr = o.r(0.13, 0.2)
    tx_ = -c * a * 0.9
    ty_ = s * a * 0.9
    tail_len = o.r(0.25, 0.45)
    o.paint(sd_poly(u, v, [(tx_ + 0.1, ty_ - 0.05), (tx_ - tail_len, ty_ - 0.15 + tilt * 0.3),
                           (tx_ - tail_len, ty_ + 0.15 + tilt * 0.3), (tx_ + 0.1, ty_ + 0.05)]),
            wingc)
    # legs and perch for sitting birds
    perched = ~flying
    legs_y = b + o.r(0.1, 0.25)
    for dx in (-0.08, 0.08):
        o.paint(sd_capsule(u, v, dx * 1 + 0 * a, b * 0.6, dx * 1 + 0 * a, legs_y, 0.025), beakc, on=perched)
    branch = o.chance(0.6) & perched
    o.paint(sd_capsule(u, v, -1.1 + 0 * a, legs_y + 0.03, 1.1 + 0 * a, legs_y + o.r(-0.1, 0.1), 0.05),
            pick(o.rng, o.n, [(0.35, 0.25, 0.15), (0.25, 0.2, 0.15)]), on=branch, in_mask=False)
    span = o.r(0.55, 0.95)
    sweep = o.r(-0.1, 0.3)
    # far wing (behind body) when flying side-on, raised
    up = o.chance(0.5)
    wing_up = sd_poly(u, v, [(0.2 + 0 * a, -b * 0.5), (-0.25 + 0 * a, -b * 0.5),
                             (-0.2 - sweep, -span), (0.0 - sweep, -span * 0.9)])
    wing_dn = sd_poly(u, v, [(0.2 + 0 * a, b * 0.3), (-0.25 + 0 * a, b * 0.3),
                             (-0.2 - sweep, span * 0.8), (0.0 - sweep, span * 0.75)])
    spread_wings = np.minimum(
        sd_ellipse(u, v, -sweep * 0.5, -span * 0.5, 0.16, span * 0.5, sincos(sweep * 0.5)),
        sd_ellipse(u, v, -sweep * 0.5, span * 0.5, 0.16, span * 0.5, sincos(-sweep * 0.5)),
    )
    side_fly = flying & ~spread
    o.paint(np.where(spread, spread_wings, np.where(up, wing_up, wing_dn)), wingc, on=flying)
    o.paint(sd_ellipse(u, v, 0, 0, a, b, rot), body)
    o.paint(sd_ellipse(u, v, -a * 0.1, -b * 0.1, a * 0.6, b * 0.55, rot), wingc, on=perched)
    o.paint(sd_ellipse(u, v, -a * 0.1, -b * 0.2, a * 0.5, b * 0.4), wingc, on=side_fly & ~up)
    o.paint(sd_circle(u, v, hx, hy, hr), head)
    bl = o.r(0.08, 0.22)
    o.paint(sd_poly(u, v, [(hx + hr * 0.7, hy - hr * 0.3), (hx + hr + bl, hy + hr * 0.05),
                           (hx + hr * 0.7, hy + hr * 0.35)]), beakc)
    o.paint(sd_circle(u, v, hx + hr * 0.35, hy - hr * 0.25, hr * 0.25), shade(body, 0.15), shade=False,
            in_mask=False)


def _proportions(o: ObjectCanvas, kind: str) -> tuple[np.ndarray, ...]:
    """Body, leg, neck, head and tail sizes of one quadruped kind, plus whether it sits."""
    r = o.r
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
    return a, b, leg, lw, neck, nw, nang, ha, hb, snout, tail_len, tail_w, tail_ang, sit


def quadruped(o: ObjectCanvas, kind: str) -> None:
    """A four-legged animal from the side: ``kind`` is "cat", "dog", "deer" or "horse" (cats and dogs may sit)."""
    u, v = o.u, o.v
    r = o.r
    col = pick(o.rng, o.n, PALETTES[kind])
    dark = shade(col, 0.7)
    second = np.where(o.chance(0.35)[:, 0], pick(o.rng, o.n, PALETTES[kind]), col)
    a, b, leg, lw, neck, nw, nang, ha, hb, snout, tail_len, tail_w, tail_ang, sit = _proportions(o, kind)
    # body rotates up about its rear when sitting
    phi = np.where(sit, r(-0.9, -0.6), r(-0.1, 0.1))
    s, c = sincos(phi)
    bx, by = 0 * a, -b * 0.2 - 0.05
    front = (bx + c * a * 0.6 + s * b * 0.4, by - s * a * 0.6 + c * b * 0.4)
    rear = (bx - c * a * 0.6 + s * b * 0.4, by + s * a * 0.6 + c * b * 0.4)
    ground = np.where(sit, front[1] + leg * 1.2 + 0.1, by + b * 0.6 + leg)
    ground = np.minimum(ground, 0.95)
    stride = r(-0.12, 0.12)
    # far legs (darker) first, then tail, body, near legs, neck, head
    o.paint(sd_capsule(u, v, front[0] - 0.06, front[1], front[0] - 0.06 - stride, ground, lw, lw * 0.8), dark)
    o.paint(sd_capsule(u, v, rear[0] + 0.06, rear[1], rear[0] + 0.06 - stride, ground, lw, lw * 0.8), dark,
            on=~sit)
    tail0 = (bx - c * a * 0.92, by + s * a * 0.92 - b * 0.2)
    ts, tc = sincos(tail_ang)
    tail1 = (tail0[0] - tc * tail_len, tail0[1] + ts * tail_len)
    o.paint(sd_capsule(u, v, tail0[0], tail0[1], tail1[0], tail1[1], tail_w, tail_w * 0.7), second)
    o.paint(sd_ellipse(u, v, bx, by, a, b, (s, c)), col)
    o.paint(sd_ellipse(u, v, rear[0] + 0.05, rear[1] - b * 0.2, a * 0.45, b * 0.9, (s, c)), col, on=sit)
    o.paint(sd_capsule(u, v, front[0] + 0.06, front[1], front[0] + 0.06 + stride, ground, lw, lw * 0.8), col)
    o.paint(sd_capsule(u, v, rear[0] - 0.06, rear[1], rear[0] - 0.06 + stride, ground, lw, lw * 0.8), col,
            on=~sit)
    o.paint(sd_ellipse(u, v, rear[0] - 0.02, ground - 0.04, lw * 2.5, lw * 1.2), col, on=sit)
    ns, nc = sincos(nang)
    n0 = (bx + c * a * 0.75 + s * b * 0.2, by - s * a * 0.75 - c * b * 0.5)
    n1 = (n0[0] + nc * neck, n0[1] - ns * neck)
    o.paint(sd_capsule(u, v, n0[0], n0[1], n1[0], n1[1], nw * 1.2, nw), col)
    if kind == "horse":
        o.paint(sd_capsule(u, v, n0[0] - nw * 0.8, n0[1] - nw * 0.3, n1[0] - nw * 0.6, n1[1] - nw * 0.5,
                           nw * 0.4), second)
    hang = np.where(o.chance(0.5), r(-0.9, -0.4), r(-0.3, 0.2)) if kind in ("horse", "deer") else r(-0.3, 0.3)
    hs, hc = sincos(-hang)
    hx, hy = n1[0] + hc * ha * 0.4, n1[1] + hs * ha * 0.4
    # ears / antlers before the head so the head overlaps their roots
    if kind == "cat":
        el = r(0.12, 0.2)
        for dx in (-0.08, 0.06):
            o.paint(sd_poly(u, v, [(hx + dx - 0.07, hy - hb * 0.5), (hx + dx + 0.07, hy - hb * 0.5),
                                   (hx + dx + 0.01, hy - hb * 0.5 - el)]), col)
    elif kind == "dog":
        pointy = o.chance(0.25)
        el = r(0.1, 0.2)
        o.paint(sd_poly(u, v, [(hx - 0.1, hy - hb * 0.5), (hx + 0.03, hy - hb * 0.5),
                               (hx - 0.04, hy - hb * 0.5 - el)]), col, on=pointy)
        o.paint(sd_ellipse(u, v, hx - ha * 0.5, hy + el * 0.3, 0.06, el * 0.8, sincos(r(-0.4, 0.1))),
                dark, on=~pointy)
    else:
        el = r(0.08, 0.14)
        o.paint(sd_poly(u, v, [(hx - ha * 0.4 - 0.04, hy - hb * 0.6), (hx - ha * 0.4 + 0.04, hy - hb * 0.6),
                               (hx - ha * 0.6, hy - hb * 0.6 - el)]), col)
        if kind == "deer":
            ant = o.chance(0.6)
            acol = pick(o.rng, o.n, [(0.35, 0.28, 0.2), (0.55, 0.48, 0.38), (0.25, 0.2, 0.15)])
            base = (hx - ha * 0.3, hy - hb * 0.6)
            h_ = r(0.25, 0.42)
            o.paint(sd_capsule(u, v, base[0], base[1], base[0] - 0.12, base[1] - h_, 0.025), acol, on=ant)
            o.paint(sd_capsule(u, v, base[0] - 0.05, base[1] - h_ * 0.5, base[0] + 0.1, base[1] - h_ * 0.8,
                               0.02), acol, on=ant)
            o.paint(sd_capsule(u, v, base[0] - 0.1, base[1] - h_ * 0.8, base[0] - 0.25, base[1] - h_ * 0.95,
                               0.02), acol, on=ant)
    o.paint(sd_ellipse(u, v, hx, hy, ha, hb, (hs, hc)), col)
    sx, sy = hx + hc * (ha * 0.7), hy + hs * (ha * 0.7) + hb * 0.2
    o.paint(sd_ellipse(u, v, sx, sy, snout + 0.04, hb * 0.55, (hs, hc)), second)
    o.paint(sd_circle(u, v, hx + hc * ha * 0.2, hy - hb * 0.35, 0.035), shade(col, 0.2), shade=False,
            in_mask=False)


def draw_cat(o: ObjectCanvas) -> None:
    """A cat, standing or sitting."""
    quadruped(o, "cat")


def draw_dog(o: ObjectCanvas) -> None:
    """A dog, standing or sitting, with pointed or floppy ears."""
    quadruped(o, "dog")


def draw_deer(o: ObjectCanvas) -> None:
    """A long-legged deer, often with antlers."""
    quadruped(o, "deer")


def draw_horse(o: ObjectCanvas) -> None:
    """A horse with a mane."""
    quadruped(o, "horse")


def draw_frog(o: ObjectCanvas) -> None:
    """A frog from the side (folded hind leg) or the front (splayed legs, two eyes)."""
    u, v = o.u, o.v
    col = pick(o.rng, o.n, PALETTES["frog"])
    belly = np.clip(col + 0.25, 0, 1)
    front = o.chance(0.3)
    a, b = o.r(0.5, 0.7), o.r(0.26, 0.36)
    tilt = o.r(-0.35, -0.1)
    rot = sincos(np.where(front, 0 * tilt, tilt))
    # folded hind leg (side view) or two splayed legs (front view)
    o.paint(sd_ellipse(u, v, -a * 0.45, b * 0.45, a * 0.45, b * 0.45, sincos(o.r(-0.5, -0.1))), col, on=~front)
    o.paint(sd_capsule(u, v, -a * 0.3, b * 0.95, a * 0.1, b * 1.05, 0.06), shade(col, 0.8), on=~front)
    for sgn in (-1, 1):
        o.paint(sd_ellipse(u, v, sgn * a * 0.85, b * 0.55, a * 0.35, b * 0.35), shade(col, 0.85), on=front)
    o.paint(sd_ellipse(u, v, 0, 0, a, b, rot), col)
    o.paint(sd_ellipse(u, v, 0, b * 0.45, a * 0.7, b * 0.4), belly, on=front)
    o.paint(sd_capsule(u, v, a * 0.5, b * 0.4, a * 0.6, b * 1.05, 0.05), shade(col, 0.9), on=~front)
    er = o.r(0.08, 0.13)
    eye_y = -b * 0.75
    ex_side = a * 0.55
    pupil = shade(col, 0.1)
    eyecol = np.where(o.chance(0.5)[:, 0], col, pick(o.rng, o.n, [(0.85, 0.75, 0.3), (0.9, 0.9, 0.85)]))
    for ex, on in ((ex_side, ~front), (-a * 0.45, front), (a * 0.45, front)):
        o.paint(sd_circle(u, v, ex, eye_y, er), eyecol, on=on)
        o.paint(sd_circle(u, v, ex + 0.02, eye_y, er * 0.5), pupil, on=on, shade=False)
    spots = o.chance(0.4)
    for _ in range(3):
        o.paint(sd_circle(u, v, o.r(-0.4, 0.3), o.r(-0.15, 0.1), o.r(0.04, 0.08)), shade(col, 0.6),
                on=spots & ~front, in_mask=False)
    o.paint(sd_capsule(u, v, a * 0.55, -b * 0.05, a * 0.95, b * 0.05, 0.02), shade(col, 0.5), on=~front,
            in_mask=False)
