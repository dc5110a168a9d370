"""`make demo` end to end: the command a newcomer runs, and the page it leaves behind.

Runs ``picops demo`` exactly as ``make demo`` does (the project's serverless.yml and
picops.yaml, the shipped example images, the embedded emulator on a free port), then opens
the page it wrote in a real headless Chromium.
"""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from picops_cli.main import cli
from tests.browser.pagecheck import check_page, evaluate, screenshot

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def test_demo_processes_every_example_and_its_page_shows_them(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    text = result.output
    assert result.exit_code == 0, text
    # every image upload got its derivatives; the text file got one clear failure line
    examples = sorted(p.name for p in (REPO / "examples" / "images").iterdir()
                      if p.suffix in {".jpg", ".png", ".gif"})
    for name in examples:
        assert name in text, name
    # CliRunner's output is no terminal, as `make demo | tee log`: every derivative key
    # stays whole on one line (the first rule of the shipped uploads/ route, per image)
    for name in examples:
        if name != "not_an_image.jpg":
            key = "thumbs/uploads/{}_{}_400.webp".format(*name.rsplit(".", 1))
            assert any(key in line for line in text.splitlines()), (key, text)
    failure = [line for line in text.splitlines() if "not_an_image.jpg" in line]
    assert failure and "InvalidImageFormat" in failure[0]
    assert "Traceback" not in text
    derivatives = sorted((out / "derivatives").iterdir())
    assert len(derivatives) >= 4 * (len(examples) - 1)

    page = out / "index.html"
    report = check_page(page)
    assert report.ok, report.summary()
    # every image original plus every derivative (AVIF decodes in Chromium); the text
    # file named .jpg gets a placeholder, not a broken <img>
    assert len(report.images) == (len(examples) - 1) + len(derivatives)
    # each original with its pixel size, each derivative with its rule, a summary line,
    # errors as sentences (read in the browser, as a person sees them)
    seen = evaluate(page, """() => ({
        summary: document.querySelector('.summary').innerText,
        originals: Array.from(document.querySelectorAll('figure[data-role=original]'))
                        .map(f => f.innerText),
        rules: Array.from(document.querySelectorAll('figure[data-role=derivative]'))
                    .map(f => (f.querySelector('code') || {}).innerText || ''),
        errors: Array.from(document.querySelectorAll('.error')).map(e => e.innerText)})""")
    images = len(examples) - 1
    assert seen["summary"] == (f"{len(examples)} upload(s): {images} processed into "
                               f"{len(derivatives)} derivative(s), 1 failed "
                               "(InvalidImageFormat)")
    assert "demo" in text and seen["summary"] in text
    readable = [o for o in seen["originals"] if "not_an_image" not in o]
    assert len(readable) == images
    assert all(re.search(r"\d+×\d+", o) for o in readable), readable
    assert "640×427" in next(o for o in readable if "rocket.jpg" in o)
    assert seen["rules"] and all(r.startswith(("imageMogr2/", "imageView2/"))
                                 for r in seen["rules"]), seen["rules"]
    assert seen["errors"] and all("b'" not in e and "\\x" not in e for e in seen["errors"])
    assert any('starts with the text "this is ' in e for e in seen["errors"]), seen["errors"]
    screenshot(page, tmp_path / "demo.png")
    assert (tmp_path / "demo.png").stat().st_size > 10_000
