"""Operation families, one small module each, registered by interface.

``INTERFACES`` maps a stage's interface to the function that runs it on a canvas:
``imageMogr2`` (``mogr2.py``, itself a registry of per-param handlers), ``imageView2``
(``view2.py``) and ``watermark`` (``watermark.py``: modes 1 and 2). Everything else the
grammar accepts is refused by :func:`check_stage` with an
:class:`~..errors.UnsupportedOperation` naming it, including ``style/<name>``, which the CI
layer must replace by the style's rule first.
"""

from typing import Callable, Dict

from picops.grammar.ast import Operation

from ..canvas import Canvas
from ..errors import UnsupportedOperation
from . import mogr2, view2, watermark

INTERFACES: Dict[str, Callable[[Canvas, Operation], None]] = {
    "imageMogr2": mogr2.run,
    "imageView2": view2.run,
    "watermark": watermark.run,
}
_CHECKS: Dict[str, Callable[[Operation], None]] = {
    "imageMogr2": mogr2.check,
    "imageView2": view2.check,
    "watermark": watermark.check,
}


def check_stage(op: Operation) -> None:
    """Raise UnsupportedOperation if ``op`` (or any of its params) cannot be executed."""
    if op.interface == "style":
        raise UnsupportedOperation(
            f"style/{op.style}", "must be replaced by the style's rule before execution "
            "(the CI layer resolves bucket styles)")
    check = _CHECKS.get(op.interface)
    if check is None:
        name = op.interface if op.mode is None else f"{op.interface}/{op.mode}"
        raise UnsupportedOperation(name)
    check(op)


def run_stage(canvas: Canvas, op: Operation) -> None:
    """Run ``op`` on ``canvas``; ``op`` has passed :func:`check_stage` (the pipeline checks
    every stage before anything is decoded)."""
    INTERFACES[op.interface](canvas, op)


__all__ = ["INTERFACES", "check_stage", "run_stage"]
