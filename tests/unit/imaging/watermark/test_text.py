"""watermark/2: text rendering (Latin and CJK), fill, size, fonts, shadow, tiling."""

from importlib.metadata import metadata

import pytest

from picops.grammar import Base64Text, Operation, Param, Rule
from picops_emulator.imaging import InvalidArgument, execute
from picops_emulator.imaging.fonts import CI_FONTS, FAMILY, font_file, resolve_font
from picops_emulator.errors import status_of


def _text(wk, kit, text, extra="", base=None, size=40):
    base = base or wk.png(wk.solid(400, 120, wk.WHITE))
    rule = f"watermark/2/text/{wk.b64(text)}/fontsize/{size}/dissolve/100/gravity/center{extra}"
    out = kit.run(rule, base)
    return kit.decode(base), kit.decode(out.data)


def _ink(wk, before, after):
    return wk.mask_box(wk.changed(before, after))


def test_latin_text_renders_in_its_fill_colour(wk, kit):
    before, after = _text(wk, kit, "Hello", f"/fill/{wk.b64('#FF0000')}")
    left, top, width, height = _ink(wk, before, after)
    assert 60 < width < 160 and 20 < height < 45                 # 5 letters at 40 px
    assert abs((left + width / 2) - 200) <= 2 and abs((top + height / 2) - 60) <= 2
    assert wk.count(after, wk.RED, tol=10) > 200                 # solid strokes in the fill
    assert wk.count(after, (0, 0, 0), tol=100) == 0              # nothing dark: no halo


def test_default_fill_is_3d3d3d(wk, kit):
    _, after = _text(wk, kit, "Hello")
    assert wk.count(after, (0x3D, 0x3D, 0x3D), tol=4) > 200


def test_cjk_renders_real_glyphs_not_boxes(wk, kit):
    # 一 is one horizontal stroke, 丨 one vertical stroke: a missing-glyph box would be tall
    # and hollow for both.
    before, after = _text(wk, kit, "一", size=80)
    _, _, w, h = _ink(wk, before, after)
    assert w > 4 * h
    before, after = _text(wk, kit, "丨", size=80)
    _, _, w, h = _ink(wk, before, after)
    assert h > 4 * w
    before, after = _text(wk, kit, "数据万象 水印", size=40)
    _, _, w, h = _ink(wk, before, after)
    assert 200 < w < 300 and 30 < h < 50                         # 6 ideographs + a space
    ink = wk.count(after, (0x3D, 0x3D, 0x3D), tol=100)
    assert ink > 0.15 * w * h                                    # dense strokes, not outlines


def test_the_doc_example_on_a_photo(wk, kit):
    # imageMogr2/thumbnail/!50p, then white "数据万象" 30 pt 20 px in from the bottom-right
    src = kit.corpus("coffee.png")
    rule = ("imageMogr2/thumbnail/!50p|watermark/2/text/5pWw5o2u5LiH6LGh/fill/I0ZGRkZGRg==/"
            "fontsize/30/dx/20/dy/20")
    out = kit.run(rule, src)
    assert (out.format, out.width, out.height) == ("png", 300, 200)
    plain = kit.decode(kit.run("imageMogr2/thumbnail/!50p", src).data)
    left, top, width, height = _ink(wk, plain, kit.decode(out.data))
    assert abs(left + width - 280) <= 2 and abs(top + height - 180) <= 2
    assert 100 < width < 130 and 22 < height < 34                 # 4 ideographs at 30 px


def test_fontsize_scales_the_text(wk, kit):
    b1, a1 = _text(wk, kit, "Watermark", size=20)
    b2, a2 = _text(wk, kit, "Watermark", size=40)
    w1, h1 = _ink(wk, b1, a1)[2:]
    w2, h2 = _ink(wk, b2, a2)[2:]
    assert 1.8 < w2 / w1 < 2.2 and 1.7 < h2 / h1 < 2.3


def test_markup_characters_are_plain_text(wk, kit):
    before, after = _text(wk, kit, "<b>&amp;</b>")
    _, _, w, _ = _ink(wk, before, after)
    before, after = _text(wk, kit, "&amp;")
    _, _, w_amp, _ = _ink(wk, before, after)
    assert w > w_amp > 60                                        # drawn as written


def test_dissolve_applies_to_text(wk, kit):
    _, full = _text(wk, kit, "Hello", f"/fill/{wk.b64('#000000')}")
    base = wk.png(wk.solid(400, 120, wk.WHITE))
    faint = kit.decode(kit.run(f"watermark/2/text/{wk.b64('Hello')}/fontsize/40/gravity/center"
                               f"/fill/{wk.b64('#000000')}/dissolve/30", base).data)
    assert full.min() <= 5
    assert abs(faint.min() - 255 * 0.7) <= 3


def test_shadow_draws_a_soft_dark_copy_below_right(wk, kit):
    white = f"/fill/{wk.b64('#FFFFFF')}"
    before, no_shadow = _text(wk, kit, "Hello", white)
    assert _ink(wk, before, no_shadow) is None                  # white on white: invisible
    _, strong = _text(wk, kit, "Hello", white + "/shadow/100")
    _, light = _text(wk, kit, "Hello", white + "/shadow/40")
    assert strong.min() < 120 and light.min() > strong.min()    # opacity follows shadow
    left, top, width, height = _ink(wk, before, strong)
    _, black = _text(wk, kit, "Hello", f"/fill/{wk.b64('#000000')}")
    tl, tt, tw, th = _ink(wk, before, black)
    assert left + width > tl + tw and top + height > tt + th    # spills right and down


def test_grey_text_keeps_a_greyscale_image_grey(wk, kit):
    out = kit.run(f"watermark/2/text/{wk.b64('Hi')}/fill/{wk.b64('#FFFFFF')}",
                  kit.corpus("camera.png"))
    assert kit.decode(out.data).bands == 1
    out = kit.run(f"watermark/2/text/{wk.b64('Hi')}/fill/{wk.b64('#FF0000')}",
                  kit.corpus("camera.png"))
    assert kit.decode(out.data).bands == 3


def test_tiled_text_covers_the_image(wk, kit):
    base = wk.png(wk.solid(300, 200, wk.WHITE))
    out = kit.run(f"watermark/2/text/{wk.b64('picops 水印')}/fontsize/20/batch/1/degree/30"
                  f"/dx/10/dy/10/fill/{wk.b64('#000000')}/dissolve/100", base)
    image = kit.decode(out.data)
    for bx in range(0, 300, 75):
        for by in range(0, 200, 50):
            assert image.crop(bx, by, 75, 50).min() < 100, (bx, by)


@pytest.mark.parametrize("name", ["tahoma.ttf", "simhei黑体.ttf", "SimHei.ttf", "STHeiti-Light.ttc",
                                  "STHeiti Light华文黑体.ttc", "幼圆.TTF", "arial.ttf",
                                  "HelveticaNeue.dfont"])
def test_ci_font_names_render_in_the_shipped_font(wk, kit, name):
    font = resolve_font(name)
    assert font.family == FAMILY and font.path == str(font_file())
    before, after = _text(wk, kit, "Hi 水印", f"/font/{wk.b64(name)}")
    assert _ink(wk, before, after) is not None


def test_every_documented_font_is_accepted():
    for name in CI_FONTS:
        assert resolve_font(name).requested == name


def test_an_unknown_font_is_refused_by_name(wk, kit):
    # built without the parser, which refuses the same name in the same words first
    rule = Rule((Operation("watermark", (Param("text", Base64Text("Hi")),
                                         Param("font", Base64Text("comic.ttf"))), mode=2),))
    with pytest.raises(InvalidArgument) as err:
        execute(rule, wk.png(wk.solid(400, 120, wk.WHITE)))
    assert "watermark/2/font" in err.value.message and "comic.ttf" in err.value.message
    assert status_of(err.value.code) == 400


def test_text_that_renders_nothing_is_refused_by_name(wk, kit):
    with pytest.raises(InvalidArgument, match="watermark/2/text"):
        _text(wk, kit, "   ")


def test_the_font_is_a_real_font_file_under_a_free_licence():
    path = font_file()
    assert path.read_bytes()[:4] in (b"OTTO", b"\x00\x01\x00\x00", b"ttcf")
    licence = metadata("pylopdf-fonts-zh-cn")["License"]
    assert "SIL Open Font License" in licence
