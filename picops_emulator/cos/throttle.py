"""``x-cos-traffic-limit``: the per-request bandwidth cap COS applies to uploads and downloads.

Contract: :func:`traffic_limit` reads the cap from the ``x-cos-traffic-limit`` header or,
for presigned URLs, the query parameter of the same name: bits per second, an integer from
819200 (100 KB/s) to 838860800 (100 MB/s), as COS documents; anything else is
``InvalidArgument``. :class:`Throttle` paces a body to that rate: after each chunk it sleeps
until the bytes moved so far are within the cap (no sleep when there is no cap), so a
throttled transfer takes as long as it would on COS and can be paused or cancelled midway.
"""

from __future__ import annotations

import asyncio
import time
from typing import Mapping, Optional

from ..errors import EmulatorError

NAME = "x-cos-traffic-limit"
MIN_BITS, MAX_BITS = 819_200, 838_860_800


def traffic_limit(headers: Mapping[str, str], query: Mapping[str, str]) -> Optional[int]:
    """Bytes per second, or None for no cap."""
    raw = headers.get(NAME, query.get(NAME))
    if raw is None:
        return None
    try:
        bits = int(raw.strip())
    except ValueError:
        raise EmulatorError("InvalidArgument", f"{NAME} {raw!r} is not an integer (bits per "
                                               "second)") from None
    if not MIN_BITS <= bits <= MAX_BITS:
        raise EmulatorError("InvalidArgument", f"{NAME} {bits} is outside {MIN_BITS}.."
                                               f"{MAX_BITS} bits per second")
    return bits // 8


class Throttle:
    def __init__(self, bytes_per_second: Optional[int]):
        self.rate = bytes_per_second
        self.moved = 0
        self.started = time.monotonic()

    async def moved_bytes(self, count: int) -> None:
        if not self.rate:
            return
        self.moved += count
        ahead = self.moved / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            await asyncio.sleep(ahead)


__all__ = ["traffic_limit", "Throttle", "NAME", "MIN_BITS", "MAX_BITS"]
