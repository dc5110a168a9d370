"""``cgif/<n>``: fewer frames for a GIF (reference §5.5; CI: "GIF only; reduce frames").

* ``n = 1``: CI's default cap of ``DEFAULT_CAP`` (30) frames: a longer GIF keeps its first 30
  frames and is cut there (CI documents "excess frames are cut"), so it plays shorter.
* ``n`` in 2..100: a GIF of more than ``n`` frames keeps ``n`` of them, evenly spread (frame
  ``floor(k * F / n)`` for k = 0..n-1), and each kept frame is shown for the sum of the delays
  of the frames it stands for, so the animation lasts as long as before, in coarser steps.
* A GIF with no more frames than that is left as it is (it already satisfies the rule).
* Only a GIF input qualifies (CI documents cgif for GIF only): any other stage input, an
  animated WebP included, is an InvalidArgument naming the format.
* CI also says cgif "reduces colours"; the emulator's GIF writer always quantises to a
  <= 256-colour palette and no further reduction is made (UNCONFIRMED how far CI goes).
* Frames missing a delay count as ``DEFAULT_DELAY_MS`` (100 ms, the browsers' usual floor).
"""

from typing import List, NamedTuple, Optional, Sequence

from picops.grammar.ast import Operation, Param

from ..canvas import Canvas
from ..errors import InvalidArgument
from ..libvips import pyvips
from .base import FRAMES, Step

DEFAULT_CAP = 30
DEFAULT_DELAY_MS = 100


class FramePlan(NamedTuple):
    """Which frames to keep (indices into the input) and the delay of each kept frame."""

    keep: List[int]
    delays: List[int]


def frame_plan(delays: Sequence[int], n: int) -> Optional[FramePlan]:
    """The frames ``cgif/<n>`` keeps of an animation with these per-frame ``delays`` (ms).

    None when nothing changes.
    """
    count = len(delays)
    if n == 1:
        if count <= DEFAULT_CAP:
            return None
        return FramePlan(list(range(DEFAULT_CAP)), list(delays[:DEFAULT_CAP]))
    if count <= n:
        return None
    keep = [k * count // n for k in range(n)]
    bounds = keep + [count]
    merged = [sum(delays[bounds[k]:bounds[k + 1]]) for k in range(n)]
    return FramePlan(keep, merged)


def _cgif(canvas: Canvas, op: Operation, param: Param) -> None:
    n = param.value
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
        raise InvalidArgument(f"imageMogr2/cgif: {n!r} is not a frame count in 1..100")
    if canvas.format != "gif":
        raise InvalidArgument(f"imageMogr2/cgif/{n}: CI applies cgif to GIF images only; "
                              f"this input is {canvas.format}")
    if canvas.frames <= 1:
        return
    image = canvas.image
    delays = _delays(image, canvas.frames)
    plan = frame_plan(delays, n)
    if plan is None:
        return
    width, height = canvas.width, canvas.height
    frames = [image.crop(0, i * height, width, height) for i in plan.keep]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", plan.delays)
    if strip.get_typeof("n-pages"):
        strip.set_type(pyvips.GValue.gint_type, "n-pages", len(plan.keep))
    canvas.replace(strip)


def _delays(image, frames: int) -> List[int]:
    found = list(image.get("delay")) if image.get_typeof("delay") else []
    found = [d if d > 0 else DEFAULT_DELAY_MS for d in found[:frames]]
    return found + [DEFAULT_DELAY_MS] * (frames - len(found))


CGIF = Step(FRAMES, _cgif)

__all__ = ["CGIF", "FramePlan", "frame_plan", "DEFAULT_CAP", "DEFAULT_DELAY_MS"]
