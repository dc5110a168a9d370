"""``ci_image_process`` happy paths through the real SDK: the UploadResult it hands back, and
the outputs stored like any object (format and size checked by decoding, ETags by HEAD)."""

import re

import pyvips
import pytest

from picops_emulator.imaging import probe

HEX_COLOUR = re.compile(r"^0x[0-9a-f]{6}$")


def mean_rgb(image: pyvips.Image) -> list:
    return [image[i].avg() for i in range(3)]


def test_one_rule_gives_one_object_and_the_source_image_info(ci):
    etag = ci.upload("p1/rocket.jpg", "rocket.jpg")
    data = ci.process("p1/rocket.jpg", [
        {"fileid": "thumb.webp", "rule": "imageMogr2/thumbnail/100x|imageMogr2/format/webp"}],
        is_pic_info=1)

    original = data["OriginalInfo"]
    assert original["Key"] == "p1/rocket.jpg"
    assert original["Location"] == f"{ci.bucket}.cos.ap-guangzhou.myqcloud.com/p1/rocket.jpg"
    assert original["ETag"] == f'"{etag}"'
    info = original["ImageInfo"]
    assert (info["Format"], info["Width"], info["Height"]) == ("JPEG", "640", "427")
    assert int(info["Quality"]) == probe(ci.image_bytes("rocket.jpg")).quality
    assert HEX_COLOUR.match(info["Ave"]), info["Ave"]
    reported = [int(info["Ave"][i:i + 2], 16) for i in (2, 4, 6)]
    actual = mean_rgb(pyvips.Image.new_from_buffer(ci.image_bytes("rocket.jpg"), ""))
    assert all(abs(r - a) <= 2 for r, a in zip(reported, actual)), (reported, actual)
    assert info["Orientation"] == "0"  # rocket.jpg has no EXIF orientation

    # One rule: the SDK's generic XML reader hands back a dict, not a list.
    obj = data["ProcessResults"]["Object"]
    assert isinstance(obj, dict)
    assert obj["Key"] == "p1/thumb.webp"  # relative fileid: into the source's folder
    assert obj["Location"] == f"{ci.bucket}.cos.ap-guangzhou.myqcloud.com/p1/thumb.webp"
    assert obj["Format"].lower() == "webp"
    assert (obj["Width"], obj["Height"]) == ("100", "67")

    stored = ci.get_bytes("p1/thumb.webp")
    image = pyvips.Image.new_from_buffer(stored, "")
    assert ci.loader(image) == "webp"
    assert (image.width, image.height) == (100, 67)
    assert int(obj["Size"]) == len(stored)
    assert ci.head_etag("p1/thumb.webp") == obj["ETag"].strip('"')
    # The thumbnail is the same picture: its mean colour stays close to the source's.
    assert all(abs(t - a) <= 4 for t, a in zip(mean_rgb(image), actual))


def test_quality_is_estimated_from_the_jpeg_tables(ci):
    made = pyvips.Image.new_from_buffer(ci.image_bytes("coffee.png"), "").jpegsave_buffer(Q=73)
    ci.upload("q73.jpg", made)
    data = ci.process("q73.jpg", [{"fileid": "o.png", "rule": "imageMogr2/format/png"}],
                      is_pic_info=1)
    assert data["OriginalInfo"]["ImageInfo"]["Quality"] == "73"


def test_orientation_reports_the_exif_tag_and_stored_size(ci):
    ci.upload("cat.jpg", "chelsea_exif6.jpg")
    data = ci.process("cat.jpg", [{"fileid": "cat.png", "rule": "imageMogr2/format/png"}],
                      is_pic_info=1)
    info = data["OriginalInfo"]["ImageInfo"]
    assert info["Orientation"] == "6"
    assert (info["Format"], info["Width"], info["Height"]) == ("JPEG", "300", "451")


def test_is_pic_info_0_keeps_original_info_without_image_info(ci):
    etag = ci.upload("rocket.jpg", "rocket.jpg")
    data = ci.process("rocket.jpg", [{"fileid": "t.jpg", "rule": "imageMogr2/thumbnail/50x"}])
    assert data["OriginalInfo"]["ETag"] == f'"{etag}"'
    assert data["OriginalInfo"]["Key"] == "rocket.jpg"
    assert "ImageInfo" not in data["OriginalInfo"]
    assert ci.objects(data)[0]["Key"] == "t.jpg"  # source in the root: fileid as given


def test_several_rules_in_order_with_relative_absolute_and_other_bucket_fileids(
        ci, make_bucket):
    other = make_bucket("derived")
    ci.upload("p1/rocket.jpg", "rocket.jpg")
    rules = [
        {"fileid": "p2/small.png", "rule": "imageMogr2/thumbnail/200x|imageMogr2/format/png"},
        {"fileid": "/abs/tiny.jpg", "rule": "imageMogr2/thumbnail/64x64!"},
        {"fileid": "/elsewhere/half.gif", "rule": "imageMogr2/thumbnail/!50p/format/gif",
         "bucket": other},
    ]
    data = ci.process("p1/rocket.jpg", rules)

    objects = data["ProcessResults"]["Object"]
    assert isinstance(objects, list)
    expected = [("p1/p2/small.png", ci.bucket, "png", 200, 133),
                ("abs/tiny.jpg", ci.bucket, "jpg", 64, 64),
                ("elsewhere/half.gif", other, "gif", 320, 214)]
    assert [o["Key"] for o in objects] == [e[0] for e in expected]
    for obj, (key, bucket, fmt, width, height) in zip(objects, expected):
        assert obj["Location"] == f"{bucket}.cos.ap-guangzhou.myqcloud.com/{key}"
        assert obj["Format"].lower() == fmt
        assert (int(obj["Width"]), int(obj["Height"])) == (width, height)
        image = ci.get_image(key, bucket)
        assert ci.loader(image) == fmt.replace("jpg", "jpeg")
        assert (image.width, image.height) == (width, height)
        assert ci.head_etag(key, bucket) == obj["ETag"].strip('"')
    assert ci.keys() == ["abs/tiny.jpg", "p1/p2/small.png", "p1/rocket.jpg"]
    assert ci.keys(other) == ["elsewhere/half.gif"]


def test_fileid_equal_to_the_source_overwrites_it_and_reports_the_new_etag(ci):
    old = ci.upload("p1/rocket.jpg", "rocket.jpg")
    data = ci.process("p1/rocket.jpg",
                      [{"fileid": "rocket.jpg", "rule": "imageMogr2/thumbnail/120x"}],
                      is_pic_info=1)
    new = ci.head_etag("p1/rocket.jpg")
    assert new != old
    assert data["OriginalInfo"]["ETag"] == f'"{new}"'
    assert ci.objects(data)[0]["ETag"] == f'"{new}"'
    # ImageInfo describes the image that was processed, i.e. the one before the overwrite.
    assert data["OriginalInfo"]["ImageInfo"]["Width"] == "640"
    image = ci.get_image("p1/rocket.jpg")
    assert (image.width, image.height) == (120, 80)
    assert ci.keys() == ["p1/rocket.jpg"]


@pytest.mark.parametrize("source, fileid, expected", [
    ("图片/猫 a+b%20c 😀.jpg", "缩略 图+1%2F 🎉.png", "图片/缩略 图+1%2F 🎉.png"),
    ("up/a b+c.jpg", "/输出/x y+z%.webp", "输出/x y+z%.webp"),
    ("root 😀+%.jpg", "out/a%2Bb c.png", "out/a%2Bb c.png"),
])
def test_unusual_characters_in_source_and_fileid_are_taken_literally(ci, source, fileid,
                                                                     expected):
    ci.upload(source, "rocket.jpg")
    fmt = expected.rsplit(".", 1)[1]
    data = ci.process(source, [{"fileid": fileid,
                                "rule": f"imageMogr2/thumbnail/80x/format/{fmt}"}],
                      is_pic_info=1)
    assert data["OriginalInfo"]["Key"] == source
    obj = ci.objects(data)[0]
    assert obj["Key"] == expected
    assert obj["Location"].endswith("/" + expected)
    image = ci.get_image(expected)
    assert ci.loader(image) == fmt
    assert (image.width, image.height) == (80, 53)
    assert ci.head_etag(expected) == obj["ETag"].strip('"')
    assert ci.keys() == sorted([source, expected])


def test_empty_rules_process_nothing_and_still_answer_xml(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    data = ci.process("rocket.jpg", [], is_pic_info=1)
    assert data["ProcessResults"] is None
    assert data["OriginalInfo"]["ImageInfo"]["Width"] == "640"
    assert ci.keys() == ["rocket.jpg"]


def test_animated_gif_stays_animated(ci):
    ci.upload("anim.gif", "chelsea_anim.gif")
    data = ci.process("anim.gif", [{"fileid": "small.gif", "rule": "imageMogr2/thumbnail/80x"}],
                      is_pic_info=1)
    assert data["OriginalInfo"]["ImageInfo"]["Format"] == "GIF"
    assert data["OriginalInfo"]["ImageInfo"]["FrameCount"] == "6"
    image = ci.get_image("small.gif")
    assert ci.loader(image) == "gif"
    assert image.get("n-pages") == 6
    assert (image.width, image.get("page-height")) == (80, 53)
