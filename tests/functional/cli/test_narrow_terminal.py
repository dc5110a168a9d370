"""Tables and progress lines at 80 columns: wrapped or folded, never cut where it matters
(the failure count, the route, any number)."""

import io
import re

from rich.console import Console

from picops_cli.backfill import runner
from picops_cli.progress import ProgressView, fit_tally
from picops_cli.backfill.plan import PlanTally, render_plan_table
from picops_cli.backfill.summary import Summary, render_table

LONG_ROUTE = "uploads/photos/2024/a-rather-long-folder-name-for-a-route/"


def screen(width=80):
    out = io.StringIO()
    return out, Console(file=out, force_terminal=True, width=width, color_system=None)


def cells(text: str) -> str:
    """The table's text with borders and line breaks out, to find folded values."""
    return re.sub(r"[\s│┃|─━┏┓┗┛┡┩└┘┌┐╇╈╷╵╶╴┼╋]+", "", text)


def test_the_failure_count_is_never_cut_from_the_progress_line():
    summary = Summary(processed=123456, up_to_date=2345)
    summary.skipped["no_route"] = 77
    summary.failed["InvalidImageFormat"] = 3
    for room in (80, 40, 24, 16, 9):
        assert re.match(r"(failed 3|3 failed)( |$)", fit_tally(summary, room))
    out, console = screen(80)
    now = [0.0]
    with ProgressView(console, "backfill", get_time=lambda: now[0]) as view:
        now[0] += 1
        state = runner.Progress(listed=200000, listing_complete=True, done=125881)
        state.summary = summary
        view.update(state)
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "125881/200000" in last and "3 failed" in last, last
    assert all(len(line) <= 80 for line in last.splitlines())


def test_the_plan_table_folds_the_route_and_keeps_every_number_at_80_columns():
    tally = PlanTally()
    t = tally.route(LONG_ROUTE)
    t.objects, t.up_to_date, t.to_process, t.created = 123456, 100000, 23456, 93824
    t.replaced, t.kept, t.refused, t.ci_calls = 12, 3, 1, 23456
    out, console = screen(80)
    console.print(render_plan_table(tally, rate=100))
    text = out.getvalue()
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    lines = text.splitlines()
    body = lines[[i for i, line in enumerate(lines) if "CI calls" in line][0] + 1:]
    folded = "".join(re.split(r"\s{2,}", line.strip())[0] for line in
                     body[:[i for i, line in enumerate(body) if line.startswith("total")][0]])
    assert folded == repr(LONG_ROUTE)  # whole, folded over lines
    assert "CI calls" in text and "23456" in text.splitlines()[-2]  # the last column stays
    for n in ("123456", "100000", "23456", "93824"):
        assert n in text


def test_the_summary_table_keeps_failure_codes_and_counts_at_80_columns():
    summary = Summary(processed=99999)
    summary.failed["ImageResolutionExceedWithAVeryLongCodeName"] = 12345
    out, console = screen(80)
    console.print(render_table(summary))
    text = out.getvalue()
    assert "…" not in text and "12345" in text
    assert "ImageResolutionExceedWithAVeryLongCodeName" in cells(text)
