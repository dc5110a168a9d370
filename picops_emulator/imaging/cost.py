"""Memory estimates, from headers and parameters only: what a decoder or an operation will
hold at once. Pure arithmetic; ``budget.Budget.reserve`` compares the sums with the ceiling.

Decoders (``decode_bytes``), measured or read from their sources:

* streaming decoders (sequential JPEG, non-interlaced PNG, TIFF strips), and the streaming
  operations and encoders after them, hold bands of rows (``STREAM_ROWS`` in all, measured
  on a 45 degree rotation of 6000x4000 and on interlaced PNG);
* a multi-scan JPEG (progressive, or sequential with components in separate scans) keeps the
  whole coefficient buffer: 64 16-bit values per block (``jpegscan.JpegLayout``);
* interlaced PNG is decoded whole; so are WebP (RGBA), AVIF/HEIF (libheif's planes, then
  libvips' copy) and GIF (an RGBA frame canvas, plus the previous one for disposal); an
  animated WebP also keeps its RGBA canvas beside the frame;
* TIFF holds its largest strip or tile decoded (twice: libtiff's buffer and libvips');
* BMP goes through Pillow: its raster (up to 4 bytes per pixel), the RGB conversion (4) and
  the copy handed to libvips (3): ``BMP_BYTES_PER_PIXEL`` = 11.

Operations: ``image_bytes`` is any in-memory copy of a canvas (rotation, a vertical flip,
orientation, watermark layers), ``encode_bytes`` what an encoder holds: AVIF and BMP need
the whole image (AV1's encoder: 24 bytes per pixel at effort 3, plus ``AVIF_FIXED``),
animated WebP every frame twice (libvips gathers the animation before libwebp encodes it),
GIF a frame and its palette indices; JPEG, PNG and TIFF stream.
``tests/unit/imaging/test_hostile.py`` measures that these estimates cover the peak memory
of each kind of job.
"""

from typing import Optional

from .jpegscan import JpegLayout

STREAM_ROWS = 1024
AVIF_FIXED = 24 * 1024 * 1024  # the AV1 encoder's own tables, whatever the image size
BMP_BYTES_PER_PIXEL = 11
RGBA = 4


def image_bytes(width: int, height: int, frames: int = 1, bands: int = 3,
                sample_bytes: int = 1) -> int:
    """Bytes of an uncompressed ``width x height`` image of ``frames`` frames."""
    return width * height * max(frames, 1) * bands * sample_bytes


def decode_bytes(fmt: str, width: int, height: int, frames: int, *, bands: int,
                 sample_bytes: int, jpeg: Optional[JpegLayout] = None,
                 interlaced: bool = False, chunk_bytes: int = 0) -> int:
    """What decoding the input holds at once (see the module doc)."""
    stream = image_bytes(width, min(height, STREAM_ROWS), 1, bands, sample_bytes)
    whole = image_bytes(width, height, 1, bands, sample_bytes)
    if fmt == "JPEG":
        if jpeg is not None and jpeg.scans > 1:
            return jpeg.coefficient_bytes() + stream
        return stream
    if fmt == "PNG":
        return whole + stream if interlaced else stream
    if fmt == "GIF":
        return 2 * image_bytes(width, height, 1, RGBA)
    if fmt == "WEBP":
        return image_bytes(width, height, 1, RGBA) * (2 if frames > 1 else 1)
    if fmt in ("AVIF", "HEIF"):
        return 2 * whole
    if fmt == "TIFF":
        return 2 * chunk_bytes + stream
    if fmt == "BMP":
        return width * height * BMP_BYTES_PER_PIXEL
    return whole


def encode_bytes(fmt: str, width: int, height: int, frames: int, bands: int) -> int:
    """What writing ``fmt`` holds at once beyond the pixels it is given."""
    frame = image_bytes(width, height, 1, RGBA)
    if fmt == "avif":
        return AVIF_FIXED + 8 * image_bytes(width, height, 1, bands)
    if fmt == "bmp":
        return image_bytes(width, height, 1, 3) * 3
    if fmt == "webp":
        # libvips gathers an animation whole before it hands frames to libwebp (measured:
        # rotate/90 of 300 RGBA frames of 400x400 peaked at twice the in-memory strip).
        return frame + (2 * image_bytes(width, height, frames, RGBA) if frames > 1 else 0)
    if fmt == "gif":
        return frame + width * height
    return image_bytes(width, min(height, STREAM_ROWS), 1, bands)


__all__ = ["image_bytes", "decode_bytes", "encode_bytes", "STREAM_ROWS",
           "BMP_BYTES_PER_PIXEL"]
