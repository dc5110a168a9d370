"""size-limit/<N>k|m[!]: at most N bytes by quality alone, '!' keeps the smaller file."""

import pytest

from picops_emulator.imaging import InvalidArgument
from picops_emulator.imaging.ops.sizelimit import best_quality


# --- the search, on a made-up size curve ---------------------------------------------

def test_search_finds_the_highest_quality_that_fits():
    calls = []

    def size_at(q):
        calls.append(q)
        return 1000 + 100 * q
    assert best_quality(size_at, 6000, 90) == 50
    assert len(calls) <= 8                                     # a binary search, not a scan
    assert best_quality(size_at, 10_000, 90) == 90             # already fits at the ceiling
    assert best_quality(size_at, 1100, 90) == 1
    assert best_quality(size_at, 50, 90) == 1                  # unreachable: the smallest


# --- on real encodes ----------------------------------------------------------------------

def test_output_fits_and_keeps_its_dimensions(kit):
    src = kit.corpus("rocket.jpg")                              # 640x427, ~Q 75..80
    full = kit.run("imageMogr2/strip", src)
    out = kit.run("imageMogr2/strip/size-limit/20k", src)
    assert out.size <= 20 * 1024 < full.size
    assert (out.format, out.width, out.height) == ("jpg", 640, 427)
    assert out.quality < full.quality
    # the highest quality that fits: one step up does not
    higher = kit.run(f"imageMogr2/strip/quality/{out.quality + 1}!", src)
    assert higher.size > 20 * 1024


def test_an_output_already_small_enough_is_untouched(kit):
    src = kit.corpus("rocket.jpg")
    plain = kit.run("imageMogr2/thumbnail/100x", src)
    limited = kit.run("imageMogr2/thumbnail/100x/size-limit/1m", src)
    assert limited.quality == plain.quality and limited.size == plain.size


def test_quality_params_are_the_ceiling(kit):
    out = kit.run("imageMogr2/quality/40!/size-limit/1m", kit.corpus("rocket.jpg"))
    assert out.quality == 40


def test_documented_example_png_to_jpg_15k_keep_smaller(kit):
    # CI's sample: sample.png?imageMogr2/strip/format/jpg/size-limit/15k!
    src = kit.corpus("coffee.png")                              # 600x400 PNG, ~450 KB
    out = kit.run("imageMogr2/strip/format/jpg/size-limit/15k!", src)
    assert (out.format, out.width, out.height) == ("jpg", 600, 400)
    assert out.size <= 15 * 1024 and kit.decode(out.data).width == 600


def test_keep_smaller_returns_the_input_when_it_is_smaller(kit):
    src = kit.pyvips.Image.new_from_buffer(kit.corpus("rocket.jpg"), "").jpegsave_buffer(Q=20)
    # re-encoding at the source's own quality with metadata is not smaller than the source
    out = kit.run("imageMogr2/quality/100!/size-limit/1m!", src)
    assert out.data == src and out.size == len(src) and out.quality <= 25


def test_keep_smaller_on_a_lossless_output_only_compares(kit):
    # CI's other sample: picture.jpg?imageMogr2/strip/format/png/size-limit/15k!
    src = kit.corpus("rocket.jpg")
    out = kit.run("imageMogr2/strip/format/png/size-limit/15k!", src)
    assert out.data == src and out.format == "jpg"             # the PNG would be larger
    small_png = kit.png(40, 30)
    out = kit.run("imageMogr2/format/png/size-limit/15k!", small_png)
    assert out.format == "png" and out.size <= len(small_png)


def test_without_keep_smaller_a_lossless_output_is_refused(kit):
    with pytest.raises(InvalidArgument) as err:
        kit.run("imageMogr2/size-limit/15k", kit.corpus("coffee.png"))
    assert "imageMogr2/size-limit/15k" in err.value.message
    assert "png output has no quality" in err.value.message and err.value.ci_errno == -60998


def test_unreachable_limit_gives_the_smallest_quality(kit):
    src = kit.pyvips.Image.new_from_buffer(kit.corpus("coffee.png"), "").jpegsave_buffer(Q=90)
    out = kit.run("imageMogr2/size-limit/1k", src)
    assert (out.width, out.height, out.quality) == (600, 400, 1) and out.size > 1024
    # the documented fallback: exactly the quality-1 encode, the smallest this knob reaches
    assert out.data == kit.run("imageMogr2/quality/1!", src).data


def test_webp_output_is_searched_too(kit):
    out = kit.run("imageMogr2/format/webp/size-limit/10k", kit.corpus("coffee.png"))
    assert out.format == "webp" and out.size <= 10 * 1024 and out.width == 600


def test_keep_smaller_in_a_later_stage_compares_with_the_previous_stage(kit):
    src = kit.corpus("coffee.png")
    stage1 = kit.run("imageMogr2/thumbnail/120x/format/jpg/quality/30!", src)
    # stage 2 would re-encode at quality 30 with a 1 MB budget: not smaller than stage 1's
    # own output, so stage 1's output is the result (not the 600x400 upload)
    out = kit.run("imageMogr2/thumbnail/120x/format/jpg/quality/30!"
                  "|imageMogr2/quality/100!/size-limit/1m!", src)
    assert (out.width, out.height, out.quality) == (120, 80, 30)
    assert out.size == stage1.size
    assert kit.mad(kit.decode(out.data), kit.decode(stage1.data)) == 0


def test_the_limited_quality_carries_to_the_next_stage(kit):
    out = kit.run("imageMogr2/strip/size-limit/20k|imageMogr2/thumbnail/!50p",
                  kit.corpus("rocket.jpg"))
    first = kit.run("imageMogr2/strip/size-limit/20k", kit.corpus("rocket.jpg"))
    assert out.quality == first.quality and (out.width, out.height) == (320, 214)
