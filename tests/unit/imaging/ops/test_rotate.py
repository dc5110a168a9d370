"""rotate (clockwise, any angle) and flip: direction, exactness, size, background, frames."""

import pytest

from picops_emulator.imaging.geometry import rotated_size


def _marked(kit, width=60, height=40, alpha=False):
    """Mid-grey image with a white 10x10 mark in the top-left corner, as PNG."""
    grey = (kit.pyvips.Image.black(width, height) + 100).cast("uchar")
    image = grey.draw_rect(255, 0, 0, 10, 10, fill=True)
    image = image.bandjoin([image, image]).copy(interpretation="srgb")
    if alpha:
        image = image.bandjoin(255)
    return image, image.pngsave_buffer()


@pytest.mark.parametrize("degrees,method", [(90, "rot90"), (180, "rot180"), (270, "rot270")])
def test_right_angles_are_exact_pixel_moves(kit, degrees, method):
    image, data = _marked(kit)
    out = kit.decode(kit.run(f"imageMogr2/rotate/{degrees}", data).data)
    expected = getattr(image, method)()
    assert (out.width, out.height) == (expected.width, expected.height)
    assert kit.mad(out, expected) == 0


def test_rotation_is_clockwise(kit):
    _, data = _marked(kit)
    out = kit.decode(kit.run("imageMogr2/rotate/90", data).data)    # 40x60
    assert out(35, 5)[0] == 255 and out(5, 5)[0] == 100        # mark moved to top-right
    _, data = _marked(kit, alpha=True)
    out = kit.decode(kit.run("imageMogr2/rotate/10", data).data)
    # 10 degrees clockwise lifts the top-left corner highest: the first opaque pixels of the
    # bounding box are in its left half (counter-clockwise would put them on the right)
    top = out[3].crop(0, 0, out.width, 3)
    half = out.width // 2
    assert top.crop(0, 0, half, 3).avg() > 20 and top.crop(half, 0, half, 3).avg() == 0


@pytest.mark.parametrize("degrees", [0, 360])
def test_zero_and_full_turns_change_nothing(kit, degrees):
    image, data = _marked(kit)
    out = kit.decode(kit.run(f"imageMogr2/rotate/{degrees}", data).data)
    assert kit.mad(out, image) == 0


@pytest.mark.parametrize("degrees", [30, 45, 135, 200, 359])
def test_any_angle_gives_the_bounding_box_with_white_corners(kit, degrees):
    _, data = _marked(kit, 200, 100)
    out = kit.run(f"imageMogr2/rotate/{degrees}", data)
    assert (out.width, out.height) == rotated_size(200, 100, degrees)
    image = kit.decode(out.data)
    assert image.bands == 3                                      # no alpha added
    if degrees % 90:
        corners = [image(x, y) for x in (0, image.width - 1) for y in (0, image.height - 1)]
        assert sum(1 for c in corners if min(c) >= 250) >= 2


def test_documented_worked_size_for_45_degrees(kit):
    # 600x400 turned 45 degrees: (600 + 400) * cos 45 = 707.1 -> 707 x 707
    out = kit.run("imageMogr2/rotate/45", kit.corpus("coffee.png"))
    assert (out.width, out.height) == (707, 707)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_rgba_input_gets_transparent_corners_and_keeps_alpha(kit, fmt):
    _, data = _marked(kit, 100, 60, alpha=True)
    out = kit.run(f"imageMogr2/rotate/30/format/{fmt}", data)
    image = kit.decode(out.data)
    assert out.format == fmt and image.bands == 4
    assert image[3](0, 0)[0] == 0                                 # corner: transparent
    centre = image(image.width // 2, image.height // 2)
    assert centre[3] == 255 and abs(centre[0] - 100) <= 2         # no dark fringe inside


def test_rotated_jpeg_of_rgba_is_flattened_on_white(kit):
    out = kit.run("imageMogr2/rotate/30/format/jpg", kit.corpus("coffee_alpha.png"))
    image = kit.decode(out.data)
    assert image.bands == 3 and min(image(0, 0)) >= 245


def test_flip_mirrors_exactly(kit):
    image, data = _marked(kit)
    vertical = kit.decode(kit.run("imageMogr2/flip/vertical", data).data)
    horizontal = kit.decode(kit.run("imageMogr2/flip/horizontal", data).data)
    assert kit.mad(vertical, image.flip("vertical")) == 0
    assert kit.mad(horizontal, image.flip("horizontal")) == 0
    assert vertical(0, 39)[0] == 255 and horizontal(59, 0)[0] == 255


def test_animated_gif_rotates_and_flips_frame_by_frame(kit):
    src = kit.corpus("chelsea_anim.gif")                        # 6 frames of 160x106
    original = kit.decode(src, n=-1)
    out = kit.run("imageMogr2/rotate/90/flip/vertical", src)
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 6, 106, 160)
    image = kit.decode(out.data, n=-1)
    assert list(image.get("delay")) == list(original.get("delay"))
    for i in (0, 4):
        frame = image.crop(0, 160 * i, 106, 160)
        expected = original.crop(0, 106 * i, 160, 106).rot90().flip("vertical")
        assert kit.mad(frame, expected) < 6                       # GIF palette noise only


def test_exif_rotated_input_rotates_the_displayed_image_with_auto_orient(kit):
    src = kit.corpus("chelsea_exif6.jpg")   # stored 300x451, displayed 451x300
    out = kit.run("imageMogr2/auto-orient/rotate/90", src)
    assert (out.width, out.height) == (300, 451)
    upright = kit.decode(kit.run("imageMogr2/auto-orient/format/png", src).data)
    assert kit.mad(kit.decode(out.data), upright.rot90()) < 3
    # without auto-orient the stored pixels turn and the tag still travels with them
    stored = kit.run("imageMogr2/rotate/90", src)
    assert (stored.width, stored.height) == (451, 300)
    assert kit.decode(stored.data).get("orientation") == 6


def test_rotate_that_would_exceed_the_output_limit_is_refused(kit):
    from picops_emulator.imaging import ImageResolutionExceed, Limits
    with pytest.raises(ImageResolutionExceed, match="imageMogr2/rotate/45"):
        kit.run("imageMogr2/rotate/45", kit.corpus("coffee.png"),
                limits=Limits(max_output_side=700))


@pytest.mark.parametrize("rule,expected", [
    ("imageMogr2/rotate/90", lambda whole: whole.rot90()),
    ("imageMogr2/rotate/180", lambda whole: whole.rot180()),
    ("imageMogr2/flip/vertical", lambda whole: whole.flip("vertical")),
    ("imageMogr2/thumbnail/300x|imageMogr2/rotate/270",
     lambda whole: whole.resize(0.75).rot270()),
    ("imageMogr2/rotate/33", None),
])
def test_turning_a_streamed_jpeg_works(kit, rule, expected):
    # A tall JPEG is decoded as a stream, top to bottom; turning it reads rows bottom-up or
    # column by column, which the stream refuses unless the pixels are held first.
    src = kit.jpeg(400, 1000)
    image = kit.decode(kit.run(rule, src).data)
    if expected is None:
        assert (image.width, image.height) == rotated_size(400, 1000, 33)
        assert image.crop(image.width // 2 - 50, image.height // 2 - 50, 100, 100).min() < 250
    else:
        reference = expected(kit.decode(src))
        assert (image.width, image.height) == (reference.width, reference.height)
        assert kit.mad(image, reference) < 2
