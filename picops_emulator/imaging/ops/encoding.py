"""Encode settings shared by imageMogr2 and imageView2: format, quality family, strip, interlace.

These only record settings on the canvas; ``Canvas.end_stage`` resolves the quality
(``quality.py``) and ``encode.py`` writes the file. See ``formats.py`` for what each format
name becomes and which ones are refused.
"""

from picops.grammar.ast import Operation, Param, Quality

from ..canvas import Canvas
from ..errors import InvalidArgument, UnsupportedOperation
from ..formats import canonical, refusal
from .base import ENCODE, Step


def check_format(interface: str, value: object) -> None:
    name = str(value)
    why = refusal(name)
    if why:
        raise UnsupportedOperation(f"{interface}/format/{name}", why)


def set_format(canvas: Canvas, interface: str, value: object) -> None:
    check_format(interface, value)
    canvas.format = canonical(str(value))


def add_quality(canvas: Canvas, interface: str, name: str, value: object) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = Quality(value)
    if not isinstance(value, Quality):
        raise InvalidArgument(f"{interface}/{name}: {value!r} is not a quality value")
    canvas.stage.quality_params.append((name, value))


def _format(canvas: Canvas, op: Operation, param: Param) -> None:
    set_format(canvas, op.interface, param.value)


def _quality(canvas: Canvas, op: Operation, param: Param) -> None:
    add_quality(canvas, op.interface, param.name, param.value)


def _strip(canvas: Canvas, op: Operation, param: Param) -> None:
    canvas.strip = True


def _interlace(canvas: Canvas, op: Operation, param: Param) -> None:
    # Only a JPEG output becomes progressive; CI ignores interlace for other formats.
    canvas.stage.interlace = param.value == 1


FORMAT = Step(ENCODE, _format)
QUALITY = Step(ENCODE, _quality)
STRIP = Step(ENCODE, _strip)
INTERLACE = Step(ENCODE, _interlace)

__all__ = ["FORMAT", "QUALITY", "STRIP", "INTERLACE", "check_format", "set_format",
           "add_quality"]
