"""Hostile images over real HTTP with the real SDK: each refused with a clear 4xx naming what
was wrong (the code, the limit, the numbers), before the work, and nothing written.

The files are built by tests/hostile.py; the engine-level tests (tests/unit/imaging/
test_hostile.py) show the same refusals cost no memory, measured in a subprocess."""

import io

import pytest
from PIL import Image

from tests.hostile import (animated_webp, bigtiff, jpeg_claiming, progressive_jpeg_many_scans,
                           rle8_bmp, text_watermark_rule, tiff_claiming)

THUMB = [{"fileid": "out.jpg", "rule": "imageMogr2/thumbnail/100x"},
         {"fileid": "turned.png", "rule": "imageMogr2/rotate/90|imageMogr2/format/png"}]


def cut_tiff() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1000, 1000), (200, 10, 10)).save(out, "TIFF")  # directory first
    data = out.getvalue()
    return data[:len(data) // 2]


HOSTILE = {
    "scans.jpg": (lambda: progressive_jpeg_many_scans(1024), "ProcessingLimitExceeded",
                  ["883 scans", "at most 100", "max_jpeg_scans"]),
    "lying.jpg": (lambda: jpeg_claiming(30000, 8000), "InvalidImageFormat",
                  ["claims 30000x8000", "-62999"]),
    "lying-progressive.jpg": (lambda: jpeg_claiming(30000, 8000, progressive=True),
                              "InvalidImageFormat", ["claims 30000x8000", "-62999"]),
    "lying.tif": (lambda: tiff_claiming(30000, 8000), "InvalidImageFormat",
                  ["claims 30000x8000", "16 bytes", "-62999"]),
    "cut.tif": (cut_tiff, "InvalidImageFormat", ["TIFF is truncated", "-62999"]),
    "big.tif": (lambda: bigtiff(300, 200), "InvalidImageFormat",
                ["input is a BigTIFF", "save it as a classic TIFF", "-62999"]),
    "rle.bmp": (lambda: rle8_bmp(7200, 7200), "ProcessingLimitExceeded",
                ["7200x7200 BMP", "512 MB", "max_request_memory"]),
    "301.webp": (lambda: animated_webp(301, side=4), "ImageResolutionExceed",
                 ["WEBP has 301 frames", "at most 300", "-447"]),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("is_pic_info", [0, 1])
def test_a_hostile_file_is_refused_with_a_clear_4xx(ci, name, is_pic_info):
    build, code, fragments = HOSTILE[name]
    ci.upload(f"in/{name}", build())
    err = ci.process_error(f"in/{name}", ci.pic_operations(THUMB, is_pic_info))
    ci.assert_error(err, 400, code, *fragments)
    if not is_pic_info:  # a failing rule is named (the probe fails before any rule)
        assert "rules[0]" in err.get_error_msg()
    assert ci.keys() == [f"in/{name}"]


def test_a_hostile_file_is_refused_on_upload_too(ci):
    body = progressive_jpeg_many_scans(1024)
    err = ci.error(lambda: ci.client.ci_put_object(
        Bucket=ci.bucket, Key="up/scans.jpg", Body=body,
        PicOperations=ci.pic_operations(THUMB, 1)))
    ci.assert_error(err, 400, "ProcessingLimitExceeded", "883 scans")
    assert ci.keys() == ["up/scans.jpg"]  # the upload itself is stored, as COS does


def test_a_text_watermark_rule_of_1_7_kb_is_refused_before_rendering(ci):
    ci.upload("photo.jpg", "rocket.jpg")
    rule = text_watermark_rule()
    assert len(rule) < 1800
    rules = [{"fileid": "small.jpg", "rule": "imageMogr2/thumbnail/50x"},
             {"fileid": "marked.jpg", "rule": rule}]
    err = ci.process_error("photo.jpg", ci.pic_operations(rules))
    ci.assert_error(err, 400, "ProcessingLimitExceeded", "rules[1]", "watermark/2/text",
                    "fontsize 1000", "max_request_memory")
    assert ci.keys() == ["photo.jpg"]  # all or nothing: the good rule wrote nothing either


def test_a_300_frame_animated_webp_is_processed(ci):
    ci.upload("300.webp", animated_webp(300, side=4))
    data = ci.process("300.webp", [{"fileid": "300-turned.webp",
                                    "rule": "imageMogr2/rotate/90"}], is_pic_info=1)
    assert data["OriginalInfo"]["ImageInfo"]["FrameCount"] == "300"
    assert ci.objects(data)[0]["FrameCount"] == "300"
