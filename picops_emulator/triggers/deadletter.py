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
from typing import List, Union

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


def read_dead_letters(data_dir: Union[str, Path]) -> List[dict]:
    """Every entry of ``<data_dir>/dead-letter.jsonl`` (empty when there is none)."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


__all__ = ["DeadLetterFile", "read_dead_letters", "FILE_NAME"]
