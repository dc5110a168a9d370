"""Write the final image: one encoder per output format, tuned for size like a CDN would be.

:func:`encode` takes the canvas' pixels, makes them fit the format (``canvas.conform``: first
frame, flattened alpha, 8-bit, as the format requires) and writes them:

* jpg  -- mozjpeg-backed ``jpegsave`` with Huffman optimisation; progressive when the stage
  asked for ``interlace/1``; chroma subsampling left to libvips (4:2:0 below Q 90).
* png  -- adaptive row filtering (libvips' default is *no* filtering, which is far larger for
  photos) and zlib level ``PNG_COMPRESSION`` (7); 16-bit samples are kept.
* webp -- ``webpsave`` at the resolved quality, animation kept (frames, delays, loop count).
* gif  -- ``gifsave`` (libimagequant palettes), animation kept.
* avif -- ``heifsave`` with AV1 at the resolved quality.
* bmp  -- Pillow (no libvips saver): 24-bit RGB or 8-bit greyscale.
* tiff -- deflate with a horizontal predictor, 16-bit kept.

Metadata (EXIF, XMP, IPTC, ICC) is kept unless the rule said ``strip``. On ``strip`` an
embedded ICC profile is first baked into sRGB pixels, so dropping it does not shift colours.
"""

import io

from .canvas import conform
from .errors import UnsupportedOperation
from .formats import canonical, refusal

# zlib level for PNG, measured with adaptive filtering on corpus photos (600x400 coffee,
# 512x512 camera, a 2000x1500 photo): level 7 is 2-3.5% smaller than 6 for ~1.5x the time;
# 8 gains nothing more and 9 costs 2.5-4.5x the time of 7 for the same size. Adaptive
# filtering itself is the big win: 27-44% smaller than libvips' unfiltered default.
PNG_COMPRESSION = 7
# AV1 effort for AVIF, measured likewise: effort 3 was both smaller and ~10x faster than
# libvips' default 4 on a 12 MP photo (1.6 s vs 16.6 s), and ~4.5x faster at 600x400.
AVIF_EFFORT = 3


def encode(image, fmt: str, quality: int, *, strip: bool, interlace: bool) -> bytes:
    """``image`` written as ``fmt`` (a canonical output format, see ``formats.py``)."""
    fmt = canonical(fmt)
    why = refusal(fmt)
    if why:
        raise UnsupportedOperation(f"output format {fmt}", why)
    image = conform(image, fmt)
    if strip:
        image = _bake_profile(image)
    keep = "none" if strip else "all"
    if fmt == "jpg":
        return image.jpegsave_buffer(Q=quality, optimize_coding=True, interlace=interlace,
                                     keep=keep)
    if fmt == "png":
        return image.pngsave_buffer(compression=PNG_COMPRESSION, filter="all", keep=keep)
    if fmt == "webp":
        return image.webpsave_buffer(Q=quality, keep=keep)
    if fmt == "gif":
        return image.gifsave_buffer(keep=keep)
    if fmt == "avif":
        return image.heifsave_buffer(compression="av1", Q=quality, effort=AVIF_EFFORT,
                                     keep=keep)
    if fmt == "tiff":
        return image.tiffsave_buffer(compression="deflate", predictor="horizontal", keep=keep)
    if fmt == "bmp":
        return _bmp(image)
    raise AssertionError(f"formats.WRITABLE lists {fmt} but encode.py has no writer")


def _bake_profile(image):
    """Convert RGB pixels through an embedded ICC profile to sRGB before it is dropped."""
    if image.get_typeof("icc-profile-data") and image.bands >= 3:
        return image.icc_transform("srgb", embedded=True)
    return image


def _bmp(image) -> bytes:
    from PIL import Image  # only BMP output needs Pillow

    if image.bands not in (1, 3):
        image = image.colourspace("srgb")[0:3]
    mode = "L" if image.bands == 1 else "RGB"
    pil = Image.frombytes(mode, (image.width, image.height), image.write_to_memory())
    out = io.BytesIO()
    pil.save(out, format="BMP")
    return out.getvalue()


__all__ = ["encode", "PNG_COMPRESSION", "AVIF_EFFORT"]
