"""Pure size arithmetic for thumbnail geometries and imageView2 modes (no libvips here).

All scale factors are exact fractions, so a side that a geometry pins (``500x`` -> width 500)
comes out exactly, whatever the source size.

Decisions on points the CI documentation leaves open (reference §5.2, §5.8; UNCONFIRMED there):

* Rounding: a scaled side is ``round-half-up(side * s)`` and never less than 1 px.
* ``WxH`` (fit) enlarges small images as well as shrinking big ones (ImageMagick geometry,
  which CI's syntax follows); ``WxH>`` only shrinks, ``WxH<`` only enlarges.
* ``A@`` is proportional, scales both ways, and floors each side so ``w * h <= A``
  (``w = isqrt(A*W0 // H0)``, ``h = isqrt(A*H0 // W0)``); the 1 px minimum wins over ``A``.
* Animated inputs are never enlarged (CI documents this): ``enlarge=False`` caps the scale
  at 1 for proportional geometries and caps each side at its source size for the others.
* imageView2 never enlarges (as in the Qiniu API imageView2 copies): the scale is capped at
  1, and the centre crop of modes 1 and 5 is then capped at the scaled size.
* imageView2 mode 5 = mode 4's scale, then a centre crop to ``Long x Short`` in the source's
  orientation (``Short x Long`` for a portrait source).
* Gravity places a box inside a larger one on a 3x3 grid; a centred position with an odd
  remainder leaves the extra pixel on the right/bottom (as ``centre_offset``).
* ``rotate`` by a non-right angle yields the bounding box of the turned image, each side
  ``round-half-up(|W cos a| + |H sin a|)`` (and the mirror for the height), never below 1 px;
  right angles are exact (90 and 270 swap the sides).
* ``scrop`` (cover then crop) scales by ``max(W/W0, H/H0)``, enlarging small images, so the
  crop that follows always finds a ``W x H`` box.
"""

import math
from fractions import Fraction
from math import floor, isqrt
from typing import Dict, NamedTuple, Optional, Tuple

from picops.grammar.ast import Geometry

Size2 = Tuple[int, int]


def round_half_up(x: Fraction) -> int:
    """Round a non-negative side length half up, with a 1 px minimum."""
    return max(1, floor(x + Fraction(1, 2)))


def scale(w0: int, h0: int, s: Fraction) -> Size2:
    return round_half_up(w0 * s), round_half_up(h0 * s)


def thumbnail_size(geom: Geometry, w0: int, h0: int, *, enlarge: bool = True) -> Size2:
    """The output size of ``imageMogr2/thumbnail/<geom>`` on a ``w0 x h0`` image."""
    kind = geom.kind
    if kind == "exact":
        w, h = geom.width, geom.height
        return (min(w, w0), min(h, h0)) if not enlarge else (w, h)
    if kind == "percent_width":
        w = round_half_up(Fraction(w0 * geom.percent, 100))
        return (min(w, w0) if not enlarge else w), h0
    if kind == "percent_height":
        h = round_half_up(Fraction(h0 * geom.percent, 100))
        return w0, (min(h, h0) if not enlarge else h)
    if kind == "area":
        w = max(1, isqrt(geom.area * w0 // h0))
        h = max(1, isqrt(geom.area * h0 // w0))
        if not enlarge and (w > w0 or h > h0):
            return w0, h0
        return w, h

    s = _proportional_scale(geom, w0, h0)
    if s is None:
        return w0, h0
    if not enlarge and s > 1:
        return w0, h0
    return scale(w0, h0, s)


def _proportional_scale(geom: Geometry, w0: int, h0: int) -> Optional[Fraction]:
    """The single scale factor of a proportional geometry; None means "leave unchanged"."""
    kind = geom.kind
    if kind == "percent":
        return Fraction(geom.percent, 100)
    if kind == "width":
        return Fraction(geom.width, w0)
    if kind == "height":
        return Fraction(geom.height, h0)
    fit = min(Fraction(geom.width, w0), Fraction(geom.height, h0)) \
        if geom.width and geom.height else None
    if kind == "fit":
        return fit
    if kind == "shrink":
        return fit if fit < 1 else None
    if kind == "enlarge":
        return fit if fit > 1 else None
    if kind == "cover":
        return max(Fraction(geom.width, w0), Fraction(geom.height, h0))
    raise ValueError(f"unknown thumbnail geometry kind {kind!r}")


class View2Plan(NamedTuple):
    """imageView2's result: scale to ``size``, then centre-crop to ``crop`` when given."""

    size: Size2
    crop: Optional[Size2]


def view2_plan(mode: int, w: Optional[int], h: Optional[int], w0: int, h0: int) -> View2Plan:
    """The resize (and crop) of ``imageView2/<mode>/w/<w>/h/<h>`` on a ``w0 x h0`` image."""
    if w is None and h is None:
        raise ValueError("imageView2 needs w or h")
    if mode in (1, 3, 4, 5):
        # One value given -> both sides take it (a square for 1, equal edges for 3..5).
        w = h if w is None else w
        h = w if h is None else h
    box: Optional[Size2] = None
    if mode == 1:
        s = max(Fraction(w, w0), Fraction(h, h0))
        box = (w, h)
    elif mode == 2:
        if w is not None and h is not None:
            s = min(Fraction(w, w0), Fraction(h, h0))
        else:
            s = Fraction(w, w0) if w is not None else Fraction(h, h0)
    elif mode == 3:
        s = max(Fraction(w, w0), Fraction(h, h0))
    elif mode in (4, 5):
        long0, short0 = max(w0, h0), min(w0, h0)
        s = max(Fraction(w, long0), Fraction(h, short0))
        if mode == 5:
            box = (w, h) if w0 >= h0 else (h, w)
    else:
        raise ValueError(f"imageView2 mode {mode} is not a CI mode (1..5)")
    s = min(s, Fraction(1))
    size = scale(w0, h0, s)
    crop = None
    if box is not None:
        crop = (min(box[0], size[0]), min(box[1], size[1]))
        if crop == size:
            crop = None
    return View2Plan(size, crop)


def centre_offset(outer: Size2, inner: Size2) -> Size2:
    """Top-left of an ``inner`` box centred in ``outer`` (odd remainders go right/bottom)."""
    return (outer[0] - inner[0]) // 2, (outer[1] - inner[1]) // 2


#: Gravity name -> (column, row) on the 3x3 grid: 0 = left/top, 1 = centre, 2 = right/bottom.
GRAVITY_GRID: Dict[str, Size2] = {
    "northwest": (0, 0), "north": (1, 0), "northeast": (2, 0),
    "west": (0, 1), "center": (1, 1), "east": (2, 1),
    "southwest": (0, 2), "south": (1, 2), "southeast": (2, 2),
}


def gravity_offset(gravity: str, outer: Size2, inner: Size2) -> Size2:
    """Top-left of an ``inner`` box placed at ``gravity`` inside ``outer`` (no dx/dy)."""
    column, row = GRAVITY_GRID[gravity]
    return _place(column, outer[0], inner[0]), _place(row, outer[1], inner[1])


def _place(slot: int, outer: int, inner: int) -> int:
    if slot == 0:
        return 0
    if slot == 2:
        return outer - inner
    return (outer - inner) // 2


def cover_size(w0: int, h0: int, width: int, height: int) -> Size2:
    """The smallest proportional scale of ``w0 x h0`` covering ``width x height``."""
    return scale(w0, h0, max(Fraction(width, w0), Fraction(height, h0)))


def rotated_size(w: int, h: int, degrees: float) -> Size2:
    """The bounding box of a ``w x h`` image turned by ``degrees`` (either direction)."""
    turn = degrees % 360
    if turn in (0, 180):
        return w, h
    if turn in (90, 270):
        return h, w
    a = math.radians(turn)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return _round_float(w * c + h * s), _round_float(w * s + h * c)


def _round_float(x: float) -> int:
    # Trim float noise first so an exact .5 from the trigonometry rounds half up as intended.
    return max(1, floor(round(x, 9) + 0.5))


__all__ = ["round_half_up", "scale", "thumbnail_size", "View2Plan", "view2_plan",
           "centre_offset", "GRAVITY_GRID", "gravity_offset", "cover_size", "rotated_size"]
