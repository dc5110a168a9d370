"""What the commands that run over many objects leave: outcome log, failures, exit status.

``--log PATH`` (:func:`outcome_log`): the function's JSON outcome line per object, appended.

Exit status (:func:`exit_status`, the one rule ``backfill``, ``upload`` and ``plan``
follow): 0 nothing failed, 1 something failed (an object, a file, the listing, an
invocation), 2 usage or config errors (every problem listed, nothing done; see
:mod:`.preflight`), 130 interrupted by Ctrl-C, whatever else happened.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Optional

from rich.console import Console

from picops.errors import PicopsError
from picops.logs import JsonLogger

from .backfill.summary import Summary
from .terminal import printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_status(*, failed: bool, interrupted: bool = False) -> int:
    """The status of a run that got past its checks: :data:`EXIT_INTERRUPTED` when Ctrl-C
    stopped it, else :data:`EXIT_FAILED` when anything failed, else :data:`EXIT_OK`."""
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def print_failures(err: Console, summary: Summary) -> None:
    """One ``failed: key: code: message`` line per example failure, made printable."""
    for key, code, message in summary.examples:
        err.print(f"failed: {printable(key)}: {printable(code)}: {printable(message)}",
                  markup=False, highlight=False)


def describe_error(e: BaseException) -> str:
    """An error as a sentence: code and message, never a Python repr."""
    if isinstance(e, PicopsError):
        return f"{e.code}: {e.message}"
    return f"{type(e).__name__}: {e}"


@contextlib.contextmanager
def outcome_log(log_path: Optional[Path]) -> Iterator[JsonLogger]:
    """The logger of the run's outcome lines: appended to ``log_path`` (else dropped),
    closed when the run ends."""
    with (open(log_path, "a", encoding="utf-8") if log_path
          else open(os.devnull, "w")) as stream:
        yield JsonLogger(stream=stream)
