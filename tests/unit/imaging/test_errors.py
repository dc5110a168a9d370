"""Broken inputs, limits, decompression bombs, unsupported operations, ignore-error, fuzzing."""

import resource
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picops.grammar import parse
from picops_emulator.imaging import (ImageResolutionExceed, ImageTooLarge, ImagingError,
                                     InvalidArgument, InvalidImageFormat, Limits,
                                     UnsupportedOperation, execute, probe)
from picops_emulator.errors import status_of

RULE = "imageMogr2/thumbnail/100x"


@pytest.mark.parametrize("name,message", [
    ("empty.jpg", "empty"),
    ("not_an_image.jpg", "not an image format"),
    ("truncated.jpg", "truncated: it ends after"),
])
def test_broken_corpus_files(kit, name, message):
    data = kit.corpus(name)
    for call in (lambda: probe(data), lambda: kit.run(RULE, data),
                 lambda: kit.run("imageMogr2/format/png", data),
                 lambda: kit.run("imageView2/1/w/50/h/50", data)):
        with pytest.raises(InvalidImageFormat, match=message) as err:
            call()
        assert status_of(err.value.code) == 400 and err.value.code == "InvalidImageFormat"
        assert "-62999" in err.value.message


@pytest.mark.parametrize("data", [
    b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
    b"P6\n10 10\n255\n" + b"\x00" * 300,          # PPM: libvips reads it, we do not
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,           # PNG signature, garbage after
    b"GIF89a" + b"\xff" * 20,
    b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 10,
    b"BM" + b"\x00" * 60,
])
def test_unsupported_or_garbled_inputs(kit, data):
    with pytest.raises(InvalidImageFormat):
        kit.run(RULE, data)
    with pytest.raises(InvalidImageFormat):
        probe(data)


def test_truncated_png_and_gif_are_refused(kit):
    png = kit.corpus("coffee.png")
    gif = kit.corpus("chelsea_anim.gif")
    for data in (png[:len(png) // 2], gif[:len(gif) // 2]):
        with pytest.raises(InvalidImageFormat):
            kit.run("imageMogr2/format/jpg", data)


# --- limits --------------------------------------------------------------------------------

def test_input_byte_limit(kit):
    data = kit.corpus("rocket.jpg")
    with pytest.raises(ImageTooLarge, match=f"{len(data)} bytes") as err:
        kit.run(RULE, data, limits=Limits(max_input_bytes=len(data) - 1))
    assert "-60996" in err.value.message and status_of(err.value.code) == 400
    assert kit.run(RULE, data, limits=Limits(max_input_bytes=len(data))).width == 100


def test_input_side_and_pixel_limits(kit):
    data = kit.corpus("rocket.jpg")  # 640x427
    with pytest.raises(ImageResolutionExceed, match="640x427; each side must be at most 600"):
        kit.run(RULE, data, limits=Limits(max_input_side=600))
    with pytest.raises(ImageResolutionExceed, match="273280 pixels"):
        probe(data, limits=Limits(max_input_pixels=273279))
    assert probe(data, limits=Limits(max_input_pixels=273280)).width == 640


def test_animated_pixel_and_gif_frame_limits(kit):
    gif = kit.corpus("chelsea_anim.gif")  # 160x106, 6 frames
    with pytest.raises(ImageResolutionExceed, match="160x106x6 frames"):
        kit.run(RULE, gif, limits=Limits(max_input_pixels=160 * 106 * 6 - 1))
    with pytest.raises(ImageResolutionExceed, match="6 frames; at most 5"):
        kit.run(RULE, gif, limits=Limits(max_frames=5))


def test_gif_over_300_frames_with_default_limits(kit):
    # 301 one-row frames alternating black/white, so no two neighbours are duplicates
    rows = (kit.pyvips.Image.xyz(2, 301)[1] % 2 * 255).cast("uchar")
    strip = rows.copy(interpretation="b-w")
    strip.set_type(kit.pyvips.GValue.gint_type, "page-height", 1)
    gif = strip.gifsave_buffer(keep_duplicate_frames=True)
    assert kit.decode(gif).get("n-pages") == 301
    with pytest.raises(ImageResolutionExceed, match="301 frames; at most 300"):
        kit.run(RULE, gif)


def test_output_side_limit_is_checked_before_resizing(kit):
    data = kit.corpus("rocket.jpg")
    with pytest.raises(ImageResolutionExceed, match="20000x13344") as err:
        kit.run("imageMogr2/thumbnail/20000x", data)
    assert "9999" in err.value.message and "-442" in err.value.message
    with pytest.raises(ImageResolutionExceed, match="at most 500 px"):
        kit.run("imageMogr2/format/png", data, limits=Limits(max_output_side=500))
    with pytest.raises(ImageResolutionExceed):
        kit.run("imageMogr2/thumbnail/100x100/pad/1", data, limits=Limits(max_output_side=99))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with one tiny IDAT: a bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width,height,message", [
    (40000, 40000, "each side must be at most 30000"),
    (29000, 29000, "841000000 pixels"),
    (1, 30001, "each side must be at most 30000"),
])
def test_decompression_bomb_is_refused_from_its_header(kit, width, height, message):
    bomb = _png_header_only(width, height)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for call in (lambda: kit.run(RULE, bomb), lambda: probe(bomb)):
        with pytest.raises(ImageResolutionExceed, match=message):
            call()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    # decoding even one row band of 40000x40000 RGB would take far more than this
    assert grown_kib < 64 * 1024


def test_a_real_compressed_bomb_is_refused_cheaply(kit):
    # 20000 x 20000 one-bit greyscale, all zero: 50 MB of pixels in ~50 KB of PNG
    row = b"\x00" + b"\x00" * (20000 // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(20000)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) \
        + chunk(b"IEND", b"")
    assert len(bomb) < 200_000
    with pytest.raises(ImageResolutionExceed, match="400000000 pixels"):
        kit.run(RULE, bomb, limits=Limits(max_input_pixels=250_000_000))


# --- unsupported operations ----------------------------------------------------------------

# What the engine still cannot do: HEVC output (no encoder in pyvips-binary), bucket styles
# (the CI layer expands them before the engine sees the rule), and image watermarks when the
# caller gives no storage to read the watermark from.
WATERMARK_URL = "aHR0cDovL2EtMTI1MDAwMDAwMC5jb3MuYXAtZ3Vhbmd6aG91Lm15cWNsb3VkLmNvbS93LnBuZw"


@pytest.mark.parametrize("rule,named", [
    ("imageMogr2/format/heif", "imageMogr2/format/heif"),
    ("imageMogr2/thumbnail/100x/format/heic", "imageMogr2/format/heic"),
    ("imageMogr2/thumbnail/100x|style/small", "style/small"),
    (f"watermark/1/image/{WATERMARK_URL}", "watermark/1"),
])
def test_unsupported_operations_are_named_never_skipped(kit, rule, named, no_full_decode):
    # refused before any decoding (no_full_decode would fail a full decode)
    with pytest.raises(UnsupportedOperation) as err:
        kit.run(rule, kit.corpus("rocket.jpg"))
    assert named in err.value.message
    assert err.value.code == "InvalidArgument" and status_of(err.value.code) == 400
    assert "-60998" in err.value.message
    assert isinstance(err.value, InvalidArgument)


def test_error_names_the_stage_in_a_pipeline(kit):
    with pytest.raises(UnsupportedOperation, match=r"^stage 2 \(imageMogr2/format/heif\): "):
        kit.run("imageMogr2/thumbnail/100x|imageMogr2/format/heif", kit.corpus("rocket.jpg"))


def test_heif_source_without_format_names_the_problem(kit, monkeypatch):
    # A HEIF (HEVC) source's default output would be HEIF, which cannot be written here.
    from picops_emulator.imaging import source as source_mod
    real_open = source_mod.open_source

    def as_heif(data, budget):
        src = real_open(data, budget)
        src.format = "HEIF"
        return src
    monkeypatch.setattr("picops_emulator.imaging.pipeline.open_source", as_heif)
    with pytest.raises(UnsupportedOperation, match="no HEVC encoder"):
        kit.run("imageMogr2/thumbnail/50x", kit.corpus("rocket.jpg"))


# --- ignore-error --------------------------------------------------------------------------

def test_ignore_error_returns_the_input_unchanged(kit):
    data = kit.corpus("rocket.jpg")
    out = kit.run("imageMogr2/thumbnail/20000x/ignore-error/1", data)
    assert out.data == data
    assert (out.format, out.width, out.height, out.size) == ("jpg", 640, 427, len(data))


def test_ignore_error_rolls_back_only_its_stage(kit):
    out = kit.run("imageMogr2/thumbnail/20000x/ignore-error/1|imageMogr2/thumbnail/100x",
                  kit.corpus("rocket.jpg"))
    assert (out.width, out.height) == (100, 67)


def test_ignore_error_never_hides_unsupported_or_broken_input(kit):
    with pytest.raises(UnsupportedOperation):
        kit.run("imageMogr2/format/heif/ignore-error/1", kit.corpus("rocket.jpg"))
    with pytest.raises(InvalidImageFormat):
        kit.run("imageMogr2/thumbnail/100x/ignore-error/1", kit.corpus("truncated.jpg"))


# --- fuzz: only typed errors, never a crash ------------------------------------------------

FUZZ_SOURCES = ["rocket.jpg", "coffee.webp", "chelsea_anim.gif", "camera.png",
                "chelsea_exif6.jpg", "rocket_progressive.jpg"]


def _generated_sources():
    """Small inputs in the codecs the corpus lacks (AVIF, TIFF, BMP, animated WebP)."""
    from io import BytesIO

    from PIL import Image

    from picops_emulator.imaging.libvips import pyvips
    x = pyvips.Image.xyz(48, 32)
    image = (x[0] * 5).bandjoin([x[1] * 7, x[0] + x[1]]).cast("uchar") \
        .copy(interpretation="srgb")
    bmp = BytesIO()
    Image.new("RGB", (48, 32), (10, 200, 30)).save(bmp, format="BMP")
    anim = pyvips.Image.new_from_buffer(
        (Path(__file__).resolve().parents[2] / "data" / "images" / "chelsea_anim.gif")
        .read_bytes(), "", n=-1)
    return {"avif": image.heifsave_buffer(compression="av1"), "tiff": image.tiffsave_buffer(),
            "bmp": bmp.getvalue(), "webp-anim": anim.webpsave_buffer(Q=50)}


GENERATED = _generated_sources()


def _source(name: str) -> bytes:
    if name in GENERATED:
        return GENERATED[name]
    return (Path(__file__).resolve().parents[2] / "data" / "images" / name).read_bytes()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FUZZ_SOURCES + sorted(GENERATED)), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_mangled_inputs_raise_typed_errors_only(name, cut, flips):
    data = bytearray(_source(name))
    data = data[:max(0, int(len(data) * cut))] if cut < 0.999 else data
    for where, value in flips:
        if data:
            data[min(len(data) - 1, int(where * len(data)))] = value
    rule = parse("imageMogr2/thumbnail/40x/format/png")
    for call in (lambda: execute(rule, bytes(data)), lambda: probe(bytes(data))):
        try:
            call()
        except ImagingError as e:
            # a broken input is always the input's fault (400), never an engine error (500)
            assert status_of(e.code) == 400 and e.message, e.message


# --- the error types themselves ------------------------------------------------------------

def test_error_table():
    from picops.errors import PicopsError
    from picops_emulator.imaging import ImagingInternalError
    table = {
        InvalidImageFormat: ("InvalidImageFormat", 400, -62999),
        ImageTooLarge: ("ImageTooLarge", 400, -60996),
        ImageResolutionExceed: ("ImageResolutionExceed", 400, -447),
        InvalidArgument: ("InvalidArgument", 400, -60998),
        ImagingInternalError: ("InternalError", 500, None),
    }
    for cls, (code, status, errno) in table.items():
        err = cls("something specific")
        assert isinstance(err, PicopsError) and not err.retryable
        assert (err.code, status_of(err.code), err.ci_errno) == (code, status, errno)
        assert err.message.startswith("something specific")
        d = err.to_dict()
        assert d["code"] == code and "status" not in d
        if errno is not None:
            assert str(errno) in err.message and d["ci_errno"] == errno
    unsupported = UnsupportedOperation("imageMogr2/blur")
    assert unsupported.operation == "imageMogr2/blur"
    assert unsupported.message.startswith(
        "imageMogr2/blur is not supported by the picops emulator yet")


def test_libvips_is_configured_for_untrusted_input():
    from picops_emulator.imaging.libvips import pyvips
    assert pyvips.cache_get_max() == 0
    # content detection never picks a loader: SVG/PPM/CSV bytes are refused by the sniffer
    from picops_emulator.imaging.sniff import sniff
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert sniff(b"1,2,3\n4,5,6\n") is None
