"""Several watermarks in one rule, with other stages, and CI's 10-image-watermark limit."""

import pytest

from picops.grammar.ast import Base64Text, Operation, Param, Rule
from picops_emulator.imaging import InvalidArgument, execute
from picops_emulator.imaging.ops import INTERFACES
from picops_emulator.imaging.ops.watermark import MAX_IMAGE_WATERMARKS


def test_watermark_is_a_registered_interface():
    assert "watermark" in INTERFACES


def test_several_watermarks_each_draw_on_the_previous_result(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    red = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    green = bucket.put("green.png", wk.png(wk.solid(20, 10, wk.GREEN)))
    rule = (f"watermark/1/image/{red}/gravity/northwest/dissolve/100"
            f"|watermark/1/image/{green}/gravity/center/dissolve/100"
            f"|watermark/2/text/{wk.b64('Hi')}/fill/{wk.b64('#0000FF')}/fontsize/30"
            f"/gravity/southeast/dissolve/100"
            f"|watermark/1/image/{red}/gravity/center/dx/0/dy/0/dissolve/50")
    image = kit.decode(bucket.run(rule, base).data)
    assert wk.box(image, wk.RED, tol=2) == (0, 0, 20, 10)
    assert wk.box(image, (128, 128, 0), tol=3) == (90, 45, 20, 10)   # red 50 % over green
    left, top, width, height = wk.box(image, wk.BLUE, tol=60)
    assert left + width == 200 and top + height == 100 and width > 15


def test_watermarks_mix_with_resizing_and_format_stages(wk, kit, bucket):
    red = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    rule = (f"imageMogr2/thumbnail/320x|watermark/1/image/{red}/dissolve/100"
            f"|imageMogr2/format/png")
    out = bucket.run(rule, kit.corpus("rocket.jpg"))
    assert (out.format, out.width, out.height) == ("png", 320, 214)
    assert wk.box(kit.decode(out.data), wk.RED, tol=30) == (300, 204, 20, 10)


def _image_stages(n):
    image = Param("image", Base64Text("http://examplebucket-1250000000.cos.ap-guangzhou."
                                      "myqcloud.com/red.png"))
    dissolve = Param("dissolve", 100)
    return Rule(tuple(Operation("watermark", (image, dissolve), mode=1) for _ in range(n)))


def test_ten_image_watermarks_are_allowed(wk, kit, bucket):
    bucket.put("red.png", wk.png(wk.solid(4, 4, wk.RED)))
    out = execute(_image_stages(MAX_IMAGE_WATERMARKS), wk.png(wk.solid(20, 20, wk.GREY)),
                  fetch=bucket.fetch)
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (16, 16, 4, 4)


def test_more_than_ten_image_watermarks_are_refused_before_decoding(bucket):
    assert MAX_IMAGE_WATERMARKS == 10
    with pytest.raises(InvalidArgument) as err:
        execute(_image_stages(11), b"not even an image", fetch=bucket.fetch)
    assert "watermark/1" in err.value.message and "11" in err.value.message


def test_text_watermarks_do_not_count_against_the_image_limit(wk, kit):
    text = Operation("watermark", (Param("text", Base64Text("x")),), mode=2)
    out = execute(Rule((text,) * 11), wk.png(wk.solid(20, 20, wk.GREY)))
    assert (out.width, out.height) == (20, 20)
