"""probe(): the OriginalInfo/ImageInfo facts of each kind of input."""

import pytest

from picops_emulator.imaging import ImageInfo, probe


@pytest.mark.parametrize("name,fmt,size,orientation,frames", [
    ("rocket.jpg", "JPEG", (640, 427), 0, 1),
    ("grace_hopper.jpg", "JPEG", (512, 600), 0, 1),
    ("chelsea_exif6.jpg", "JPEG", (300, 451), 6, 1),   # stored size, tag reported
    ("coffee_cmyk.jpg", "JPEG", (600, 400), 1, 1),
    ("coffee.png", "PNG", (600, 400), 0, 1),
    ("camera_16bit.png", "PNG", (512, 512), 1, 1),
    ("coffee.webp", "WEBP", (600, 400), 1, 1),
    ("chelsea_anim.gif", "GIF", (160, 106), 0, 6),
])
def test_probe_corpus(kit, name, fmt, size, orientation, frames):
    info = probe(kit.corpus(name))
    assert isinstance(info, ImageInfo)
    assert info.format == fmt
    assert (info.width, info.height) == size
    assert info.orientation == orientation
    assert info.frame_count == frames
    assert info.ave.startswith("0x") and len(info.ave) == 8
    int(info.ave[2:], 16)


def test_ave_is_the_mean_colour(kit):
    solid = (kit.pyvips.Image.black(40, 30) + [18, 52, 86]).cast("uchar") \
        .copy(interpretation="srgb")
    assert probe(solid.pngsave_buffer()).ave == "0x123456"
    # greyscale repeats its one channel; 16-bit is scaled to 8
    grey = (kit.pyvips.Image.black(40, 30) + 0xAB).cast("uchar").copy(interpretation="b-w")
    assert probe(grey.pngsave_buffer()).ave == "0xababab"
    grey16 = (kit.pyvips.Image.black(40, 30) + 0xAB * 257).cast("ushort") \
        .copy(interpretation="grey16")
    assert probe(grey16.pngsave_buffer()).ave == "0xababab"


def test_ave_of_the_cmyk_photo_is_close_to_the_rgb_original(kit):
    rgb = probe(kit.corpus("coffee.png")).ave
    cmyk = probe(kit.corpus("coffee_cmyk.jpg")).ave
    for i in (2, 4, 6):
        assert abs(int(rgb[i:i + 2], 16) - int(cmyk[i:i + 2], 16)) <= 20


def test_probe_of_formats_written_in_code(kit):
    image = kit.photo(30, 20)
    assert probe(image.heifsave_buffer(compression="av1")).format == "AVIF"
    assert probe(image.tiffsave_buffer()).format == "TIFF"
    from io import BytesIO

    from PIL import Image
    buf = BytesIO()
    Image.new("RGB", (30, 20), (200, 100, 50)).save(buf, format="BMP")
    info = probe(buf.getvalue())
    assert (info.format, info.width, info.height, info.ave) == ("BMP", 30, 20, "0xc86432")
