"""CI's request-rate ceiling for persistent processing, as per-account token buckets.

Contract:

* :class:`RequestCeiling` ``(qps, burst=None, clock=time.monotonic)`` keeps one token
  bucket per account. Each refills at ``qps`` tokens per second and holds at most
  ``burst`` of them (default: one second's worth, at least 1), starting full.
* ``admit(account)`` takes a token and returns True, or returns False at once when the
  bucket is empty. It never waits: the caller answers 503 ``SlowDown`` instead, before
  doing any work. A refused request takes no token, so a client hammering the service
  does not starve the ones that pace themselves.
* ``qps == 0`` means no ceiling: ``admit`` always returns True.
* Thread-safe; the clock is a parameter so tests control time instead of sleeping.

CI documents a limit of 100 persistent-processing requests per second per account
(raised by ticket); :data:`DEFAULT_QPS` is that figure. How CI counts a burst is not
documented (UNCONFIRMED): a bucket of one second's worth is this emulator's reading of
"per second".
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Tuple

#: CI's documented persistent-processing limit, requests per second per account.
DEFAULT_QPS = 100.0


class RequestCeiling:
    def __init__(self, qps: float, burst: Optional[float] = None, *,
                 clock: Callable[[], float] = time.monotonic):
        if qps < 0:
            raise ValueError(f"qps must be 0 (no limit) or positive, got {qps!r}")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be at least 1 request, got {burst!r}")
        self.qps = float(qps)
        self.burst = float(burst) if burst is not None else max(1.0, self.qps)
        self._clock = clock
        self._lock = threading.Lock()
        # account -> (tokens, time of the last refill)
        self._buckets: Dict[str, Tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.qps > 0

    def admit(self, account: str) -> bool:
        """Take a token from ``account``'s bucket; False (nothing taken) when it is empty."""
        if not self.enabled:
            return True
        with self._lock:
            now = self._clock()
            tokens, stamp = self._buckets.get(account, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - stamp) * self.qps)
            # the tolerance keeps float rounding from refusing a token that has fully refilled
            admitted = tokens >= 1.0 - 1e-9
            if admitted:
                tokens -= 1.0
            self._buckets[account] = (tokens, now)
            return admitted

    def describe(self) -> str:
        """The ceiling in words, for error messages."""
        return f"{self.qps:g} request(s) per second per account (bursts of {self.burst:g})"


__all__ = ["DEFAULT_QPS", "RequestCeiling"]
