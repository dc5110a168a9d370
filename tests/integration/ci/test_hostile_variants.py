"""Variants of issue 9's hostile inputs that an attacker reaches for once the first form
is refused, over real HTTP with the real SDK (replayed from the end-to-end attack run):

* a progressive JPEG whose scan list is sent several times over (thousands of scans, each
  legal on its own), not only the 883 distinct ones;
* TIFFs cut in half whatever their compression or layout (LZW, deflate, JPEG, tiled);
* a JPEG header lying about a size inside CI's limits (9000x9000), so only the data check
  can catch it;
* an animated WebP of thousands of frames, refused before a frame is decoded;
* output keys holding characters that end a line for some readers (U+2028, U+2029, U+0085)
  or are invisible (U+FEFF): CI writes them, and they are then listed, read and deleted
  like any other key (served consistently, never "listed but unreadable").
"""

from __future__ import annotations

import time

import pytest

from tests.hostile import animated_webp, jpeg_claiming, photo, progressive_jpeg_many_scans

THUMB = [{"fileid": "out.jpg", "rule": "imageMogr2/thumbnail/100x"}]


def repeated_scans(times: int) -> bytes:
    """The 883-scan file of tests.hostile with every AC scan sent ``times`` times."""
    data = progressive_jpeg_many_scans(1024)
    first = data.index(b"\xff\xda")            # the DC scan stays once
    second = data.index(b"\xff\xda", first + 2)  # the AC scans start here
    return data[:second] + data[second:-2] * times + b"\xff\xd9"


def test_a_jpeg_whose_scans_repeat_thousands_of_times_is_refused(ci):
    body = repeated_scans(5)
    ci.upload("scans.jpg", body)
    started = time.monotonic()
    err = ci.process_error("scans.jpg", ci.pic_operations(THUMB))
    ci.assert_error(err, 400, "ProcessingLimitExceeded", "4411 scans", "at most 100")
    assert time.monotonic() - started < 10  # refused from the markers, not after decoding
    assert ci.keys() == ["scans.jpg"]


@pytest.mark.parametrize("options", [
    {"compression": "lzw"},
    {"compression": "deflate"},
    {"compression": "jpeg"},
    {"compression": "lzw", "tile": True, "tile_width": 128, "tile_height": 128},
], ids=["lzw", "deflate", "jpeg", "tiled-lzw"])
def test_a_tiff_cut_in_half_is_refused_whatever_its_compression(ci, options):
    whole = photo(800, 800).tiffsave_buffer(**options)
    ci.upload("cut.tif", whole[:len(whole) // 2])
    err = ci.process_error("cut.tif", ci.pic_operations(THUMB))
    ci.assert_error(err, 400, "InvalidImageFormat", "TIFF", "rules[0]")
    assert ci.keys() == ["cut.tif"]


def test_a_jpeg_header_lying_within_cis_limits_is_refused(ci):
    ci.upload("lying.jpg", jpeg_claiming(9000, 9000))
    err = ci.process_error("lying.jpg", ci.pic_operations(THUMB, is_pic_info=1))
    ci.assert_error(err, 400, "InvalidImageFormat", "claims 9000x9000")
    assert ci.keys() == ["lying.jpg"]


def test_an_animated_webp_of_thousands_of_frames_is_refused_before_decoding(ci):
    ci.upload("many.webp", animated_webp(3000, side=4))
    started = time.monotonic()
    err = ci.process_error("many.webp", ci.pic_operations(
        [{"fileid": "turned.webp", "rule": "imageMogr2/rotate/90"}]))
    ci.assert_error(err, 400, "ImageResolutionExceed", "WEBP has 3000 frames", "at most 300")
    assert time.monotonic() - started < 10
    assert ci.keys() == ["many.webp"]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\ufeff"],
                         ids=["U+2028", "U+2029", "U+0085", "U+FEFF"])
def test_an_output_key_with_a_line_or_format_character_is_served_consistently(ci, char):
    ci.upload("src.jpg", photo(64, 48).jpegsave_buffer())
    key = f"out/a{char}b.jpg"
    data = ci.process("src.jpg", [{"fileid": "/" + key, "rule": "imageMogr2/thumbnail/20x"}])
    assert [o["Key"] for o in ci.objects(data)] == [key]
    assert key in ci.keys()                               # listed ...
    assert ci.get_bytes(key).startswith(b"\xff\xd8")      # ... read back ...
    ci.client.delete_object(Bucket=ci.bucket, Key=key)   # ... and deleted by its name
    assert ci.keys() == ["src.jpg"]
