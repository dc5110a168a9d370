"""Region crops: ``crop`` (with ``gravity``), ``cut/<w>x<h>x<dx>x<dy>`` and ``scrop/<W>x<H>``.

All three cut the same box out of every frame, so animations keep their frames and delays.
Sizes are checked against the image as the crop finds it (after ``auto-orient`` and any earlier
geometry in the segment); a value that cannot apply is an InvalidArgument (CI error -60998)
naming the parameter and the image size, which ``ignore-error/1`` turns into "return the input".

Decisions on what the reference (§5.3) leaves open:

* ``crop/<W>x``, ``crop/x<H>``, ``crop/<W>x<H>`` is a plain region crop with no scaling first
  (the older, explicit CI wording; the newer "scale down, then crop" wording is UNCONFIRMED).
  The side not given keeps the image's size.
* Default gravity is ``northwest`` (UNCONFIRMED for CI; it is Qiniu's default, whose
  imageMogr2 CI's follows). ``center`` etc. place the box on the 3x3 grid
  (``geometry.gravity_offset``; an odd remainder leaves the extra pixel right/bottom).
* CI documents ``W``/``H`` "less than the source"; a side *equal* to the image's is accepted
  (that side is kept whole), a larger one is refused.
* ``cut``: ``w``/``h`` may not exceed the image and the corner ``(dx, dy)`` must lie inside it
  (``dx < W0``, ``dy < H0``); a box that starts inside but reaches past the right or bottom
  edge is clipped to the image (ImageMagick's crop rule), so the output can be smaller than
  ``w x h``.
* ``scrop`` is face-aware in CI. The emulator has no face detector: it scales to cover
  ``W x H`` (``geometry.cover_size``, enlarging small images so the output is always exactly
  ``W x H``) and then cuts the ``W x H`` box libvips' attention-based smart crop picks
  (``smartcrop`` with ``interesting=attention``: skin tones, saturated colour and edges).
  On portraits this often keeps the face, but not always (in a wide, short box of a uniformed
  portrait the saturated medal ribbons win); on photos without faces it keeps the most
  "interesting" region where CI would fall back to its default. For animations the box is chosen
  on the first frame and cut from every frame, so the animation does not jitter.
"""

from picops.grammar.ast import Cut, Operation, Param, Size

from ..canvas import Canvas
from ..errors import InvalidArgument
from ..geometry import GRAVITY_GRID, cover_size, gravity_offset
from .base import GEOMETRY, MODIFIER, Step

DEFAULT_GRAVITY = "northwest"


def crop_box(size: Size, gravity: str, w0: int, h0: int, where: str):
    """(left, top, width, height) of ``crop/<size>`` at ``gravity`` on a ``w0 x h0`` image."""
    width = w0 if size.width is None else size.width
    height = h0 if size.height is None else size.height
    if width > w0 or height > h0:
        side = "width" if width > w0 else "height"
        asked = width if width > w0 else height
        raise InvalidArgument(
            f"{where}: {side} {asked} is larger than the {w0}x{h0} image; "
            f"crop sizes must be at most the image's")
    if gravity not in GRAVITY_GRID:
        raise InvalidArgument(f"{where}: {gravity!r} is not a gravity "
                              f"(expected one of {', '.join(GRAVITY_GRID)})")
    left, top = gravity_offset(gravity, (w0, h0), (width, height))
    return left, top, width, height


def cut_box(cut: Cut, w0: int, h0: int, where: str):
    """(left, top, width, height) of ``cut/<w>x<h>x<dx>x<dy>``, clipped to the image."""
    if cut.width > w0 or cut.height > h0:
        side = "width" if cut.width > w0 else "height"
        asked = cut.width if cut.width > w0 else cut.height
        raise InvalidArgument(f"{where}: {side} {asked} is larger than the {w0}x{h0} image")
    if cut.dx >= w0 or cut.dy >= h0:
        raise InvalidArgument(
            f"{where}: the corner ({cut.dx}, {cut.dy}) lies outside the {w0}x{h0} image "
            f"(dx must be below {w0} and dy below {h0})")
    return cut.dx, cut.dy, min(cut.width, w0 - cut.dx), min(cut.height, h0 - cut.dy)


def _crop(canvas: Canvas, op: Operation, param: Param) -> None:
    size = param.value
    if not isinstance(size, Size) or (size.width is None and size.height is None):
        raise InvalidArgument(f"imageMogr2/crop: {size!r} is not <W>x, x<H> or <W>x<H>")
    gravity = str(op.get("gravity", DEFAULT_GRAVITY)).lower()
    where = f"imageMogr2/crop/{size}" + (f"/gravity/{gravity}" if op.has("gravity") else "")
    canvas.crop(*crop_box(size, gravity, canvas.width, canvas.height, where))


def _cut(canvas: Canvas, op: Operation, param: Param) -> None:
    cut = param.value
    if not isinstance(cut, Cut):
        raise InvalidArgument(f"imageMogr2/cut: {cut!r} is not <w>x<h>x<dx>x<dy>")
    canvas.crop(*cut_box(cut, canvas.width, canvas.height, f"imageMogr2/cut/{cut}"))


def _scrop(canvas: Canvas, op: Operation, param: Param) -> None:
    size = param.value
    if not isinstance(size, Size) or size.width is None or size.height is None:
        raise InvalidArgument(f"imageMogr2/scrop: {size!r} is not <W>x<H>")
    where = f"imageMogr2/scrop/{size}"
    width, height = size.width, size.height
    scaled = cover_size(canvas.width, canvas.height, width, height)
    canvas.resize(scaled[0], scaled[1], where)
    if scaled == (width, height):
        return
    if canvas.frames == 1:
        # The scaled image is about W x H: keep it in memory so the attention search and the
        # crop do not each run the decode and resize again.
        canvas.in_memory(f"{where} (the scaled image in memory)")
    left, top = attention_box(canvas.image, canvas.height, width, height)
    canvas.crop(left, top, width, height)


def attention_box(image, frame_height: int, width: int, height: int):
    """Top-left of the ``width x height`` box libvips' attention strategy picks in frame 0."""
    first = image if image.height == frame_height else \
        image.crop(0, 0, image.width, frame_height).copy_memory()
    picked = first.smartcrop(width, height, interesting="attention")
    # smartcrop reports where its box sat in the input as negated offsets.
    return -picked.xoffset, -picked.yoffset


def _needs_crop(canvas: Canvas, op: Operation, param: Param) -> None:
    if not op.has("crop"):
        raise InvalidArgument("imageMogr2/gravity only applies together with /crop/ in the "
                              "same imageMogr2 segment")


CROP = Step(GEOMETRY, _crop)
GRAVITY = Step(MODIFIER, _needs_crop)
CUT = Step(GEOMETRY, _cut)
SCROP = Step(GEOMETRY, _scrop)

__all__ = ["CROP", "GRAVITY", "CUT", "SCROP", "DEFAULT_GRAVITY", "crop_box", "cut_box",
           "attention_box"]
