"""What an imageMogr2 parameter handler is, and the phases that order them within a segment.

Order inside one ``imageMogr2`` segment (the reference leaves it UNCONFIRMED; decided here):

1. ``ORIENT``: ``auto-orient`` runs first wherever it is written, so every geometry is
   measured on the image as displayed (``thumbnail/200x`` on a portrait photo stored
   sideways gives a 200 px wide *portrait*). Without ``auto-orient`` the pixels stay as
   stored and the EXIF orientation tag is carried to the output (unless ``strip``).
2. ``FRAMES``: ``cgif`` picks the GIF frames to keep. Choosing frames commutes with every
   per-frame operation, so doing it early changes no result and saves work on dropped frames.
3. ``GEOMETRY``: every pixel operation in written order: resizing (``thumbnail``), cropping
   (``crop`` with its ``gravity``, ``cut``, ``scrop``), masks (``iradius``, ``rradius``),
   ``rotate``, ``flip`` and the filters (``blur``, ``sharpen``, ``bright``, ``contrast``,
   ``grayscale``). Written order is the reference's recommendation and what ImageMagick-style
   option lists do: ``blur/8x5/thumbnail/100x`` blurs the full image and then shrinks it, while
   ``thumbnail/100x/blur/8x5`` blurs the small one (and keeps shrink-on-load).
4. ``ENCODE``: format, quality, strip, interlace: settings for the encode, in written order.
5. ``LIMIT``: ``size-limit`` searches the encode quality, so it needs every pixel operation
   and every encode setting of the segment settled first.
6. ``MODIFIER``: parameters another handler reads (``pad``, ``color`` for ``thumbnail``;
   ``gravity`` for ``crop``; ``ignore-error`` for the pipeline); their own handler only
   checks they have a partner.
"""

from dataclasses import dataclass
from typing import Callable

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas

ORIENT, FRAMES, GEOMETRY, ENCODE, LIMIT, MODIFIER = range(6)

Handler = Callable[[Canvas, Operation, Param], None]


@dataclass(frozen=True)
class Step:
    """One parameter's handler and the phase it runs in."""

    phase: int
    apply: Handler


class KeepStageInput(Exception):
    """Raised by a handler to make the stage's output its input, unchanged.

    Not an error: ``size-limit/<N>!`` raises it when the stage's input file is not larger
    than what the stage would write. The pipeline rolls the stage back exactly as it does for
    ``ignore-error/1``, so a rule whose every stage kept its input returns the input bytes.
    """


def no_op(canvas: Canvas, op: Operation, param: Param) -> None:
    """For modifiers whose partner reads them and that need no check of their own."""


__all__ = ["ORIENT", "FRAMES", "GEOMETRY", "ENCODE", "LIMIT", "MODIFIER", "Handler", "Step",
           "KeepStageInput", "no_op"]
