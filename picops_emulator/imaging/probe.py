"""``probe(data) -> ImageInfo``: the facts CI reports as ``OriginalInfo/ImageInfo`` (§4.3).

* ``format``: upper-case codec (JPEG, PNG, GIF, WEBP, AVIF, HEIF, BMP, TIFF).
* ``width``/``height``: stored pixel size of one frame, before any EXIF orientation is applied
  (the reference leaves this UNCONFIRMED and suggests stored dimensions).
* ``quality``: estimated from the bitstream (``jpegquant``, ``webpquant``); 100 for lossless.
* ``ave``: the mean colour as ``0xrrggbb``, per channel over the first frame's RGB (alpha
  ignored, greyscale repeated into all three). CI's exact algorithm is UNCONFIRMED; the mean is
  taken from a <= 256 px shrink-on-load decode, which moves it by at most a unit or two.
* ``orientation``: the EXIF orientation tag, 0 when absent.
* ``frame_count``: 1 for still images.

Probing decodes the (shrunk) pixels, so a truncated or corrupt file raises
InvalidImageFormat here too, and the input limits apply exactly as for ``execute``.
"""

from dataclasses import dataclass

from typing import Optional

from .budget import Budget, Deadline
from .canvas import conform
from .errors import InvalidImageFormat
from .libvips import pyvips
from .limits import DEFAULT_LIMITS, Limits
from .source import Source, from_memory, loader_options, open_source, to_working_colour

_AVE_SIZE = 256


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    quality: int
    ave: str
    orientation: int
    frame_count: int


def probe(data: bytes, *, limits: Limits = DEFAULT_LIMITS,
          deadline: Optional[Deadline] = None) -> ImageInfo:
    """The input's facts; the same checks, budget and deadline as ``execute``."""
    budget = Budget(limits, deadline)
    budget.check()
    source = open_source(data, budget)
    try:
        ave = _average_colour(source)
    except pyvips.Error as e:
        stopped = budget.stopped()
        if stopped is not None:
            raise stopped from None
        raise InvalidImageFormat(
            f"cannot decode the {source.format} input: {source.decode_problem(e)}") from None
    return ImageInfo(format=source.format, width=source.width, height=source.height,
                     quality=source.quality, ave=ave, orientation=source.orientation,
                     frame_count=source.frames)


def _average_colour(source: Source) -> str:
    if source.format == "BMP":
        image = source.load()
    else:
        image = to_working_colour(source.budget.watch(from_memory(
            "thumbnail_source", source.data, _AVE_SIZE, height=_AVE_SIZE, size="down",
            auto_rotate=False, option_string=loader_options())))
    # 8-bit, first frame, alpha kept (and ignored below); in memory, as it is read 3 times.
    image = conform(image, "gif").copy_memory()
    colour = image[0:3] if image.bands >= 3 else image[0].bandjoin([image[0], image[0]])
    means = [colour[i].avg() for i in range(3)]
    return "0x" + "".join(f"{min(255, int(m + 0.5)):02x}" for m in means)


__all__ = ["ImageInfo", "probe"]
