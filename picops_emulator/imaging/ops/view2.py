"""``imageView2/<mode>/w/<W>/h/<H>[/format/f][/q/Q[!]][/rq/R][/lq/L][/ignore-error/1]``.

Modes 1..5 (reference §5.8); the scale/crop arithmetic, the never-enlarge decision and the
mode-5 reading are in ``geometry.view2_plan``. The resize takes the shrink-on-load path when it
is the first thing to touch the pixels; modes 1 and 5 then cut a centred box out of it.
imageView2 has no orientation parameter and does not rotate.
"""

from picops.grammar.ast import Operation

from ..canvas import Canvas
from ..errors import InvalidArgument, UnsupportedOperation
from ..geometry import centre_offset, view2_plan
from .encoding import add_quality, check_format, set_format

_KNOWN = {"w", "h", "format", "q", "rq", "lq", "ignore-error"}


def check(op: Operation) -> None:
    """Refuse an unknown mode or param, or an output format the emulator cannot write."""
    head = f"imageView2/{op.mode}"
    if op.mode not in (1, 2, 3, 4, 5):
        raise UnsupportedOperation(head, "is not an imageView2 mode CI documents (1..5)")
    for p in op.params:
        if p.name not in _KNOWN:
            raise UnsupportedOperation(f"{head}/{p.name}")
        if p.name == "format":
            check_format("imageView2", p.value)


def run(canvas: Canvas, op: Operation) -> None:
    head = f"imageView2/{op.mode}"
    w, h = op.get("w"), op.get("h")
    if w is None and h is None:
        raise InvalidArgument(f"{head} needs /w/ or /h/")
    plan = view2_plan(op.mode, w, h, canvas.width, canvas.height)
    canvas.resize(plan.size[0], plan.size[1], head)
    if plan.crop:
        left, top = centre_offset(plan.size, plan.crop)
        canvas.crop(left, top, plan.crop[0], plan.crop[1])
    for p in op.params:
        if p.name == "format":
            set_format(canvas, "imageView2", p.value)
        elif p.name in ("q", "rq", "lq"):
            add_quality(canvas, "imageView2", p.name, p.value)


__all__ = ["run"]
