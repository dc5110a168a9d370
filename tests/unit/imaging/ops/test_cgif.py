"""cgif/<n>: which frames survive, their delays, and who may use it."""

import pytest

from picops_emulator.imaging import InvalidArgument
from picops_emulator.imaging.ops.cgif import DEFAULT_CAP, frame_plan


def test_plan_spreads_n_frames_and_keeps_the_total_duration():
    plan = frame_plan([100] * 10, 4)
    assert plan.keep == [0, 2, 5, 7]
    assert plan.delays == [200, 300, 200, 300] and sum(plan.delays) == 1000
    uneven = frame_plan([10, 20, 30, 40, 50, 60], 3)
    assert uneven.keep == [0, 2, 4] and uneven.delays == [30, 70, 110]


def test_plan_for_1_cuts_at_the_default_cap():
    plan = frame_plan(list(range(1, 46)), 1)
    assert DEFAULT_CAP == 30
    assert plan.keep == list(range(30)) and plan.delays == list(range(1, 31))
    assert frame_plan([100] * 30, 1) is None


@pytest.mark.parametrize("frames,n", [(6, 6), (6, 50), (1, 2)])
def test_plan_leaves_short_animations_alone(frames, n):
    assert frame_plan([80] * frames, n) is None


def _gif(kit, frames, delay=40):
    """A ``frames``-frame GIF whose frame i is flat grey level 8 * i."""
    strip = kit.pyvips.Image.arrayjoin(
        [(kit.pyvips.Image.black(24, 16) + 8 * i).cast("uchar") for i in range(frames)],
        across=1)
    strip = strip.bandjoin([strip, strip]).copy(interpretation="srgb")
    strip.set_type(kit.pyvips.GValue.gint_type, "page-height", 16)
    strip.set_type(kit.pyvips.GValue.array_int_type, "delay", [delay] * frames)
    return strip.gifsave_buffer()


def test_cgif_reduces_an_animation_to_n_frames(kit):
    out = kit.run("imageMogr2/cgif/4", _gif(kit, 12))
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 4, 24, 16)
    image = kit.decode(out.data, n=-1)
    assert list(image.get("delay")) == [120] * 4                # 12 x 40 ms = 4 x 120 ms
    levels = [round(image.crop(0, 16 * k, 24, 16)[0].avg()) for k in range(4)]
    assert levels == [0, 24, 48, 72]                            # frames 0, 3, 6, 9


def test_cgif_1_caps_at_30_frames(kit):
    out = kit.run("imageMogr2/cgif/1", _gif(kit, 36))
    assert out.frame_count == 30
    image = kit.decode(out.data, n=-1)
    assert round(image.crop(0, 16 * 29, 24, 16)[0].avg()) == 8 * 29   # the first 30, in order
    assert kit.run("imageMogr2/cgif/1", kit.corpus("chelsea_anim.gif")).frame_count == 6


def test_cgif_on_the_corpus_animation_keeps_its_duration(kit):
    src = kit.corpus("chelsea_anim.gif")
    before = kit.decode(src, n=-1)
    out = kit.run("imageMogr2/cgif/3", src)
    image = kit.decode(out.data, n=-1)
    assert out.frame_count == 3 and sum(image.get("delay")) == sum(before.get("delay"))
    assert image.get("loop") == before.get("loop")


def test_cgif_then_webp_keeps_the_reduced_animation(kit):
    out = kit.run("imageMogr2/cgif/2/format/webp", _gif(kit, 8))
    assert (out.format, out.frame_count) == ("webp", 2)


@pytest.mark.parametrize("name", ["rocket.jpg", "coffee.webp", "coffee.png"])
def test_cgif_is_for_gif_input_only(kit, name):
    with pytest.raises(InvalidArgument) as err:
        kit.run("imageMogr2/cgif/10", kit.corpus(name))
    assert "imageMogr2/cgif/10" in err.value.message and "GIF images only" in err.value.message
    assert err.value.ci_errno == -60998
