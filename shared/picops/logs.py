"""Structured logs: one JSON object per line on stdout.

Every line starts with the same keys, in this order: ``level``, ``timestamp``
(UTC, ISO 8601 with milliseconds), ``message``; then the invocation's context
(``request_id``, ``function_name``, ``cold_start``, bound with :meth:`JsonLogger.bind`);
then the line's own fields. SCF ships stdout to its log service as it is, so a
line is one ``json.loads`` away from a query.

Lines are ASCII JSON (non-ASCII as ``\\u`` escapes): a key holding a lone
surrogate, which JSON events can carry, would make a UTF-8 write fail, and a
log call must never crash the handler. Values that JSON cannot hold are written
with ``str()``. The logger never sees the raw event: callers pass
:func:`picops.events.mask_event` output, so the uploader's ``Authorization``
header cannot reach a line.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional, TextIO

DEBUG, INFO, WARNING, ERROR = "DEBUG", "INFO", "WARNING", "ERROR"


class JsonLogger:
    """Writes JSON lines to ``stream`` (default: ``sys.stdout`` at write time)."""

    def __init__(self, stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.time, **context: Any):
        self._stream = stream
        self._clock = clock
        self._context: Dict[str, Any] = dict(context)

    def bind(self, **context: Any) -> "JsonLogger":
        """A logger writing to the same stream with more context keys."""
        merged = dict(self._context)
        merged.update(context)
        return JsonLogger(self._stream, self._clock, **merged)

    def log(self, level: str, message: str, **fields: Any) -> None:
        line: Dict[str, Any] = {"level": level, "timestamp": self._timestamp(),
                                "message": message}
        line.update(self._context)
        line.update(fields)
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(json.dumps(line, default=str) + "\n")
        stream.flush()

    def debug(self, message: str, **fields: Any) -> None:
        self.log(DEBUG, message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log(INFO, message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log(WARNING, message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(ERROR, message, **fields)

    def _timestamp(self) -> str:
        t = datetime.fromtimestamp(self._clock(), timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
