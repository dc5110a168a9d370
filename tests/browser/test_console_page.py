"""The emulator's console in a real headless Chromium, while uploads are processed.

The page is opened first; then the SDK uploads, and the page must show (without a
reload) the source beside its derivatives with the right pixel sizes, the invocation
with its log output, and a dead-lettered event whose Replay button delivers it again.
"""

from pathlib import Path

import pytest

from tests.browser.pagecheck import CHROMIUM_ARGS, VIEWPORT, chromium_path
from tests.localcloud import SOURCE_BUCKET, make_project, start_cloud

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
pytestmark = pytest.mark.browser
WAIT_MS = 30_000


def test_console_shows_uploads_live_opens_an_invocation_and_replays_a_dead_letter(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    project = make_project(tmp_path)
    errors = []
    with start_cloud(project) as cloud, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto(cloud.console_url, wait_until="load")
            page.wait_for_selector("#live.ok", timeout=WAIT_MS)
            # CJK keys render in the served face, whatever fonts this machine has: the
            # font loads through the style sheet's token URL and the page's CSP
            loaded = page.evaluate("async () => (await document.fonts.load("
                                   "'14px \"Picops CJK\"', '\u732b')).map(f => f.status)")
            assert loaded == ["loaded"], loaded
            page.click(f"li[data-bucket='{SOURCE_BUCKET}']")

            client = cloud.client()
            client.put_object(Bucket=SOURCE_BUCKET, Key="uploads/cat.jpg",
                              Body=(IMAGES / "grace_hopper.jpg").read_bytes(),
                              ContentType="image/jpeg")
            # no reload: the page's polling brings the folder in
            folder = page.locator("tr.folder[data-prefix='uploads/'] td").first
            # the name alone (the marker is CSS, in a glyph every font has: no emoji box)
            folder.wait_for(timeout=WAIT_MS)
            assert folder.evaluate("td => td.textContent") == "uploads/"
            assert folder.evaluate("td => getComputedStyle(td, '::before').content") == \
                '"\u25b8\u00a0"'
            page.click("tr.folder[data-prefix='uploads/']", timeout=WAIT_MS)
            page.click("tr.object[data-key='uploads/cat.jpg']", timeout=WAIT_MS)
            expect(page.locator("#derivatives .card.derivative")).to_have_count(
                2, timeout=WAIT_MS)
            original = page.locator("#derivatives .card.original")
            assert original.locator(".pixels").inner_text() == "512\u00d7600"
            thumb = page.locator("#derivatives .card[data-key='thumbs/uploads/cat_jpg_64.webp']")
            assert thumb.locator(".pixels").inner_text() == "64\u00d775"
            assert thumb.locator(".format").inner_text() == "webp"
            assert thumb.locator(".rule").inner_text() == "imageMogr2/thumbnail/64x/format/webp"
            square = page.locator("#derivatives .card[data-key='squares/uploads/cat_jpg_32.png']")
            assert square.locator(".pixels").inner_text() == "32\u00d732"
            # every picture on the card row decodes, at the size the card states
            sizes = page.eval_on_selector_all(
                "#derivatives img", "imgs => Promise.all(imgs.map(async i => { await i.decode();"
                " return [i.closest('.card').dataset.key, i.naturalWidth, i.naturalHeight]; }))")
            assert sorted(map(tuple, sizes)) == [
                ("squares/uploads/cat_jpg_32.png", 32, 32),
                ("thumbs/uploads/cat_jpg_64.webp", 64, 75), ("uploads/cat.jpg", 512, 600)]

            # the invocation, opened: outcome, outputs, log output, event
            page.click("button[data-tab='invocations']")
            row = page.locator("#invocations tbody tr", has_text="uploads/cat.jpg")
            row.wait_for(timeout=WAIT_MS)
            row.click()
            detail = page.locator("#invocation-detail")
            detail.wait_for(timeout=WAIT_MS)
            assert "succeeded" in detail.inner_text()
            assert "derived-1250000000/thumbs/uploads/cat_jpg_64.webp" in detail.inner_text()
            assert "record processed" in detail.locator("pre.logs").inner_text()
            assert '"key"' in detail.locator("pre.event").inner_text()

            # a failing upload ends in the dead-letter list; Replay delivers it again
            project.fail(True)
            client.put_object(Bucket=SOURCE_BUCKET, Key="uploads/dead.jpg",
                              Body=(IMAGES / "rocket.jpg").read_bytes(),
                              ContentType="image/jpeg")
            page.click("button[data-tab='dead-letters']")
            entry = page.locator("#dead-letters tbody tr", has_text="uploads/dead.jpg")
            entry.wait_for(timeout=WAIT_MS)
            assert "told to fail" in entry.inner_text()
            project.fail(False)
            entry.locator("button.replay").click()
            page.wait_for_selector("#dead-letters tbody tr >> text=replayed as",
                                   timeout=WAIT_MS)
            assert cloud.wait_idle(60)
            page.click("button[data-tab='invocations']")
            replayed = page.locator("#invocations tbody tr", has_text="uploads/dead.jpg")
            expect(replayed.filter(has_text="succeeded")).to_have_count(1, timeout=WAIT_MS)
            expect(replayed.filter(has_text="dead lettered")).to_have_count(1)
            page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [], errors
    assert (tmp_path / "console.png").stat().st_size > 10_000
