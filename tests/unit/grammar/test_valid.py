"""Accepted rules: each case asserts the exact tree the parser builds.

The last tests check that the table covers every parameter every interface
accepts and every thumbnail geometry kind, so a parameter added to
``picops.grammar.params`` without a case here fails the suite.
"""

import pytest

import picops.grammar as grammar
from picops.grammar import (Base64Text, Blur, Cut, Geometry, Operation, Param, Quality, Rule,
                            Size, SizeLimit, parse)
from picops.grammar.ast import GEOMETRY_KINDS
from picops.grammar.params import INTERFACES

COLOR_3D = "IzNEM0QzRA"          # "#3D3D3D", unpadded
COLOR_3D_PADDED = "IzNEM0QzRA=="
COLOR_FFF = "I2ZmZmZmZg"          # "#ffffff"
WM_URL = "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/shuiyin_2.png"
WM_URL_B64 = ("aHR0cDovL2V4YW1wbGVidWNrZXQtMTI1MDAwMDAwMC5jb3MuYXAtc2hhbmdoYWkubXlxY2xvdWQu"
              "Y29tL3NodWl5aW5fMi5wbmc=")
FONT_B64 = "c2ltZmFuZ-S7v-Wuiy50dGY="  # "simfang仿宋.ttf": URL-safe alphabet uses '-'


def mogr(*params: Param) -> Rule:
    return Rule((Operation("imageMogr2", tuple(params)),))


def view(mode: int, *params: Param) -> Rule:
    return Rule((Operation("imageView2", tuple(params), mode=mode),))


def wm(mode: int, *params: Param) -> Rule:
    return Rule((Operation("watermark", tuple(params), mode=mode),))


P = Param
WM_IMAGE = P("image", Base64Text(WM_URL))
WM_TEXT = P("text", Base64Text("Hello"))

GEOMETRY_CASES = [
    ("!50p", Geometry("percent", percent=50)),
    ("!1000p", Geometry("percent", percent=1000)),
    ("!50px", Geometry("percent_width", percent=50)),
    ("!x25p", Geometry("percent_height", percent=25)),
    ("300x", Geometry("width", width=300)),
    ("x200", Geometry("height", height=200)),
    ("600x400", Geometry("fit", width=600, height=400)),
    ("600x400>", Geometry("shrink", width=600, height=400)),
    ("600x400<", Geometry("enlarge", width=600, height=400)),
    ("!600x400r", Geometry("cover", width=600, height=400)),
    ("600x400!", Geometry("exact", width=600, height=400)),
    ("250000@", Geometry("area", area=250000)),
    ("1x50000", Geometry("fit", width=1, height=50000)),
]

VALID = [
    # --- imageMogr2, one parameter each -------------------------------------------------
    *[(f"imageMogr2/thumbnail/{g}", mogr(P("thumbnail", v))) for g, v in GEOMETRY_CASES],
    ("imageMogr2/crop/300x", mogr(P("crop", Size(width=300)))),
    ("imageMogr2/crop/x200", mogr(P("crop", Size(height=200)))),
    ("imageMogr2/crop/300x400", mogr(P("crop", Size(300, 400)))),
    ("imageMogr2/crop/300x400/gravity/center",
     mogr(P("crop", Size(300, 400)), P("gravity", "center"))),
    ("imageMogr2/gravity/SouthEast/crop/300x",
     mogr(P("gravity", "southeast"), P("crop", Size(width=300)))),
    ("imageMogr2/cut/100x200x10x20", mogr(P("cut", Cut(100, 200, 10, 20)))),
    ("imageMogr2/cut/100x200x0x0", mogr(P("cut", Cut(100, 200, 0, 0)))),
    ("imageMogr2/scrop/100x100", mogr(P("scrop", Size(100, 100)))),
    ("imageMogr2/iradius/150", mogr(P("iradius", 150))),
    ("imageMogr2/rradius/20", mogr(P("rradius", 20))),
    ("imageMogr2/rotate/0", mogr(P("rotate", 0))),
    ("imageMogr2/rotate/360", mogr(P("rotate", 360))),
    ("imageMogr2/rotate/090", mogr(P("rotate", 90))),
    ("imageMogr2/auto-orient", mogr(P("auto-orient"))),
    ("imageMogr2/flip/vertical", mogr(P("flip", "vertical"))),
    ("imageMogr2/flip/horizontal", mogr(P("flip", "horizontal"))),
    ("imageMogr2/thumbnail/600x600/pad/1",
     mogr(P("thumbnail", Geometry("fit", width=600, height=600)), P("pad", 1))),
    (f"imageMogr2/thumbnail/600x600/pad/1/color/{COLOR_3D}",
     mogr(P("thumbnail", Geometry("fit", width=600, height=600)), P("pad", 1),
          P("color", Base64Text("#3D3D3D")))),
    (f"imageMogr2/thumbnail/600x400>/pad/1/color/{COLOR_3D_PADDED}",
     mogr(P("thumbnail", Geometry("shrink", width=600, height=400)), P("pad", 1),
          P("color", Base64Text("#3D3D3D")))),
    *[(f"imageMogr2/format/{f}", mogr(P("format", f)))
      for f in ("jpg", "jpeg", "png", "webp", "gif", "bmp", "avif", "heif", "heic", "tiff",
                "tpg", "yjpeg", "apng", "psd")],
    ("imageMogr2/cgif/1", mogr(P("cgif", 1))),
    ("imageMogr2/cgif/100", mogr(P("cgif", 100))),
    ("imageMogr2/interlace/0", mogr(P("interlace", 0))),
    ("imageMogr2/interlace/1", mogr(P("interlace", 1))),
    ("imageMogr2/quality/0", mogr(P("quality", Quality(0)))),
    ("imageMogr2/quality/85", mogr(P("quality", Quality(85)))),
    ("imageMogr2/quality/100!", mogr(P("quality", Quality(100, forced=True)))),
    ("imageMogr2/rquality/1", mogr(P("rquality", Quality(1)))),
    ("imageMogr2/rquality/80", mogr(P("rquality", Quality(80)))),
    ("imageMogr2/lquality/0", mogr(P("lquality", Quality(0)))),
    ("imageMogr2/lquality/80", mogr(P("lquality", Quality(80)))),
    ("imageMogr2/strip", mogr(P("strip"))),
    ("imageMogr2/blur/8x5", mogr(P("blur", Blur(8, 5.0)))),
    ("imageMogr2/blur/1x0.5", mogr(P("blur", Blur(1, 0.5)))),
    ("imageMogr2/blur/50x2.25", mogr(P("blur", Blur(50, 2.25)))),
    ("imageMogr2/sharpen/10", mogr(P("sharpen", 10))),
    ("imageMogr2/sharpen/300", mogr(P("sharpen", 300))),
    ("imageMogr2/bright/-100", mogr(P("bright", -100))),
    ("imageMogr2/bright/100", mogr(P("bright", 100))),
    ("imageMogr2/contrast/-20", mogr(P("contrast", -20))),
    ("imageMogr2/contrast/0", mogr(P("contrast", 0))),
    ("imageMogr2/grayscale/0", mogr(P("grayscale", 0))),
    ("imageMogr2/grayscale/1", mogr(P("grayscale", 1))),
    ("imageMogr2/size-limit/15k", mogr(P("size-limit", SizeLimit(15, "k")))),
    ("imageMogr2/size-limit/2m!", mogr(P("size-limit", SizeLimit(2, "m", keep_smaller=True)))),
    ("imageMogr2/ignore-error/1", mogr(P("ignore-error", 1))),
    # --- imageMogr2, several parameters in written order, flags before names -----------
    ("imageMogr2/strip/format/jpg/size-limit/15k!",
     mogr(P("strip"), P("format", "jpg"), P("size-limit", SizeLimit(15, "k", True)))),
    ("imageMogr2/auto-orient/strip/thumbnail/!50p",
     mogr(P("auto-orient"), P("strip"), P("thumbnail", Geometry("percent", percent=50)))),
    ("imageMogr2/format/webp/strip",
     mogr(P("format", "webp"), P("strip"))),
    # --- imageView2 ---------------------------------------------------------------------
    ("imageView2/1/w/500/h/400", view(1, P("w", 500), P("h", 400))),
    ("imageView2/2/w/500", view(2, P("w", 500))),
    ("imageView2/3/h/400", view(3, P("h", 400))),
    ("imageView2/4/h/400/w/500", view(4, P("h", 400), P("w", 500))),
    ("imageView2/5/w/100/h/100/format/png", view(5, P("w", 100), P("h", 100), P("format", "png"))),
    ("imageView2/2/w/100/q/80!", view(2, P("w", 100), P("q", Quality(80, forced=True)))),
    ("imageView2/2/w/100/q/80", view(2, P("w", 100), P("q", Quality(80)))),
    ("imageView2/2/w/100/rq/60", view(2, P("w", 100), P("rq", Quality(60)))),
    ("imageView2/2/w/100/lq/70", view(2, P("w", 100), P("lq", Quality(70)))),
    ("imageView2/2/w/100/ignore-error/1", view(2, P("w", 100), P("ignore-error", 1))),
    *[(f"imageView2/2/w/10/format/{f}", view(2, P("w", 10), P("format", f)))
      for f in ("jpg", "bmp", "gif", "png", "webp")],
    # --- watermark/1 (image) --------------------------------------------------------------
    (f"watermark/1/image/{WM_URL_B64}", wm(1, WM_IMAGE)),
    (f"watermark/1/image/{WM_URL_B64}/gravity/SouthEast/dx/10/dy/0",
     wm(1, WM_IMAGE, P("gravity", "southeast"), P("dx", 10), P("dy", 0))),
    (f"watermark/1/image/{WM_URL_B64}/blogo/1", wm(1, WM_IMAGE, P("blogo", 1))),
    (f"watermark/1/image/{WM_URL_B64}/blogo/2", wm(1, WM_IMAGE, P("blogo", 2))),
    (f"watermark/1/image/{WM_URL_B64}/scatype/1/spcent/1000",
     wm(1, WM_IMAGE, P("scatype", 1), P("spcent", 1000))),
    (f"watermark/1/image/{WM_URL_B64}/scatype/3/spcent/250",
     wm(1, WM_IMAGE, P("scatype", 3), P("spcent", 250))),
    (f"watermark/1/image/{WM_URL_B64}/dissolve/50", wm(1, WM_IMAGE, P("dissolve", 50))),
    (f"watermark/1/image/{WM_URL_B64}/batch/1/degree/45",
     wm(1, WM_IMAGE, P("batch", 1), P("degree", 45))),
    # --- watermark/2 (text) ---------------------------------------------------------------
    ("watermark/2/text/SGVsbG8", wm(2, WM_TEXT)),
    ("watermark/2/text/SGVsbG8=", wm(2, WM_TEXT)),
    (f"watermark/2/text/SGVsbG8/font/{FONT_B64}/fontsize/30/fill/{COLOR_FFF}",
     wm(2, WM_TEXT, P("font", Base64Text("simfang仿宋.ttf")), P("fontsize", 30),
        P("fill", Base64Text("#ffffff")))),
    ("watermark/2/text/SGVsbG8/dissolve/90/gravity/north/dx/5/dy/6",
     wm(2, WM_TEXT, P("dissolve", 90), P("gravity", "north"), P("dx", 5), P("dy", 6))),
    ("watermark/2/text/SGVsbG8/batch/1/degree/360/shadow/50",
     wm(2, WM_TEXT, P("batch", 1), P("degree", 360), P("shadow", 50))),
    # --- style and pipelines ----------------------------------------------------------------
    ("style/thumb_small-1.v2", Rule((Operation("style", style="thumb_small-1.v2"),))),
    ("imageMogr2/thumbnail/!50p|watermark/2/text/5pWw5o2u5LiH6LGh/fill/I0ZGRkZGRg==/fontsize/30"
     "/dx/20/dy/20",
     Rule((Operation("imageMogr2", (P("thumbnail", Geometry("percent", percent=50)),)),
           Operation("watermark", (P("text", Base64Text("数据万象")),
                                   P("fill", Base64Text("#FFFFFF")), P("fontsize", 30),
                                   P("dx", 20), P("dy", 20)), mode=2)))),
    ("style/a|imageMogr2/strip",
     Rule((Operation("style", style="a"), Operation("imageMogr2", (P("strip"),))))),
    ("|".join(["imageMogr2/strip"] * 10),
     Rule(tuple(Operation("imageMogr2", (P("strip"),)) for _ in range(10)))),
]


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:60] for t, _ in VALID])
def test_parses_to_exact_tree(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:60] for t, _ in VALID])
def test_canonical_print_reparses_to_same_tree(text, expected):
    assert parse(str(expected)) == expected


@pytest.mark.parametrize("text,canonical", [
    ("imageMogr2/gravity/SouthEast/crop/300x", "imageMogr2/gravity/southeast/crop/300x"),
    ("imageMogr2/rotate/090", "imageMogr2/rotate/90"),
    ("imageMogr2/blur/8x5.0", "imageMogr2/blur/8x5"),
    (f"imageMogr2/thumbnail/1x1/pad/1/color/{COLOR_3D_PADDED}",
     f"imageMogr2/thumbnail/1x1/pad/1/color/{COLOR_3D}"),
    ("imageMogr2/strip/format/jpg/size-limit/15k!", "imageMogr2/strip/format/jpg/size-limit/15k!"),
    ("imageView2/02/w/1", "imageView2/2/w/1"),
])
def test_canonical_form(text, canonical):
    assert str(parse(text)) == canonical


def test_values_are_decoded_for_the_executor():
    rule = parse(f"imageMogr2/thumbnail/600x600/pad/1/color/{COLOR_3D}/size-limit/2m!"
                 f"|watermark/1/image/{WM_URL_B64}")
    mogr_stage, wm_stage = rule.stages
    assert mogr_stage.get("color").text == "#3D3D3D"
    assert mogr_stage.get("size-limit").bytes == 2 * 1024 * 1024
    assert mogr_stage.get("thumbnail").width == 600
    assert wm_stage.get("image").text == WM_URL
    assert wm_stage.mode == 1


def test_every_accepted_parameter_has_a_valid_case():
    seen = set()
    for text, _ in VALID:
        for op in parse(text).stages:
            label = op.interface if op.mode is None or op.interface == "imageView2" \
                else f"{op.interface}/{op.mode}"
            seen.update((label, p.name) for p in op.params)
    wanted = {(label, name) for label, spec in INTERFACES.items() for name in spec.accepted()}
    assert wanted - seen == set()


def test_every_geometry_kind_has_a_valid_case():
    assert {g.kind for _, g in GEOMETRY_CASES} == set(GEOMETRY_KINDS)


def test_every_imageview2_mode_is_accepted():
    assert [parse(f"imageView2/{m}/w/10").stages[0].mode for m in range(1, 6)] == [1, 2, 3, 4, 5]


def test_exported_names():
    assert set(grammar.__all__) == {"MAX_STAGES", "Base64Text", "Blur", "Cut", "Geometry",
                                    "Operation", "Param", "Quality", "Rule", "Size",
                                    "SizeLimit", "parse"}
    assert grammar.MAX_STAGES == 10
