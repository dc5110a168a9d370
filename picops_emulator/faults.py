"""Fault injection for soak tests: explicit settings, all off by default.

:class:`FaultSettings` says how often to break things; nothing here runs unless
a rate is set (``picops emulator --fault-ci-errors 0.1 ...``, or
``LocalOptions.faults``). Two places use it:

* :class:`FaultyCi` wraps the CI backend (the ``ci.seam`` contract): a CI
  request answers ``503 SlowDown`` or ``500 InternalError`` before doing
  anything (``ci_errors``), or does all its work, outputs written, and then
  answers ``500 InternalError`` (``ci_errors_after``), as a service whose answer
  is lost would;
* :class:`FunctionFaults` is asked by the function invoker before each
  invocation: the function's processes are SIGKILLed at a random moment
  (``function_crashes``) or the invocation gets a tiny time limit and is killed
  as a timeout (``function_timeouts``), both in the middle of real work.

Every injected fault is one JSON line on the ``picops_emulator.faults`` logger
(``{"fault": "ci_error", ...}``) and counted in :attr:`FaultCounter.counts`, so a
soak can report exactly what was injected. ``seed`` makes a run repeatable.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from picops.errors import Problem

from .errors import EmulatorError

log = logging.getLogger("picops_emulator.faults")

#: (code, message) of the CI errors injected before any work.
CI_ERRORS = (("SlowDown", "fault injected: CI is over its request rate"),
             ("InternalError", "fault injected: CI failed"))


@dataclass(frozen=True)
class FaultSettings:
    """Probabilities (0 to 1) per CI request / per function invocation; 0 = off."""

    ci_errors: float = 0.0
    ci_errors_after: float = 0.0
    function_crashes: float = 0.0
    function_timeouts: float = 0.0
    seed: Optional[int] = None

    @property
    def enabled(self) -> bool:
        return any((self.ci_errors, self.ci_errors_after, self.function_crashes,
                    self.function_timeouts))

    def problems(self) -> List[Problem]:
        out = []
        for name in ("ci_errors", "ci_errors_after", "function_crashes", "function_timeouts"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                out.append(Problem(f"faults.{name}", f"{value!r} is not a probability "
                                                     "between 0 and 1"))
        if self.ci_errors + self.ci_errors_after > 1.0:
            out.append(Problem("faults", "ci_errors + ci_errors_after is over 1"))
        if self.function_crashes + self.function_timeouts > 1.0:
            out.append(Problem("faults", "function_crashes + function_timeouts is over 1"))
        return out


class FaultCounter:
    """A seeded random source and the count of every fault it decided, thread-safe."""

    def __init__(self, seed: Optional[int]):
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def draw(self) -> float:
        with self._lock:
            return self._random.random()

    def uniform(self, low: float, high: float) -> float:
        with self._lock:
            return self._random.uniform(low, high)

    def choice(self, items):
        with self._lock:
            return self._random.choice(items)

    def record(self, fault: str, **fields) -> None:
        with self._lock:
            self.counts[fault] += 1
        log.warning(json.dumps({"fault": fault, **fields}, ensure_ascii=True, default=str))


class FaultyCi:
    """A CI backend that fails as configured, then delegates to the real one."""

    def __init__(self, inner, settings: FaultSettings, counter: Optional[FaultCounter] = None):
        self.inner = inner
        self.settings = settings
        self.counter = counter or FaultCounter(settings.seed)

    def __getattr__(self, name):  # operations, ceiling, limits, close ... of the real backend
        return getattr(self.inner, name)

    async def handle(self, ctx):
        if ctx.operation != "style":
            roll = self.counter.draw()
            where = {"operation": ctx.operation, "bucket": ctx.bucket, "key": ctx.key}
            if roll < self.settings.ci_errors:
                code, message = self.counter.choice(CI_ERRORS)
                self.counter.record("ci_error", code=code, **where)
                raise EmulatorError(code, message)
            if roll < self.settings.ci_errors + self.settings.ci_errors_after:
                await self.inner.handle(ctx)  # the work is done, outputs written ...
                self.counter.record("ci_error_after_work", code="InternalError", **where)
                raise EmulatorError("InternalError", "fault injected: CI did the work, "
                                                     "then failed to answer")
        return await self.inner.handle(ctx)


class FunctionFaults:
    """What the invoker asks before each invocation: ``plan(timeout)`` -> (kind, seconds)."""

    def __init__(self, settings: FaultSettings, counter: Optional[FaultCounter] = None):
        self.settings = settings
        self.counter = counter or FaultCounter(settings.seed)

    def plan(self, timeout: float) -> Tuple[Optional[str], float]:
        """``("crash", t)``: kill the function's processes after t s; ``("timeout", t)``:
        give the invocation t s; ``(None, timeout)``: leave it alone."""
        roll = self.counter.draw()
        if roll < self.settings.function_crashes:
            return "crash", self.counter.uniform(0.0, min(timeout, 1.0))
        if roll < self.settings.function_crashes + self.settings.function_timeouts:
            return "timeout", self.counter.uniform(0.01, min(timeout, 0.5))
        return None, timeout

    def record(self, kind: str, **fields) -> None:
        self.counter.record(f"function_{kind}", **fields)


def counts(*sources) -> Dict[str, int]:
    """The injected-fault counts of several counters, merged."""
    total: Counter = Counter()
    for source in sources:
        if source is not None:
            total.update(source.counter.counts)
    return dict(total)


__all__ = ["FaultSettings", "FaultCounter", "FaultyCi", "FunctionFaults", "counts"]
