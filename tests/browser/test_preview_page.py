"""``picops preview --html`` page in a real headless Chromium: it loads, every image decodes."""

import base64
import struct
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import pyvips
from click.testing import CliRunner

from picops_cli.preview import preview
from tests.browser.pagecheck import (ChromiumMissing, check_page, chromium_path, evaluate,
                                     screenshot)

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
SOURCES = ["rocket.jpg", "grace_hopper.jpg", "chelsea_exif6.jpg", "chelsea_anim.gif"]
# A prefix with characters that must be percent-encoded in a URL (space, '#', '%', '?',
# CJK), so the page's relative links are proven to load, not only to exist on disk.
PREFIX = "up loads/#1 100%?/照片/"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


# watermark/1's image comes from --assets (preview has no bucket); watermark/2 needs no file.
LOGO_URL = "http://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/logos/logo.png"
MARKED = (f"imageMogr2/auto-orient/thumbnail/240x|watermark/1/image/{_b64(LOGO_URL)}"
          f"/gravity/northeast/dx/6/dy/6/dissolve/85"
          f"|watermark/2/text/{_b64('picops 预览')}/fontsize/16/fill/{_b64('#FFFFFF')}"
          f"/shadow/60/gravity/south/dy/6|imageMogr2/format/jpg")
CONFIG = textwrap.dedent("""\
    routes:
      - prefix: "{prefix}"
        rules:
          - fileid: /thumbs/{dir}/{name}_200.webp
            rule: imageMogr2/thumbnail/200x/format/webp
          - fileid: /square/{dir}/{name}.png
            rule: imageView2/1/w/150/h/150/format/png
          - fileid: /small/{dir}/{name}.gif
            rule: imageMogr2/thumbnail/!50p/format/gif
          - fileid: /marked/{dir}/{name}.jpg
            rule: "{marked}"
    """)
RULES = 4

pytestmark = pytest.mark.browser


def build_page(out_dir: Path, tmp_path: Path, prefix: str = PREFIX) -> Path:
    """Run ``preview --route --html`` on the sources; return the page's path.

    docs/preview.png is this page, made by hand with ``prefix="uploads/"`` and
    :func:`~tests.browser.pagecheck.screenshot` (the odd prefix needs CJK fonts to look right),
    then saved as a 256-colour PNG (libvips ``pngsave`` with ``palette=True, Q=90``) to keep
    the repository small.
    """
    config = tmp_path / "picops.yaml"
    config.write_text(CONFIG.replace("{prefix}", prefix).replace("{marked}", MARKED),
                      encoding="utf-8")
    assets = tmp_path / "assets"
    (assets / "logos").mkdir(parents=True, exist_ok=True)
    pyvips.Image.thumbnail(str(IMAGES / "coffee_alpha.png"), 64) \
        .pngsave(str(assets / "logos" / "logo.png"))
    args = ["--route", prefix, "--config", str(config), "--out", str(out_dir), "--html",
            "--assets", str(assets), *(str(IMAGES / s) for s in SOURCES)]
    result = CliRunner().invoke(preview, args)
    assert result.exit_code == 0, result.output
    index = out_dir / "index.html"
    assert f"page: {index.resolve().as_uri()}" in result.output
    return index


def png_size(path: Path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_chromium_is_installed():
    # Fails (never skips) on a machine where `make test` has not installed it yet.
    assert Path(chromium_path()).exists()


def test_preview_page_loads_and_every_image_decodes(tmp_path):
    index = build_page(tmp_path / "out", tmp_path)
    report = check_page(index)

    assert report.ok, report.summary()
    assert len(report.images) == len(SOURCES) * (1 + RULES), report.summary()
    assert report.broken == []
    assert report.console_errors == []
    assert report.failed_requests == []
    # Every derivative decoded at the size the rule asked for (the 200px-wide WebP ones).
    widths = sorted(i.natural_width for i in report.images if "_200.webp" in i.src)
    assert widths == [160] + [200] * 3  # the animated GIF is never enlarged
    marked = sorted(i.natural_width for i in report.images if "marked__" in i.src)
    assert marked == [160] + [240] * 3  # watermarked through --assets, then decoded

    shot = screenshot(index, tmp_path / "preview.png")
    width, height = png_size(shot)
    assert width >= 1280 and height > 900  # full page: taller than one viewport


# Runs in the page: each figure's caption link, and whether its rule stays inside it.
_FIGURES_JS = """
() => ({summary: (document.querySelector('.summary') || {}).innerText || '',
        title: document.querySelector('h1').innerText,
        figures: Array.from(document.querySelectorAll('figure[data-role=derivative]')).map(f => {
          const box = f.getBoundingClientRect();
          const code = f.querySelector('code');
          const r = code ? code.getBoundingClientRect() : box;
          return {label: f.querySelector('figcaption a, figcaption').innerText.split('\\n')[0],
                  inside: r.left >= box.left - 1 && r.right <= box.right + 1,
                  wrapped: code ? r.height > 2 * parseFloat(getComputedStyle(code).fontSize)
                                : false};
        })})
"""


def test_preview_page_wraps_long_rules_and_names_the_cos_output_keys(tmp_path):
    index = build_page(tmp_path / "out", tmp_path)
    seen = evaluate(index, _FIGURES_JS)
    assert seen["title"] == f"picops preview: route \u201c{PREFIX}\u201d"  # not a repr
    made = len(SOURCES) * RULES
    assert seen["summary"] == f"{len(SOURCES)} image(s), {made} derivative(s) made"
    labels = [f["label"] for f in seen["figures"]]
    assert f"thumbs/{PREFIX}rocket.jpg_200.webp" in labels  # the key, not a flattened name
    assert f"marked/{PREFIX}rocket.jpg.jpg" in labels
    assert all(f["inside"] for f in seen["figures"]), seen["figures"]
    assert any(f["wrapped"] for f in seen["figures"])  # the long watermark rule wrapped


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def test_page_links_are_percent_encoded(tmp_path):
    # The browser test above would catch a bad link too; this one says which rule broke.
    index = build_page(tmp_path / "out", tmp_path)
    parser = _Imgs()
    parser.feed(index.read_text(encoding="utf-8"))
    assert parser.srcs, "no <img> on the page"
    for src in parser.srcs:
        assert not any(c in src for c in " #?") and "照" not in src, src


def test_pagecheck_reports_broken_images_console_errors_and_failed_requests(tmp_path):
    # The checker itself must be able to fail, or a green page test proves nothing.
    (tmp_path / "fine.jpg").write_bytes((IMAGES / "rocket.jpg").read_bytes())
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    page = tmp_path / "broken.html"
    page.write_text(
        '<!doctype html><html><body><img src="fine.jpg"><img src="corrupt.png">'
        '<img src="missing.png"><script>console.error("boom")</script></body></html>',
        encoding="utf-8")

    report = check_page(page)

    assert not report.ok
    assert len(report.images) == 3
    assert sorted(report.broken) == ["corrupt.png", "missing.png"]
    assert any("boom" in e for e in report.console_errors)
    assert any(r.startswith(page.parent.as_uri() + "/missing.png")
               for r in report.failed_requests), report.failed_requests


def test_missing_chromium_is_a_failure_with_instructions(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ChromiumMissing, match="make test"):
        chromium_path()
