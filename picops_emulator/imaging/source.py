"""Open input bytes safely: sniff, read the header only, enforce the input limits, decode lazily.

:func:`open_source` is the only way bytes enter the engine. In order it checks the byte size,
sniffs the codec (``sniff.py``), opens the header with that codec's own loader
(``access="sequential"``, so nothing is decoded yet), checks width, height and frame count
against the limits, checks the file's structure where libvips is lenient (``gifscan``,
``jpegscan``: scan count and a first scan long enough for the claimed size, ``tiffscan``:
every strip or tile present), and reserves what its decoder will hold from the job's
:class:`~.budget.Budget` (``cost.decode_bytes``). A decompression bomb, a truncated file or a
header that lies therefore costs a header read, never its pixels.

The returned :class:`Source` then decodes on demand, in one of two ways:

* :meth:`Source.thumbnail` -- shrink-on-load: JPEG decodes at the coarsest DCT scale (1/8,
  1/4, 1/2) that still covers the target (``jpeg_shrink``), WebP and HEIF through libvips
  ``thumbnail``, streaming for the rest. The fast path of every resize that happens before
  anything else touched the pixels.
* :meth:`Source.load` -- a lazy, sequential full decode for everything else.

Every decoded image is watched by the budget (``Budget.watch``), so libvips stops computing
from it once the request's deadline passes or the request is cancelled.

Both give 8- or 16-bit sRGB or greyscale images (with alpha when the source has it): a CMYK
source goes through its embedded ICC profile (or libvips' fallback CMYK profile) to sRGB.
An RGB source's own profile (say Display P3) is kept, as libvips ``thumbnail`` keeps it.

BMP has no libvips loader in pyvips-binary; Pillow decodes it (header first, too).
"""

import io
from dataclasses import dataclass, field
from typing import Optional, Tuple

from . import jpegquant, webpquant
from .budget import Budget
from .cost import decode_bytes, image_bytes
from .errors import ImageResolutionExceed, InvalidImageFormat, ProcessingLimitExceeded
from .formats import SOURCE_DEFAULT
from .gifscan import gif_problem
from .jpegscan import read_layout, scan_problem
from .libvips import FAIL_ON, pyvips
from .limits import Limits, check_input_bytes, check_input_header
from .sniff import refusal, sniff
from .tiffscan import scan_tiff

_LOADERS = {
    "JPEG": "jpegload_source", "PNG": "pngload_source", "GIF": "gifload_source",
    "WEBP": "webpload_source", "AVIF": "heifload_source", "HEIF": "heifload_source",
    "TIFF": "tiffload_source",
}
_ANIMATED_CODECS = ("GIF", "WEBP")

# Quality reported for lossy inputs whose quality is not read from the bitstream here:
# AVIF/HEIF get libvips' heifsave default (50), a lossy WebP whose frame header defeats the
# parser gets libwebp's default (75). Assumptions: CI's estimator is UNCONFIRMED.
ASSUMED_HEIF_QUALITY = 50
ASSUMED_WEBP_QUALITY = 75
# Bytes per sample of libvips band formats.
SAMPLE_BYTES = {"uchar": 1, "char": 1, "ushort": 2, "short": 2, "uint": 4, "int": 4,
                "float": 4, "complex": 8, "double": 8, "dpcomplex": 16}


@dataclass
class Source:
    """A validated input: header facts plus on-demand decoding. Width/height are per frame."""

    data: bytes
    format: str                 # upper-case codec: JPEG, PNG, GIF, WEBP, AVIF, HEIF, BMP, TIFF
    width: int
    height: int
    frames: int                 # > 1 only for animated GIF / WebP
    orientation: int            # EXIF orientation 1..8, 0 when the file has none
    quality: int                # estimated encoder quality; 100 for lossless codecs
    lossy: bool
    has_alpha: bool = False
    sample_format: str = "uchar"  # libvips band format: uchar, ushort, float, ...
    budget: Budget = field(default=None, repr=False)  # the job that opened it

    @property
    def default_output(self) -> str:
        return SOURCE_DEFAULT[self.format]

    @property
    def sixteen_bit(self) -> bool:
        """More than 8 bits per sample (16-bit PNG/TIFF; float TIFF counts too)."""
        return self.sample_format != "uchar"

    # --- decoding -------------------------------------------------------------------

    def load(self, frames: Optional[int] = None):
        """Lazily decode the whole image (all frames when animated, unless ``frames == 1``)."""
        if self.format == "BMP":
            return self.budget.watch(_bmp_to_vips(self.data))
        kwargs = {"access": "sequential", "fail_on": FAIL_ON}
        if self._animated(frames):
            kwargs["n"] = -1
        image = self.budget.watch(from_memory(_LOADERS[self.format], self.data, **kwargs))
        return to_working_colour(image)

    def thumbnail(self, width: int, height: int, *, auto_rotate: bool,
                  frames: Optional[int] = None):
        """Decode straight to exactly ``width x height`` (shrink-on-load where the codec can).

        Like every libvips thumbnail, the result has 8-bit samples: a resized 16-bit PNG is
        written as an 8-bit PNG (16 bits survive only format conversions without resampling).
        Returns None when the codec has no libvips loader (BMP); the caller then resizes a
        :meth:`load` result instead.
        """
        if self.format == "BMP":
            return None
        if self.format == "JPEG":
            return self._jpeg_thumbnail(width, height, auto_rotate)
        image = from_memory(
            "thumbnail_source", self.data, width, height=height, size="force",
            auto_rotate=auto_rotate, option_string=loader_options(animated=self._animated(frames)))
        return to_working_colour(self.budget.watch(image))

    def _jpeg_thumbnail(self, width: int, height: int, auto_rotate: bool):
        """JPEG: decode at the coarsest DCT scale still covering the target, then resample.

        libvips' own thumbnail keeps a factor of two for its final resample, which for a
        4000 px photo going to 400 px means a 1/4 decode; see :func:`jpeg_shrink` for why
        the engine decodes at 1/8 there instead.
        """
        rotate = auto_rotate and self.orientation not in (0, 1)
        # The target is given as displayed; the decoder works on the stored (unrotated) grid.
        stored = (height, width) if rotate and self.orientation >= 5 else (width, height)
        shrink = jpeg_shrink((self.width, self.height), stored)
        image = to_working_colour(self.budget.watch(from_memory(
            "jpegload_source", self.data, shrink=shrink, access="sequential", fail_on=FAIL_ON)))
        if (image.width, image.height) != stored:
            image = image.thumbnail_image(stored[0], height=stored[1], size="force",
                                          auto_rotate=False)
        if rotate:
            # Rotating reads the (small) result out of order: give it random access first.
            self.budget.reserve(image_bytes(width, height, 1, image.bands),
                                "turning the thumbnail upright")
            image = self.budget.watch(image.copy_memory()).autorot()
        return image

    def _animated(self, frames: Optional[int]) -> bool:
        n = self.frames if frames is None else frames
        return n > 1 and self.format in _ANIMATED_CODECS

    def verify_decodes(self) -> Optional[str]:
        """Decode every pixel once; the decoder's complaint when that fails, else None.

        Used only after something failed, to tell a broken input (400) from an engine bug.
        A structural finding (a missing end marker) is preferred to libvips' words: libvips
        keeps one error buffer for the whole process, so when several images fail at once
        on different threads its text can belong to another image.
        """
        try:
            image = self.load()
            image.avg()
        except pyvips.Error as e:
            return self.decode_problem(e)
        except InvalidImageFormat as e:
            return e.message
        return None

    def decode_problem(self, e: Exception) -> str:
        """Why decoding this input failed, for a message: a structural finding when there is
        one (deterministic), else libvips' own words."""
        return _missing_end_marker(self.format, self.data) or vips_detail(e)


# The byte sequence that ends a complete file of each format, and how far from the end it
# may sit (some writers pad after it).
_END_MARKERS = {"JPEG": (b"\xff\xd9", 512), "PNG": (b"IEND\xaeB`\x82", 64)}


def _missing_end_marker(fmt: str, data: bytes) -> Optional[str]:
    marker, window = _END_MARKERS.get(fmt, (b"", 0))
    if marker and marker not in bytes(data[-window:]):
        return (f"the {fmt} data is truncated: it ends after {len(data)} bytes without the "
                f"end-of-image marker")
    return None


def _first_bytes(data: bytes) -> str:
    """How the input starts, for a person: as text when it is text, else as hex bytes."""
    head = bytes(data[:8])
    if all(32 <= b < 127 for b in head):
        return f'it starts with the text "{head.decode("ascii")}"'
    return "its first bytes are " + " ".join(f"{b:02x}" for b in head)


def open_source(data: bytes, budget: Budget) -> Source:
    """Validate ``data`` as an input image from its header alone; see the module doc."""
    limits = budget.limits
    check_input_bytes(len(data), limits)
    if not data:
        raise InvalidImageFormat("input is empty (0 bytes), not an image")
    fmt = sniff(data)
    if fmt is None:
        raise InvalidImageFormat(
            refusal(data) or f"input is not an image format the emulator reads (JPEG, PNG, "
                             f"GIF, WebP, AVIF, HEIF, BMP, TIFF); {_first_bytes(data)}")
    if fmt == "BMP":
        return _open_bmp(data, budget)
    if fmt == "GIF":
        problem = gif_problem(data)  # libvips would load a truncated GIF without complaint
        if problem:
            raise InvalidImageFormat(problem)
    try:
        header = from_memory(_LOADERS[fmt], data, access="sequential", fail_on=FAIL_ON)
        width, height, sample_format = header.width, header.height, header.format
        alpha = bool(header.hasalpha())
        bands = header.bands
        pages = header.get("n-pages") if header.get_typeof("n-pages") else 1
        orientation = header.get("orientation") if header.get_typeof("orientation") else 0
    except pyvips.Error as e:
        raise InvalidImageFormat(f"cannot read the {fmt} header: {vips_detail(e)}") from None
    frames = pages if fmt in _ANIMATED_CODECS and pages > 1 else 1
    check_input_header(fmt, width, height, frames, limits)
    decoding = _check_structure(fmt, data, limits)
    sample_bytes = SAMPLE_BYTES.get(sample_format, 8)
    budget.reserve(decode_bytes(fmt, width, height, frames, bands=bands,
                                sample_bytes=sample_bytes, **decoding),
                   f"decoding the {width}x{height} {fmt} input")
    quality, lossy = _quality(fmt, data)
    return Source(data=data, format=fmt, width=width, height=height, frames=frames,
                  orientation=int(orientation), quality=quality, lossy=lossy,
                  has_alpha=alpha, sample_format=sample_format, budget=budget)


def _check_structure(fmt: str, data: bytes, limits: Limits) -> dict:
    """Refuse what libvips would decode leniently or at unbounded cost; return the layout
    facts the decode estimate needs (``cost.decode_bytes`` keywords)."""
    if fmt == "JPEG":
        layout = read_layout(data)
        if layout is None:
            return {}
        if layout.scans > limits.max_jpeg_scans:
            raise ProcessingLimitExceeded(
                f"the JPEG input has {layout.scans} scans; decoding walks the whole image "
                f"once per scan, and at most {limits.max_jpeg_scans} are accepted",
                "max_jpeg_scans")
        problem = scan_problem(layout, len(data))
        if problem:
            raise InvalidImageFormat(problem)
        return {"jpeg": layout}
    if fmt == "TIFF":
        layout = scan_tiff(data)
        if layout.problem:
            raise InvalidImageFormat(layout.problem)
        return {"chunk_bytes": layout.chunk_bytes}
    if fmt == "PNG":
        return {"interlaced": len(data) > 28 and data[28] == 1}  # IHDR interlace method
    return {}


def _quality(fmt: str, data: bytes):
    if fmt == "JPEG":
        return (jpegquant.estimate_quality(data) or 100), True
    if fmt == "WEBP":
        if webpquant.is_lossless(data):
            return 100, False
        return (webpquant.estimate_quality(data) or ASSUMED_WEBP_QUALITY), True
    if fmt in ("AVIF", "HEIF"):
        return ASSUMED_HEIF_QUALITY, True
    return 100, False


def from_memory(operation: str, data: bytes, *args, **options):
    """Run a ``*_source`` libvips operation (a codec's own loader, or thumbnail) on ``data``.

    The ``*_buffer`` variants copy the whole input into a libvips blob on every call (pyvips
    sets blob arguments by copy): 2.7 MB for a 12 MP JPEG, twice per request (header, then
    pixels). Measured in the thumbnail pipeline that costs 1.5-2 ms, far more than the copy
    itself (fresh pages, then freeing them while worker threads run). A memory source reads
    ``data`` in place instead.

    The source does not own ``data``: pyvips keeps input objects alive through the private
    ``_references`` list every image carries and passes on to images derived from it (the
    same list its own ``new_from_source`` uses). Appending the source there ties ``data``'s
    lifetime to the image and everything computed from it.

    No public pyvips call does this here (checked in pyvips 3.2): an operation called with a
    Source argument keeps no reference to it (only Image arguments pass theirs on), and the
    public ``Image.new_from_source``, which does, picks the loader by libvips' own content
    detection (the engine runs only the loader ``sniff`` chose, see ``libvips.py``) and has
    no ``thumbnail_source`` counterpart for the shrink-on-load path.
    """
    source = pyvips.Source.new_from_memory(data)
    image = getattr(pyvips.Image, operation)(source, *args, **options)
    image._references.append(source)
    return image


def jpeg_shrink(size: Tuple[int, int], target: Tuple[int, int]) -> int:
    """The JPEG decode scale 1/N (N in 8, 4, 2, 1) for resizing ``size`` to ``target``.

    The largest N whose scaled decode still covers the target on both sides: libjpeg then
    skips most of the inverse DCT and colour conversion work, and the resampler only does
    the last step (4000x3000 -> 400x300 decodes 500x375, then a 1.25x Lanczos3 reduce).

    Decided for speed (issue 3's target: a thumbnail within 1.25x of a bare 1/8 decode; a
    1/4 decode alone measured 1.155x, libvips' thumbnail on it 1.235x, before any of the
    engine's work). The cost is some aliasing, since a 1/8 decode is an 8x8 box average.
    Measured on 400x300 thumbnails as PSNR against a Lanczos3 reduction of the full
    decode: a 12 MP phone photo 45.1 dB (1/4 decode: 50.7 dB, Pillow's ``thumbnail``
    44.7 dB); a 12 MP zone plate, the worst case, 34.4 dB (1/4: 40.2, Pillow 39.4).

    Sides are divided rounding down, never to 0: libjpeg rounds a scaled side up, but
    libvips' jpegload sizes its image by rounding down and refuses a side of 0 ("bad
    dimensions"), so a valid 2000x3 photo must not be decoded at 1/4.
    """
    (width, height), (target_w, target_h) = size, target
    for n in (8, 4, 2):
        if width // n >= max(target_w, 1) and height // n >= max(target_h, 1):
            return n
    return 1


def loader_options(animated: bool = False) -> str:
    """Loader options for libvips thumbnail (``thumbnail_source`` / ``thumbnail_buffer``).

    They must go in ``option_string``: thumbnail's own ``fail_on`` argument does not reach
    the loader in libvips 8.18 (a truncated JPEG then thumbnails without an error).
    """
    return f"fail_on={FAIL_ON}" + (",n=-1" if animated else "")


def to_working_colour(image):
    """sRGB or greyscale, 8 or 16 bit: CMYK (and other spaces) converted, alpha kept."""
    interp = image.interpretation
    if interp == "cmyk":
        return image.icc_transform("srgb", embedded=True, input_profile="cmyk")
    if interp in ("srgb", "rgb", "b-w", "grey16", "rgb16"):
        return image
    if image.bands in (1, 2):
        return image.colourspace("b-w")
    return image.colourspace("srgb")


# --- BMP via Pillow ------------------------------------------------------------------

def _bmp_dimensions(data: bytes):
    """(width, height) from the BMP headers, read by hand so limits apply before Pillow."""
    dib = int.from_bytes(data[14:18], "little")
    if dib == 12:
        return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
    if len(data) < 26:
        raise InvalidImageFormat("BMP header is truncated")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)
    return abs(width), abs(height)  # negative height = rows stored top-down


def _open_bmp(data: bytes, budget: Budget) -> Source:
    width, height = _bmp_dimensions(data)
    if width == 0 or height == 0:
        raise InvalidImageFormat(f"BMP header claims an empty {width}x{height} image")
    check_input_header("BMP", width, height, 1, budget.limits)
    budget.reserve(decode_bytes("BMP", width, height, 1, bands=4, sample_bytes=1),
                   f"decoding the {width}x{height} BMP input")
    pil = _pil_open(data)
    alpha = pil.mode in ("RGBA", "LA") or "transparency" in pil.info
    return Source(data=data, format="BMP", width=width, height=height, frames=1,
                  orientation=0, quality=100, lossy=False, has_alpha=alpha, budget=budget)


def _pil_open(data: bytes):
    from PIL import Image  # only BMP needs Pillow; keep it off the common import path

    try:
        return Image.open(io.BytesIO(data), formats=["BMP"])
    except Image.DecompressionBombError as e:
        raise ImageResolutionExceed(f"BMP input refused by the decoder's pixel limit: {e}") \
            from None
    except Exception as e:  # Pillow raises many types on garbage; all mean "not a BMP"
        raise InvalidImageFormat(f"cannot read the BMP header: {e}") from None


def _bmp_to_vips(data: bytes):
    pil = _pil_open(data)
    try:
        pil.load()
        if pil.mode == "P":
            pil = pil.convert("RGBA" if "transparency" in pil.info else "RGB")
        elif pil.mode == "1":
            pil = pil.convert("L")
        elif pil.mode not in ("RGB", "RGBA", "L", "LA"):
            pil = pil.convert("RGB")
        raw = pil.tobytes()
    except Exception as e:  # truncated or corrupt pixel data
        raise InvalidImageFormat(f"cannot decode the BMP pixels: {e}") from None
    bands = len(pil.getbands())
    image = pyvips.Image.new_from_memory(raw, pil.width, pil.height, bands, "uchar")
    return image.copy(interpretation="b-w" if bands <= 2 else "srgb")


def vips_detail(e: Exception) -> str:
    """libvips' own explanation, one line."""
    detail = getattr(e, "detail", "") or getattr(e, "message", "") or str(e)
    return " ".join(detail.split()) or type(e).__name__


__all__ = ["Source", "open_source", "from_memory", "jpeg_shrink", "loader_options",
           "to_working_colour", "vips_detail"]
