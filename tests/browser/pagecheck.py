"""Open a page in a real headless Chromium and report what a person would see broken.

Shared by the page tests (``picops preview --html`` here, the demo's page in its end-to-end
test)::

    from tests.browser.pagecheck import check_page, screenshot

    report = check_page(index_html)          # a path or a URL
    assert report.ok, report.summary()
    screenshot(index_html, tmp_path / "page.png")

The browser is Debian's ``chromium`` (installed by ``make test``), driven by the
``playwright`` package; playwright's own browser download is never used (it cannot work
offline). When ``chromium`` is not on PATH, :class:`ChromiumMissing` is raised so the calling
test fails with a message saying what to run: a page test never silently skips.

What counts as broken:

* an ``<img>`` that is not ``complete`` with ``naturalWidth > 0`` after the page's ``load``
  event, or whose ``decode()`` rejects (the bytes arrived but are not a decodable image);
* a console message of type ``error`` or an uncaught page exception;
* a request that failed (missing file, refused connection) or, over HTTP, answered >= 400.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Union

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000

# Runs in the page: every <img>, whether it finished loading, and whether it decodes.
_IMAGES_JS = """
async () => Promise.all(Array.from(document.images).map(async (img) => {
  let decoded = true;
  try { await img.decode(); } catch (e) { decoded = false; }
  return {src: img.getAttribute('src'), url: img.currentSrc || img.src,
          complete: img.complete, naturalWidth: img.naturalWidth,
          naturalHeight: img.naturalHeight, decoded: decoded};
}))
"""


class ChromiumMissing(RuntimeError):
    """No ``chromium`` on PATH: the page tests cannot run (and must not pass)."""


@dataclass
class ImageState:
    src: str
    url: str
    complete: bool
    natural_width: int
    natural_height: int
    decoded: bool

    @property
    def ok(self) -> bool:
        return self.complete and self.natural_width > 0 and self.decoded


@dataclass
class PageReport:
    url: str
    images: List[ImageState] = field(default_factory=list)
    broken: List[str] = field(default_factory=list)  # src of each image that did not decode
    console_errors: List[str] = field(default_factory=list)
    failed_requests: List[str] = field(default_factory=list)  # "URL: reason"

    @property
    def ok(self) -> bool:
        return bool(self.images) and not (self.broken or self.console_errors
                                          or self.failed_requests)

    def summary(self) -> str:
        return (f"{self.url}: {len(self.images)} image(s), broken={self.broken}, "
                f"console_errors={self.console_errors}, failed_requests={self.failed_requests}")


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise ChromiumMissing(
            "chromium is not installed, so the page tests cannot run: run `make test` "
            "(it installs Debian's chromium first), or `make browser`")
    return path


def page_url(path_or_url: Union[str, Path]) -> str:
    text = str(path_or_url)
    if "://" in text:
        return text
    return Path(text).resolve().as_uri()


def _launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                      headless=True)


def check_page(path_or_url: Union[str, Path]) -> PageReport:
    """Load the page, wait for it and its images, and report what is broken."""
    from playwright.sync_api import sync_playwright

    url = page_url(path_or_url)
    report = PageReport(url=url)
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: report.console_errors.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
            page.on("requestfailed", lambda r: report.failed_requests.append(
                f"{r.url}: {r.failure or 'failed'}"))
            page.on("response", lambda r: report.failed_requests.append(
                f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
            page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            states = page.evaluate(_IMAGES_JS)
        finally:
            browser.close()
    report.images = [ImageState(src=s["src"] or "", url=s["url"], complete=s["complete"],
                                natural_width=s["naturalWidth"],
                                natural_height=s["naturalHeight"], decoded=s["decoded"])
                     for s in states]
    report.broken = [s.src for s in report.images if not s.ok]
    return report


def evaluate(path_or_url: Union[str, Path], script: str):
    """Load the page (images decoded) and return what ``script`` (a JS function) returns."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(page_url(path_or_url), wait_until="load", timeout=TIMEOUT_MS)
            page.evaluate(_IMAGES_JS)
            return page.evaluate(script)
        finally:
            browser.close()


def screenshot(path_or_url: Union[str, Path], out_png: Union[str, Path]) -> Path:
    """Save a full-page PNG of the loaded page (images decoded first) to ``out_png``."""
    from playwright.sync_api import sync_playwright

    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(page_url(path_or_url), wait_until="load", timeout=TIMEOUT_MS)
            page.evaluate(_IMAGES_JS)  # waits until every image has decoded (or failed to)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out
