"""Named locks created on demand and dropped when nobody holds or waits for them.

Contract: ``with locks.hold(name):`` serialises every holder of an equal ``name`` (any
hashable, e.g. ``(bucket, key)``) across threads; distinct names never contend. Only short,
synchronous critical sections belong inside (never an ``await``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Dict, Hashable, Iterator, List


class NamedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: Dict[Hashable, List] = {}  # name -> [lock, users]

    @contextmanager
    def hold(self, name: Hashable) -> Iterator[None]:
        with self._guard:
            entry = self._locks.get(name)
            if entry is None:
                entry = self._locks[name] = [threading.Lock(), 0]
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[name]

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


__all__ = ["NamedLocks"]
