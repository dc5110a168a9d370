"""``imageMogr2/auto-orient``: rotate/flip upright per the EXIF orientation, then drop the tag.

A no-op for images without an orientation (or orientation 1) and for animations.
"""

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas
from .base import ORIENT, Step


def auto_orient(canvas: Canvas, op: Operation, param: Param) -> None:
    canvas.auto_orient()


STEP = Step(ORIENT, auto_orient)

__all__ = ["STEP"]
