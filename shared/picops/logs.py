"""Structured logs: one JSON object per line on stdout.

Every line starts with the same keys, in this order: ``level``, ``timestamp``
(UTC, ISO 8601 with milliseconds), ``message``; then the invocation's context
(``request_id``, ``function_name``, ``cold_start``, bound with :meth:`JsonLogger.bind`);
then the line's own fields. SCF ships stdout to its log service as it is, so a
line is one ``json.loads`` away from a query.

Lines are ASCII JSON (non-ASCII as ``\\u`` escapes): a key holding a lone
surrogate, which JSON events can carry, would make a UTF-8 write fail, and a
log call must never crash the handler. Values that JSON cannot hold are written
with ``str()``. ASCII also keeps U+2028, U+2029 and U+0085 escaped, so each line
is one line for every reader. :func:`json_line` (the CLI's and the emulator's
readable JSON lines) keeps non-ASCII but escapes the characters
:mod:`picops.printable` says a terminal line must not show raw.

The logger never sees the raw event: callers pass
:func:`picops.events.mask_event` output, so the uploader's ``Authorization``
header cannot reach a line. And every line goes through
:func:`picops.redact.mask_secrets` (``text=True``) on its way out: secret-named
fields are masked and secret header values inside messages the function did not
write (a COS or CI error echoing a signed request) are redacted; structures
nested deeper than :data:`picops.redact.MAX_DEPTH` are cut, so no field can make
a log call raise.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional, TextIO

from .printable import is_unsafe
from .redact import mask_secrets

INFO, WARNING, ERROR = "INFO", "WARNING", "ERROR"


def json_line(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **options)`` that is one line for every reader
    and safe on a terminal: what JSON leaves raw among the characters
    :func:`picops.printable.is_unsafe` names (U+2028, U+2029, DEL, the C1 controls with
    U+0085, bidirectional and other format controls, lone surrogates) is written as a JSON
    ``\\u`` escape too (JSON escapes C0 itself). For lines meant to stay readable (non-ASCII
    kept); :class:`JsonLogger` writes ASCII."""
    text = json.dumps(value, ensure_ascii=False, **options)
    if text.isprintable():
        return text
    # C0 outside strings can only be an ``indent``'s line breaks: JSON's own layout.
    return "".join(_json_escape(ch) if ch >= "\x7f" and is_unsafe(ch) else ch for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return "\\u%04x" % code
    code -= 0x10000  # beyond the BMP: JSON writes a surrogate pair
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


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
        stream.write(json.dumps(mask_secrets(line, text=True), default=str) + "\n")
        stream.flush()

    def info(self, message: str, **fields: Any) -> None:
        self.log(INFO, message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log(WARNING, message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log(ERROR, message, **fields)

    def _timestamp(self) -> str:
        t = datetime.fromtimestamp(self._clock(), timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
