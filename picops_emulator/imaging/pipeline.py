"""Execute a parsed rule on image bytes: ``execute(rule, data) -> Output``.

1. Every stage is checked for support first (``ops.check_stage``), so an unsupported operation
   anywhere in the ``|`` pipeline is refused before a single pixel is decoded.
2. ``source.open_source`` validates the input from its header (size, format, limits).
3. Stages run left to right on one :class:`~.canvas.Canvas`: each sees the previous stage's
   result, nothing is encoded in between, and the image is encoded once at the end.
4. The final size is checked against the output limit, the encoder's memory is reserved
   (``cost.encode_bytes``) and the image is encoded (``encode.py``).

Each job has a :class:`~.budget.Budget`: what it may hold in memory (every decoder buffer and
in-memory copy is reserved from estimates before it is made) and the request's
:class:`~.budget.Deadline`, checked before every stage and, through the budget's watch on
every decoded image, inside libvips. A job stopped by the deadline or a cancel fails with
ProcessingTimeout / ProcessingCancelled, never with a decoding verdict.

``/ignore-error/1`` on a stage (decided; the reference leaves details UNCONFIRMED): when that
stage fails because a size or parameter does not fit the image (ImageResolutionExceed,
InvalidArgument; never UnsupportedOperation or a broken input), the stage is rolled back and
the pipeline continues with its input. If every stage was rolled back, the output is the
input bytes unchanged, which is CI's documented "return the original". Input limits (size,
resolution) are always enforced: they are checked before any stage runs.

Any other libvips failure during execution is classified by decoding the input once more: if
the input does not decode it is InvalidImageFormat (400), else ImagingInternalError (500).
"""

from dataclasses import dataclass
from typing import Optional

from picops.grammar.ast import Operation, Rule

from .budget import Budget, Deadline
from .canvas import Canvas
from .cost import encode_bytes
from .encode import encode
from .errors import (ImageResolutionExceed, ImagingError, ImagingInternalError,
                     InvalidArgument, InvalidImageFormat, UnsupportedOperation)
from .libvips import pyvips
from .limits import DEFAULT_LIMITS, Limits, check_output_size
from .ops import check_stage, run_stage
from .ops.watermark import check_rule as check_watermark_count
from .ops.base import KeepStageInput
from .source import Source, open_source, vips_detail
from .watermark_fetch import Fetch


@dataclass(frozen=True)
class Output:
    """An encoded result. ``width``/``height`` are per frame; ``format`` is lower-case."""

    data: bytes
    format: str
    width: int
    height: int
    size: int
    quality: int
    frame_count: int


def execute(rule: Rule, data: bytes, *, limits: Limits = DEFAULT_LIMITS,
            fetch: Optional[Fetch] = None, deadline: Optional[Deadline] = None) -> Output:
    """Run ``rule`` on ``data``; raise an :class:`~.errors.ImagingError` subclass on failure.

    ``fetch`` reads ``watermark/1`` images (``watermark_fetch.py``); None refuses them.
    ``deadline`` is the request's (shared with its other jobs, and how a caller cancels);
    None gives this job ``limits.max_request_seconds`` from now.
    """
    stages = rule.stages
    if not stages:
        raise InvalidArgument("the rule has no stages")
    for i, op in enumerate(stages):
        try:
            check_stage(op)
        except ImagingError as e:
            raise _in_stage(e, i, op, len(stages)) from None
    check_watermark_count(stages)
    budget = Budget(limits, deadline)
    budget.check()
    source = open_source(data, budget)
    try:
        return _run(stages, source, limits, fetch)
    except pyvips.Error as e:
        raise (budget.stopped() or _classify(e, source)) from None


def _run(stages, source: Source, limits: Limits, fetch: Optional[Fetch]) -> Output:
    canvas = Canvas(source, fetch)
    rolled_back = 0
    for i, op in enumerate(stages):
        canvas.budget.check()
        canvas.begin_stage()  # snapshots the canvas as canvas.stage_input
        try:
            run_stage(canvas, op)
            canvas.end_stage()
        except KeepStageInput:  # size-limit/<N>!: the stage's input was the smaller file
            canvas.restore(canvas.stage_input)
            rolled_back += 1
        except (ImageResolutionExceed, InvalidArgument) as e:
            if isinstance(e, UnsupportedOperation) or op.get("ignore-error") != 1:
                raise _in_stage(e, i, op, len(stages)) from None
            canvas.restore(canvas.stage_input)
            rolled_back += 1
        except ImagingError as e:
            raise _in_stage(e, i, op, len(stages)) from None

    if rolled_back == len(stages):
        return Output(data=source.data, format=source.default_output, width=source.width,
                      height=source.height, size=len(source.data), quality=source.quality,
                      frame_count=source.frames)
    check_output_size(canvas.width, canvas.height, limits)
    canvas.budget.reserve(encode_bytes(canvas.format, canvas.width, canvas.height, canvas.frames,
                                       canvas.image.bands), f"encoding the {canvas.format} output")
    canvas.budget.check()
    blob = encode(canvas.image, canvas.format, canvas.quality, strip=canvas.strip,
                  interlace=canvas.stage.interlace)
    return Output(data=blob, format=canvas.format, width=canvas.width, height=canvas.height,
                  size=len(blob), quality=canvas.quality, frame_count=canvas.frames)


def _in_stage(e: ImagingError, i: int, op: Operation, n: int) -> ImagingError:
    """Name the stage in the message when the rule has several."""
    if n > 1:
        e.message = f"stage {i + 1} ({op}): {e.message}"
        e.args = (e.message,)
    return e


def _classify(e: Exception, source: Source) -> ImagingError:
    problem = source.verify_decodes()
    if problem:
        return InvalidImageFormat(f"cannot decode the {source.format} input: {problem}")
    return ImagingInternalError(
        f"libvips failed on a valid {source.format} input: {vips_detail(e)}")


__all__ = ["Output", "execute"]
