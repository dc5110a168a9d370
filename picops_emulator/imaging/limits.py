"""CI's processing limits (reference cos-ci-scf.md §4.6), the emulator's own per-request
ceilings, and the checks that enforce the input and output limits.

The input checks run on header values only (width, height, frame count read before any
pixel is decoded), so a decompression bomb is refused at the cost of reading its header.
Output checks run on the computed target size *before* a resize is done, and again on the
final image.

The defaults are the classic CI limits: 32 MB input, each input side <= 30 000 px, at most
250 M pixels (for animations: width x height x frames), each output side <= 9 999 px, and
at most 300 frames. CI documents the frame limit for GIF; the emulator applies it to every
animated input (animated WebP too: decided, UNCONFIRMED for CI), since a frame costs the same
work whatever the codec. Tests pass smaller ``Limits`` to exercise the checks cheaply.

The emulator's ceilings (CI documents none; decided). Each can be raised (or lowered) for
one emulator run with ``picops emulator --limit NAME=VALUE``, parsed and checked by
``picops_emulator.settings``; CI's documented limits above are fixed there (raising them
would make the emulator kinder than CI). :data:`CEILINGS` names the ceilings and the unit of
each, :data:`CI_LIMITS` the fixed limits; together they are every field of :class:`Limits`.

* ``max_jpeg_scans`` (100): libjpeg walks the whole coefficient buffer once per scan, so a
  progressive JPEG of thousands of tiny scans costs seconds of CPU per megapixel. Encoders
  write 1 (sequential) to about 10 (progressive) scans.
* ``max_request_memory`` (512 MiB): the memory one engine job (one rule, or one probe) may
  hold, as estimated from headers and parameters *before* the work (``budget.py``,
  ``cost.py``): decoder buffers, every in-memory copy an operation needs, watermark layers.
* ``max_request_work`` (10 G): the sample operations (one multiply-add on one band of one
  pixel) the filters whose cost grows with a parameter may take in one job, estimated before
  they run: ``blur`` (``2 x (2R + 1)`` taps per sample, R up to 50) and ``rotate`` by other
  than a right angle (16 bicubic taps per output sample). 10 G is 10 to 30 s of one core
  here; ``blur/50x25`` on a 12 MP photo is 7 G.
* ``max_request_seconds`` (30 s): the wall-clock deadline of one request's image work,
  checked between pipeline steps and inside every libvips computation (``budget.py``).
"""

from dataclasses import dataclass
from typing import Dict, Tuple

from .errors import ERRNO_OUTPUT_SIDE, ImageResolutionExceed, ImageTooLarge


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 32 * 1024 * 1024
    max_input_side: int = 30_000
    max_input_pixels: int = 250_000_000
    max_frames: int = 300
    max_output_side: int = 9_999
    max_jpeg_scans: int = 100
    max_request_memory: int = 512 * 1024 * 1024
    max_request_work: float = 10e9
    max_request_seconds: float = 30.0


DEFAULT_LIMITS = Limits()

#: The emulator's own ceilings, which a run may set, and the unit of each value.
CEILINGS: Dict[str, str] = {
    "max_jpeg_scans": "scans",
    "max_request_memory": "bytes",
    "max_request_work": "sample operations",
    "max_request_seconds": "seconds",
}
#: CI's documented limits: fixed, whatever the run.
CI_LIMITS: Tuple[str, ...] = ("max_input_bytes", "max_input_side", "max_input_pixels",
                              "max_frames", "max_output_side")


def check_input_bytes(size: int, limits: Limits) -> None:
    if size > limits.max_input_bytes:
        raise ImageTooLarge(
            f"input is {size} bytes; CI processes at most {limits.max_input_bytes} bytes")


def check_input_header(fmt: str, width: int, height: int, frames: int, limits: Limits) -> None:
    """Refuse an input whose header claims too many pixels, too long a side or too many frames."""
    if width > limits.max_input_side or height > limits.max_input_side:
        raise ImageResolutionExceed(
            f"input is {width}x{height}; each side must be at most {limits.max_input_side} px")
    pixels = width * height * max(frames, 1)
    if pixels > limits.max_input_pixels:
        what = f"{width}x{height}x{frames} frames" if frames > 1 else f"{width}x{height}"
        raise ImageResolutionExceed(
            f"input {what} is {pixels} pixels; at most {limits.max_input_pixels} allowed")
    if frames > limits.max_frames:
        raise ImageResolutionExceed(
            f"input {fmt} has {frames} frames; at most {limits.max_frames} allowed")


def check_output_size(width: int, height: int, limits: Limits, where: str = "output") -> None:
    """Refuse a target size over the output side limit (called before the resize is done)."""
    if width > limits.max_output_side or height > limits.max_output_side:
        raise ImageResolutionExceed(
            f"{where} would be {width}x{height}; each output side must be at most "
            f"{limits.max_output_side} px", ERRNO_OUTPUT_SIDE)


__all__ = ["Limits", "DEFAULT_LIMITS", "CEILINGS", "CI_LIMITS", "check_input_bytes",
           "check_input_header", "check_output_size"]
