"""Backfill's tally: what happened to each object, as a table and as one JSON line.

Contract:

* :class:`Summary` counts outcomes: ``processed``, ``up_to_date`` (its manifest matches
  the object's ETag and the route's rules hash: nothing sent to CI), ``skipped`` by
  reason (``manifest_object``, ``folder_marker``, ``empty_object``, ``loop_guard``,
  ``no_route``, and any reason the handler gives) and ``failed`` by reason (the error ``code``, e.g.
  ``InvalidImageFormat``). It keeps the first :data:`MAX_EXAMPLES` failures to show.
* :meth:`Summary.to_json` is exactly
  ``{"processed": N, "up_to_date": N, "skipped": {reason: N}, "failed": {reason: N}}``
  (reasons sorted), printed on one line as the last line of the output.
* :func:`render_table` is the same numbers as a rich table, for people.

Only the main thread touches a Summary (workers return outcomes to it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from rich.table import Table
from rich.text import Text

from picops.logs import json_line

MAX_EXAMPLES = 20


@dataclass
class Summary:
    processed: int = 0
    up_to_date: int = 0
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    #: (key, code, message) of the first failures, for the report.
    examples: List[Tuple[str, str, str]] = field(default_factory=list)
    ci_calls: int = 0

    def add_processed(self) -> None:
        self.processed += 1

    def add_up_to_date(self) -> None:
        self.up_to_date += 1

    def add_skipped(self, reason: str) -> None:
        self.skipped[reason] += 1

    def add_failed(self, key: str, code: str, message: str) -> None:
        self.failed[code] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((key, code, message))

    @property
    def total(self) -> int:
        return (self.processed + self.up_to_date + sum(self.skipped.values())
                + sum(self.failed.values()))

    @property
    def failures(self) -> int:
        return sum(self.failed.values())

    def to_json(self) -> Dict[str, Any]:
        return {"processed": self.processed, "up_to_date": self.up_to_date,
                "skipped": dict(sorted(self.skipped.items())),
                "failed": dict(sorted(self.failed.items()))}

    def json_line(self) -> str:
        return json_line(self.to_json(), separators=(", ", ": "))


def render_table(summary: Summary, title: str = "backfill summary",
                 up_to_date: bool = True) -> Table:
    """The summary as a table; ``up_to_date=False`` leaves that row out (``picops upload``,
    where nothing can be up to date)."""
    table = Table(title=title)
    table.add_column("outcome", no_wrap=True)
    table.add_column("reason", overflow="fold")
    table.add_column("objects", justify="right", no_wrap=True)
    table.add_row("processed", "", str(summary.processed))
    if up_to_date:
        table.add_row("up to date", "manifest current", str(summary.up_to_date))
    for reason, n in sorted(summary.skipped.items()):
        table.add_row("skipped", Text(reason), str(n))
    for code, n in sorted(summary.failed.items()):
        table.add_row("failed", Text(code), str(n), style="red")
    table.add_row("total", "", str(summary.total), style="bold")
    return table
