"""``imageMogr2/thumbnail/<geometry>`` with its modifiers ``/pad/1`` and ``/color/<b64>``.

The size arithmetic lives in ``geometry.thumbnail_size`` (rounding and enlargement decisions
are documented there). The resize goes through ``Canvas.resize``, i.e. shrink-on-load when it is
the first thing to touch the pixels.

``pad/1`` (decided where the reference is silent): after the resize, every frame is centred
on a ``W x H`` canvas of ``color`` (default white). It needs a geometry with a box: ``WxH``,
``WxH>``, ``WxH<`` or ``WxH!``; any other geometry is an InvalidArgument. When the image ends
up larger than the box on a side (``WxH<`` on a big image, which it does not shrink), the
canvas grows to the image on that side instead of cropping it.
"""

import re
from typing import Tuple

from picops.grammar.ast import PAD_GEOMETRY_KINDS, Base64Text, Geometry, Operation, Param

from ..canvas import WHITE, Canvas
from ..errors import InvalidArgument
from ..geometry import centre_offset, thumbnail_size
from .base import GEOMETRY, MODIFIER, Step

_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


def thumbnail(canvas: Canvas, op: Operation, param: Param) -> None:
    geom = param.value
    if not isinstance(geom, Geometry):
        raise InvalidArgument(f"imageMogr2/thumbnail: {geom!r} is not a geometry")
    where = f"imageMogr2/thumbnail/{geom}"
    # CI never enlarges animated images; their geometry is capped at the source size.
    width, height = thumbnail_size(geom, canvas.width, canvas.height,
                                   enlarge=canvas.frames == 1)
    canvas.resize(width, height, where)
    if op.has("pad") and op.get("pad") == 1:
        _pad(canvas, op, geom)


def _pad(canvas: Canvas, op: Operation, geom: Geometry) -> None:
    if geom.kind not in PAD_GEOMETRY_KINDS:
        raise InvalidArgument(
            f"imageMogr2/pad needs a thumbnail geometry with a box (WxH, WxH>, WxH<, WxH!), "
            f"not '{geom}'")
    box = (max(geom.width, canvas.width), max(geom.height, canvas.height))
    rgb = parse_colour(op.get("color"), "imageMogr2/color") if op.has("color") else WHITE
    left, top = centre_offset(box, (canvas.width, canvas.height))
    canvas.embed(box[0], box[1], left, top, rgb)


def parse_colour(value: object, where: str) -> Tuple[int, int, int]:
    """``#RRGGBB`` (decoded from URL-safe Base64 by the parser) -> (r, g, b)."""
    text = value.text if isinstance(value, Base64Text) else str(value)
    m = _HEX_COLOUR.fullmatch(text.strip())
    if not m:
        raise InvalidArgument(f"{where}: {text!r} is not a #RRGGBB colour")
    hexa = m.group(1)
    return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16)


def _needs_thumbnail(canvas: Canvas, op: Operation, param: Param) -> None:
    if not op.has("thumbnail"):
        raise InvalidArgument(
            f"imageMogr2/{param.name} only applies together with /thumbnail/ in the same "
            f"imageMogr2 segment")
    if param.name == "color" and not op.has("pad"):
        raise InvalidArgument("imageMogr2/color only applies together with /pad/1")


STEP = Step(GEOMETRY, thumbnail)
PAD = Step(MODIFIER, _needs_thumbnail)
COLOR = Step(MODIFIER, _needs_thumbnail)

__all__ = ["STEP", "PAD", "COLOR", "parse_colour"]
