"""What the dispatcher remembers of each delivery: for tests, the demo and the CLI.

An :class:`InvocationRecord` is one (object change, trigger) delivery: the event
and context handed to the function, the loop-guard generation that travelled
beside them, every attempt with its captured log lines, and the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from picops_emulator.triggers.invoker import FunctionFailure

PENDING = "pending"          # queued, not run yet
RETRYING = "retrying"        # failed at least once, another attempt is scheduled
SUCCEEDED = "succeeded"
DEAD_LETTERED = "dead_lettered"
DROPPED = "dropped"          # the emulator shut down before the delivery finished


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


__all__ = ["AttemptRecord", "InvocationRecord", "PENDING", "RETRYING", "SUCCEEDED",
           "DEAD_LETTERED", "DROPPED"]
