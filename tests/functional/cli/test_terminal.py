"""Keys are whatever an uploader chose: CLI output never hands a terminal a raw control
character from one, and every printed item stays one line."""

import json
import re
from pathlib import Path

from click.testing import CliRunner

from picops.logs import json_line
from picops_cli.backfill.plan import ObjectPlan, plan_lines
from picops_cli.backfill.summary import Summary
from picops_cli.main import cli
from picops_cli.plan import unrouted_note
from picops_cli.terminal import printable

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "functions" / "image_processor" / "picops.yaml"
SERVERLESS = REPO / "serverless.yml"

#: ESC (clear screen), CR, LF, TAB, BEL, DEL, C1 CSI and NEL, line and paragraph
#: separators, a right-to-left override and a BOM
HOSTILE = "a\x1b[2J\rb\nc\td\x07e\x7ff\x9b31mg\x85h\u2028i\u2029j\u202ek\ufeffl"
#: Anything a terminal would act on: C0 but nothing printable, DEL, C1, the separators
#: and the bidirectional and format controls.
RAW = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f"
                 "\u061c\ufeff]")


def test_printable_escapes_every_control_and_keeps_the_rest():
    shown = printable(HOSTILE)
    assert not RAW.search(shown)
    assert shown == ("a\\x1b[2J\\x0db\\x0ac\\x09d\\x07e\\x7ff\\x9b31mg\\x85h\\u2028i\\u2029j"
                     "\\u202ek\\ufeffl")
    assert printable("uploads/李 雷/photo (1).jpg") == "uploads/李 雷/photo (1).jpg"
    assert printable("a\\x1b") == "a\\\\x1b"  # a literal backslash cannot pose as an escape


def test_explain_prints_a_hostile_key_on_one_line_without_controls():
    key = f"uploads/{HOSTILE}.jpg"
    result = CliRunner().invoke(cli, ["explain", key, "--config", str(CONFIG),
                                      "--serverless", str(SERVERLESS)],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output  # every output refused: the record would fail
    assert not RAW.search(result.output.replace("\n", ""))
    lines = result.output.splitlines()
    assert lines[0].startswith("target: ")  # where it would write, first (issue 10)
    assert lines[1] == f"key:    uploads/{printable(HOSTILE)}.jpg"
    # COS keys cannot hold C0 controls: every output is refused before any CI call, and the
    # refusals (which quote the key) are escaped too
    assert "the record would fail: 4 output(s) refused" in result.output
    assert result.output.count("refused (InvalidOutputKey)") == 4


def test_explain_of_a_key_with_separators_and_overrides_prints_the_exact_header():
    odd = "a\u2028b\u2029c\x85d\u202ee"
    result = CliRunner().invoke(cli, ["explain", f"uploads/{odd}.jpg", "--config", str(CONFIG),
                                      "--serverless", str(SERVERLESS)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not RAW.search(result.output.replace("\n", ""))
    header = result.output.split("Pic-Operations:\n", 1)[1].splitlines()[0].strip()
    assert json.loads(header)["rules"][0]["fileid"] == f"/thumbs/uploads/{odd}_jpg_400.webp"


def test_explain_of_a_skipped_hostile_key():
    result = CliRunner().invoke(cli, ["explain", f"elsewhere/{HOSTILE}", "--config",
                                      str(CONFIG), "--serverless", str(SERVERLESS),
                                      "--bucket", "uploads-1250000000"])
    assert result.exit_code == 0
    assert not RAW.search(result.output.replace("\n", "")) and len(
        result.output.splitlines()) == 2  # the target line, then the skip


def test_backfill_plan_lines_and_json_lines_escape_hostile_keys():
    plan = ObjectPlan(key=f"uploads/{HOSTILE}.jpg", route="uploads/",
                      created=(("derived-1250000000", f"thumbs/{HOSTILE}.webp"),), replaced=(),
                      kept=(), refused=(("derived-1250000000", f"bad {HOSTILE}"),),
                      ci_calls=1)
    for line in plan_lines(plan):
        assert not RAW.search(line)
    summary = Summary()
    summary.add_failed(f"uploads/{HOSTILE}.jpg", "InvalidImageFormat", f"not an image {HOSTILE}")
    line = summary.json_line()
    assert not RAW.search(line) and "\n" not in line
    assert not RAW.search(json_line({"k": HOSTILE, "ok": "李 雷"}))
    assert "李 雷" in json_line({"ok": "李 雷"})  # readable non-ASCII stays
    assert json.loads(json_line({"k": HOSTILE})) == {"k": HOSTILE}


def test_plan_names_unrouted_keys_through_printable_like_every_key():
    keys = [f"docs/{HOSTILE}.jpg", "docs/it's.jpg"] + [f"docs/{n}.jpg" for n in range(5)]
    line = unrouted_note(keys)
    assert not RAW.search(line)
    # was repr(): quotes around each key, and a key with a quote in double quotes
    assert line == ("7 object(s) routed by the current config are not by the new one "
                    "(derivatives and manifests kept), e.g. "
                    f"docs/{printable(HOSTILE)}.jpg, docs/it's.jpg, docs/0.jpg, docs/1.jpg, "
                    "docs/2.jpg")


def test_backfill_names_its_resume_point_through_printable_like_every_key():
    import io

    from rich.console import Console

    from picops_cli.backfill import runner
    from picops_cli.backfill.command import report
    from picops_cli.backfill.ratelimit import RateLimiter

    result = runner.RunResult(summary=Summary(), plan=None, completed=True,
                              resumed_after=f"uploads/{HOSTILE}'.jpg", done_before=3)
    out, err = io.StringIO(), io.StringIO()
    status = report(result, Console(file=out, width=1000), Console(file=err, width=1000),
                    rate=1.0, ci_calls=0, limiter=RateLimiter(1.0))
    assert status == 0
    (line,) = [x for x in err.getvalue().splitlines() if x.startswith("resumed after ")]
    assert not RAW.search(line)
    # was repr(): quoted, and in double quotes for a key holding a quote
    assert line == (f"resumed after uploads/{printable(HOSTILE)}'.jpg (3 object(s) done by "
                    "earlier runs; the summary counts this run only)")
