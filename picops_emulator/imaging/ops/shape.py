"""Shape masks: ``iradius/<r>`` (inscribed circle) and ``rradius/<r>`` (rounded corners).

Both make the area outside the shape transparent by adding (or multiplying into) an alpha
band; the edge is anti-aliased by pixel coverage. What that becomes on output is the format's
business (``canvas.conform``): PNG, WebP, AVIF and TIFF keep the transparency, JPEG and BMP are
flattened on white (the reference leaves the outside UNCONFIRMED: "transparent/white").

* ``iradius/<r>``: a circle of radius ``r`` centred on the image; the output is the
  ``2r x 2r`` square around it (the circle's bounding box, as "inscribed-circle crop" implies;
  UNCONFIRMED), taken from the centre (an odd remainder leaves the extra pixel right/bottom).
* ``rradius/<r>``: the image keeps its size; each corner is rounded with radius ``r``, the
  arcs tangent to the edges.
* ``r`` must be less than half the image's short side (CI's documented range, checked on the
  image as the operation finds it): otherwise InvalidArgument naming ``r`` and the size.
* GIF: CI documents both as not supported for GIF images, so a GIF input (animated or not)
  is refused with InvalidArgument rather than given a jagged 1-bit mask. A stage whose input
  is no longer GIF (an earlier stage wrote another format) is fine; animated WebP gets the
  mask on every frame.
"""

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas
from ..errors import InvalidArgument
from ..geometry import centre_offset
from ..libvips import pyvips
from .base import GEOMETRY, Step


def check_radius(name: str, radius: object, width: int, height: int, fmt: str) -> int:
    where = f"imageMogr2/{name}/{radius}"
    if not isinstance(radius, int) or isinstance(radius, bool) or radius < 1:
        raise InvalidArgument(f"{where}: the radius must be a positive integer")
    if fmt == "gif":
        raise InvalidArgument(f"{where}: CI does not support {name} on GIF images; convert "
                              f"the image first (e.g. an earlier stage imageMogr2/format/png)")
    short = min(width, height)
    if 2 * radius >= short:
        raise InvalidArgument(
            f"{where}: the radius must be less than half the short side of the "
            f"{width}x{height} image (at most {(short - 1) // 2})")
    return radius


def circle_mask(radius: int):
    """Coverage (0..1, float) of a circle of ``radius`` filling a ``2r x 2r`` square."""
    xyz = pyvips.Image.xyz(2 * radius, 2 * radius)
    dx = xyz[0] + (0.5 - radius)
    dy = xyz[1] + (0.5 - radius)
    distance = (dx * dx + dy * dy) ** 0.5
    return _clamp01(radius + 0.5 - distance)


def rounded_mask(width: int, height: int, radius: int):
    """Coverage (0..1, float) of a ``width x height`` rectangle with corners of ``radius``."""
    xyz = pyvips.Image.xyz(width, height)
    # Distance outside the inner rectangle whose corners are the arcs' centres.
    qx = _positive((xyz[0] + (0.5 - width / 2)).abs() - (width / 2 - radius))
    qy = _positive((xyz[1] + (0.5 - height / 2)).abs() - (height / 2 - radius))
    distance = (qx * qx + qy * qy) ** 0.5
    return _clamp01(radius + 0.5 - distance)


def apply_mask(image, mask):
    """Multiply ``mask`` (0..1) into the alpha band, adding one (opaque) if there is none."""
    full = 65535 if image.format == "ushort" else 255
    if image.hasalpha():
        colour, alpha = image[0:image.bands - 1], image[image.bands - 1] * mask
    else:
        colour, alpha = image, mask * full
    return colour.bandjoin(alpha.rint().cast(image.format))


def _positive(image):
    return (image + image.abs()) / 2


def _clamp01(image):
    image = (image < 0).ifthenelse(0, image)
    return (image > 1).ifthenelse(1, image)


def _iradius(canvas: Canvas, op: Operation, param: Param) -> None:
    radius = check_radius("iradius", param.value, canvas.width, canvas.height, canvas.format)
    side = 2 * radius
    left, top = centre_offset((canvas.width, canvas.height), (side, side))
    mask = circle_mask(radius)
    canvas.map_frames(lambda frame: apply_mask(frame.crop(left, top, side, side), mask),
                      side, side)


def _rradius(canvas: Canvas, op: Operation, param: Param) -> None:
    radius = check_radius("rradius", param.value, canvas.width, canvas.height, canvas.format)
    mask = rounded_mask(canvas.width, canvas.height, radius)
    canvas.map_frames(lambda frame: apply_mask(frame, mask))


IRADIUS = Step(GEOMETRY, _iradius)
RRADIUS = Step(GEOMETRY, _rradius)

__all__ = ["IRADIUS", "RRADIUS", "check_radius", "circle_mask", "rounded_mask", "apply_mask"]
