"""A global ceiling on CI calls for backfill, slowing down when CI says SlowDown.

Contract:

* :class:`RateLimiter` is a token bucket shared by every worker thread. ``acquire()``
  blocks until a CI call may start. It refills at ``rate`` tokens per second and holds
  at most ``burst`` (default a tenth of a second's worth, at least 1), so no one-second
  window sees much more than ``rate * 1.1`` calls.
* ``slow_down()`` (called when CI answers ``SlowDown``) halves the current rate at once,
  for everyone, down to ``min_rate``, and restarts the cool-off. SlowDowns within
  ``settle`` seconds of a halving only restart the cool-off: they answer calls that were
  already in flight at the old rate, so they report the same overload, and halving once
  per worker would sink far below CI's ceiling. After ``cooloff``
  seconds without another SlowDown, the rate climbs back linearly, by ``rate / cooloff``
  per second, to the ceiling (additive increase, multiplicative decrease). The handler's
  own retries already back off per call; this keeps the other threads from piling on.
* :class:`RateLimitedClient` wraps an SDK client: each ``ci_image_process`` call (a retry
  is a call too) takes a token first. A SlowDown answer calls ``slow_down()`` and the call
  is sent again once the slowed limiter gives a token, up to :data:`SLOW_DOWN_RETRIES`
  times; only then does the error go on to the handler (whose own retries count it as
  one attempt). SlowDown says "too fast", not "broken": the limiter's pacing is the
  answer to it, and the handler's few attempts, meant for failures, would otherwise
  fail an object whenever a busy machine bunched its calls. Every other attribute is
  the wrapped client's.

Clock and sleep are parameters, so tests never wait.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

#: The code COS/CI use when a caller exceeds the request rate (HTTP 503).
SLOW_DOWN = "SlowDown"
#: SlowDown answers one call may meet and still be sent again (after a token of the
#: slowed-down limiter); with the handler's attempts, an object fails only after
#: MAX_ATTEMPTS * (SLOW_DOWN_RETRIES + 1) refusals in a row.
SLOW_DOWN_RETRIES = 6


class RateLimiter:
    def __init__(self, rate: float, burst: Optional[float] = None, *,
                 min_rate: float = 1.0, cooloff: float = 10.0, settle: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.ceiling = float(rate)
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, rate / 10.0)
        self.min_rate = min(float(min_rate), self.ceiling)
        self.cooloff = float(cooloff)
        self.settle = float(settle)
        self.slowdowns = 0
        self._last_halving: Optional[float] = None
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._last_slowdown: Optional[float] = None

    def acquire(self) -> float:
        """Take one token, waiting as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                # the tolerance keeps float rounding from asking for a wait too small to
                # move the clock
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens -= 1.0
                    return waited
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait

    def slow_down(self) -> None:
        with self._lock:
            now = self._clock()
            self._refill(now)
            if self._last_halving is None or now - self._last_halving >= self.settle:
                self.rate = max(self.min_rate, self.rate / 2.0)
                self._last_halving = now
            self._tokens = min(self._tokens, 0.0)  # no banked burst right after a SlowDown
            self._last_slowdown = now
            self.slowdowns += 1

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        if self._last_slowdown is not None and self.rate < self.ceiling:
            calm = now - self._last_slowdown - self.cooloff
            if calm > 0:
                step = self.ceiling / self.cooloff * min(calm, elapsed)
                self.rate = min(self.ceiling, self.rate + step)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)


class RateLimitedClient:
    """An SDK client whose ``ci_image_process`` calls go through a :class:`RateLimiter`."""

    def __init__(self, client: Any, limiter: RateLimiter,
                 on_call: Optional[Callable[[], None]] = None,
                 slow_down_retries: int = SLOW_DOWN_RETRIES):
        self._client = client
        self._limiter = limiter
        self._on_call = on_call
        self._slow_down_retries = slow_down_retries

    def ci_image_process(self, *args: Any, **kwargs: Any) -> Any:
        refused = 0
        while True:
            self._limiter.acquire()
            if self._on_call is not None:
                self._on_call()
            try:
                return self._client.ci_image_process(*args, **kwargs)
            except Exception as e:
                if not _is_slow_down(e):
                    raise
                self._limiter.slow_down()
                refused += 1
                if refused > self._slow_down_retries:
                    raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _is_slow_down(exc: Exception) -> bool:
    code = getattr(exc, "get_error_code", None)
    if not callable(code):
        return False
    try:
        return code() == SLOW_DOWN
    except Exception:
        return False
