"""Run one ``imageMogr2`` segment: dispatch each param to its registered handler, in phase order.

``STEPS`` is the registry: param name -> :class:`~.base.Step`, one module per family
(``thumbnail``, ``crop`` (crop, gravity, cut, scrop), ``shape`` (iradius, rradius), ``rotate``
(rotate, flip), ``adjust`` (blur, sharpen, bright, contrast, grayscale), ``cgif``,
``sizelimit``, ``encoding``). A param the grammar accepts but ``STEPS`` lacks raises
UnsupportedOperation before any work is done, so a rule is either executed fully or refused:
never a partial image. Phases and the resulting order are documented in ``base.py``.
"""

from typing import Dict

from picops.grammar.ast import Operation

from ..canvas import Canvas
from ..errors import UnsupportedOperation
from . import adjust, cgif, crop, encoding, orient, rotate, shape, sizelimit, thumbnail
from .base import MODIFIER, Step, no_op

STEPS: Dict[str, Step] = {
    "auto-orient": orient.STEP,
    "thumbnail": thumbnail.STEP,
    "pad": thumbnail.PAD,
    "color": thumbnail.COLOR,
    "format": encoding.FORMAT,
    "quality": encoding.QUALITY,
    "rquality": encoding.QUALITY,
    "lquality": encoding.QUALITY,
    "strip": encoding.STRIP,
    "interlace": encoding.INTERLACE,
    "crop": crop.CROP,
    "gravity": crop.GRAVITY,
    "cut": crop.CUT,
    "scrop": crop.SCROP,
    "iradius": shape.IRADIUS,
    "rradius": shape.RRADIUS,
    "rotate": rotate.ROTATE,
    "flip": rotate.FLIP,
    "blur": adjust.BLUR,
    "sharpen": adjust.SHARPEN,
    "bright": adjust.BRIGHT,
    "contrast": adjust.CONTRAST,
    "grayscale": adjust.GRAYSCALE,
    "cgif": cgif.CGIF,
    "size-limit": sizelimit.SIZE_LIMIT,
    "ignore-error": Step(MODIFIER, no_op),  # the pipeline reads it (pipeline.py)
}


def check(op: Operation) -> None:
    """Refuse the segment if any param has no handler."""
    for p in op.params:
        if p.name not in STEPS:
            raise UnsupportedOperation(f"imageMogr2/{p.name}")
        if p.name == "format":
            encoding.check_format("imageMogr2", p.value)


def run(canvas: Canvas, op: Operation) -> None:
    sizelimit.prepare(canvas, op)
    ordered = sorted(enumerate(op.params), key=lambda ip: (STEPS[ip[1].name].phase, ip[0]))
    for _, param in ordered:
        STEPS[param.name].apply(canvas, op, param)


__all__ = ["STEPS", "check", "run"]
