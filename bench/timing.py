"""Side-by-side timing: run candidates interleaved so machine noise hits them alike.

These machines are shared and noisy, so a benchmark never compares a figure
with one taken at another time: :func:`compare` alternates the candidates
round by round and reports each one's median, and ratios are taken between
medians of the same run.
"""

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple


@dataclass
class Timing:
    name: str
    samples: List[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


def compare(candidates: Sequence[Tuple[str, Callable[[], object]]], rounds: int = 30,
            warmup: int = 3) -> Dict[str, Timing]:
    """Time each ``(name, fn)`` ``rounds`` times, interleaved; returns name -> Timing."""
    for _ in range(warmup):
        for _, fn in candidates:
            fn()
    out = {name: Timing(name, []) for name, _ in candidates}
    for _ in range(rounds):
        for name, fn in candidates:
            t0 = time.perf_counter()
            fn()
            out[name].samples.append(time.perf_counter() - t0)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"
