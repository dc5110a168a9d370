"""Watermark layers: where one goes, how it is tiled and rotated, and how it is blended in.

A *layer* here is an 8-bit image with alpha (RGBA, or grey + alpha for achromatic
watermarks), not premultiplied, as ``ops/watermark.py`` builds it. Everything below works
per frame: for an animated base (a vertical strip of frames, see ``canvas.py``) the same
layer is clipped to one frame and drawn at the same spot on every frame.

Placement (reference §5.1 and §5.9; the CI docs define the anchor, the rest is decided):

* ``gravity`` picks an anchor on the 3x3 grid; ``dx``/``dy`` are pixel margins from that
  anchor pointing *into* the image: west column ``x = dx``, east column
  ``x = W - w - dx``, centre column centred with dx ignored; north row ``y = dy``, south row
  ``y = H - h - dy``, middle row centred with dy ignored.
* A layer that does not fit is clipped at the image's edges (nothing wraps to the next
  frame of an animation).

Tiling (``batch/1``; UNCONFIRMED in CI's docs, decided): the layer, first rotated clockwise
by ``degree`` (the same sense as ``imageMogr2/rotate``) onto a transparent box, is repeated
on a grid that starts at the top-left corner and covers the whole frame. Cells are the
rotated box plus ``dx`` horizontally and ``dy`` vertically as gaps (gravity and margins mean
nothing for a tiling; the offsets become its spacing).

Blending: ``over`` with opacity ``dissolve``% (the layer's alpha is scaled). The base keeps
its band format (16-bit stays 16-bit) and its alpha band if it had one; a greyscale base
under a coloured layer becomes sRGB.
"""

import math
from typing import Optional, Tuple

from .errors import InvalidArgument
from .geometry import GRAVITY_GRID, gravity_offset
from .libvips import pyvips

Position = Tuple[int, int]


def place(gravity: str, dx: int, dy: int, layer: Tuple[int, int],
          frame: Tuple[int, int]) -> Position:
    """Top-left corner of a ``layer``-sized box anchored at ``gravity`` inside ``frame``.

    The anchor is ``geometry.gravity_offset``'s; the margins then push the box away from
    the edge it is anchored to (a centred column or row ignores its margin).
    """
    gravity = gravity.lower()
    if gravity not in GRAVITY_GRID:
        raise InvalidArgument(f"watermark gravity {gravity!r} is not one of "
                              f"{', '.join(GRAVITY_GRID)}")
    column, row = GRAVITY_GRID[gravity]
    x, y = gravity_offset(gravity, frame, layer)
    return x + (1 - column) * dx, y + (1 - row) * dy


def with_opacity(layer, dissolve: int):
    """Scale the layer's alpha by ``dissolve`` percent (100 = unchanged)."""
    if dissolve >= 100:
        return layer
    colour, alpha = layer[:-1], layer[-1]
    return colour.bandjoin((alpha * (dissolve / 100.0) + 0.5).cast("uchar"))


def rotate(layer, degree: int):
    """Rotate clockwise onto a transparent box that holds the whole turned layer."""
    if degree % 360 == 0:
        return layer
    # Interpolating unpremultiplied colour would pull the transparent border's black into
    # the edges; rotate premultiplied, then undo it.
    turned = layer.premultiply().rotate(degree, background=[0] * layer.bands)
    return turned.unpremultiply().cast("uchar")


def tile(layer, width: int, height: int, gap_x: int, gap_y: int):
    """A ``width x height`` layer of copies of ``layer`` on a grid from the top-left corner."""
    cell_w, cell_h = layer.width + gap_x, layer.height + gap_y
    if gap_x or gap_y:
        layer = layer.embed(0, 0, cell_w, cell_h, extend="background",
                            background=[0] * layer.bands)
    across, down = math.ceil(width / cell_w), math.ceil(height / cell_h)
    return layer.replicate(across, down).crop(0, 0, width, height)


def clip(layer, x: int, y: int, width: int, height: int) -> Optional[Tuple[object, int, int]]:
    """The part of ``layer`` at (x, y) inside a ``width x height`` frame, and its new corner.

    None when nothing of it is inside.
    """
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + layer.width, width), min(y + layer.height, height)
    if right <= left or bottom <= top:
        return None
    if (left, top, right, bottom) != (x, y, x + layer.width, y + layer.height):
        layer = layer.crop(left - x, top - y, right - left, bottom - top)
    return layer, left, top


def blend(base, layer, x: int, y: int, frame_height: int):
    """Draw ``layer`` at (x, y) on every frame of ``base`` (``frame_height`` rows each)."""
    frames = max(base.height // frame_height, 1)
    clipped = clip(layer, x, y, base.width, frame_height)
    if clipped is None:
        return base
    layer, x, y = clipped

    base = _working(base)
    sixteen = base.format == "ushort"
    colour = base.bands >= 3 or layer.bands >= 3
    if colour and base.bands < 3:
        base = base.colourspace("rgb16" if sixteen else "srgb")
    if colour and layer.bands < 3:
        layer = layer.colourspace("srgb")
    if sixteen:
        layer = (layer.cast("ushort") * 257).cast("ushort")
    space = ("rgb16" if sixteen else "srgb") if colour else ("grey16" if sixteen else "b-w")
    layer = layer.copy(interpretation=space)

    had_alpha = base.hasalpha()
    out = base.composite(
        [layer] * frames, ["over"] * frames,
        x=[x] * frames, y=[y + i * frame_height for i in range(frames)],
        compositing_space=space)
    if not had_alpha:
        # composite always adds alpha; on an opaque base it is opaque everywhere.
        out = out.extract_band(0, n=out.bands - 1)
    out = out.cast(base.format).copy(interpretation=space)
    return _keep_strip(out, frame_height, frames)


def _working(base):
    """8- or 16-bit sRGB/grey: anything else (float TIFF, ...) becomes 8-bit sRGB first."""
    if base.format in ("uchar", "ushort"):
        return base
    return base.colourspace("srgb").cast("uchar")


def _keep_strip(image, frame_height: int, frames: int):
    if frames > 1:
        image = image.copy()
        image.set_type(pyvips.GValue.gint_type, "page-height", frame_height)
    return image


__all__ = ["place", "with_opacity", "rotate", "tile", "clip", "blend"]
