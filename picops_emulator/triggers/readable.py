"""The emulator's output for a person: one line per invocation, problems in colour.

The default log format of ``picops emulator`` (``--log-format json`` keeps the raw JSON
lines of :mod:`.decisions` and the function). In the spirit of SAM's REPORT line, every
attempt of every delivery ends with ONE line::

    12:03:04 image-processor 3f2a1b4c uploads/cat.jpg processed -> derived-1250000000:
             thumbs/uploads/cat_400.webp 400x266 webp 14.2 kB, ... 412 ms (cold start)

(on one line): the function, the request id, each record's key and outcome, its outputs
or its skip reason, the duration. A failed record, or a failed attempt, is red with the
error code and message; a retry is yellow and says when it comes.

What else is shown: the function's own lines that are not outcome lines (a print, a
traceback, a warning the function logged as JSON, rendered as text), and the trigger
layer's warnings and errors (a loop stopped, overlapping triggers, a replay). The INFO
decisions (matched, delivered, no trigger for a derivative) and the outcome JSON lines
are what the per-invocation line sums up, so they are not repeated.

Non-ASCII stays as it is (the function writes ``\\u`` escapes; they are decoded here):
CJK keys are the common case. Control characters are escaped by :func:`safe`, which is
``picops.printable.printable``, the CLI's escaper too, so a key can never move the cursor
or forge a line.

Pure text in, text out, except :class:`ReadableLog`, which writes to a stream.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, TextIO, Tuple

from picops.printable import printable as safe
from picops_emulator.triggers import records as rec
from picops_emulator.triggers.decisions import DECISION_FIELD, LINE_FIELD, REQUEST_ID_FIELD


OK, WARN, FAIL = "ok", "warn", "fail"
_ANSI = {OK: "", WARN: "\x1b[33m", FAIL: "\x1b[31m"}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"

#: Warnings and errors the per-invocation line already tells.
_SUMMED_UP = {"failed", "dead_lettered"}
#: INFO decisions a person wants to see (the others are for machines and the console).
_ALWAYS_SHOWN = {"redelivered", "replayed"}
#: Keys of a function JSON line that are context, not news.
_CONTEXT_KEYS = {"level", "timestamp", "message", "request_id", "function_name", "cold_start"}


def human_bytes(size: Any) -> str:
    if not isinstance(size, int):
        return "? B"
    if size < 1000:
        return f"{size} B"
    for unit in ("kB", "MB", "GB"):
        size /= 1000.0
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}"
    return f"{size} B"  # pragma: no cover - unreachable


def record_results(attempt: rec.AttemptRecord) -> List[Dict[str, Any]]:
    """The per-record outcomes of one attempt: the handler's summary when it returned
    one, else the outcome lines it logged (an attempt that raised still logged them)."""
    value = attempt.value if isinstance(attempt.value, dict) else {}
    results = value.get("results")
    if isinstance(results, list) and results:
        return [r for r in results if isinstance(r, dict)]
    found = []
    for line in attempt.logs:
        doc = parse_json_line(line)
        if doc is not None and "outcome" in doc:
            found.append(doc)
    return found


def parse_json_line(line: str) -> Optional[Dict[str, Any]]:
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def describe_result(result: Dict[str, Any], source_bucket: str) -> Tuple[str, str]:
    """``(text, style)`` of one record's outcome."""
    key = safe(result.get("key") if result.get("key") is not None else "?")
    outcome = result.get("outcome")
    if outcome == "failed":
        err = result.get("error") if isinstance(result.get("error"), dict) else {}
        return (f"{key} FAILED {safe(err.get('code') or 'Error')}: "
                f"{safe(err.get('message') or '')}", FAIL)
    if outcome == "skipped":
        return f"{key} skipped ({safe(result.get('reason') or '?')})", OK
    if result.get("action") == "delete":
        deleted = result.get("deleted") or []
        return f"{key} deleted -> {len(deleted)} derivative(s) removed", OK
    outputs = [o for o in (result.get("outputs") or []) if isinstance(o, dict)]
    return f"{key} {safe(outcome or '?')}{_outputs_text(outputs, source_bucket)}", OK


def _outputs_text(outputs: List[Dict[str, Any]], source_bucket: str) -> str:
    if not outputs:
        return ""
    buckets = {o.get("bucket") for o in outputs}
    shared = buckets.pop() if len(buckets) == 1 else None
    head = f" -> {safe(shared)}: " if shared and shared != source_bucket else " -> "
    parts = []
    for o in outputs:
        where = safe(o.get("key") or "?")
        if shared is None:
            where = f"{safe(o.get('bucket') or '?')}/{where}"
        pixels = (f" {o.get('width')}x{o.get('height')}"
                  if o.get("width") is not None and o.get("height") is not None else "")
        fmt = f" {safe(o.get('format'))}" if o.get("format") else ""
        parts.append(f"{where}{pixels}{fmt} {human_bytes(o.get('size'))}")
    return head + ", ".join(parts)


def invocation_line(record: rec.InvocationRecord, attempt: rec.AttemptRecord,
                    function_name: str, retry_delays: Iterable[float] = ()
                    ) -> Tuple[str, str]:
    """``(text, style)``: the one line that reports ``attempt`` of ``record``."""
    clock = time.strftime("%H:%M:%S", time.localtime(attempt.started))
    head = f"{clock} {safe(function_name)} {record.request_id[:8]}"
    results = record_results(attempt)
    pieces = [describe_result(r, record.bucket) for r in results]
    style = FAIL if any(s == FAIL for _, s in pieces) else OK
    body = "; ".join(text for text, _ in pieces)
    if not attempt.ok:
        failure = attempt.failure
        reason = safe(failure.message if failure is not None else "unknown failure")
        failed = f"attempt {attempt.number} FAILED: {reason}"
        if not body:
            body = f"{safe(record.key)} ({record.event_name})"
        body = f"{body}; {failed}"
        delays = list(retry_delays)
        if record.outcome == rec.RETRYING and attempt.number <= len(delays):
            body += f"; retrying in {delays[attempt.number - 1]:g} s"
            style = WARN
        elif record.outcome == rec.DEAD_LETTERED:
            body += f"; dead-lettered after {attempt.number} attempt(s)"
            style = FAIL
        else:
            style = FAIL
    elif not body:
        body = f"{safe(record.key)} ({record.event_name}) returned " \
               f"{safe(json.dumps(attempt.value, ensure_ascii=False, default=str))[:200]}"
    tail = f" {int(round(attempt.duration_s * 1000))} ms"
    if attempt.cold_start:
        tail += " (cold start)"
    if attempt.number > 1 and attempt.ok:
        tail += f" (attempt {attempt.number})"
    return f"{head} {body}{tail}", style


def function_line(line: str) -> Optional[Tuple[str, str]]:
    """A function's log line as text, or None when the invocation line sums it up."""
    doc = parse_json_line(line)
    if doc is None:
        return safe(line), OK
    if "outcome" in doc:
        return None
    level = str(doc.get("level") or "INFO").upper()
    fields = {k: v for k, v in doc.items() if k not in _CONTEXT_KEYS}
    extra = " ".join(f"{safe(k)}={safe(_compact(v))}" for k, v in fields.items())
    text = f"{level} {safe(doc.get('message') or '')}" + (f" ({extra})" if extra else "")
    return text, FAIL if level in ("ERROR", "CRITICAL") else (
        WARN if level == "WARNING" else OK)


def decision_line(entry: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """A trigger decision as text, or None when it is not news for a person."""
    decision = entry.get("decision")
    level = str(entry.get("level") or "INFO")
    news = decision in _ALWAYS_SHOWN or (level != "INFO" and decision not in _SUMMED_UP)
    if not news:
        return None
    style = FAIL if level in ("ERROR", "CRITICAL") else (WARN if level == "WARNING" else OK)
    return safe(entry.get("message") or decision or ""), style


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def wants_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ReadableLog:
    """Writes readable lines to ``stream`` (default: stderr at write time).

    Register :meth:`observe` with the dispatcher and :meth:`handler` on the
    ``picops_emulator.triggers`` and ``picops_emulator.function`` loggers.
    """

    def __init__(self, stream: Optional[TextIO] = None, colour: Optional[bool] = None,
                 function_name: str = "", retry_delays: Iterable[float] = ()):
        self._stream = stream
        self._colour = colour
        self.function_name = function_name
        self.retry_delays = tuple(retry_delays)
        self._lock = threading.Lock()

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def write(self, text: str, style: str = OK, *, indent: str = "") -> None:
        stream = self.stream
        colour = self._colour if self._colour is not None else wants_colour(stream)
        if colour and _ANSI.get(style):
            text = f"{_ANSI[style]}{text}{_RESET}"
        elif colour and indent:
            text = f"{_DIM}{text}{_RESET}"
        with self._lock:
            try:
                stream.write(indent + text + "\n")
                stream.flush()
            except (OSError, ValueError, UnicodeEncodeError):
                pass  # a closed or narrow terminal must not stop the emulator

    def observe(self, stage: str, record: rec.InvocationRecord) -> None:
        """Dispatcher observer: one line after every attempt."""
        if stage != "attempted" or not record.attempts:
            return
        text, style = invocation_line(record, record.attempts[-1],
                                      self.function_name or "function", self.retry_delays)
        self.write(text, style)

    def handler(self) -> logging.Handler:
        return _ReadableHandler(self)


class _ReadableHandler(logging.Handler):
    def __init__(self, log: ReadableLog):
        super().__init__()
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = getattr(record, DECISION_FIELD, None)
            line = getattr(record, LINE_FIELD, None)
            if isinstance(entry, dict):
                shown = decision_line(entry)
                if shown is not None:
                    self._log.write(f"{time.strftime('%H:%M:%S')} {shown[0]}", shown[1])
            elif isinstance(line, str):
                shown = function_line(line)
                if shown is not None:
                    rid = getattr(record, REQUEST_ID_FIELD, None) or ""
                    self._log.write(shown[0], shown[1], indent=f"  {rid[:8]} | ")
            else:
                self._log.write(safe(record.getMessage()),
                                FAIL if record.levelno >= logging.ERROR else (
                                    WARN if record.levelno >= logging.WARNING else OK))
        except Exception:  # noqa: BLE001 - logging must never raise into the emulator
            self.handleError(record)


__all__ = ["ReadableLog", "invocation_line", "function_line", "decision_line",
           "record_results", "safe", "human_bytes"]
