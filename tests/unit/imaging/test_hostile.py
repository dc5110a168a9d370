"""The engine under hostile input: decoding cost bounded, lying and truncated files refused,
memory reserved before the work, and the deadline and cancel switch stopping libvips.

Every hostile file is built here (tests/hostile.py). Memory is measured as peak RSS growth in
a fresh interpreter, never by timing."""

import io
import threading

import pytest
from PIL import Image

from picops_emulator.imaging import (Deadline, ImageResolutionExceed, InvalidImageFormat,
                                     Limits, ProcessingCancelled, ProcessingLimitExceeded,
                                     ProcessingTimeout, probe)
from picops_emulator.imaging import source as source_module
from picops_emulator.imaging.budget import Budget
from picops_emulator.imaging.tiffscan import TiffLayout, scan_tiff
from tests.hostile import (animated_webp, grey_tiff, jpeg_claiming, peak_growth,
                           progressive_jpeg_many_scans, rle8_bmp, text_watermark_rule, tiff,
                           tiff_claiming)

THUMB = "imageMogr2/thumbnail/100x"


@pytest.fixture
def no_decode(monkeypatch):
    """Any decode of pixels fails the test: a refusal must come from headers alone."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded before the refusal")

    monkeypatch.setattr(source_module.Source, "load", refuse)
    monkeypatch.setattr(source_module.Source, "thumbnail", refuse)


# --- JPEG ----------------------------------------------------------------------------

def test_a_progressive_jpeg_of_many_scans_is_refused_before_decoding(kit, no_decode):
    data = progressive_jpeg_many_scans(1024)  # 883 legal scans in 12 KB
    for call in (lambda: kit.run(THUMB, data), lambda: probe(data)):
        with pytest.raises(ProcessingLimitExceeded, match="883 scans") as caught:
            call()
        assert caught.value.limit == "max_jpeg_scans"
        assert "at most 100" in caught.value.message


def test_the_many_scan_jpeg_is_valid_so_the_scan_count_is_what_refuses_it(kit):
    data = progressive_jpeg_many_scans(1024)
    out = kit.run(THUMB, data, limits=Limits(max_jpeg_scans=883))
    assert (out.width, out.height) == (100, 100)
    with pytest.raises(ProcessingLimitExceeded, match="883 scans"):
        kit.run(THUMB, data, limits=Limits(max_jpeg_scans=882))


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_header_claiming_30000x8000_over_a_few_bytes_is_refused(kit, no_decode,
                                                                      progressive):
    data = jpeg_claiming(30000, 8000, progressive=progressive)
    assert len(data) < 2000
    for call in (lambda: kit.run(THUMB, data), lambda: probe(data)):
        with pytest.raises(InvalidImageFormat, match="header lies: it claims 30000x8000") as e:
            call()
        assert "-62999" in e.value.message


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("subsample", ["on", "off"])
def test_the_flattest_real_jpegs_are_above_the_scan_floor(kit, progressive, subsample):
    # One colour, lowest quality, optimised Huffman tables: as few bits per block as an
    # encoder writes (progressive: long EOB runs). The floor must never refuse them.
    flat = kit.pyvips.Image.black(2048, 1536, bands=3)
    data = flat.jpegsave_buffer(Q=1, interlace=progressive, optimize_coding=True,
                                subsample_mode=subsample)
    assert kit.run(THUMB, data).width == 100


def test_a_cut_jpeg_is_still_refused_as_truncated(kit):
    data = kit.photo(600, 400).jpegsave_buffer(Q=90)
    with pytest.raises(InvalidImageFormat, match="truncated"):
        kit.run(THUMB, data[:len(data) // 2])


# --- TIFF ----------------------------------------------------------------------------

def pil_tiff(width: int, height: int, **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "TIFF", **options)
    return out.getvalue()


@pytest.mark.parametrize("writer", ["pillow", "libvips"])
def test_a_tiff_cut_in_half_is_refused(kit, writer):
    # Pillow writes its directory before the pixels, so a cut file still has a header.
    data = pil_tiff(1000, 1000) if writer == "pillow" else tiff(1000, 1000)
    half = data[:len(data) // 2]
    with pytest.raises(InvalidImageFormat) as caught:
        kit.run(THUMB, half)
    assert "truncated" in caught.value.message or "cannot read the TIFF header" in \
        caught.value.message
    with pytest.raises(InvalidImageFormat):
        probe(half)


def test_a_tiff_cut_in_half_names_the_strip_past_the_end(kit, no_decode):
    data = pil_tiff(1000, 1000)
    with pytest.raises(InvalidImageFormat, match=r"TIFF is truncated: strip \d+ ends at byte"):
        kit.run(THUMB, data[:len(data) // 2])


def test_a_tiff_header_claiming_30000x8000_over_a_few_bytes_is_refused(kit, no_decode):
    data = tiff_claiming(30000, 8000)
    assert len(data) < 200
    with pytest.raises(InvalidImageFormat, match="header lies: it claims 30000x8000"):
        kit.run(THUMB, data)


@pytest.mark.parametrize("compression", ["none", "deflate", "lzw", "packbits", "jpeg"])
@pytest.mark.parametrize("tiled", [False, True])
def test_complete_tiffs_of_one_colour_pass_every_codec_floor(kit, compression, tiled):
    # One colour compresses as far as each codec can: the floors must let it through.
    data = kit.pyvips.Image.black(1500, 1000, bands=3).tiffsave_buffer(
        compression=compression, tile=tiled)
    out = kit.run(THUMB, data)
    assert (out.width, out.height) == (100, 67)


def test_a_tiff_without_strip_byte_counts_is_read_and_its_cut_refused(kit):
    pixels = bytes(kit.photo(64, 48)[0].write_to_memory())
    whole = grey_tiff(64, 48, pixels, None)
    assert kit.run("imageMogr2/thumbnail/10x", whole).width == 10
    with pytest.raises(InvalidImageFormat, match="strip 0 ends at byte"):
        kit.run("imageMogr2/thumbnail/10x", whole[:-100])


def test_a_jpeg_starting_with_an_ac_scan_has_no_floor():
    from picops_emulator.imaging.jpegscan import read_layout, scan_problem
    data = progressive_jpeg_many_scans(1024)
    layout = read_layout(data)
    assert layout.first_ss == 0 and scan_problem(layout, layout.entropy_start + 2047)
    dc = data.index(b"\xff\xda")
    ac_first = data[:dc] + data[data.index(b"\xff\xda", dc + 2):]  # DC scan dropped
    assert read_layout(ac_first).first_ss == 1
    assert scan_problem(read_layout(ac_first), len(ac_first)) is None


def test_a_pillow_tiff_is_read_and_its_layout_checked(kit):
    assert kit.run(THUMB, pil_tiff(300, 200, compression="tiff_lzw")).width == 100
    classic = kit.photo(300, 200).tiffsave_buffer(compression="lzw")
    assert scan_tiff(classic) == TiffLayout(300, 200, 300 * 3 * 128, None)  # 128-row strips
    assert "truncated" in scan_tiff(classic[:len(classic) // 2]).problem


def test_a_bigtiff_made_by_libvips_is_refused_by_name_before_decoding(kit, no_decode):
    big = kit.photo(300, 200).tiffsave_buffer(compression="lzw", bigtiff=True)
    assert big[:4] == b"II+\x00"  # a real BigTIFF, little-endian as libvips writes it
    swapped = b"MM\x00+" + big[4:]  # the big-endian magic (sniffed from the magic alone)
    for data in (big, swapped):
        for call in (lambda d=data: kit.run(THUMB, d), lambda d=data: probe(d)):
            with pytest.raises(InvalidImageFormat) as caught:
                call()
            assert caught.value.message.startswith("input is a BigTIFF (a TIFF with 64-bit "
                                                   "offsets")
            assert "save it as a classic TIFF" in caught.value.message
    # tiffscan agrees: it reads classic TIFF only (sniff never hands it a BigTIFF)
    assert "is not a classic TIFF's" in scan_tiff(big).problem


# --- frames --------------------------------------------------------------------------

def test_animated_webp_frames_are_capped_like_gif(kit, no_decode):
    data = animated_webp(301, side=4)
    with pytest.raises(ImageResolutionExceed, match="input WEBP has 301 frames; at most 300"):
        kit.run("imageMogr2/rotate/90", data)


def test_an_animated_webp_of_300_frames_is_processed(kit):
    ok = kit.run("imageMogr2/rotate/90", animated_webp(300, side=4))
    assert ok.frame_count == 300


# --- memory ceiling ------------------------------------------------------------------

def test_an_rle_bmp_whose_decode_is_over_the_ceiling_is_refused(kit, no_decode):
    data = rle8_bmp(7200, 7200)  # 51 M pixels in 0.5 MB
    assert len(data) < 600_000
    with pytest.raises(ProcessingLimitExceeded) as caught:
        kit.run(THUMB, data)
    assert caught.value.limit == "max_request_memory"
    assert "decoding the 7200x7200 BMP input" in caught.value.message


def test_a_small_rle_bmp_decodes(kit):
    out = kit.run("imageMogr2/format/png", rle8_bmp(300, 20))
    image = kit.decode(out.data)
    assert (image.width, image.height) == (300, 20)
    assert image.max() == 1  # palette entry 1 is (1, 1, 1)


def test_an_operation_that_needs_the_image_in_memory_reserves_it_first(kit):
    data = kit.corpus("rocket.jpg")  # 640x427: 820 KB as RGB, once for its streaming decode
    tight = Limits(max_request_memory=1_200_000)
    assert kit.run(THUMB, data, limits=tight).width == 100  # streams
    for rule, what in [("imageMogr2/rotate/45", "imageMogr2/rotate/45 (the image in memory)"),
                       ("imageMogr2/flip/vertical", "imageMogr2/flip/vertical")]:
        with pytest.raises(ProcessingLimitExceeded, match=what.replace("(", r"\(")
                           .replace(")", r"\)")):
            kit.run(rule, data, limits=tight)


def test_a_text_watermark_over_the_ceiling_is_refused_before_rendering(kit, monkeypatch):
    rule = text_watermark_rule()
    assert 1600 < len(rule) < 1800
    from picops_emulator.imaging.ops import watermark_text
    rendered = []
    real = watermark_text._render
    monkeypatch.setattr(watermark_text, "_render",
                        lambda text, font, size: rendered.append(size) or real(text, font, size))
    with pytest.raises(ProcessingLimitExceeded, match="watermark/2/text: rendering") as caught:
        kit.run(rule, kit.corpus("rocket.jpg"))
    assert "fontsize 1000" in caught.value.message
    assert rendered == [watermark_text.MEASURE_SIZE]  # measured small, never rendered large


def test_a_large_text_watermark_within_the_ceiling_renders(kit):
    out = kit.run(text_watermark_rule(lines=2, per_line=5, fontsize=200),
                  kit.photo(1200, 800).jpegsave_buffer())
    assert (out.width, out.height) == (1200, 800)


def test_the_text_estimate_covers_the_real_render(kit):
    # The reservation made before rendering must not be below what rendering takes.
    from picops_emulator.imaging.ops import watermark_text
    from picops_emulator.imaging.fonts import resolve_font
    font = resolve_font(None)
    for text in ["W" * 30, "国" * 12, "ABC\nDEFGHIJK\nL", "g\u2E3B\u2E3B"]:
        for size in (40, 300):
            budget = Budget(Limits())
            watermark_text.text_layer(text, None, size, (255, 0, 0), 0, budget)
            real = watermark_text._render(text, font, size)
            assert budget.reserved >= real.width * real.height * 4, (text, size)


def test_refused_bombs_cost_no_memory_and_the_same_work_unrefused_does():
    setup = """
    from picops.grammar import parse
    from picops_emulator.imaging import execute, Limits
    from tests.hostile import rle8_bmp, text_watermark_rule, photo
    bmp = rle8_bmp(7200, 7200)
    base = photo(1000, 700).jpegsave_buffer()
    rules = {"bmp": (parse("imageMogr2/thumbnail/100x"), bmp),
             "text": (parse(text_watermark_rule(lines=6, per_line=8)), base)}
    limits = Limits(max_request_memory=LIMIT)
    def warm():
        execute(parse("imageMogr2/thumbnail/10x"), base)
    def run():
        rule, data = rules[CASE]
        return execute(rule, data, limits=limits).width
    """
    for case in ("bmp", "text"):
        refused = peak_growth(setup.replace("CASE", repr(case)).replace("LIMIT", "100 << 20"))
        assert refused["outcome"].startswith("ProcessingLimitExceeded"), refused
        assert refused["growth_mb"] < 15, refused
        done = peak_growth(setup.replace("CASE", repr(case)).replace("LIMIT", "4 << 30"))
        assert not done["outcome"].startswith("Processing"), done
        assert done["growth_mb"] > 60, done  # what the refusal saved


# --- deadline and cancel -------------------------------------------------------------

def test_an_expired_deadline_stops_the_job_before_it_decodes(kit, no_decode):
    past = Deadline.after(-1)
    with pytest.raises(ProcessingTimeout, match="max_request_seconds"):
        kit.run(THUMB, kit.corpus("rocket.jpg"), deadline=past)
    with pytest.raises(ProcessingTimeout):
        probe(kit.corpus("rocket.jpg"), deadline=past)


def test_the_deadline_stops_libvips_mid_computation(kit, monkeypatch):
    # With the checks between steps switched off, only the watch inside libvips can stop
    # the job; it must be reported as the timeout, never by decoding the input again.
    monkeypatch.setattr(Budget, "check", lambda self: None)
    monkeypatch.setattr(source_module.Source, "verify_decodes",
                        lambda self: pytest.fail("a stopped job was classified by decoding"))
    with pytest.raises(ProcessingTimeout, match="was stopped"):
        kit.run("imageMogr2/blur/20x10", kit.corpus("rocket.jpg"), deadline=Deadline.after(-1))


def test_a_cancelled_job_stops(kit, monkeypatch):
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(ProcessingCancelled, match="client went away"):
        kit.run(THUMB, kit.corpus("rocket.jpg"), deadline=Deadline.after(60, cancelled))
    monkeypatch.setattr(Budget, "check", lambda self: None)
    with pytest.raises(ProcessingCancelled):
        kit.run("imageMogr2/rotate/45", kit.corpus("rocket.jpg"),
                deadline=Deadline.after(60, cancelled))


def test_a_deadline_in_the_future_changes_nothing(kit):
    out = kit.run(THUMB, kit.corpus("rocket.jpg"), deadline=Deadline.after(60))
    assert out.width == 100


# --- work ceiling --------------------------------------------------------------------

def test_a_blur_whose_cost_is_over_the_work_ceiling_is_refused_before_it_runs(kit, no_decode):
    data = kit.corpus("rocket.jpg")  # 640x427 RGB: 820k samples
    tight = Limits(max_request_work=640 * 427 * 3 * 2 * 101 - 1)
    with pytest.raises(ProcessingLimitExceeded, match=r"imageMogr2/blur/50x25 on 640x427 "
                                                      r"would cost about 0\.2 G") as caught:
        kit.run("imageMogr2/blur/50x25", data, limits=tight)
    assert caught.value.limit == "max_request_work"


def test_blur_and_rotation_costs_add_up_over_a_pipeline(kit):
    data = kit.corpus("rocket.jpg")
    one_blur = 640 * 427 * 3 * 2 * 21  # blur/10x5
    limits = Limits(max_request_work=2 * one_blur)
    assert kit.run("imageMogr2/blur/10x5|imageMogr2/blur/10x5", data, limits=limits).width == 640
    with pytest.raises(ProcessingLimitExceeded, match="stage 3"):
        kit.run("imageMogr2/blur/10x5|imageMogr2/blur/10x5|imageMogr2/blur/10x5", data,
                limits=limits)
    with pytest.raises(ProcessingLimitExceeded, match="imageMogr2/rotate/45 to"):
        kit.run("imageMogr2/rotate/45", data, limits=Limits(max_request_work=1e6))
    assert kit.run("imageMogr2/rotate/90", data, limits=Limits(max_request_work=1)).width == 427



# --- the estimates against measured memory --------------------------------------------

COVER = """
import pyvips
from picops.grammar import parse
from picops_emulator.imaging import execute, Limits
from picops_emulator.imaging.budget import Budget
from tests.hostile import photo
reserved = [0]
real = Budget.reserve
def counting(self, nbytes, what):
    reserved[0] += nbytes
    return real(self, nbytes, what)
Budget.reserve = counting
def animated(side, frames):
    base = photo(side, side)
    strip = pyvips.Image.arrayjoin([base.rot90() if i % 2 else base
                                    for i in range(frames)], across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", side)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [40] * frames)
    return strip.webpsave_buffer(Q=30, effort=0)
cases = {
    "animated webp, rotate/90": (lambda: animated(300, 120), "imageMogr2/rotate/90"),
    "progressive jpeg": (lambda: photo(4000, 3000).jpegsave_buffer(interlace=True),
                         "imageMogr2/thumbnail/100x"),
    "jpeg, rotate/45": (lambda: photo(4000, 3000).jpegsave_buffer(), "imageMogr2/rotate/45"),
    "interlaced png": (lambda: photo(3000, 2000).pngsave_buffer(interlace=True, compression=1),
                       "imageMogr2/thumbnail/100x"),
    "avif output": (lambda: photo(1500, 1000).jpegsave_buffer(), "imageMogr2/format/avif"),
}
build, rule = cases[CASE]
data = build()
def warm():
    execute(parse("imageMogr2/thumbnail/10x"), photo(100, 100).jpegsave_buffer())
    reserved[0] = 0
def run():
    execute(parse(rule), data, limits=Limits(max_request_memory=16 << 30))
    return reserved[0] / 2**20
"""


@pytest.mark.parametrize("case", ["animated webp, rotate/90", "progressive jpeg",
                                  "jpeg, rotate/45", "interlaced png", "avif output"])
def test_the_memory_estimate_covers_the_measured_peak(case):
    measured = peak_growth(COVER.replace("CASE", repr(case)))
    reserved_mb = float(measured["outcome"])
    assert measured["growth_mb"] <= reserved_mb + 8, measured  # 8 MB: libvips' own slack
    assert measured["growth_mb"] > 5, measured  # the case really costs memory
