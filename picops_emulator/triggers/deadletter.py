"""The dead-letter file: events SCF gave up on, one JSON object per line.

On SCF a dead-letter queue (CMQ) receives an async event that still fails after
its retries, with a body of roughly ``{RequestId, ErrorCode, ErrorMessage,
Body{AppId, Uin, FunctionName, Namespace, Qualifier, ClientContext, RetryNum}}``
(reference cos-ci-scf.md §2.5; ``ClientContext`` is the event as a JSON string).
The emulator appends that shape to ``<data dir>/dead-letter.jsonl``, plus what
a developer needs to see at a glance: ``Time``, ``Attempts``, every attempt's
``Errors``, the ``Bucket``/``Key``, the ``Trigger`` index and the loop-guard
``Generation``. Lines are appended whole, flushed and fsynced, under a lock.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import List, Optional, Tuple, Union

from picops.logs import json_line

FILE_NAME = "dead-letter.jsonl"


class DeadLetterFile:
    def __init__(self, data_dir: Union[str, Path]):
        self.path = Path(data_dir) / FILE_NAME
        self._lock = threading.Lock()

    def append(self, entry: dict) -> None:
        line = json_line(entry, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())


class DeadLetterView:
    """The entries of ``<data_dir>/dead-letter.jsonl`` for a reader that asks often (the
    console polls every second): the file is read again only when its size or identity
    changed, and then only what was appended since (lines are appended whole, never
    rewritten). A file that shrank or was replaced is read from its start; a last line
    still being appended waits for the next look. Thread-safe; blocking (file I/O)."""

    def __init__(self, data_dir: Union[str, Path]):
        self.path = Path(data_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._entries: List[dict] = []
        self._read_to = 0          # bytes of the file taken into _entries (whole lines)
        self._identity: Optional[Tuple[int, int]] = None   # (device, inode) read

    def entries(self) -> List[dict]:
        """Every entry, oldest first (a copy)."""
        with self._lock:
            self._refresh()
            return list(self._entries)

    def count(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._entries)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._entries, self._read_to, self._identity = [], 0, None
            return
        identity = (st.st_dev, st.st_ino)
        if identity != self._identity or st.st_size < self._read_to:
            self._entries, self._read_to, self._identity = [], 0, identity
        if st.st_size == self._read_to:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._read_to)
            appended = fh.read(st.st_size - self._read_to)
        whole = appended[:appended.rfind(b"\n") + 1]
        self._entries += [json.loads(line) for line in whole.split(b"\n") if line.strip()]
        self._read_to += len(whole)


def read_dead_letters(data_dir: Union[str, Path]) -> List[dict]:
    """Every entry of ``<data_dir>/dead-letter.jsonl`` (empty when there is none), read
    once by :class:`DeadLetterView`: a last line still being appended is left out."""
    return DeadLetterView(data_dir).entries()


__all__ = ["DeadLetterFile", "DeadLetterView", "read_dead_letters", "FILE_NAME"]
