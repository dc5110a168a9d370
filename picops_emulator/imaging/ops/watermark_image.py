"""``watermark/1``: turn the fetched watermark bytes into a layer of the right size.

Sizing, in this order (reference §5.9; the arithmetic is decided here, CI's is UNCONFIRMED):

1. ``scatype``/``spcent`` scale the watermark, keeping its aspect, so that its width
   (scatype 1) or height (2) is ``spcent``‰ of the image's, or its area (3) is ``spcent``‰
   of the image's area. Sides round half up, at least 1 px.
2. ``blogo/1``: a watermark still wider or taller than the image is scaled down, keeping
   its aspect, to fit inside it. ``blogo/2``: it is cropped to the image's size, keeping
   its top-left part. Without blogo an oversized watermark is drawn as is and clipped.

The watermark is decoded with the engine's own safe loader (``source.open_source``: the
same sniffing and limits as any input), upright per its EXIF orientation, at its final size
(shrink-on-load when it is scaled down). Animated watermarks are refused, as CI does.
"""

import math
from fractions import Fraction
from typing import Optional, Tuple

from ..budget import Budget
from ..errors import ImagingError, InvalidArgument, ProcessingLimitExceeded
from ..geometry import round_half_up, scale
from ..source import open_source

PARAM = "watermark/1/image"

Size2 = Tuple[int, int]


def watermark_size(mark: Size2, image: Size2, scatype: Optional[int],
                   spcent: Optional[int], blogo: Optional[int]) -> Tuple[Size2, Size2]:
    """(scaled size, drawn size) of a ``mark``-sized watermark on an ``image``-sized frame.

    The drawn size differs from the scaled one only with ``blogo/2`` (the crop).
    """
    (w, h), (fw, fh) = mark, image
    if scatype is not None and spcent is not None:
        if scatype == 1:
            w, h = scale(w, h, Fraction(fw * spcent, 1000 * w))
        elif scatype == 2:
            w, h = scale(w, h, Fraction(fh * spcent, 1000 * h))
        else:
            s = math.sqrt(fw * fh * spcent / 1000 / (w * h))
            w, h = round_half_up(Fraction(w * s)), round_half_up(Fraction(h * s))
    if blogo == 1 and (w > fw or h > fh):
        w, h = scale(w, h, min(Fraction(fw, w), Fraction(fh, h)))
    drawn = (min(w, fw), min(h, fh)) if blogo == 2 else (w, h)
    return (w, h), drawn


def load_layer(data: bytes, url: str, frame: Size2, scatype: Optional[int],
               spcent: Optional[int], blogo: Optional[int], budget: Budget):
    """The watermark as a lazy 8-bit RGBA (or grey + alpha) layer, sized per the module doc.

    Its decoding is reserved from ``budget``, the job of the image it goes on."""
    try:
        source = open_source(data, budget)
    except ProcessingLimitExceeded:
        raise
    except ImagingError as e:
        raise InvalidArgument(f"{PARAM}: the watermark {url!r} is not a usable image: "
                              f"{e.message}") from None
    if source.frames > 1:
        raise InvalidArgument(f"{PARAM}: the watermark {url!r} is animated ({source.frames} "
                              f"frames); CI does not accept animated images as watermarks")
    upright = source.orientation >= 5  # EXIF 5..8 swap width and height
    mark = (source.height, source.width) if upright else (source.width, source.height)
    (w, h), (dw, dh) = watermark_size(mark, frame, scatype, spcent, blogo)

    if (w, h) == mark:
        image = source.load(frames=1)
        if source.orientation > 1:
            image = image.autorot()
    else:
        image = source.thumbnail(w, h, auto_rotate=True, frames=1)
        if image is None:  # a codec without shrink-on-load (BMP)
            image = source.load(frames=1).thumbnail_image(w, height=h, size="force")
    if (dw, dh) != (w, h):
        image = image.crop(0, 0, dw, dh)
    return _rgba(image)


def _rgba(image):
    """8-bit, with alpha; colour stays colour and grey stays grey (see overlay.blend)."""
    if image.format != "uchar":
        image = image.colourspace("b-w" if image.bands < 3 else "srgb").cast("uchar")
    if not image.hasalpha():
        image = image.bandjoin(255)
    return image


__all__ = ["watermark_size", "load_layer"]
