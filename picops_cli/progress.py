"""The progress bar of the commands that run over many objects (backfill, plan, upload).

One line on stderr: the label, a bar, done/total, the rate, the ETA, and a tally of the
outcomes fitted to the terminal's width (:func:`fit_tally`); stdout stays the report.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                           ProgressColumn, TextColumn, TimeRemainingColumn)
from rich.text import Text

from .backfill.runner import Progress

#: Columns the progress line needs before its tally (label, bar, 123456/123456, rate, ETA).
TALLY_OFFSET = 64


class _RateColumn(ProgressColumn):
    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("-- obj/s")
        return Text(f"{speed:.0f} obj/s" if speed >= 10 else f"{speed:.1f} obj/s")


def fit_tally(s: Any, room: int) -> str:
    """The progress line's tally in ``room`` columns: in full when it fits, else in short
    words, else without its last parts; the failure count comes first and always stays."""
    parts = [("failed", "failed", s.failures), ("processed", "done", s.processed),
             ("current", "current", s.up_to_date),
             ("skipped", "skip", sum(s.skipped.values()))]
    shown = [p for p in parts if p[2]]
    full = " · ".join(f"{name} {n}" for name, _, n in shown)
    if len(full) <= room:
        return full
    short = [f"{n} {word}" for _, word, n in shown]
    while len(short) > 1 and len(" ".join(short)) > room:
        short.pop()
    return " ".join(short)


class ProgressView:
    """The rich progress bar, fed by :class:`.backfill.runner.Backfill`'s progress calls
    (and ``upload``'s, in the same shape)."""

    def __init__(self, console: Console, label: str,
                 get_time: Optional[Callable[[], float]] = None):
        # get_time: the clock rates and ETAs are computed with (tests pass a fake one)
        self._console = console
        self._progress = RichProgress(TextColumn("{task.description}"), BarColumn(bar_width=12),
                                  MofNCompleteColumn(), _RateColumn(), TextColumn("ETA"),
                                  TimeRemainingColumn(), TextColumn("{task.fields[tally]}"),
                                  console=console, transient=False, get_time=get_time,
                                  # stdout is the report, wherever it is redirected
                                  redirect_stdout=False, redirect_stderr=False)
        self._label = label
        self._task = self._progress.add_task(f"{label}…", total=None, tally="")
        self._lock = threading.Lock()

    def __enter__(self) -> "ProgressView":
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def update(self, state: Progress) -> None:
        tally = fit_tally(state.summary, self._console.width - TALLY_OFFSET)
        desc = self._label if state.listing_complete else f"{self._label}…"
        with self._lock:
            self._progress.update(self._task, completed=state.done, total=max(state.listed,
                                                                               state.done),
                                  description=desc, tally=tally)
