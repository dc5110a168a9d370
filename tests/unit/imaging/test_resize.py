"""imageMogr2/thumbnail and imageView2 executed on real pixels: sizes, pad, fast path, pixels."""

import pytest


@pytest.fixture(scope="module")
def src_1000x500():
    from picops_emulator.imaging.libvips import pyvips
    x = pyvips.Image.xyz(1000, 500)
    image = (x[0] / 4).bandjoin([x[1] / 2, (x[0] + x[1]) / 6]).cast("uchar")
    return image.copy(interpretation="srgb").jpegsave_buffer(Q=90)


@pytest.mark.parametrize("geometry,expected", [
    ("!50p", (500, 250)), ("!50px", (500, 500)), ("!x50p", (1000, 250)),
    ("500x", (500, 250)), ("x100", (200, 100)), ("400x400", (400, 200)),
    ("2000x1500", (2000, 1000)), ("400x400>", (400, 200)), ("2000x2000>", (1000, 500)),
    ("2000x2000<", (2000, 1000)), ("400x400<", (1000, 500)), ("!400x400r", (800, 400)),
    ("300x300!", (300, 300)), ("100000@", (447, 223)),
])
def test_thumbnail_geometries(kit, src_1000x500, geometry, expected):
    out = kit.run(f"imageMogr2/thumbnail/{geometry}", src_1000x500)
    assert (out.width, out.height) == expected
    image = kit.decode(out.data)
    assert (image.width, image.height) == expected
    assert out.format == "jpg" and out.data[:3] == b"\xff\xd8\xff"
    assert out.size == len(out.data)


@pytest.mark.parametrize("rule,expected", [
    ("imageView2/1/w/500/h/400", (500, 400)),
    ("imageView2/2/w/500/h/400", (500, 250)),
    ("imageView2/3/w/500/h/400", (800, 400)),
    ("imageView2/4/w/500/h/200", (500, 250)),
    ("imageView2/5/w/500/h/200", (500, 200)),
    ("imageView2/1/w/300", (300, 300)),
    ("imageView2/2/h/100", (200, 100)),
    ("imageView2/2/w/2000/h/2000", (1000, 500)),   # never enlarges
])
def test_view2_documented_examples(kit, src_1000x500, rule, expected):
    out = kit.run(rule, src_1000x500)
    assert (out.width, out.height) == expected
    assert (kit.decode(out.data).width, kit.decode(out.data).height) == expected


def test_view2_mode1_crops_the_centre(kit):
    # 1000x500: left half black, right half white. Cover 500x400 scales to 800x400 and cuts
    # 150 px a side, so the seam must stay exactly in the middle.
    black = kit.pyvips.Image.black(500, 500)
    src = black.join(black + 255, "horizontal").cast("uchar").pngsave_buffer()
    out = kit.decode(kit.run("imageView2/1/w/500/h/400", src).data)
    assert out.crop(0, 0, 240, 400).avg() < 5
    assert out.crop(260, 0, 240, 400).avg() > 250


def test_resized_pixels_match_a_reference_resize(kit):
    src = kit.corpus("coffee.png")
    out = kit.decode(kit.run("imageMogr2/thumbnail/300x", src).data)
    ref = kit.pyvips.Image.new_from_buffer(src, "").resize(0.5)
    assert (out.width, out.height) == (300, 200)
    assert kit.mad(out, ref) < 3


def test_pad_centres_on_a_coloured_canvas(kit):
    out = kit.run("imageMogr2/thumbnail/300x300/pad/1/color/IzNEM0QzRA",
                  kit.corpus("coffee.png"))   # 600x400 -> 300x200 on 300x300, #3D3D3D
    image = kit.decode(out.data)
    assert (out.width, out.height) == (image.width, image.height) == (300, 300)
    top_band = image.crop(0, 0, 300, 50)
    assert [round(top_band[i].avg()) for i in range(3)] == [0x3D, 0x3D, 0x3D]
    assert kit.mad(image.crop(0, 50, 300, 200),
                   kit.pyvips.Image.new_from_buffer(kit.corpus("coffee.png"), "")
                   .resize(0.5)) < 3


def test_pad_defaults_to_white_and_needs_a_box(kit):
    from picops_emulator.imaging import InvalidArgument
    out = kit.run("imageMogr2/thumbnail/300x300/pad/1", kit.corpus("coffee.png"))
    assert kit.decode(out.data).crop(0, 0, 300, 40).min() >= 250
    # The grammar refuses this too; the engine checks on its own (tree built by hand).
    from picops.grammar import parse
    from picops.grammar.ast import Operation, Param, Rule
    from picops_emulator.imaging import execute
    width_only = parse("imageMogr2/thumbnail/300x").stages[0].params[0]
    rule = Rule((Operation("imageMogr2", (width_only, Param("pad", 1))),))
    with pytest.raises(InvalidArgument, match="pad needs a thumbnail geometry with a box"):
        execute(rule, kit.corpus("coffee.png"))


def test_thumbnail_and_view2_use_shrink_on_load(kit, no_full_decode):
    big = kit.jpeg(2400, 1800, q=85)
    out = kit.run("imageMogr2/thumbnail/400x", big)
    assert (out.width, out.height) == (400, 300)
    out = kit.run("imageView2/1/w/200/h/200", big)
    assert (out.width, out.height) == (200, 200)
    out = kit.run("imageMogr2/auto-orient/thumbnail/100x/strip/format/webp", big)
    assert out.format == "webp"


def test_greyscale_stays_greyscale(kit):
    out = kit.run("imageMogr2/thumbnail/100x", kit.corpus("camera.png"))
    image = kit.decode(out.data)
    assert image.bands == 1 and image.interpretation == "b-w"
    out = kit.run("imageMogr2/thumbnail/100x/format/jpg", kit.corpus("camera.png"))
    assert kit.decode(out.data).bands == 1


@pytest.mark.parametrize("size, rule, expected", [
    ((2000, 3), "imageMogr2/thumbnail/1x1!", (1, 1)),
    ((2000, 3), "imageMogr2/thumbnail/100x", (100, 1)),
    ((9999, 1), "imageMogr2/thumbnail/1x", (1, 1)),
    ((1, 9999), "imageMogr2/thumbnail/x1", (1, 1)),
    ((9999, 1), "imageView2/2/w/1", (1, 1)),
    ((3, 2000), "imageMogr2/thumbnail/2x2!", (2, 2)),
])
def test_a_valid_jpeg_a_few_pixels_thin_is_resized_not_an_internal_error(kit, size, rule,
                                                                         expected):
    """libvips' jpegload at 1/N rounds a side down and refuses 0: the decode scale must
    keep every side at least 1 px (these answered 500 InternalError, then dead letters)."""
    out = kit.run(rule, kit.jpeg(*size))
    assert (out.width, out.height) == expected
    assert (kit.decode(out.data).width, kit.decode(out.data).height) == expected
