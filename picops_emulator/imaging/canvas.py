"""The working state of one rule's execution: the image so far plus what to encode it as.

A :class:`Canvas` is created from a validated :class:`~.source.Source` and handed to every
stage in turn. Operations change it only through its methods, which keep the bookkeeping
(size per frame, frame count, format, quality) consistent with the pixels.

Laziness is the point: nothing is decoded until an operation needs pixels. A resize on an
untouched canvas goes straight to ``Source.thumbnail`` (shrink-on-load); ``auto-orient`` on an
untouched canvas only records that the decoder must rotate. Stages never re-encode in between:
the image object flows from one ``|`` stage to the next and is encoded once, at the end
(``encode.py``). To stay faithful to a per-stage encode, each stage ends with
:meth:`Canvas.end_stage`, which applies what that stage's format would have done to the pixels
(first frame only, alpha flattened) and resolves its quality.

Animated images are a vertical strip of frames in libvips (``page-height`` metadata); the
helpers here crop and embed frame by frame so frames, delays and loop count survive.

Every in-memory copy of the pixels goes through :meth:`Canvas.in_memory`, which reserves
its size from the job's budget first (``budget.py``): an operation that would go over the
memory ceiling is refused before it copies anything.
"""

import copy
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from picops.grammar.ast import Quality

from .budget import Budget
from .cost import image_bytes
from .formats import ANIMATED, HIGH_BIT_DEPTH, LOSSY, NO_ALPHA
from .libvips import pyvips
from .limits import check_output_size
from .quality import resolve_quality
from .source import SAMPLE_BYTES, Source
from .watermark_fetch import Fetch

WHITE = (255, 255, 255)


@dataclass
class StageSettings:
    """Encode settings of the current stage only (each stage's output is a fresh encode)."""

    quality_params: List[Tuple[str, Quality]] = field(default_factory=list)
    interlace: bool = False


class Canvas:
    def __init__(self, source: Source, fetch: Optional[Fetch] = None):
        self.source = source
        self.budget: Budget = source.budget     # memory, deadline and cancel of this job
        self.limits = source.budget.limits
        self.fetch = fetch                      # reads watermark/1 images (ops/watermark.py)
        self._image = None                      # pyvips.Image once something needed pixels
        self._rotate_on_decode = False          # auto-orient waiting for the first decode
        self.width = source.width               # one frame, as currently oriented
        self.height = source.height
        self.frames = source.frames
        self.orientation = source.orientation   # EXIF tag still carried (0 = none)
        self.has_alpha = source.has_alpha
        self.sixteen_bit = source.sixteen_bit
        self.format = source.default_output     # sticky across stages
        self.quality = source.quality           # Q_src of the next stage
        self.lossy = source.lossy
        self.strip = False                      # sticky: stripped metadata stays stripped
        self.stage = StageSettings()
        self.stage_input = None                 # the canvas as the current stage found it
        self.stages_kept = 0                    # completed stages; 0 = still the input file

    # --- state ----------------------------------------------------------------------

    @property
    def decoded(self) -> bool:
        return self._image is not None

    @property
    def image(self):
        """The pixels, decoding the source on first use."""
        if self._image is None:
            image = self.source.load(frames=self.frames)
            if self._rotate_on_decode:
                image = upright(image, self.source.orientation, self.budget)
                self._rotate_on_decode = False
            self._set(image)
        return self._image

    def _set(self, image) -> None:
        self._image = image
        self.width = image.width
        page = _page_height(image)
        self.height = page
        self.frames = image.height // page
        self.has_alpha = image.hasalpha()
        self.sixteen_bit = image.format == "ushort"

    def snapshot(self) -> "Canvas":
        """A cheap copy to roll back to (libvips images are immutable, so sharing is safe)."""
        snap = copy.copy(self)
        snap.stage = copy.deepcopy(self.stage)
        return snap

    def restore(self, snap: "Canvas") -> None:
        self.__dict__.update(snap.__dict__)

    def replace(self, image) -> None:
        """Make ``image`` the pixels; an animation must be a frame strip with ``page-height``."""
        self._set(image)

    def samples(self, width: Optional[int] = None, height: Optional[int] = None) -> int:
        """Samples (pixels x bands, every frame) of the canvas, or of a ``width x height``
        result of it, counting colour as 3 bands (grey once decoded as grey) plus alpha;
        decodes nothing."""
        grey = self._image is not None and self._image.bands < 3
        bands = (1 if grey else 3) + int(self.has_alpha)
        return ((self.width if width is None else width)
                * (self.height if height is None else height) * self.frames * bands)

    def in_memory(self, what: str) -> None:
        """Compute the pixels into memory (for out-of-order reads, or to read them several
        times), after reserving their size for ``what`` from the budget."""
        image = self.image
        self.budget.reserve(pixel_bytes(image), what)
        self._set(self.budget.watch(image.copy_memory()))

    def map_frames(self, fn, width: Optional[int] = None, height: Optional[int] = None) -> None:
        """Replace each frame by ``fn(frame)``; every result must be ``width x height``.

        ``width``/``height`` default to the current frame size (a size-keeping ``fn``).
        Frames are processed apart so neighbourhood filters never bleed across frames.
        """
        width = self.width if width is None else width
        height = self.height if height is None else height
        image = self.image
        self._set(_per_frame(image, self.height, self.frames, width, height, fn))

    # --- orientation ----------------------------------------------------------------

    def auto_orient(self) -> None:
        """Rotate/flip the pixels upright per the EXIF orientation and drop the tag.

        Animated images carry no EXIF orientation CI would apply; they are left alone.
        """
        if self.orientation in (0, 1) or self.frames > 1:
            return
        if self._image is None:
            self._rotate_on_decode = True
            if self.orientation >= 5:  # 5..8 transpose the image
                self.width, self.height = self.height, self.width
        else:
            self._set(upright(self._image, self.orientation, self.budget))
        self.orientation = 0

    # --- geometry -------------------------------------------------------------------

    def resize(self, width: int, height: int, where: str) -> None:
        """Scale every frame to exactly ``width x height`` (aspect is the caller's business)."""
        check_output_size(width, height, self.limits, where)
        if (width, height) == (self.width, self.height) and not self._rotate_on_decode:
            return
        image = None
        if self._image is None:
            image = self.source.thumbnail(width, height, auto_rotate=self._rotate_on_decode,
                                          frames=self.frames)
        if image is None:
            # thumbnail_image, unlike a plain resize, premultiplies alpha and handles the
            # frame strip; rotation is explicit (auto_orient), never implied by metadata.
            image = self.image.thumbnail_image(width, height=height, size="force",
                                               auto_rotate=False)
        self._rotate_on_decode = False
        self._set(image)

    def crop(self, left: int, top: int, width: int, height: int) -> None:
        """Cut the same ``width x height`` box out of every frame."""
        image = self.image
        if (left, top, width, height) == (0, 0, self.width, self.height):
            return
        self._set(_per_frame(image, self.height, self.frames, width, height,
                             lambda frame: frame.crop(left, top, width, height)))

    def embed(self, width: int, height: int, left: int, top: int,
              rgb: Sequence[int] = WHITE) -> None:
        """Place every frame at (left, top) on a ``width x height`` canvas of colour ``rgb``."""
        check_output_size(width, height, self.limits, "padded output")
        image = self.image
        if image.bands < 3 and len(set(rgb)) > 1:
            image = image.colourspace("srgb")  # a coloured border needs colour bands
        background = _background(image, rgb)
        self._set(_per_frame(image, self.height, self.frames, width, height,
                             lambda frame: frame.embed(left, top, width, height,
                                                       extend="background",
                                                       background=background)))

    # --- per-stage encode settings ---------------------------------------------------

    def begin_stage(self) -> None:
        self.stage_input = None  # never chain snapshots of snapshots
        self.stage_input = self.snapshot()
        self.stage = StageSettings()

    def end_stage(self) -> None:
        """Apply what this stage's encode would do to the pixels, and fix its quality.

        Decodes nothing unless the format really changes the pixels (alpha into jpg/bmp,
        16-bit into an 8-bit format), so a later stage can still take the fast path.
        """
        if self.format not in ANIMATED and self.frames > 1 and self._image is None:
            self.frames = 1  # the decoder will read the first frame only
        needs_pixels = (
            (self.format in NO_ALPHA and self.has_alpha)
            or (self.format not in HIGH_BIT_DEPTH and self.sixteen_bit)
            or (self.format not in ANIMATED and self.frames > 1))
        if needs_pixels:
            self._set(conform(self.image, self.format))
        self.quality = resolve_quality(self.format, self.quality, self.lossy,
                                       self.stage.quality_params)
        self.lossy = self.format in LOSSY
        self.stages_kept += 1


def upright(image, orientation: int, budget: Budget):
    """``image.autorot()``, from memory when the turn reads the pixels out of order.

    Orientations 3 to 8 turn the image or flip it vertically, so libvips asks for rows
    bottom-up or column by column; a streaming (sequential) decode of a large image refuses
    that ("out of order read"), so those pixels are materialised first (their size reserved
    from ``budget``). Orientation 2 is a left-right mirror, which streams.
    """
    if orientation > 2:
        budget.reserve(pixel_bytes(image), "auto-orient (the image in memory)")
        image = budget.watch(image.copy_memory())
    return image.autorot()


def pixel_bytes(image) -> int:
    """Bytes of ``image``'s pixels once in memory (all frames of a strip)."""
    return image_bytes(image.width, image.height, 1, image.bands,
                       SAMPLE_BYTES.get(image.format, 8))


def conform(image, fmt: str):
    """What writing ``fmt`` does to pixels: first frame only, no alpha, 8-bit, as applicable."""
    if fmt not in ANIMATED:
        page = _page_height(image)
        if page < image.height:
            image = image.crop(0, 0, image.width, page).copy()
            image.remove("page-height")
    if fmt not in HIGH_BIT_DEPTH and image.format != "uchar":
        image = image.colourspace("b-w" if image.bands < 3 else "srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    if fmt in NO_ALPHA:
        image = flatten(image)
    return image


def flatten(image, rgb: Sequence[int] = WHITE):
    """Composite alpha over a solid colour (white by default); drop the alpha band."""
    if not image.hasalpha():
        return image
    if image.format == "ushort":
        return image.flatten(background=[v * 257 for v in rgb[:image.bands - 1]])
    return image.flatten(background=list(rgb[:image.bands - 1]))


def _background(image, rgb: Sequence[int]) -> List[float]:
    scale = 257 if image.format == "ushort" else 1
    colour = [rgb[0] * scale] if image.bands < 3 else [v * scale for v in rgb]
    if image.hasalpha():
        colour.append(65535 if image.format == "ushort" else 255)
    return colour


def _page_height(image) -> int:
    if image.get_typeof("page-height"):
        page = image.get("page-height")
        if 0 < page <= image.height and image.height % page == 0:
            return page
    return image.height


def _per_frame(image, frame_height: int, frames: int, width: int, height: int, fn):
    """Apply ``fn`` to each frame of a strip and rebuild the strip (metadata kept)."""
    if frames <= 1:
        out = fn(image)
        if out.get_typeof("page-height"):
            out = out.copy()
            out.remove("page-height")
        return out
    parts = [fn(image.crop(0, i * frame_height, image.width, frame_height))
             for i in range(frames)]
    strip = pyvips.Image.arrayjoin(parts, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    return strip


__all__ = ["Canvas", "StageSettings", "conform", "flatten", "upright", "pixel_bytes", "WHITE"]
