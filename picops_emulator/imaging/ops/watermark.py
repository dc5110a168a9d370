"""``watermark/1`` (image) and ``watermark/2`` (text): one stage draws one watermark.

A stage builds its layer (``watermark_image.py`` / ``watermark_text.py``), sets its opacity
(``dissolve``, default 90), then either places it once (``gravity``, default southeast;
``dx``/``dy``, default 0) or tiles it (``batch/1`` + ``degree``) and blends it onto every
frame; the placement and tiling rules are in ``overlay.py``. Several watermark stages in one
pipeline each draw on the previous stage's result.

Decisions (the reference leaves them open):

* A watermark goes on the image *as displayed*: a pending EXIF orientation is applied first,
  as ``auto-orient`` would (otherwise a phone photo's watermark would end up sideways in
  the wrong corner).
* The watermark image is read through the ``fetch`` callable given to ``execute``
  (``watermark_fetch.py``, which enforces CI's same-bucket rule); without one, watermark/1
  is refused as unsupported by that caller.
* CI allows at most 10 image watermarks per image: a rule with more ``watermark/1`` stages
  is refused before anything is decoded (:func:`check_rule`).
* The visible part of the layer is decoded within the stage, so a broken watermark file is
  an InvalidArgument naming ``watermark/1/image``, never an engine error at encode time.
"""

from typing import Sequence

from picops.grammar.ast import Operation

from ..budget import Budget
from ..canvas import Canvas, pixel_bytes
from ..errors import InvalidArgument, UnsupportedOperation
from ..fonts import check_font
from ..libvips import pyvips
from ..overlay import blend, clip, place, rotate, tile, with_opacity
from ..source import vips_detail
from .thumbnail import parse_colour
from .watermark_image import load_layer
from .watermark_text import DEFAULT_FILL, DEFAULT_FONTSIZE, text_layer, text_of

MAX_IMAGE_WATERMARKS = 10
DEFAULT_DISSOLVE = 90
DEFAULT_GRAVITY = "southeast"

_COMMON = {"gravity", "dx", "dy", "dissolve", "batch", "degree"}
_PARAMS = {
    1: _COMMON | {"image", "blogo", "scatype", "spcent"},
    2: _COMMON | {"text", "font", "fontsize", "fill", "shadow"},
}
_REQUIRED = {1: "image", 2: "text"}


def check(op: Operation) -> None:
    """Refuse a mode or param the engine does not execute (blind watermarks: modes 3, 4),
    and a font CI does not offer."""
    if op.mode not in _PARAMS:
        raise UnsupportedOperation(f"watermark/{op.mode}", "is not supported by the picops "
                                   "emulator (only watermark/1 image and watermark/2 text)")
    for p in op.params:
        if p.name not in _PARAMS[op.mode]:
            raise UnsupportedOperation(f"watermark/{op.mode}/{p.name}")
    if not op.has(_REQUIRED[op.mode]):
        raise InvalidArgument(f"watermark/{op.mode} needs {_REQUIRED[op.mode]}/<base64>")
    if op.mode == 2 and op.has("font"):
        check_font(text_of(op.get("font")))  # the rule alone decides: refused before decoding


def check_rule(stages: Sequence[Operation]) -> None:
    """CI's limit on image watermarks per image, checked on the whole pipeline."""
    count = sum(1 for s in stages if s.interface == "watermark" and s.mode == 1)
    if count > MAX_IMAGE_WATERMARKS:
        raise InvalidArgument(f"watermark/1: the rule draws {count} image watermarks; CI "
                              f"allows at most {MAX_IMAGE_WATERMARKS} per image")


def run(canvas: Canvas, op: Operation) -> None:
    canvas.auto_orient()
    frame = (canvas.width, canvas.height)
    if op.mode == 1:
        layer = _image_layer(canvas, op, frame)
        param = "watermark/1/image"
    else:
        layer = text_layer(text_of(op.get("text")),
                           text_of(op.get("font")) if op.has("font") else None,
                           op.get("fontsize", DEFAULT_FONTSIZE),
                           parse_colour(op.get("fill", DEFAULT_FILL), "watermark/2/fill"),
                           op.get("shadow", 0), canvas.budget)
        param = "watermark/2/text"
    layer = with_opacity(layer, op.get("dissolve", DEFAULT_DISSOLVE))
    dx, dy = op.get("dx", 0), op.get("dy", 0)

    if op.get("batch") == 1:
        # Rotation reads its source out of order, which a streaming decode cannot serve:
        # decode the whole (already sized) watermark first.
        turned = rotate(_decoded(layer, param, canvas.budget), op.get("degree", 0))
        cell = _visible(turned, 0, 0, frame, param, canvas.budget)
        if cell is None:
            return
        layer, x, y = tile(cell[0], frame[0], frame[1], dx, dy), 0, 0
    else:
        x, y = place(op.get("gravity", DEFAULT_GRAVITY), dx, dy, (layer.width, layer.height),
                     frame)
        visible = _visible(layer, x, y, frame, param, canvas.budget)
        if visible is None:
            return  # pushed entirely off the image by its margins: nothing to draw
        layer, x, y = visible
    canvas.budget.check()
    canvas.replace(blend(canvas.image, layer, x, y, canvas.height))


def _image_layer(canvas: Canvas, op: Operation, frame):
    fetch = canvas.fetch  # given to pipeline.execute(fetch=...)
    if fetch is None:
        raise UnsupportedOperation("watermark/1", "needs a storage to read the watermark "
                                   "image from, and this caller of the engine gave none")
    url = text_of(op.get("image"))
    return load_layer(fetch(url), url, frame, op.get("scatype"), op.get("spcent"),
                      op.get("blogo"), canvas.budget)


def _visible(layer, x: int, y: int, frame, param: str, budget: Budget):
    """The on-image part of the layer, decoded now (errors name ``param``), or None."""
    part = clip(layer, x, y, frame[0], frame[1])
    if part is None:
        return None
    return _decoded(part[0], param, budget), part[1], part[2]


def _decoded(layer, param: str, budget: Budget):
    """``layer`` computed into memory now (its size reserved from ``budget`` first), so a
    broken watermark fails here, named."""
    budget.reserve(pixel_bytes(layer), f"{param}: the watermark layer in memory "
                                       f"({layer.width}x{layer.height})")
    try:
        return budget.watch(layer.copy_memory())
    except pyvips.Error as e:
        stopped = budget.stopped()
        if stopped is not None:
            raise stopped from None
        raise InvalidArgument(f"{param}: cannot decode the watermark: {vips_detail(e)}") \
            from None


__all__ = ["check", "check_rule", "run", "MAX_IMAGE_WATERMARKS"]
