"""Backfill checkpoints: where an interrupted run resumes.

Objects are listed in key order but finish out of order (a thread pool), so the
resume point is a *watermark*: the greatest listed key such that it and every key
listed before it are done. :class:`DoneTracker` computes it; an object counts as
done when its outcome is known (processed, up to date, skipped or failed). An
object deferred by ``--limit`` is not done, so the watermark stops before it.

Checkpoint file (format version 1), one JSON document::

    {
      "format": "picops-backfill-checkpoint",
      "version": 1,
      "bucket": "uploads-1250000000",       # the run's --bucket
      "prefix": "uploads/",                 # the run's --prefix ("" for all)
      "config": "<64 hex>",                 # scope.config_fingerprint
      "done_through": "uploads/b.jpg",      # the watermark: resume listing after it
      "objects_done": 1234,                 # listed objects at or before done_through
      "updated": "2024-05-01T12:00:00Z"     # UTC, when it was written
    }

It lives in ``<user cache dir>/picops/backfill/<id>.json`` (``platformdirs``;
``$XDG_CACHE_HOME`` on Linux), where ``<id>`` is a hash of bucket, prefix and config
fingerprint: a run with other rules never resumes from it. It is written atomically
(temporary file + rename) when the watermark moves (at most once per
``min_interval`` seconds) and when a run stops, and removed when a run completes.
A file that cannot be read or does not match is ignored (a warning is returned):
starting over is safe, since manifests make done objects cost one GET each.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Deque, Dict, Optional, Tuple

FORMAT = "picops-backfill-checkpoint"
VERSION = 1


class DoneTracker:
    """The watermark over objects registered in listing order and finished in any order."""

    def __init__(self, done_through: str = "", objects_done: int = 0):
        self._queue: Deque[Tuple[int, str]] = deque()  # (seq, key), listing order
        self._done: Dict[int, bool] = {}
        self._next_seq = 0
        self.done_through = done_through
        self.objects_done = objects_done

    def add(self, key: str) -> int:
        """Register the next listed key; returns its ticket for :meth:`finish`."""
        seq = self._next_seq
        self._next_seq += 1
        self._queue.append((seq, key))
        self._done[seq] = False
        return seq

    def finish(self, seq: int) -> bool:
        """Mark a ticket done; True when the watermark moved."""
        self._done[seq] = True
        moved = False
        while self._queue and self._done[self._queue[0][0]]:
            s, key = self._queue.popleft()
            del self._done[s]
            self.done_through = key
            self.objects_done += 1
            moved = True
        return moved

    @property
    def pending(self) -> int:
        return len(self._queue)


@dataclass(frozen=True)
class Checkpoint:
    bucket: str
    prefix: str
    config: str
    done_through: str
    objects_done: int
    updated: str = ""


class CheckpointStore:
    """Reads, writes and removes the checkpoint of one (bucket, prefix, config)."""

    def __init__(self, folder: Path, bucket: str, prefix: str, config: str,
                 min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.bucket, self.prefix, self.config = bucket, prefix, config
        ident = hashlib.sha256("\0".join((bucket, prefix, config)).encode("utf-8")).hexdigest()
        self.path = Path(folder) / "backfill" / f"{ident[:32]}.json"
        self._min_interval = min_interval
        self._clock = clock
        self._last_write: Optional[float] = None

    def load(self) -> Tuple[Optional[Checkpoint], str]:
        """``(checkpoint or None, warning)``; the warning says why a file was ignored."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, ""
        except OSError as e:
            return None, f"ignoring checkpoint {self.path}: cannot read it ({e.strerror})"
        try:
            doc = json.loads(raw)
            ok = (isinstance(doc, dict) and doc.get("format") == FORMAT
                  and doc.get("version") == VERSION and doc.get("bucket") == self.bucket
                  and doc.get("prefix") == self.prefix and doc.get("config") == self.config
                  and isinstance(doc.get("done_through"), str)
                  and isinstance(doc.get("objects_done"), int))
        except ValueError:
            ok = False
        if not ok:
            return None, (f"ignoring checkpoint {self.path}: not a version {VERSION} checkpoint "
                          f"of this bucket, prefix and config; starting from the beginning")
        return Checkpoint(bucket=self.bucket, prefix=self.prefix, config=self.config,
                          done_through=doc["done_through"], objects_done=doc["objects_done"],
                          updated=str(doc.get("updated", ""))), ""

    def save(self, tracker: DoneTracker, force: bool = False) -> bool:
        """Write the tracker's watermark (throttled unless ``force``); True when written."""
        now = self._clock()
        if not force and self._last_write is not None and \
                now - self._last_write < self._min_interval:
            return False
        if not tracker.done_through:
            return False  # nothing done yet: nothing to resume from
        doc = {"format": FORMAT, "version": VERSION, "bucket": self.bucket,
               "prefix": self.prefix, "config": self.config,
               "done_through": tracker.done_through, "objects_done": tracker.objects_done,
               "updated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=str(self.path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, ensure_ascii=False, indent=2)
                f.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._last_write = now
        return True

    def remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
