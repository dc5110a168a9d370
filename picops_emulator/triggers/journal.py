"""The trigger journal: every matched event on disk, fsynced, before its write is acknowledged.

SCF keeps an async event once COS has handed it over; the emulator's equivalent
is this append-only file, ``<data dir>/trigger-journal.jsonl``. One JSON object
per line, each appended whole, flushed and fsynced under a lock:

* ``{"op": "event", "id", "record": {...}}``: a delivery was decided (the COS
  event, the SCF context, the loop-guard generation, the trigger). Written from
  the storage commit path (the notifier calls the dispatcher inline), so when
  the client sees 200 the event is already on disk.
* ``{"op": "attempt", "id", "error": {...}, "due": EPOCH}``: attempt N failed;
  the next one is due at ``due`` (absent: no retry, the dead-letter line follows).
* ``{"op": "done", "id", "outcome"}``: ``succeeded`` or ``dead_lettered`` (the
  dead-letter line is fsynced first). Nothing else ends an entry.

One dispatcher owns a journal at a time (an exclusive ``flock`` on
``trigger-journal.lock`` from :meth:`TriggerJournal.open` to :meth:`close`; a
second one raises :class:`JournalInUse` rather than deliver the first one's
events twice). At start (:meth:`TriggerJournal.open`) the file is read, entries without
``done`` are returned for delivery (at least once: an attempt that was running
when the process died runs again), and the file is rewritten with only those
entries (atomic rename). A torn last line, from a kill in mid-append, was never
acknowledged and is skipped. The file is compacted the same way while running
once finished entries make up most of it.

Every append is O(1) apart from its fsync: the journal counts the lines its open entries
need as they come and go, so :meth:`TriggerJournal.done` never walks the open entries; a
compaction costs O(open lines) and comes only after at least that many appends plus
:data:`COMPACT_SLACK_LINES`, so it is O(1) amortised per append.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

from ..storage.files import fsync_dir, try_lock_exclusive

FILE_NAME = "trigger-journal.jsonl"
LOCK_NAME = "trigger-journal.lock"
#: Compact once the file holds this many lines more than twice the open entries need.
COMPACT_SLACK_LINES = 2000

log = logging.getLogger("picops_emulator.triggers")


@dataclass
class OpenEntry:
    """An event that has not reached ``done``: what a restart must deliver again."""

    id: str
    record: dict
    errors: List[dict] = field(default_factory=list)  # one per failed attempt, in order
    due: Optional[float] = None                       # epoch of the next attempt, if set

    @property
    def line_count(self) -> int:
        """How many lines :meth:`lines` gives, without building them."""
        return 1 + len(self.errors)

    def lines(self) -> List[dict]:
        out = [{"op": "event", "id": self.id, "record": self.record}]
        for i, error in enumerate(self.errors):
            line = {"op": "attempt", "id": self.id, "error": error}
            if i == len(self.errors) - 1 and self.due is not None:
                line["due"] = self.due
            out.append(line)
        return out


class JournalInUse(RuntimeError):
    """Another dispatcher already delivers this data dir's events."""


class TriggerJournal:
    """Append-only, fsynced event journal; thread-safe. See the module docstring."""

    def __init__(self, data_dir: Union[str, Path], *, fsync: bool = True):
        self.path = Path(data_dir) / FILE_NAME
        self.fsync = fsync
        self._lock = threading.Lock()
        self._open: Dict[str, OpenEntry] = {}
        self._lines = 0       # lines in the file
        self._open_lines = 0  # lines the open entries need (what a compaction keeps)
        self._fh = None
        self._lock_fh = None

    # --- start-up -------------------------------------------------------------------

    def open(self) -> List[OpenEntry]:
        """Read what a previous run left unfinished, rewrite the file with only that, and
        return it (oldest first)."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_fh = try_lock_exclusive(self.path.with_name(LOCK_NAME))
            if lock_fh is None:
                raise JournalInUse(f"{self.path} is in use by another trigger dispatcher "
                                   "(another emulator on the same data dir?)")
            self._lock_fh = lock_fh
            self._open = _replay(self.path)
            self._rewrite()
            return list(self._open.values())

    # --- appends --------------------------------------------------------------------

    def add(self, entry_id: str, record: dict) -> None:
        """The event is decided: on disk (fsynced) when this returns. Raises OSError."""
        with self._lock:
            self._append({"op": "event", "id": entry_id, "record": record})
            replaced = self._open.get(entry_id)  # an id added twice: the new one counts
            if replaced is not None:
                self._open_lines -= replaced.line_count
            self._open[entry_id] = OpenEntry(entry_id, record)
            self._open_lines += 1

    def failed(self, entry_id: str, error: dict, due: Optional[float]) -> None:
        with self._lock:
            entry = self._open.get(entry_id)
            if entry is None:
                return
            line = {"op": "attempt", "id": entry_id, "error": error}
            if due is not None:
                line["due"] = due
            self._append(line)
            entry.errors.append(error)
            entry.due = due
            self._open_lines += 1

    def done(self, entry_id: str, outcome: str) -> None:
        with self._lock:
            entry = self._open.get(entry_id)
            if entry is None:
                return
            self._append({"op": "done", "id": entry_id, "outcome": outcome})
            del self._open[entry_id]
            self._open_lines -= entry.line_count
            if self._lines > 2 * self._open_lines + COMPACT_SLACK_LINES:
                self._rewrite()

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            if self._lock_fh is not None:
                self._lock_fh.close()  # releases the flock
                self._lock_fh = None

    # --- internals (caller holds the lock) ------------------------------------------

    def _append(self, line: dict) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
        self._fh.write(_encode(line))
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._lines += 1

    def _rewrite(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        lines = [line for entry in self._open.values() for line in entry.lines()]
        with open(tmp, "wb") as fh:
            fh.write(b"".join(_encode(line) for line in lines))
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        if self.fsync:
            fsync_dir(self.path.parent)
        self._lines = self._open_lines = len(lines)


def _encode(line: dict) -> bytes:
    # ensure_ascii: U+2028 and friends never split a line for a reader
    return (json.dumps(line, ensure_ascii=True, default=str, separators=(",", ":"))
            + "\n").encode("ascii")


def _replay(path: Path) -> Dict[str, OpenEntry]:
    entries: Dict[str, OpenEntry] = {}
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return entries
    with fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = json.loads(raw)
                op, entry_id = line["op"], line["id"]
            except (ValueError, KeyError, TypeError):
                # a kill in mid-append leaves a torn last line: never acknowledged
                log.warning("trigger journal %s: line %d is unreadable and skipped", path,
                            number)
                continue
            if op == "event" and isinstance(line.get("record"), dict):
                entries[entry_id] = OpenEntry(entry_id, line["record"])
            elif op == "attempt" and entry_id in entries:
                entries[entry_id].errors.append(line.get("error") or {})
                entries[entry_id].due = line.get("due")
            elif op == "done":
                entries.pop(entry_id, None)
    return entries


__all__ = ["TriggerJournal", "OpenEntry", "JournalInUse", "FILE_NAME"]
