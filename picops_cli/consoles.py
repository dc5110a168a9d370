"""The rich console a command prints its report through (``demo``, ``preview``).

On a terminal a report fits the terminal's width: a table folds a long cell. Piped (a
file, ``| less``, a CI log) there is no width to fit, and folding would cut object keys
and paths mid-word, where a reader or ``grep`` looks for them whole: lines run as long as
they need, tables take their natural width and text is never wrapped.
"""

from __future__ import annotations

import sys
from typing import IO, Any, Optional

from rich.console import Console

#: What a piped console claims as its width: no real line reaches it, so nothing is folded
#: or wrapped (tables are not expanded: they keep their natural width).
PIPED_WIDTH = 1_000_000


def report_console(stderr: bool = False, file: Optional[IO[str]] = None,
                   **options: Any) -> Console:
    """A console on ``file`` (default stdout, or stderr): the terminal's width on a terminal
    (as rich detects it), else :data:`PIPED_WIDTH` with soft wrapping. ``options`` go to
    :class:`Console`."""
    stream = file if file is not None else sys.stderr if stderr else sys.stdout
    console = Console(file=stream, **options)
    if console.is_terminal:
        return console
    return Console(file=stream, **{**options, "width": PIPED_WIDTH, "soft_wrap": True})


__all__ = ["PIPED_WIDTH", "report_console"]
