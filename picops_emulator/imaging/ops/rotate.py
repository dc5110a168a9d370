"""``rotate/<deg>`` (clockwise, any angle 0..360) and ``flip/vertical|horizontal``.

Every frame of an animation is turned or mirrored the same way (frames and delays kept).

* ``rotate``: 0 and 360 change nothing; 90, 180 and 270 are exact pixel moves. Any other
  angle resamples (bicubic) onto the bounding box of the turned image
  (``geometry.rotated_size``), about the image centre.
* Background of the uncovered corners (UNCONFIRMED in the reference; decided): transparent
  when the image has an alpha band (the output keeps it where the format has alpha), white
  otherwise; no alpha band is added to an opaque image, so a rotated JPEG or an opaque PNG has
  white corners. Edge pixels are blended with that background (anti-aliased), and images with
  alpha are rotated premultiplied so the transparent corners leave no dark fringe.
* Without ``auto-orient`` the stored pixels are turned and the EXIF orientation tag is still
  carried (the rule in ``base.py``); write ``auto-orient`` to turn the image as displayed.
* ``flip/vertical`` mirrors top to bottom (upside down), ``flip/horizontal`` left to right.
* Turning and upside-down flipping read the pixels out of order, so the image as it stands
  is first decoded into memory (one frame strip); a left-right flip streams.
"""

import math

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas
from ..errors import InvalidArgument
from ..geometry import rotated_size
from ..libvips import pyvips
from ..limits import check_output_size
from .base import GEOMETRY, Step

_RIGHT_ANGLES = {90: "rot90", 180: "rot180", 270: "rot270"}
BICUBIC_TAPS = 16
_FLIPS = {"vertical": "vertical", "horizontal": "horizontal"}


def rotate_frame(frame, degrees: float, width: int, height: int):
    """``frame`` turned clockwise by ``degrees`` onto a ``width x height`` box (its bbox)."""
    turn = degrees % 360
    if turn == 0:
        return frame
    if turn in _RIGHT_ANGLES:
        return getattr(frame, _RIGHT_ANGLES[turn])()
    a = math.radians(turn)
    c, s = math.cos(a), math.sin(a)
    alpha = frame.hasalpha()
    source = frame.premultiply() if alpha else frame
    white = 65535 if frame.format == "ushort" else 255
    background = [0 if alpha else white] * frame.bands
    # libvips puts pixel centres on integer coordinates, so the centre of a w-pixel row is
    # (w - 1) / 2; with that, 90 degrees through this matrix equals rot90 exactly. The matrix
    # maps (x, y) to (x cos - y sin, x sin + y cos), clockwise with y pointing down.
    out = source.affine(
        [c, -s, s, c], oarea=[0, 0, width, height],
        idx=-(frame.width - 1) / 2, idy=-(frame.height - 1) / 2,
        odx=(width - 1) / 2, ody=(height - 1) / 2,
        interpolate=pyvips.Interpolate.new("bicubic"),
        extend="background", background=background)
    if alpha:
        out = out.unpremultiply()
    return out.rint().cast(frame.format) if out.format != frame.format else out


def _rotate(canvas: Canvas, op: Operation, param: Param) -> None:
    degrees = param.value
    if isinstance(degrees, bool) or not isinstance(degrees, (int, float)) \
            or not 0 <= degrees <= 360:
        raise InvalidArgument(f"imageMogr2/rotate: {degrees!r} is not an angle in 0..360")
    if degrees % 360 == 0:
        return
    width, height = rotated_size(canvas.width, canvas.height, degrees)
    check_output_size(width, height, canvas.limits, f"imageMogr2/rotate/{degrees}")
    if degrees % 90:
        canvas.budget.spend(canvas.samples(width, height) * BICUBIC_TAPS,
                            f"imageMogr2/rotate/{degrees} to {width}x{height}")
    _random_access(canvas, f"imageMogr2/rotate/{degrees}")
    canvas.map_frames(lambda frame: rotate_frame(frame, degrees, width, height), width, height)


def _flip(canvas: Canvas, op: Operation, param: Param) -> None:
    direction = _FLIPS.get(str(param.value))
    if direction is None:
        raise InvalidArgument(f"imageMogr2/flip: {param.value!r} is not vertical or horizontal")
    if direction == "vertical":
        _random_access(canvas, "imageMogr2/flip/vertical")
    canvas.map_frames(lambda frame: frame.flip(direction))


def _random_access(canvas: Canvas, what: str) -> None:
    """Put the pixels in memory: turning reads columns or rows bottom-up, which a streaming
    (sequential) decode refuses ("out of order read"). A left-right mirror streams."""
    canvas.in_memory(f"{what} (the image in memory)")


ROTATE = Step(GEOMETRY, _rotate)
FLIP = Step(GEOMETRY, _flip)

__all__ = ["ROTATE", "FLIP", "rotate_frame"]
