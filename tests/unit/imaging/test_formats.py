"""Format conversion, colour handling, metadata, animation: magic bytes, sizes, pixels."""

import pytest

from picops_emulator.imaging import UnsupportedOperation, execute, probe
from picops_emulator.imaging.jpegquant import estimate_quality
from picops_emulator.errors import status_of

MAGIC = {
    "jpg": lambda b: b[:3] == b"\xff\xd8\xff",
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "gif": lambda b: b[:6] == b"GIF89a",
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "avif": lambda b: b[4:12] == b"ftypavif",
    "bmp": lambda b: b[:2] == b"BM",
    "tiff": lambda b: b[:4] in (b"II*\x00", b"MM\x00*"),
}

# How close the decoded output must be to the source, by format (mean absolute difference).
TOLERANCE = {"jpg": 4, "png": 0.01, "gif": 12, "webp": 5, "avif": 6, "bmp": 0.01, "tiff": 0.01}


@pytest.mark.parametrize("requested,fmt", [
    ("jpg", "jpg"), ("jpeg", "jpg"), ("yjpeg", "jpg"), ("png", "png"), ("gif", "gif"),
    ("webp", "webp"), ("avif", "avif"), ("bmp", "bmp"), ("tiff", "tiff"),
])
def test_conversion_from_png(kit, requested, fmt):
    src = kit.corpus("chelsea.png")
    out = kit.run(f"imageMogr2/format/{requested}", src)
    assert out.format == fmt
    assert MAGIC[fmt](out.data), out.data[:12]
    assert (out.width, out.height) == (451, 300)
    assert probe(out.data).format == {"jpg": "JPEG", "tiff": "TIFF"}.get(fmt, fmt.upper())
    decoded = kit.decode(out.data) if fmt != "bmp" else _pil_decode(kit, out.data)
    assert (decoded.width, decoded.height) == (451, 300)
    assert kit.mad(decoded, kit.decode(src)) < TOLERANCE[fmt]


def _pil_decode(kit, data):
    from io import BytesIO

    from PIL import Image
    pil = Image.open(BytesIO(data)).convert("RGB")
    return kit.pyvips.Image.new_from_memory(pil.tobytes(), pil.width, pil.height, 3, "uchar")


@pytest.mark.parametrize("name", ["rocket.jpg", "coffee.webp", "chelsea_anim.gif",
                                  "rocket_progressive.jpg"])
def test_other_inputs_convert_to_png(kit, name):
    src = kit.corpus(name)
    out = kit.run("imageMogr2/format/png", src)
    assert MAGIC["png"](out.data)
    first = kit.decode(src)
    assert kit.mad(kit.decode(out.data), first) < 0.01  # lossless: same pixels


def test_bmp_input(kit):
    bmp = kit.run("imageMogr2/format/bmp", kit.corpus("coffee.png")).data
    out = kit.run("imageMogr2/thumbnail/300x/format/jpg", bmp)
    assert (out.width, out.height) == (300, 200)
    ref = kit.decode(kit.corpus("coffee.png")).resize(0.5)
    assert kit.mad(kit.decode(out.data), ref) < 4


def test_avif_input(kit):
    avif = kit.run("imageMogr2/format/avif", kit.corpus("coffee.png")).data
    out = kit.run("imageMogr2/thumbnail/x100/format/png", avif)
    assert (out.width, out.height, out.format) == (150, 100, "png")


@pytest.mark.parametrize("fmt,reason", [
    ("heif", "no HEVC encoder"), ("heic", "no HEVC encoder"), ("tpg", "proprietary"),
    ("apng", "no APNG encoder"), ("psd", "no PSD encoder"),
])
def test_unwritable_formats_are_refused_not_faked(kit, fmt, reason):
    with pytest.raises(UnsupportedOperation, match=reason) as err:
        kit.run(f"imageMogr2/format/{fmt}", kit.corpus("rocket.jpg"))
    assert f"imageMogr2/format/{fmt}" in str(err.value)
    assert status_of(err.value.code) == 400 and err.value.code == "InvalidArgument"


# --- colour --------------------------------------------------------------------------------

def test_cmyk_jpeg_becomes_srgb_through_its_profile(kit):
    ref = kit.decode(kit.corpus("coffee.png"))
    for rule in ("imageMogr2/format/png", "imageMogr2/thumbnail/600x/format/png",
                 "imageMogr2/format/webp/quality/95!"):
        out = kit.decode(kit.run(rule, kit.corpus("coffee_cmyk.jpg")).data)
        assert out.interpretation == "srgb" and out.bands == 3
        # A CMYK round trip loses some gamut (~8-10 levels); a naive conversion is far off.
        assert kit.mad(out, ref) < 14


def test_16bit_png(kit):
    src = kit.corpus("camera_16bit.png")
    ref = kit.decode(kit.corpus("camera.png"))
    jpg = kit.decode(kit.run("imageMogr2/format/jpg", src).data)
    assert jpg.format == "uchar" and jpg.bands == 1
    assert kit.mad(jpg, ref) < 3
    webp = kit.decode(kit.run("imageMogr2/format/webp", src).data)
    assert webp.format == "uchar"
    png = kit.decode(kit.run("imageMogr2/strip", src).data)
    assert png.format == "ushort"  # PNG keeps 16-bit when nothing resamples it


def test_alpha_kept_where_the_format_has_it_and_flattened_on_white_in_jpeg(kit):
    src = kit.corpus("coffee_alpha.png")
    original = kit.decode(src)
    for fmt in ("png", "webp", "avif", "tiff"):
        image = kit.decode(kit.run(f"imageMogr2/format/{fmt}", src).data)
        assert image.hasalpha(), fmt
        assert abs(image[3].avg() - original[3].avg()) < 2, fmt
    jpg = kit.decode(kit.run("imageMogr2/format/jpg", src).data)
    assert jpg.bands == 3
    assert kit.mad(jpg, original.flatten(background=[255, 255, 255])) < 4
    # the transparent left edge came out white
    assert jpg.crop(0, 0, 5, 400).avg() > 240


def test_palette_png_with_transparency_keeps_alpha(kit):
    rgba = kit.photo(40, 30, bands=4)
    alpha = (kit.pyvips.Image.xyz(40, 30)[0] > 20).ifthenelse(255, 0).cast("uchar")
    palette_png = rgba[0:3].bandjoin(alpha).pngsave_buffer(palette=True)
    out = kit.decode(kit.run("imageMogr2/thumbnail/20x/format/png", palette_png).data)
    assert out.hasalpha()
    assert out.crop(0, 0, 8, 15)[3].avg() < 10 and out.crop(12, 0, 8, 15)[3].avg() > 245


# --- metadata, orientation, interlace ------------------------------------------------------

def test_auto_orient_rotates_the_exif6_photo_upright(kit):
    src = kit.corpus("chelsea_exif6.jpg")
    out = kit.run("imageMogr2/auto-orient", src)
    assert (out.width, out.height) == (451, 300)
    image = kit.decode(out.data)
    assert (image.width, image.height) == (451, 300)
    assert not image.get_typeof("orientation") or image.get("orientation") == 1
    upright = kit.decode(kit.corpus("chelsea.png"))
    assert kit.mad(image, upright) < 6
    # geometry after orientation: 200 px wide means the *displayed* width
    out = kit.run("imageMogr2/thumbnail/200x/auto-orient", src)   # written after: runs first
    assert (out.width, out.height) == (200, 133)
    assert kit.mad(kit.decode(out.data), upright.resize(200 / 451)) < 8


def test_without_auto_orient_pixels_stay_and_the_tag_is_kept(kit):
    out = kit.run("imageMogr2/thumbnail/150x", kit.corpus("chelsea_exif6.jpg"))
    assert (out.width, out.height) == (150, 226)
    assert probe(out.data).orientation == 6


def test_strip_removes_metadata_and_keeping_is_the_default(kit):
    src = kit.corpus("chelsea_exif6.jpg")
    kept = kit.decode(kit.run("imageMogr2/thumbnail/100x", src).data)
    assert kept.get_typeof("exif-data")
    stripped_bytes = kit.run("imageMogr2/thumbnail/100x/strip", src).data
    stripped = kit.decode(stripped_bytes)
    assert not stripped.get_typeof("exif-data")
    assert not stripped.get_typeof("icc-profile-data")
    assert b"Exif" not in stripped_bytes[:2000]


def test_interlace_makes_a_progressive_jpeg_only_when_asked(kit):
    def progressive(data: bytes) -> bool:
        return b"\xff\xc2" in data[:data.index(b"\xff\xda")]

    src = kit.corpus("rocket.jpg")
    assert progressive(kit.run("imageMogr2/interlace/1", src).data)
    assert not progressive(kit.run("imageMogr2/interlace/0", src).data)
    assert not progressive(kit.run("imageMogr2/thumbnail/100x",
                                   kit.corpus("rocket_progressive.jpg")).data)
    # ignored (no error) for other formats
    assert kit.run("imageMogr2/interlace/1/format/png", src).format == "png"


# --- animation -----------------------------------------------------------------------------

def _frames(kit, data):
    image = kit.decode(data, n=-1)
    page = image.get("page-height")
    return image.height // page, image.get("delay"), image.width, page


def test_animated_gif_keeps_frames_and_delays_through_thumbnail(kit):
    src = kit.corpus("chelsea_anim.gif")
    delays = _frames(kit, src)[1]
    assert len(delays) == 6 and all(d > 0 for d in delays)
    out = kit.run("imageMogr2/thumbnail/80x", src)
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 6, 80, 53)
    frames, delay, width, page = _frames(kit, out.data)
    assert (frames, width, page) == (6, 80, 53)
    assert delay == delays


def test_gif_to_webp_and_back_keeps_the_animation(kit):
    src = kit.corpus("chelsea_anim.gif")
    delays = _frames(kit, src)[1]
    webp = kit.run("imageMogr2/format/webp", src)
    assert MAGIC["webp"](webp.data) and webp.frame_count == 6
    frames, delay, width, page = _frames(kit, webp.data)
    assert (frames, width, page, delay) == (6, 160, 106, delays)
    gif = kit.run("imageMogr2/thumbnail/!50p/format/gif", webp.data)
    assert (gif.frame_count, gif.width, gif.height) == (6, 80, 53)
    assert _frames(kit, gif.data)[1] == delays
    assert _frames(kit, kit.run("imageView2/2/w/100/format/webp",
                                kit.corpus("chelsea_anim.gif")).data)[0] == 6


def test_animation_into_a_still_format_keeps_the_first_frame(kit):
    src = kit.corpus("chelsea_anim.gif")
    out = kit.run("imageMogr2/format/png", src)
    assert (out.frame_count, out.width, out.height) == (1, 160, 106)
    first = kit.decode(src)  # n=1: the first frame
    assert kit.mad(kit.decode(out.data), first) < 0.01


def test_animated_pad_and_no_enlargement(kit):
    src = kit.corpus("chelsea_anim.gif")
    out = kit.run("imageMogr2/thumbnail/320x320", src)   # would enlarge: capped
    assert (out.width, out.height, out.frame_count) == (160, 106, 6)
    out = kit.run("imageMogr2/thumbnail/100x100/pad/1", src)
    frames, delay, width, page = _frames(kit, out.data)
    assert (frames, width, page) == (6, 100, 100)


def test_execute_is_deterministic_for_the_same_input(kit):
    from picops.grammar import parse
    rule = parse("imageMogr2/thumbnail/120x/format/jpg")
    a = execute(rule, kit.corpus("coffee.png"))
    b = execute(rule, kit.corpus("coffee.png"))
    assert a.data == b.data and estimate_quality(a.data) == a.quality
