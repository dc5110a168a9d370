"""What the dispatcher remembers of each delivery: for tests, the demo and the CLI.

An :class:`InvocationRecord` is one (object change, trigger) delivery: the event
and context handed to the function, the loop-guard generation that travelled
beside them, every attempt with its captured log lines, and the outcome.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, List, Optional

from picops_emulator.triggers.invoker import FunctionFailure

PENDING = "pending"          # queued, not run yet
RETRYING = "retrying"        # failed at least once, another attempt is scheduled
SUCCEEDED = "succeeded"
DEAD_LETTERED = "dead_lettered"
DROPPED = "dropped"          # the delivery broke inside the emulator (logged as an error)
DEFERRED = "deferred"        # the emulator shut down first: the trigger journal keeps it


@dataclass
class AttemptRecord:
    number: int                      # 1 = first execution, 2 and 3 = SCF's retries
    started: float                   # epoch seconds
    ok: bool
    duration_s: float
    cold_start: bool
    value: Any = None                # the handler's return value (ok only)
    failure: Optional[FunctionFailure] = None
    logs: List[str] = field(default_factory=list)


@dataclass
class InvocationRecord:
    request_id: str
    bucket: str
    key: str
    event_name: str
    trigger_index: int
    generation: int
    event: dict
    context: dict
    created: float
    attempts: List[AttemptRecord] = field(default_factory=list)
    outcome: str = PENDING

    @property
    def logs(self) -> List[str]:
        """Every captured log line, attempts in order."""
        return [line for attempt in self.attempts for line in attempt.logs]

    @property
    def value(self) -> Any:
        last = self.attempts[-1] if self.attempts else None
        return last.value if last is not None and last.ok else None

    @property
    def failure(self) -> Optional[FunctionFailure]:
        last = self.attempts[-1] if self.attempts else None
        return last.failure if last is not None else None


def attempt_bytes(attempt: AttemptRecord) -> int:
    """Roughly what an attempt holds in memory: its log lines, value and failure."""
    size = sum(len(line) + 1 for line in attempt.logs)
    if attempt.value is not None:
        size += len(json.dumps(attempt.value, ensure_ascii=False, default=str))
    if attempt.failure is not None:
        size += len(attempt.failure.message) + len(attempt.failure.traceback)
    return size


class RecordKeeper:
    """The last records, bounded in count AND in bytes: the oldest go first.

    Each attempt's logs and value are already bounded by the invoker; this bounds their
    sum, so a run of noisy invocations cannot hold more than ``max_bytes``.
    """

    def __init__(self, keep: int, max_bytes: int):
        self.keep = keep
        self.max_bytes = max_bytes
        self.bytes = 0
        self._records: "OrderedDict[int, InvocationRecord]" = OrderedDict()
        self._sizes: dict = {}
        self._lock = threading.Lock()

    def add(self, record: InvocationRecord) -> None:
        with self._lock:
            self._records[id(record)] = record
            self._sizes[id(record)] = 0
            self._trim()

    def attempt_added(self, record: InvocationRecord, attempt: AttemptRecord) -> None:
        with self._lock:
            if id(record) in self._sizes:
                size = attempt_bytes(attempt)
                self._sizes[id(record)] += size
                self.bytes += size
                self._trim()

    def _trim(self) -> None:
        while self._records and (len(self._records) > self.keep or (
                self.bytes > self.max_bytes and len(self._records) > 1)):
            key, _ = self._records.popitem(last=False)
            self.bytes -= self._sizes.pop(key)

    def __iter__(self):
        with self._lock:
            return iter(list(self._records.values()))


__all__ = ["AttemptRecord", "InvocationRecord", "RecordKeeper", "attempt_bytes", "PENDING",
           "RETRYING", "SUCCEEDED", "DEAD_LETTERED", "DROPPED", "DEFERRED"]
