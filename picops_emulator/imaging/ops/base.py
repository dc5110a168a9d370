"""What an imageMogr2 parameter handler is, and the phases that order them within a segment.

Order inside one ``imageMogr2`` segment (the reference leaves it UNCONFIRMED; decided here):

1. ``ORIENT``: ``auto-orient`` runs first wherever it is written, so every geometry is
   measured on the image as displayed (``thumbnail/200x`` on a portrait photo stored
   sideways gives a 200 px wide *portrait*). Without ``auto-orient`` the pixels stay as
   stored and the EXIF orientation tag is carried to the output (unless ``strip``).
2. ``GEOMETRY``: resizing (and later cropping, rotating, ...) in written order.
3. ``ENCODE``: format, quality, strip, interlace: settings for the encode, in written order.
4. ``MODIFIER``: parameters another handler reads (``pad``, ``color`` for ``thumbnail``;
   ``ignore-error`` for the pipeline); their own handler only checks they have a partner.
"""

from dataclasses import dataclass
from typing import Callable

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas

ORIENT, GEOMETRY, ENCODE, MODIFIER = range(4)

Handler = Callable[[Canvas, Operation, Param], None]


@dataclass(frozen=True)
class Step:
    """One parameter's handler and the phase it runs in."""

    phase: int
    apply: Handler


def no_op(canvas: Canvas, op: Operation, param: Param) -> None:
    """For modifiers whose partner reads them and that need no check of their own."""


__all__ = ["ORIENT", "GEOMETRY", "ENCODE", "MODIFIER", "Handler", "Step", "no_op"]
