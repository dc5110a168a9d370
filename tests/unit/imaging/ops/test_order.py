"""Several params in one imageMogr2 segment: the documented order, and what flows through it
(orientation, CMYK colour, alpha, animation, ignore-error)."""

import pytest

from picops_emulator.imaging import InvalidArgument, UnsupportedOperation
from picops_emulator.imaging.geometry import rotated_size
from picops_emulator.imaging.ops.base import ENCODE, FRAMES, GEOMETRY, LIMIT, MODIFIER, ORIENT
from picops_emulator.imaging.ops.mogr2 import STEPS

PIXEL_OPS = ("thumbnail", "crop", "cut", "scrop", "iradius", "rradius", "rotate", "flip",
             "blur", "sharpen", "bright", "contrast", "grayscale")


def test_every_grammar_param_has_a_handler_in_its_documented_phase():
    from picops.grammar.params import IMAGE_MOGR2_PARAMS
    accepted = {name for name, spec in IMAGE_MOGR2_PARAMS.items() if spec.rejected is None}
    assert accepted <= set(STEPS)
    assert STEPS["auto-orient"].phase == ORIENT and STEPS["cgif"].phase == FRAMES
    assert all(STEPS[name].phase == GEOMETRY for name in PIXEL_OPS)
    assert all(STEPS[name].phase == ENCODE for name in ("format", "quality", "strip"))
    assert STEPS["size-limit"].phase == LIMIT
    assert all(STEPS[name].phase == MODIFIER for name in ("gravity", "pad", "ignore-error"))


@pytest.mark.parametrize("rule,expected", [
    # geometry runs in written order
    ("imageMogr2/crop/300x/rotate/90", (400, 300)),
    ("imageMogr2/rotate/90/crop/300x", (300, 600)),
    ("imageMogr2/thumbnail/300x/crop/100x100/gravity/center", (100, 100)),
    ("imageMogr2/crop/300x300/thumbnail/100x", (100, 100)),
    ("imageMogr2/cut/300x200x100x100/iradius/50", (100, 100)),
    ("imageMogr2/iradius/100/thumbnail/50x", (50, 50)),
    ("imageMogr2/scrop/200x100/rotate/270/flip/vertical", (100, 200)),
    # encode settings written before the geometry still apply to the segment's output
    ("imageMogr2/format/png/quality/50/crop/100x", (100, 400)),
])
def test_geometry_in_written_order(kit, rule, expected):
    out = kit.run(rule, kit.corpus("coffee.png"))                  # 600x400
    assert (out.width, out.height) == expected


def test_crop_written_before_a_thumbnail_crops_the_full_image(kit):
    src = kit.corpus("coffee.png")
    out = kit.decode(kit.run("imageMogr2/crop/300x200/gravity/center/thumbnail/150x", src).data)
    reference = kit.decode(src).crop(150, 100, 300, 200).resize(0.5)
    assert (out.width, out.height) == (150, 100) and kit.mad(out, reference) < 3


def test_auto_orient_written_last_still_runs_before_the_crop(kit):
    src = kit.corpus("chelsea_exif6.jpg")                          # displayed 451x300
    first = kit.run("imageMogr2/auto-orient/crop/400x/gravity/east", src)
    last = kit.run("imageMogr2/crop/400x/gravity/east/auto-orient", src)
    assert (first.width, first.height) == (last.width, last.height) == (400, 300)
    assert kit.mad(kit.decode(first.data), kit.decode(last.data)) < 0.5
    upright = kit.decode(kit.run("imageMogr2/auto-orient/format/png", src).data)
    assert kit.mad(kit.decode(first.data), upright.crop(51, 0, 400, 300)) < 3


def test_cmyk_input_is_cropped_in_srgb(kit):
    src = kit.corpus("coffee_cmyk.jpg")
    out = kit.run("imageMogr2/crop/200x150/gravity/center/format/png", src)
    image = kit.decode(out.data)
    assert (image.interpretation, image.bands) == ("srgb", 3)
    whole = kit.decode(kit.run("imageMogr2/format/png", src).data)
    assert kit.mad(image, whole.crop(200, 125, 200, 150)) == 0
    # and the colours are the photo's, not raw CMYK numbers read as RGB
    reference = kit.decode(kit.corpus("coffee.png")).crop(200, 125, 200, 150)
    for band in range(3):
        assert abs(image[band].avg() - reference[band].avg()) < 20


def test_filters_after_a_thumbnail_keep_shrink_on_load(kit, no_full_decode):
    out = kit.run("imageMogr2/thumbnail/200x/blur/4x2/sharpen/70/bright/10/contrast/10"
                  "/grayscale/1/rotate/30/rradius/20", kit.jpeg(2400, 1600))
    assert (out.width, out.height) == rotated_size(200, 133, 30)


def test_rgba_alpha_survives_a_chain_into_png_and_webp(kit):
    for fmt in ("png", "webp"):
        out = kit.run(f"imageMogr2/thumbnail/300x/rotate/20/rradius/30/bright/10/format/{fmt}",
                      kit.corpus("coffee_alpha.png"))
        image = kit.decode(out.data)
        assert image.hasalpha() and image[3].min() == 0 and image[3].max() == 255


def test_animation_survives_a_chain_of_per_frame_operations(kit):
    out = kit.run("imageMogr2/cgif/3/crop/120x90/gravity/center/rotate/180/contrast/20"
                  "/format/webp", kit.corpus("chelsea_anim.gif"))
    assert (out.format, out.frame_count, out.width, out.height) == ("webp", 3, 120, 90)


def test_ignore_error_rolls_back_only_the_failing_stage(kit):
    src = kit.corpus("coffee.png")
    out = kit.run("imageMogr2/crop/100x100|imageMogr2/iradius/80/ignore-error/1"
                  "|imageMogr2/rotate/90", src)
    assert (out.width, out.height) == (100, 100)                   # iradius 80 >= 50: skipped
    with pytest.raises(InvalidArgument, match=r"^stage 2 \(imageMogr2/iradius/80\)"):
        kit.run("imageMogr2/crop/100x100|imageMogr2/iradius/80", src)


def test_ignore_error_never_hides_an_unsupported_format(kit):
    with pytest.raises(UnsupportedOperation):
        kit.run("imageMogr2/crop/100x/format/heif/ignore-error/1", kit.corpus("coffee.png"))
