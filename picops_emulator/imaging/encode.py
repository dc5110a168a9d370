"""Write the final image: one encoder per output format, tuned for size like a CDN would be.

:func:`encode` takes the canvas' pixels, makes them fit the format (``canvas.conform``: first
frame, flattened alpha, 8-bit, as the format requires) and writes them:

* jpg  -- mozjpeg-backed ``jpegsave`` with the standard Huffman tables; progressive when the
  stage asked for ``interlace/1``; chroma subsampling left to libvips (4:2:0 below Q 90).
  Huffman optimisation (a second pass) was measured and left off: on a 12 MP photo at
  Q 90 it made files 1.9% smaller at 400 px wide, 1.3% at 1200 px and 5.5% at full size,
  for 2x, 2.8x and 6x the encode time (270 ms instead of 45 ms at full size; about 4% of a
  whole 400 px thumbnail request). Progressive files always get optimised tables (libjpeg
  requires them).
* png  -- adaptive row filtering (libvips' default is *no* filtering, which is far larger for
  photos) and zlib level ``PNG_COMPRESSION`` (7); 16-bit samples are kept.
* webp -- ``webpsave`` at the resolved quality, animation kept (frames, delays, loop count).
* gif  -- ``gifsave`` (libimagequant palettes), animation kept.
* avif -- ``heifsave`` with AV1 at the resolved quality.
* bmp  -- Pillow (no libvips saver): 24-bit RGB or 8-bit greyscale.
* tiff -- deflate with a horizontal predictor, 16-bit kept.

Metadata (EXIF, XMP, IPTC, ICC) is kept unless the rule said ``strip``. On ``strip`` an
embedded ICC profile is first baked into sRGB pixels, so dropping it does not shift colours;
a profile that already describes sRGB (``is_srgb_profile``) is simply dropped: converting
sRGB to sRGB changed no pixel in measurements and cost 1.5 ms per image plus ~85 ms per
12 MP.
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
        return image.jpegsave_buffer(Q=quality, interlace=interlace, keep=keep)
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
    if image.get_typeof("icc-profile-data") and image.bands >= 3 \
            and not is_srgb_profile(image.get("icc-profile-data")):
        return image.icc_transform("srgb", embedded=True)
    return image


# sRGB's colorants adapted to the D50 connection space, as every sRGB profile stores them
# (rXYZ, gXYZ, bXYZ), and points where the transfer curve is checked against sRGB's.
_SRGB_COLORANTS = {b"rXYZ": (0.4361, 0.2225, 0.0139), b"gXYZ": (0.3851, 0.7169, 0.0971),
                   b"bXYZ": (0.1431, 0.0606, 0.7141)}
_COLORANT_TOLERANCE = 0.003
_CURVE_POINTS = (0.02, 0.1, 0.25, 0.5, 0.75, 0.9)
_CURVE_TOLERANCE = 0.002  # in linear light: under half an 8-bit step wherever it matters


def is_srgb_profile(profile: bytes) -> bool:
    """Whether an ICC profile is a matrix/TRC RGB profile whose colours are sRGB's.

    Judged by what the profile does, not its name: sRGB colorants and a transfer curve that
    matches sRGB's. Anything else, including LUT-based profiles (``A2B*`` tags, which colour
    engines prefer over the matrix) and unreadable bytes, counts as not sRGB, so the pixels
    are converted: a wrong "no" costs time, a wrong "yes" would cost colour.
    """
    try:
        if profile[16:20] != b"RGB " or profile[20:24] != b"XYZ ":
            return False
        tags = _icc_tags(profile)
        if any(sig.startswith(b"A2B") for sig in tags):
            return False
        for sig, want in _SRGB_COLORANTS.items():
            got = _xyz(tags[sig])
            if any(abs(a - b) > _COLORANT_TOLERANCE for a, b in zip(got, want)):
                return False
        for sig in (b"rTRC", b"gTRC", b"bTRC"):
            curve = tags[sig]
            if any(abs(_curve_value(curve, x) - _srgb_to_linear(x)) > _CURVE_TOLERANCE
                   for x in _CURVE_POINTS):
                return False
        return True
    except (KeyError, IndexError, ValueError, ZeroDivisionError, OverflowError):
        return False


def _icc_tags(profile: bytes) -> dict:
    count = int.from_bytes(profile[128:132], "big")
    if count > 200:
        raise ValueError("implausible ICC tag count")
    tags = {}
    for i in range(count):
        entry = profile[132 + 12 * i:144 + 12 * i]
        start, size = int.from_bytes(entry[4:8], "big"), int.from_bytes(entry[8:12], "big")
        if len(entry) < 12 or start + size > len(profile):
            raise ValueError("ICC tag outside the profile")
        tags[entry[0:4]] = profile[start:start + size]
    return tags


def _s15f16(b: bytes) -> float:
    return int.from_bytes(b, "big", signed=True) / 65536.0


def _xyz(tag: bytes):
    if tag[0:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return tuple(_s15f16(tag[8 + 4 * i:12 + 4 * i]) for i in range(3))


def _srgb_to_linear(x: float) -> float:
    return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4


def _curve_value(tag: bytes, x: float) -> float:
    """Evaluate an ICC ``curv`` or ``para`` tone curve at ``x`` in 0..1."""
    kind = tag[0:4]
    if kind == b"curv":
        n = int.from_bytes(tag[8:12], "big")
        if n == 0:
            return x
        if n == 1:
            return x ** (int.from_bytes(tag[12:14], "big") / 256.0)
        if len(tag) < 12 + 2 * n:
            raise ValueError("truncated ICC curve")
        pos = x * (n - 1)
        i = min(int(pos), n - 2)
        lo, hi = (int.from_bytes(tag[12 + 2 * k:14 + 2 * k], "big") / 65535.0 for k in (i, i + 1))
        return lo + (hi - lo) * (pos - i)
    if kind == b"para":
        ftype = int.from_bytes(tag[8:10], "big")
        nparams = (1, 3, 4, 5, 7)[ftype]
        g, a, b, c, d, e, f = ([_s15f16(tag[12 + 4 * i:16 + 4 * i]) for i in range(nparams)]
                               + [0.0] * (7 - nparams))
        if ftype == 0:
            return x ** g
        if ftype in (1, 2):
            base = a * x + b
            return (base ** g if base > 0 else 0.0) + (c if ftype == 2 else 0.0)
        if x >= d:
            return (a * x + b) ** g + (e if ftype == 4 else 0.0)
        return c * x + (f if ftype == 4 else 0.0)
    raise ValueError("unknown ICC curve type")


def _bmp(image) -> bytes:
    from PIL import Image  # only BMP output needs Pillow

    if image.bands not in (1, 3):
        image = image.colourspace("srgb")[0:3]
    mode = "L" if image.bands == 1 else "RGB"
    pil = Image.frombytes(mode, (image.width, image.height), image.write_to_memory())
    out = io.BytesIO()
    pil.save(out, format="BMP")
    return out.getvalue()


__all__ = ["encode", "is_srgb_profile", "PNG_COMPRESSION", "AVIF_EFFORT"]
