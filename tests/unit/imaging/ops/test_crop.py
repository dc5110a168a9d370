"""crop (+ gravity), cut and scrop on real pixels: boxes, documented examples, errors."""

import pytest

from picops_emulator.imaging import InvalidArgument
from picops_emulator.errors import status_of

# (gravity, expected top-left) for a 120x80 box in the 200x133 test image; the remainders
# are 80 and 53, so centred positions put the odd pixel right/bottom (floor of the half).
GRAVITIES = [
    ("northwest", (0, 0)), ("north", (40, 0)), ("northeast", (80, 0)),
    ("west", (0, 26)), ("center", (40, 26)), ("east", (80, 26)),
    ("southwest", (0, 53)), ("south", (40, 53)), ("southeast", (80, 53)),
]


def _small(kit, name="coffee.png", width=200):
    image = kit.pyvips.Image.new_from_buffer(kit.corpus(name), "").thumbnail_image(width)
    return image, image.pngsave_buffer()


@pytest.mark.parametrize("gravity,corner", GRAVITIES)
def test_crop_places_the_box_at_each_gravity(kit, gravity, corner):
    image, data = _small(kit)
    assert (image.width, image.height) == (200, 133)
    out = kit.run(f"imageMogr2/crop/120x80/gravity/{gravity}", data)
    assert (out.width, out.height, out.format) == (120, 80, "png")
    expected = image.crop(corner[0], corner[1], 120, 80)
    assert kit.mad(kit.decode(out.data), expected) == 0   # a crop is a pure pixel copy


def test_gravity_is_case_insensitive_and_defaults_to_northwest(kit):
    image, data = _small(kit)
    upper = kit.decode(kit.run("imageMogr2/crop/50x50/gravity/SouthEast", data).data)
    assert kit.mad(upper, image.crop(150, 83, 50, 50)) == 0
    default = kit.decode(kit.run("imageMogr2/crop/50x50", data).data)
    assert kit.mad(default, image.crop(0, 0, 50, 50)) == 0


@pytest.mark.parametrize("size,expected", [("120x", (120, 133)), ("x60", (200, 60)),
                                           ("200x133", (200, 133)), ("200x", (200, 133))])
def test_a_missing_side_keeps_the_image_size(kit, size, expected):
    _, data = _small(kit)
    out = kit.run(f"imageMogr2/crop/{size}/gravity/center", data)
    assert (out.width, out.height) == expected


def test_documented_crop_example_is_a_plain_centre_crop(kit):
    # Reference §5.1/§5.3: crop/300x400/gravity/center, no scaling first.
    src = kit.corpus("grace_hopper.jpg")                      # 512x600
    out = kit.run("imageMogr2/crop/300x400/gravity/center", src)
    assert (out.format, out.width, out.height) == ("jpg", 300, 400)
    whole = kit.decode(src)
    # (512 - 300) / 2 = 106, (600 - 400) / 2 = 100; only JPEG re-encoding noise remains
    assert kit.mad(kit.decode(out.data), whole.crop(106, 100, 300, 400)) < 4
    assert kit.mad(kit.decode(out.data), whole.crop(100, 100, 300, 400)) > 10


@pytest.mark.parametrize("rule,named", [
    ("imageMogr2/crop/700x", "width 700"),
    ("imageMogr2/crop/x401/gravity/center", "height 401"),
    ("imageMogr2/crop/601x10", "width 601"),
])
def test_crop_larger_than_the_image_is_invalid(kit, rule, named):
    with pytest.raises(InvalidArgument) as err:
        kit.run(rule, kit.corpus("coffee.png"))               # 600x400
    message = err.value.message
    assert "imageMogr2/crop/" in message and named in message and "600x400" in message
    assert "-60998" in message
    assert (err.value.code, status_of(err.value.code), err.value.ci_errno) == \
        ("InvalidArgument", 400, -60998)


def test_ignore_error_returns_the_input_when_the_crop_does_not_fit(kit):
    data = kit.corpus("coffee.png")
    out = kit.run("imageMogr2/crop/700x/ignore-error/1", data)
    assert out.data == data and (out.width, out.height) == (600, 400)


def test_crop_is_measured_after_earlier_geometry_in_the_segment(kit):
    # thumbnail first makes the image 100 px wide, so a 150 px crop no longer fits
    with pytest.raises(InvalidArgument, match="width 150 is larger than the 100x67 image"):
        kit.run("imageMogr2/thumbnail/100x/crop/150x", kit.corpus("coffee.png"))
    out = kit.run("imageMogr2/crop/150x/thumbnail/100x", kit.corpus("coffee.png"))
    assert (out.width, out.height) == (100, 267)             # 150x400 -> 100x267


def test_cut_takes_the_rectangle_at_dx_dy(kit):
    image, data = _small(kit)
    out = kit.run("imageMogr2/cut/80x60x100x50", data)
    assert (out.width, out.height) == (80, 60)
    assert kit.mad(kit.decode(out.data), image.crop(100, 50, 80, 60)) == 0
    corner = kit.run("imageMogr2/cut/30x20x0x0", data)       # dx/dy 0: the top-left corner
    assert kit.mad(kit.decode(corner.data), image.crop(0, 0, 30, 20)) == 0


def test_cut_reaching_past_the_edge_is_clipped(kit):
    image, data = _small(kit)
    out = kit.run("imageMogr2/cut/100x100x150x100", data)     # 200x133: 50x33 remain
    assert (out.width, out.height) == (50, 33)
    assert kit.mad(kit.decode(out.data), image.crop(150, 100, 50, 33)) == 0


@pytest.mark.parametrize("cut,named", [
    ("10x10x200x0", "corner (200, 0) lies outside the 200x133 image"),
    ("10x10x0x133", "corner (0, 133) lies outside the 200x133 image"),
    ("201x10x0x0", "width 201 is larger than the 200x133 image"),
])
def test_cut_outside_the_image_is_invalid(kit, cut, named):
    _, data = _small(kit)
    with pytest.raises(InvalidArgument) as err:
        kit.run(f"imageMogr2/cut/{cut}", data)
    assert f"imageMogr2/cut/{cut}" in err.value.message and named in err.value.message
    assert err.value.ci_errno == -60998


def test_scrop_is_a_cover_scale_then_libvips_attention_crop(kit):
    src = kit.corpus("grace_hopper.jpg")                      # 512x600
    out = kit.run("imageMogr2/scrop/200x100", src)
    assert (out.format, out.width, out.height) == ("jpg", 200, 100)
    # cover scale max(200/512, 100/600) -> 200x234, then the attention box of 200x100
    scaled = kit.pyvips.Image.thumbnail_buffer(src, 200, height=234, size="force") \
        .copy_memory()
    expected = scaled.smartcrop(200, 100, interesting="attention")
    result = kit.decode(out.data)
    centred = scaled.crop(0, 67, 200, 100)
    assert kit.mad(result, expected) < 5 < kit.mad(result, centred) - 5


def test_scrop_follows_the_interesting_region_not_the_centre(kit):
    # Flat grey with one saturated, detailed patch near the bottom-right corner: the attention
    # crop must contain it, where a centre crop would miss it entirely.
    grey = kit.pyvips.Image.black(500, 300) + 128
    patch = (kit.pyvips.Image.xyz(60, 60)[0] % 8 * 30).cast("uchar")
    red = patch.bandjoin([patch * 0, patch * 0]).copy(interpretation="srgb")
    image = grey.bandjoin([grey, grey]).cast("uchar").copy(interpretation="srgb")
    image = image.insert(red, 440, 240)                       # scaled: x 147..167
    out = kit.run("imageMogr2/scrop/100x100", image.pngsave_buffer())  # cover: 167x100
    result = kit.decode(out.data)
    assert (result.width, result.height) == (100, 100)
    reddish = result[0].cast("int") - result[1]
    assert reddish.max() > 100                               # the red patch is in view
    centre = kit.run("imageMogr2/crop/100x100/gravity/center",
                     image.thumbnail_image(167, height=100, size="force").pngsave_buffer())
    centred = kit.decode(centre.data)
    assert (centred[0].cast("int") - centred[1]).max() < 10  # ... but not in the centre


def test_scrop_enlarges_a_small_image_to_cover(kit):
    out = kit.run("imageMogr2/scrop/300x300", kit.jpeg(120, 80))
    assert (out.width, out.height) == (300, 300)


def test_scrop_and_crop_use_shrink_on_load(kit, no_full_decode):
    big = kit.jpeg(2400, 1600)
    out = kit.run("imageMogr2/scrop/120x90", big)
    assert (out.width, out.height) == (120, 90)
    out = kit.run("imageMogr2/thumbnail/300x/crop/100x100/gravity/center", big)
    assert (out.width, out.height) == (100, 100)


def test_animated_gif_keeps_frames_and_delays_through_crop(kit):
    src = kit.corpus("chelsea_anim.gif")                      # 6 frames of 160x106
    original = kit.decode(src, n=-1)
    out = kit.run("imageMogr2/crop/100x80/gravity/center", src)
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 6, 100, 80)
    image = kit.decode(out.data, n=-1)
    assert image.get("page-height") == 80 and image.height == 480
    assert list(image.get("delay")) == list(original.get("delay"))
    for i in (0, 3, 5):   # every frame is its own frame's centre, not frame 0's
        frame = image.crop(0, 80 * i, 100, 80)
        expected = original.crop(30, 106 * i + 13, 100, 80)
        assert kit.mad(frame, expected) < 6
