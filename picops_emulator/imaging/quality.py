"""Which quality an output is encoded at (reference §5.6), as a pure function.

``Q_src`` is the quality of the stage's input: the estimate read from the source file
(``jpegquant`` / ``webpquant``; 100 for lossless codecs), or, after an earlier ``|`` stage,
the quality that stage resolved to.

* ``quality/Q``  -> min(Q_src, Q);   ``quality/Q!`` -> Q
* ``rquality/R`` -> Q_src * R / 100 (round half up)
* ``lquality/L`` -> max(Q_src, L)
* imageView2's ``q``, ``rq`` and ``lq`` are the same three.

Decisions (UNCONFIRMED in the reference):

* Several quality params in one segment apply in written order, each to the previous result.
* With no quality param the output keeps ``Q_src`` when the input was lossy-coded; a
  lossless input (PNG, GIF, BMP, TIFF, lossless WebP: ``Q_src`` 100 by convention) written to
  a lossy format gets ``DEFAULT_LOSSY_QUALITY`` = 85 instead of a wasteful 100. Explicit params
  still use ``Q_src`` = 100 for such inputs (``rquality/80`` on a PNG -> 80).
* Results are clamped to 1..100 (encoders take no quality 0).
* Quality params are ignored when the output is lossless (png, gif, bmp, tiff), which then
  reports 100, as CI documents.
"""

from fractions import Fraction
from typing import Sequence, Tuple

from picops.grammar.ast import Quality

from .formats import LOSSY
from .geometry import round_half_up

DEFAULT_LOSSY_QUALITY = 85

#: Param names (imageMogr2 and imageView2 spellings) -> rule kind.
QUALITY_PARAMS = {"quality": "min", "q": "min", "rquality": "relative", "rq": "relative",
                  "lquality": "lower", "lq": "lower"}


def apply_quality_param(q_src: int, name: str, value: Quality) -> int:
    kind = QUALITY_PARAMS[name]
    if kind == "min":
        q = value.value if value.forced else min(q_src, value.value)
    elif kind == "relative":
        q = round_half_up(Fraction(q_src * value.value, 100))
    else:
        q = max(q_src, value.value)
    return min(100, max(1, q))


def resolve_quality(fmt: str, q_src: int, src_lossy: bool,
                    params: Sequence[Tuple[str, Quality]]) -> int:
    """The quality to encode ``fmt`` at, given the input's quality and the stage's params."""
    if fmt not in LOSSY:
        return 100
    if not params:
        return q_src if src_lossy else DEFAULT_LOSSY_QUALITY
    q = q_src
    for name, value in params:
        q = apply_quality_param(q, name, value)
    return q


__all__ = ["DEFAULT_LOSSY_QUALITY", "QUALITY_PARAMS", "apply_quality_param", "resolve_quality"]
