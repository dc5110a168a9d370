"""CI's processing limits (reference cos-ci-scf.md §4.6) and the checks that enforce them.

The input checks run on header values only (width, height, frame count read before any
pixel is decoded), so a decompression bomb is refused at the cost of reading its header.
Output checks run on the computed target size *before* a resize is done, and again on the
final image.

The defaults are the classic CI limits: 32 MB input, each input side <= 30 000 px, at most
250 M pixels (for animations: width x height x frames), GIFs at most 300 frames, each output
side <= 9 999 px. Tests pass smaller ``Limits`` to exercise the checks cheaply.
"""

from dataclasses import dataclass

from .errors import ERRNO_OUTPUT_SIDE, ImageResolutionExceed, ImageTooLarge


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 32 * 1024 * 1024
    max_input_side: int = 30_000
    max_input_pixels: int = 250_000_000
    max_gif_frames: int = 300
    max_output_side: int = 9_999


DEFAULT_LIMITS = Limits()


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
    if fmt == "GIF" and frames > limits.max_gif_frames:
        raise ImageResolutionExceed(
            f"input GIF has {frames} frames; at most {limits.max_gif_frames} allowed")


def check_output_size(width: int, height: int, limits: Limits, where: str = "output") -> None:
    """Refuse a target size over the output side limit (called before the resize is done)."""
    if width > limits.max_output_side or height > limits.max_output_side:
        raise ImageResolutionExceed(
            f"{where} would be {width}x{height}; each output side must be at most "
            f"{limits.max_output_side} px", ERRNO_OUTPUT_SIDE)


__all__ = ["Limits", "DEFAULT_LIMITS", "check_input_bytes", "check_input_header",
           "check_output_size"]
