"""``size-limit/<N>k|m[!]``: at most N bytes by lowering the encode quality, dimensions kept.

Runs after every pixel operation and encode setting of its segment (phase LIMIT), on exactly
what the stage writes: the format, strip and interlace settings and the quality the stage's
quality params resolve to (``Q``, the ceiling: size-limit never raises the quality).

* JPG and WebP outputs (CI documents JPG only; WebP has the same quality knob, so it is
  accepted too): if the output at ``Q`` fits in N bytes it is kept; otherwise a binary search
  over quality ``1..Q-1`` finds the highest quality whose output fits. The stage is then
  encoded at that quality (a forced quality, which later stages see as their ``Q_src``).
* When even quality 1 does not fit (decided; CI only says "about N"): the output is the
  quality-1 encode, the smallest this knob reaches; it is larger than N. Metadata counts
  toward the size: pair size-limit with ``strip`` as CI recommends.
* Other outputs (png, gif, bmp, tiff, avif) have no quality to lower. With ``!`` only the
  comparison below applies (CI's own sample writes ``strip/format/png/size-limit/15k!``);
  without ``!`` the parameter could do nothing, so it is refused (InvalidArgument).
* ``!``: if the stage's input file is not larger than the output, the stage returns its
  input unchanged (CI: "otherwise the input image is returned", a tie included). For the
  rule's first stage (or when every earlier stage was rolled back) the input file is the
  uploaded object's bytes, in whatever format it has; for a later stage it is the previous
  stage's output as that stage would have written it.
"""

from picops.grammar.ast import Operation, Param, Quality, SizeLimit

from ..canvas import Canvas
from ..encode import encode
from ..errors import InvalidArgument
from ..quality import resolve_quality
from .base import LIMIT, KeepStageInput, Step

SEARCHABLE = frozenset({"jpg", "webp"})


def best_quality(size_at, limit: int, ceiling: int) -> int:
    """The highest quality in 1..ceiling whose size fits ``limit``, else 1.

    ``size_at(q)`` returns the encoded size at quality q; sizes are taken to grow with q
    (true of JPEG and WebP up to encoder noise, which only makes the result a little
    conservative).
    """
    if size_at(ceiling) <= limit:
        return ceiling
    lo, hi = 1, ceiling - 1   # invariant: everything above hi is too big
    best = 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if size_at(mid) <= limit:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def prepare(canvas: Canvas, op: Operation) -> None:
    """Before a segment with ``size-limit/<N>!`` runs: share its input pixels in memory.

    ``!`` in a later stage encodes the stage's input as well as its output. Both are built on
    the same lazily decoded (sequential) pixels, which libvips can read only once, so they
    are put in memory first when an earlier stage decoded them.
    """
    limit = op.get("size-limit")
    before = canvas.stage_input
    if not (isinstance(limit, SizeLimit) and limit.keep_smaller and canvas.decoded
            and before is not None and before.stages_kept > 0):
        return
    canvas.in_memory(f"imageMogr2/size-limit/{limit} (the stage input in memory)")
    before.replace(canvas.image)


def _size_limit(canvas: Canvas, op: Operation, param: Param) -> None:
    limit = param.value
    if not isinstance(limit, SizeLimit):
        raise InvalidArgument(f"imageMogr2/size-limit: {limit!r} is not <N>k or <N>m")
    where = f"imageMogr2/size-limit/{limit}"
    fmt = canvas.format
    if fmt not in SEARCHABLE and not limit.keep_smaller:
        raise InvalidArgument(
            f"{where}: a {fmt} output has no quality to lower, so size-limit cannot apply; "
            f"write /format/jpg (or webp) before it, or add '!' to keep the smaller of input "
            f"and output")
    # Keep the pixels in memory: the search encodes them several times.
    canvas.in_memory(f"{where} (the image in memory)")
    ceiling = resolve_quality(fmt, canvas.quality, canvas.lossy, canvas.stage.quality_params)
    sizes = {}

    def size_at(q: int) -> int:
        if q not in sizes:
            sizes[q] = len(_write(canvas, fmt, q))
        return sizes[q]

    if fmt in SEARCHABLE:
        quality = best_quality(size_at, limit.bytes, ceiling)
        canvas.stage.quality_params.append(("quality", Quality(quality, forced=True)))
    else:
        quality = ceiling
    if limit.keep_smaller and _input_size(canvas) <= size_at(quality):
        raise KeepStageInput()


def _write(canvas: Canvas, fmt: str, quality: int) -> bytes:
    return encode(canvas.image, fmt, quality, strip=canvas.strip,
                  interlace=canvas.stage.interlace)


def _input_size(canvas: Canvas) -> int:
    before = canvas.stage_input
    if before is None or before.stages_kept == 0:
        return len(canvas.source.data)
    return len(encode(before.image, before.format, before.quality, strip=before.strip,
                      interlace=before.stage.interlace))


SIZE_LIMIT = Step(LIMIT, _size_limit)

__all__ = ["SIZE_LIMIT", "SEARCHABLE", "best_quality", "prepare"]
