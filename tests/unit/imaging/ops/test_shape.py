"""iradius and rradius: the mask's geometry, the outside per output format, the limits."""

import pytest

from picops_emulator.imaging import InvalidArgument


def _grey_png(kit, width, height, value=100):
    image = (kit.pyvips.Image.black(width, height) + value).cast("uchar")
    return image.bandjoin([image, image]).copy(interpretation="srgb").pngsave_buffer()


def test_iradius_is_a_2r_square_with_a_transparent_outside_in_png(kit):
    out = kit.run("imageMogr2/iradius/50", _grey_png(kit, 300, 200))
    image = kit.decode(out.data)
    assert (out.format, out.width, out.height, image.bands) == ("png", 100, 100, 4)
    alpha = image[3]
    assert alpha(50, 50)[0] == 255 and alpha(50, 2)[0] == 255 and alpha(2, 50)[0] == 255
    for corner in ((0, 0), (99, 0), (0, 99), (99, 99), (12, 12)):
        assert alpha(*corner)[0] == 0
    # the covered area is the circle's: pi r^2 of (2r)^2 = 78.5 %
    assert abs(alpha.avg() / 255 - 0.7854) < 0.01
    assert image[0:3].crop(40, 40, 20, 20).avg() == 100       # the inside is untouched


@pytest.mark.parametrize("fmt", ["jpg", "bmp"])
def test_iradius_outside_is_white_without_alpha(kit, fmt):
    out = kit.run(f"imageMogr2/iradius/50/format/{fmt}", _grey_png(kit, 300, 200))
    image = kit.pyvips.Image.new_from_buffer(out.data, "") if fmt != "bmp" else None
    if image is None:
        from io import BytesIO

        from PIL import Image
        pil = Image.open(BytesIO(out.data)).convert("RGB")
        corner, centre = pil.getpixel((1, 1)), pil.getpixel((50, 50))
    else:
        corner, centre = image(1, 1), image(50, 50)
    assert (out.width, out.height) == (100, 100)
    assert min(corner) >= 250 and abs(sum(centre) / 3 - 100) < 3


def test_iradius_on_rgba_keeps_the_existing_transparency(kit):
    src = kit.corpus("coffee_alpha.png")   # alpha ramps from transparent (left) to opaque
    before = kit.decode(src)
    out = kit.run("imageMogr2/iradius/150/format/webp", src)
    image = kit.decode(out.data)
    assert (out.format, out.width, out.height, image.hasalpha()) == ("webp", 300, 300, True)
    # centre column of the circle: alpha equals the source's alpha there (150 + 150 = 300)
    assert abs(image[3](150, 150)[0] - before[3](300, 200)[0]) <= 2
    assert image[3](5, 5)[0] == 0


def test_rradius_rounds_only_the_corners(kit):
    out = kit.run("imageMogr2/rradius/40", _grey_png(kit, 300, 200))
    image = kit.decode(out.data)
    assert (out.width, out.height, image.bands) == (300, 200, 4)
    alpha = image[3]
    for opaque in ((150, 0), (0, 100), (299, 100), (150, 199), (40, 0), (0, 40), (150, 100)):
        assert alpha(*opaque)[0] == 255, opaque
    for clear in ((0, 0), (299, 0), (0, 199), (299, 199), (5, 5)):
        assert alpha(*clear)[0] == 0, clear
    # each corner loses r^2 - pi r^2 / 4 = 343 px
    lost = (1 - alpha.avg() / 255) * 300 * 200
    assert abs(lost - 4 * (1600 - 3.14159 * 400)) < 20


@pytest.mark.parametrize("name", ["iradius", "rradius"])
@pytest.mark.parametrize("radius", [100, 101, 5000])
def test_radius_of_half_the_short_side_or_more_is_invalid(kit, name, radius):
    with pytest.raises(InvalidArgument) as err:
        kit.run(f"imageMogr2/{name}/{radius}", _grey_png(kit, 300, 200))
    message = err.value.message
    assert f"imageMogr2/{name}/{radius}" in message and "300x200" in message
    assert "at most 99" in message and err.value.ci_errno == -60998


def test_radius_just_below_half_is_fine(kit):
    out = kit.run("imageMogr2/iradius/99", _grey_png(kit, 300, 200))
    assert (out.width, out.height) == (198, 198)
    assert kit.run("imageMogr2/rradius/99", _grey_png(kit, 300, 200)).width == 300


@pytest.mark.parametrize("rule", ["imageMogr2/iradius/20", "imageMogr2/rradius/20"])
def test_gif_input_is_refused_as_ci_documents(kit, rule):
    with pytest.raises(InvalidArgument, match="does not support .* on GIF"):
        kit.run(rule, kit.corpus("chelsea_anim.gif"))
    # once an earlier stage wrote another format, the stage input is no longer a GIF
    out = kit.run(f"imageMogr2/format/png|{rule}", kit.corpus("chelsea_anim.gif"))
    assert out.format == "png" and kit.decode(out.data).hasalpha()


def test_ignore_error_returns_the_input_for_a_too_large_radius(kit):
    data = _grey_png(kit, 300, 200)
    assert kit.run("imageMogr2/iradius/150/ignore-error/1", data).data == data


def test_16_bit_png_keeps_16_bits_through_rradius(kit):
    out = kit.run("imageMogr2/rradius/50", kit.corpus("camera_16bit.png"))
    image = kit.decode(out.data)
    assert (image.format, image.bands, image.interpretation) == ("ushort", 2, "grey16")
    assert image[1](256, 256)[0] == 65535 and image[1](0, 0)[0] == 0
