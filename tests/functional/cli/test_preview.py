"""``picops preview``: rules run on local files with the engine, outputs written and reported."""

import base64
import os
import shutil
import tempfile
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import pyvips
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from picops.errors import GrammarError
from picops.grammar import parse
from picops_cli.preview import FLAT_SEP, flat_name, preview
from picops_emulator import imaging

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"


def run(*args):
    return CliRunner().invoke(preview, [str(a) for a in args])


def image_at(path: Path) -> pyvips.Image:
    return pyvips.Image.new_from_file(str(path))


def loader(path: Path) -> str:
    return image_at(path).get("vips-loader")


# --- RULE mode ----------------------------------------------------------------------------

def test_rule_writes_every_derivative_and_prints_its_numbers(tmp_path):
    out = tmp_path / "out"
    result = run("imageMogr2/thumbnail/200x/format/png", IMAGES / "rocket.jpg",
                 IMAGES / "grace_hopper.jpg", "--out", out)

    assert result.exit_code == 0, result.output
    rocket, grace = out / "rocket.png", out / "grace_hopper.png"
    assert loader(rocket) == "pngload" and loader(grace) == "pngload"
    assert (image_at(rocket).width, image_at(rocket).height) == (200, 133)  # 640x427 source
    assert (image_at(grace).width, image_at(grace).height) == (200, 234)  # 512x600 source
    lines = result.stdout.splitlines()
    rocket_row = next(line for line in lines if "rocket.png" in line)
    assert "png" in rocket_row.split()
    assert "200x133" in rocket_row
    assert str(rocket.stat().st_size) in rocket_row.split()
    # Each source's table is titled with its own ImageInfo.
    assert any("rocket.jpg: JPEG 640x427" in line for line in lines)
    assert "2 output(s) written" in result.stdout


def test_animated_gif_reports_its_frames(tmp_path):
    result = run("imageMogr2/format/webp", IMAGES / "chelsea_anim.gif", "--out", tmp_path)

    assert result.exit_code == 0, result.output
    webp = tmp_path / "chelsea_anim.webp"
    assert image_at(webp).get("n-pages") == 6
    row = next(line for line in result.stdout.splitlines() if "chelsea_anim.webp" in line)
    assert "160x106 (6 frames)" in row


def test_bad_rule_is_the_grammars_message_and_exit_2_before_any_image(tmp_path):
    rule = "imageMogr2/thumbnial/200x"
    with pytest.raises(GrammarError) as grammar:
        parse(rule)
    out = tmp_path / "out"

    result = run(rule, IMAGES / "rocket.jpg", IMAGES / "truncated.jpg", "--out", out)

    assert result.exit_code == 2
    assert grammar.value.message in result.output
    assert not out.exists()  # nothing was read or written


def test_a_forgotten_rule_says_so(tmp_path):
    result = run(IMAGES / "rocket.jpg", IMAGES / "grace_hopper.jpg", "--out", tmp_path / "o")

    assert result.exit_code == 2
    assert "did you forget the RULE argument" in result.output


@pytest.mark.parametrize("args", [
    ["imageMogr2/format/png"],                      # no image
    ["imageMogr2/format/png", "no_such_file.jpg"],  # missing image
])
def test_missing_images_are_usage_errors(tmp_path, args):
    result = run(*args, "--out", tmp_path / "out")

    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_corrupt_images_get_one_line_each_and_the_others_still_run(tmp_path):
    broken = ["truncated.jpg", "not_an_image.jpg", "empty.jpg"]
    result = run("imageMogr2/thumbnail/100x", IMAGES / "truncated.jpg", IMAGES / "rocket.jpg",
                 IMAGES / "not_an_image.jpg", IMAGES / "empty.jpg", "--out", tmp_path)

    assert result.exit_code == 1
    assert image_at(tmp_path / "rocket.jpg").width == 100
    for name in broken:
        with pytest.raises(imaging.ImagingError) as engine:
            imaging.probe((IMAGES / name).read_bytes())
        line = next(x for x in result.stderr.splitlines() if x.startswith("error:") and name in x)
        assert engine.value.code in line and engine.value.message[:40] in line
        assert not list(tmp_path.glob(Path(name).stem + ".*"))
    assert "1 output(s) written" in result.stderr and "3 image(s) unreadable" in result.stderr
    assert "rule run(s) failed" not in result.stderr


def test_a_rule_the_engine_refuses_shows_the_engines_message(tmp_path):
    rule = "imageMogr2/thumbnail/12000x"  # output side over CI's 9,999 px
    expected = []
    for name in ("rocket.jpg", "grace_hopper.jpg"):
        with pytest.raises(imaging.ImagingError) as engine:
            imaging.execute(parse(rule), (IMAGES / name).read_bytes())
        expected.append(f"  failed: {rule}: {engine.value.code}: {engine.value.message}")

    result = run(rule, IMAGES / "rocket.jpg", IMAGES / "grace_hopper.jpg", "--out", tmp_path)

    assert result.exit_code == 1
    failures = [x for x in result.stdout.splitlines() if x.strip().startswith("failed: ")]
    assert failures == expected
    assert "2 rule run(s) failed" in result.stderr
    assert os.listdir(tmp_path) == []


def test_outputs_never_overwrite_inputs_or_each_other(tmp_path):
    shutil.copy(IMAGES / "rocket.jpg", tmp_path / "rocket.jpg")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(IMAGES / "grace_hopper.jpg", other / "rocket.jpg")  # same name, other picture
    original = (tmp_path / "rocket.jpg").read_bytes()

    result = run("imageMogr2/quality/50", tmp_path / "rocket.jpg", other / "rocket.jpg",
                 "--out", tmp_path)

    assert result.exit_code == 0, result.output
    assert (tmp_path / "rocket.jpg").read_bytes() == original
    first, second = image_at(tmp_path / "rocket-2.jpg"), image_at(tmp_path / "rocket-3.jpg")
    assert (first.width, second.width) == (640, 512)


# --- route mode ---------------------------------------------------------------------------

CONFIG = textwrap.dedent("""\
    routes:
      - prefix: uploads/photos/
        suffixes: [.jpg, .gif]
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}_200.webp
            rule: imageMogr2/thumbnail/200x/format/webp
          - fileid: /covers/{dir}/{name}
            rule: imageView2/1/w/120/h/120
      - prefix: other/
        rules:
          - fileid: /o/{dir}/{name}
            rule: imageMogr2/format/png
    """)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "picops.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_route_runs_all_its_rules_named_by_their_fileids(tmp_path, config):
    out = tmp_path / "out"
    result = run("--route", "uploads/photos/", "--config", config, "--out", out,
                 IMAGES / "rocket.jpg", IMAGES / "chelsea_anim.gif")

    assert result.exit_code == 0, result.output
    thumb = out / "thumbs__uploads__photos__rocket_jpg_200.webp"
    cover = out / "covers__uploads__photos__rocket.jpg"
    assert loader(thumb) == "webpload" and image_at(thumb).width == 200
    assert loader(cover) == "jpegload" and (image_at(cover).width, image_at(cover).height) \
        == (120, 120)
    assert image_at(out / "thumbs__uploads__photos__chelsea_anim_gif_200.webp").get("n-pages") == 6
    assert sorted(os.listdir(out)) == sorted([
        thumb.name, cover.name, "thumbs__uploads__photos__chelsea_anim_gif_200.webp",
        "covers__uploads__photos__chelsea_anim.gif"])
    # The table names the COS key each output would have.
    assert "thumbs/uploads/photos/rocket_jpg_200.webp" in result.stdout


def test_route_warns_when_cos_would_skip_the_file(tmp_path, config):
    result = run("--route", "uploads/photos/", "--config", config, "--out", tmp_path,
                 IMAGES / "coffee.webp")

    assert result.exit_code == 0, result.output
    assert "would skip the key \u201cuploads/photos/coffee.webp\u201d" in result.stderr
    assert (tmp_path / "covers__uploads__photos__coffee.webp").is_file()


def test_unknown_route_lists_the_known_prefixes(tmp_path, config):
    result = run("--route", "uploads/", "--config", config, "--out", tmp_path / "o",
                 IMAGES / "rocket.jpg")

    assert result.exit_code == 2
    assert "'uploads/photos/'" in result.output and "'other/'" in result.output
    assert not (tmp_path / "o").exists()


def test_invalid_config_is_exit_2_with_its_problems(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes:\n  - prefix: a/\n    rules:\n      - fileid: /x/{name}\n"
                   "        rule: imageMogr2/thumbnial/1x\n", encoding="utf-8")

    result = run("--route", "a/", "--config", bad, "--out", tmp_path / "o", IMAGES / "rocket.jpg")

    assert result.exit_code == 2
    assert "routes[0].rules[0].rule" in result.output and "thumbnial" in result.output
    assert not (tmp_path / "o").exists()


# --- watermark/1: its image comes from --assets DIR, else the image's own folder ---------------

MARK_URL = "http://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/logos/mark.png"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


WATERMARK_RULE = (f"watermark/1/image/{b64(MARK_URL)}/gravity/northwest/dissolve/100"
                  "|imageMogr2/format/png")


def write_mark(path: Path) -> None:
    """A 40x20 opaque red PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyvips.Image.black(40, 20).new_from_image([255, 0, 0]).cast("uchar") \
        .copy(interpretation="srgb").pngsave(str(path))


def red_corner(path: Path) -> bool:
    """Whether the top-left 40x20 of the image is the red mark and the pixel beyond is not."""
    image = image_at(path)
    corner = image.crop(0, 0, 40, 20)
    beyond = image.crop(45, 25, 1, 1)
    red = [corner[0].avg(), corner[1].avg(), corner[2].avg()]
    return red[0] > 250 and red[1] < 5 and red[2] < 5 and beyond[1].avg() > 20


def test_watermark_1_reads_its_image_from_assets(tmp_path):
    write_mark(tmp_path / "assets" / "logos" / "mark.png")
    out = tmp_path / "out"
    result = run(WATERMARK_RULE, IMAGES / "rocket.jpg", "--assets", tmp_path / "assets",
                 "--out", out)

    assert result.exit_code == 0, result.output
    assert red_corner(out / "rocket.png")


def test_watermark_1_defaults_to_the_images_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(IMAGES / "rocket.jpg", images / "rocket.jpg")
    write_mark(images / "mark.png")  # found by the key's file name
    out = tmp_path / "out"
    result = run(WATERMARK_RULE, images / "rocket.jpg", "--out", out)

    assert result.exit_code == 0, result.output
    assert red_corner(out / "rocket.png")


def test_watermark_1_in_a_route_uses_assets_too(tmp_path):
    write_mark(tmp_path / "assets" / "logos" / "mark.png")
    config = tmp_path / "picops.yaml"
    config.write_text(textwrap.dedent(f"""\
        routes:
          - prefix: uploads/
            rules:
              - fileid: /marked/{{dir}}/{{name}}.png
                rule: {WATERMARK_RULE}
        """), encoding="utf-8")
    out = tmp_path / "out"
    result = run("--route", "uploads/", "--config", config, "--assets", tmp_path / "assets",
                 "--out", out, IMAGES / "rocket.jpg")

    assert result.exit_code == 0, result.output
    assert red_corner(out / "marked__uploads__rocket.jpg.png")


def test_a_missing_watermark_fails_its_rule_naming_the_url_and_the_paths(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    result = run(WATERMARK_RULE, IMAGES / "rocket.jpg", IMAGES / "grace_hopper.jpg",
                 "--assets", assets, "--out", tmp_path / "out")

    assert result.exit_code == 1
    failures = [x for x in result.stdout.splitlines() if x.strip().startswith("failed: ")]
    assert len(failures) == 2
    for line in failures:
        assert "InvalidArgument: stage 1 (watermark/1/image/" in line
        assert "): watermark/1/image: failed to fetch the watermark" in line
        assert MARK_URL in line
        assert str(assets / "logos" / "mark.png") in line and str(assets / "mark.png") in line
    assert "2 rule run(s) failed" in result.stderr


def test_assets_must_be_an_existing_folder(tmp_path):
    result = run(WATERMARK_RULE, IMAGES / "rocket.jpg", "--assets", tmp_path / "nope",
                 "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "--assets" in result.output and "does not exist" in result.output


def test_keys_with_unsafe_characters_stay_in_the_out_dir(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(textwrap.dedent("""\
        routes:
          - prefix: 'a\\b/c:d/'
            rules:
              - fileid: /out/{dir}/{name}.png
                rule: imageMogr2/format/png
        """), encoding="utf-8")
    out = tmp_path / "out"

    result = run("--route", "a\\b/c:d/", "--config", config, "--out", out, IMAGES / "rocket.jpg")

    assert result.exit_code == 0, result.output
    assert os.listdir(out) == ["out__a_b__c_d__rocket.jpg.png"]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_flat_name_is_one_writable_file_inside_the_dir(key):
    name = flat_name(key)
    assert name not in ("", ".", "..")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert len(name.encode("utf-8")) <= 255
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(b"x")
        assert path.resolve().parent == Path(d).resolve()


def test_flat_name_keeps_segments_readable_and_long_keys_distinct():
    assert flat_name("thumbs/a/b.webp") == f"thumbs{FLAT_SEP}a{FLAT_SEP}b.webp"
    long_a, long_b = "x" * 300 + "a.png", "x" * 300 + "b.png"
    assert flat_name(long_a) != flat_name(long_b)
    assert flat_name(long_a).endswith(".png")


# --- --html -------------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.roles = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        if tag == "figure":
            self.roles.append(a["data-role"])


def test_html_page_shows_each_original_beside_its_derivatives(tmp_path, config):
    out = tmp_path / "out"
    result = run("--route", "uploads/photos/", "--config", config, "--out", out, "--html",
                 IMAGES / "rocket.jpg", IMAGES / "grace_hopper.jpg")

    assert result.exit_code == 0, result.output
    index = out / "index.html"
    assert f"page: {index.resolve().as_uri()}" in result.stdout
    page = _Page()
    text = index.read_text(encoding="utf-8")
    page.feed(text)
    assert page.roles == ["original", "derivative", "derivative"] * 2
    assert len(page.imgs) == 6
    for src in page.imgs:
        assert (out / unquote(src)).is_file(), src
    # Derivatives are shown from where preview wrote them, not copied again.
    assert "thumbs__uploads__photos__rocket_jpg_200.webp" in page.imgs
    assert "imageView2/1/w/120/h/120" in text and "120×120" in text


def test_html_page_shows_failures_without_broken_images(tmp_path):
    out = tmp_path / "out"
    result = run("imageMogr2/thumbnail/12000x", IMAGES / "rocket.jpg", IMAGES / "truncated.jpg",
                 "--out", out, "--html")

    assert result.exit_code == 1
    page = _Page()
    text = (out / "index.html").read_text(encoding="utf-8")
    page.feed(text)
    assert page.roles == ["original", "derivative", "original"]
    assert len(page.imgs) == 1  # rocket's original; the failures are placeholders
    assert "ImageResolutionExceed" in text and "InvalidImageFormat" in text


def test_html_page_can_be_rebuilt_from_its_own_copies(tmp_path):
    # The demo may point the page at pictures a previous page copied into img/.
    from picops_cli import gallery

    out = tmp_path / "page"
    first = gallery.write_page([gallery.Row(original=gallery.Picture(
        path=IMAGES / "rocket.jpg", label="rocket.jpg", format="jpeg"))], out, "one")
    copied = next((out / "img").iterdir())
    second = gallery.write_page([gallery.Row(original=gallery.Picture(
        path=copied, label="again", format="jpeg"))], out, "two")

    assert first == second == out / "index.html"
    page = _Page()
    page.feed(second.read_text(encoding="utf-8"))
    assert len(page.imgs) == 1
    assert (out / unquote(page.imgs[0])).read_bytes() == (IMAGES / "rocket.jpg").read_bytes()
    assert not (out / ".img.new").exists()


class _Codes(HTMLParser):
    """Each <code> under a picture: (its text, its title attribute or None)."""

    def __init__(self):
        super().__init__()
        self.codes = []

    def handle_starttag(self, tag, attrs):
        if tag == "code":
            self.codes.append(["", dict(attrs).get("title")])

    def handle_data(self, data):
        if self.codes and self.lasttag == "code" and self.codes[-1][0] == "":
            self.codes[-1][0] = data


def test_html_page_shortens_base64_values_and_keeps_the_full_rule_as_a_tooltip(tmp_path):
    write_mark(tmp_path / "assets" / "mark.png")
    out = tmp_path / "out"
    result = run(WATERMARK_RULE, IMAGES / "rocket.jpg", "--assets", tmp_path / "assets",
                 "--out", out, "--html")

    assert result.exit_code == 0, result.output
    page = _Codes()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    shown, title = page.codes[-1]
    assert title == WATERMARK_RULE
    assert shown == f"watermark/1/image/{b64(MARK_URL)[:10]}…/gravity/northwest/dissolve/100" \
                    "|imageMogr2/format/png"
    # a rule without long values is shown as it is, with no tooltip
    result = run("imageMogr2/thumbnail/20x", IMAGES / "rocket.jpg", "--out", out, "--html")
    page = _Codes()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    assert page.codes[-1] == ["imageMogr2/thumbnail/20x", None]
