"""One structured JSON log line per trigger decision.

Every decision the trigger layer takes (matched, no_trigger, loop_guarded,
delivered, failed, retry_scheduled, dead_lettered, dropped, ...) is one JSON
object on one line of the ``picops_emulator.triggers`` logger, with the fixed
leading keys ``level``, ``timestamp``, ``component``, ``decision``,
``message``. Silent delivery failures are the classic bug of emulators (events
not firing and nothing logged); here nothing is decided without a line.

The last ``keep`` entries are also kept in memory for tests and the demo.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timezone
from typing import Any, Deque, Dict, List, Optional

from picops.logs import json_line

LOGGER_NAME = "picops_emulator.triggers"

#: ``extra`` keys the trigger layer puts on its log records, for the readable format
#: (:mod:`.readable`): a decision's entry here; the dispatcher's forwarded function lines
#: carry the line and its request id.
DECISION_FIELD = "picops_decision"
LINE_FIELD = "picops_line"
REQUEST_ID_FIELD = "picops_request_id"


def utc_timestamp(epoch: Optional[float] = None) -> str:
    moment = (datetime.now(timezone.utc) if epoch is None
              else datetime.fromtimestamp(epoch, timezone.utc))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DecisionLog:
    def __init__(self, logger: Optional[logging.Logger] = None, keep: int = 10_000):
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        self._entries: Deque[Dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def emit(self, decision: str, message: str, level: int = logging.INFO,
             **fields: Any) -> Dict[str, Any]:
        entry: Dict[str, Any] = {
            "level": logging.getLevelName(level),
            "timestamp": utc_timestamp(),
            "component": "triggers",
            "decision": decision,
            "message": message,
        }
        entry.update({k: v for k, v in fields.items() if v is not None})
        with self._lock:
            self._entries.append(entry)
        # the entry also travels as ``extra``, for the readable format (see .readable)
        self.logger.log(level, json_line(entry, default=str), extra={DECISION_FIELD: entry})
        return entry

    @property
    def entries(self) -> List[Dict[str, Any]]:
        with self._lock:
            return list(self._entries)


__all__ = ["DecisionLog", "LOGGER_NAME", "utc_timestamp"]
