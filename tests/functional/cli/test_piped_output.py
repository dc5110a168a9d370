"""Piped reports (a file, `| less`, a CI log): a key or path stays whole on one line, where
a reader or grep looks for it; on a terminal the same table still fits the width."""

import io
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from picops_cli import demo
from picops_cli.consoles import report_console
from picops_cli.preview import preview

REPO = Path(__file__).resolve().parents[3]
DEEP = "uploads/2024/holidays/a-rather-long-folder-name/with-another-level/"
# one output per rule of the shipped uploads/ route, each key well over 80 columns
KEYS = [f"thumbs/{DEEP}grace_hopper_jpg_400.webp", f"large/{DEEP}grace_hopper_jpg_1200.jpg",
        f"covers/{DEEP}grace_hopper_jpg_300x300.jpg", f"avif/{DEEP}grace_hopper_jpg.avif"]


def _uploads(tmp_path):
    image = tmp_path / "grace_hopper.jpg"
    image.write_bytes(b"")
    outputs = [{"bucket": "derived-1250000000", "key": k, "format": k.rsplit(".", 1)[1],
                "width": 400, "height": 469, "size": 30224} for k in KEYS]
    up = demo.Upload(image, "uploads-1250000000", DEEP + image.name,
                     record={"outcome": "processed", "outputs": outputs},
                     local_outputs=[(o, tmp_path / f"{i}.out") for i, o in enumerate(outputs)])
    bad = demo.Upload(tmp_path / "not_an_image.jpg", "uploads-1250000000",
                      DEEP + "not_an_image.jpg",
                      record={"outcome": "failed", "error": {
                          "code": "InvalidImageFormat", "status": 400,
                          "message": "input is not an image format the emulator reads " * 3}})
    return [up, bad]


def test_piped_demo_table_keeps_every_key_whole_on_one_line(tmp_path, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)  # not a terminal, as under `make demo | tee`
    console = report_console()
    assert not console.is_terminal
    demo._report(console, _uploads(tmp_path))
    lines = out.getvalue().splitlines()
    for key in KEYS:
        (row,) = [line for line in lines if key in line]
        assert re.search(rf"\b{key.rsplit('.', 1)[1]}\s+400x469\s+30,224\b", row), row
    failure = [line for line in lines if "not_an_image.jpg" in line]
    assert len(failure) == 1 and failure[0].startswith("failed ") \
        and failure[0].endswith("emulator reads ")  # the whole message, on its one line
    width = max(len(line) for line in lines)
    assert width < 300  # natural width: nothing is padded out to the piped "width"


def test_on_a_terminal_the_demo_table_still_fits_its_width(tmp_path):
    out = io.StringIO()
    console = report_console(file=out, force_terminal=True, width=80, color_system=None)
    assert console.is_terminal and console.width == 80
    demo._report(console, _uploads(tmp_path))
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    header = next(i for i, line in enumerate(lines) if "derivative key" in line)
    start, end = lines[header].index("derivative key"), lines[header].index("format")
    column = "".join(line[start:end].strip() for line in lines[header + 2:])
    assert column.startswith("".join(KEYS))  # each key folded over lines, never cut


@pytest.mark.parametrize("where", ["plain", "[bold]marked[/bold]"])
def test_demo_prints_names_and_messages_as_they_are_not_as_markup(tmp_path, where):
    out = io.StringIO()
    console = report_console(file=out, force_terminal=False)
    up = demo.Upload(tmp_path / f"{where}.jpg", "uploads-1250000000", f"uploads/{where}.jpg",
                     record={"outcome": "failed", "error": {
                         "code": "InvalidImageFormat", "status": 400,
                         "message": f"[red]not[/red] an image \x1b[2J {where}"}})
    demo._report(console, [up])
    (line,) = [x for x in out.getvalue().splitlines() if x.startswith("failed ")]
    assert line == (f"failed uploads/{where}.jpg: InvalidImageFormat (HTTP 400): "
                    f"[red]not[/red] an image \\x1b[2J {where}")


def test_piped_preview_keeps_a_long_route_key_on_one_line(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(f"""
routes:
  - prefix: {DEEP}
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{{dir}}/{{name}}_with_a_long_suffix_400.webp
        rule: imageMogr2/thumbnail/64x/format/webp
""", encoding="utf-8")
    image = REPO / "examples" / "images" / "rocket.jpg"
    result = CliRunner().invoke(preview, ["--route", DEEP, str(image), "--config", str(config),
                                          "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    key = f"thumbs/{DEEP}rocket.jpg_with_a_long_suffix_400.webp"
    (row,) = [line for line in result.stdout.splitlines() if key in line]
    assert "64x43" in row
