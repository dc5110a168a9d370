"""blur, sharpen, bright, contrast, grayscale: the documented formulas on real pixels."""

import math

import pytest

from picops_emulator.imaging.ops.adjust import (bright_line, contrast_line, gaussian_kernel,
                                                sharpen_settings)


def _grey(kit, value, width=64, height=48):
    image = (kit.pyvips.Image.black(width, height) + value).cast("uchar")
    return image.bandjoin([image, image]).copy(interpretation="srgb").pngsave_buffer()


def _ramp(kit, width=256, height=16):
    """Every 8-bit level once per row, as RGB PNG."""
    x = kit.pyvips.Image.xyz(width, height)[0].cast("uchar")
    return x.bandjoin([x, x]).copy(interpretation="srgb").pngsave_buffer()


def _stats(kit, data):
    image = kit.decode(data)
    return image.avg(), image.deviate()


# --- pure formulas ------------------------------------------------------------------

def test_gaussian_kernel_has_2r_plus_1_taps_summing_to_one():
    k = gaussian_kernel(8, 5.0)
    assert len(k) == 17 and abs(sum(k) - 1) < 1e-12
    assert k[8] == max(k) and k[0] == k[16]
    assert abs(k[8] / k[13] - math.exp(25 / 50)) < 1e-9          # exp(d^2 / (2 sigma^2))
    box = gaussian_kernel(2, 1000.0)                              # huge sigma: a 5-tap box
    assert max(box) - min(box) < 1e-5


def test_formula_values_at_the_documented_points():
    assert bright_line(0, 255) == (1.0, 0.0)
    assert bright_line(50, 255) == (1.0, 64.0) and bright_line(-100, 255) == (1.0, -128.0)
    assert bright_line(50, 65535) == (1.0, 16384.0)
    slope, offset = contrast_line(50, 255)
    assert abs(slope - math.tan(3 * math.pi / 8)) < 1e-12        # ~2.414
    assert abs(slope * 127.5 + offset - 127.5) < 1e-9            # mid-grey is fixed
    assert contrast_line(0, 255) == pytest.approx((1.0, 0.0))
    assert contrast_line(-100, 255) == pytest.approx((0.0, 127.5))
    assert sharpen_settings(70) == (1.2, 3.5) and sharpen_settings(10) == (0.6, 0.5)


# --- bright / contrast ------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [(50, 164), (-50, 36), (100, 228), (-100, 0),
                                            (0, 100)])
def test_bright_shifts_every_sample(kit, value, expected):
    mean, deviation = _stats(kit, kit.run(f"imageMogr2/bright/{value}", _grey(kit, 100)).data)
    assert mean == expected and deviation == 0


def test_bright_50_visibly_raises_the_mean_of_a_photo(kit):
    src = kit.corpus("coffee.png")
    before, _ = _stats(kit, src)
    after, _ = _stats(kit, kit.run("imageMogr2/bright/50", src).data)
    darker, _ = _stats(kit, kit.run("imageMogr2/bright/-50", src).data)
    assert after - before > 40 and before - darker > 40


def test_contrast_50_visibly_widens_the_spread(kit):
    src = kit.corpus("coffee.png")
    _, spread = _stats(kit, src)
    _, wider = _stats(kit, kit.run("imageMogr2/contrast/50", src).data)
    _, narrower = _stats(kit, kit.run("imageMogr2/contrast/-50", src).data)
    assert wider > spread * 1.3 and narrower < spread * 0.6


def test_contrast_pivots_on_mid_grey(kit):
    ramp = kit.decode(kit.run("imageMogr2/contrast/50", _ramp(kit)).data)
    # out = (in - 127.5) * 2.414 + 127.5, rounded and clipped
    for level in (0, 80, 120, 127, 128, 140, 180, 255):
        expected = min(255, max(0, round((level - 127.5) * math.tan(3 * math.pi / 8) + 127.5)))
        assert abs(ramp(level, 0)[0] - expected) <= 1, level
    flat = kit.decode(kit.run("imageMogr2/contrast/-100", _ramp(kit)).data)
    assert flat.min() == flat.max() == 128


def test_bright_and_contrast_leave_alpha_alone(kit):
    src = kit.corpus("coffee_alpha.png")
    alpha = kit.decode(src)[3]
    for rule in ("imageMogr2/bright/60", "imageMogr2/contrast/-40"):
        out = kit.decode(kit.run(rule, src).data)
        assert out.bands == 4 and (out[3] - alpha).abs().max() == 0


def test_sixteen_bit_stays_sixteen_bit(kit):
    src = kit.corpus("camera_16bit.png")
    before = kit.decode(src)
    out = kit.decode(kit.run("imageMogr2/bright/50", src).data)
    assert (out.format, out.interpretation) == ("ushort", "grey16")
    assert abs(out.avg() - min(65535, before.avg() + 16384)) < 2500  # minus clipping


# --- blur / sharpen -------------------------------------------------------------------

def test_blur_radius_bounds_the_mask(kit):
    dot = (kit.pyvips.Image.black(41, 41).draw_rect(255, 20, 20, 1, 1, fill=True)).cast("uchar")
    data = dot.bandjoin([dot, dot]).copy(interpretation="srgb").pngsave_buffer()
    wide = kit.decode(kit.run("imageMogr2/blur/2x1000", data).data)[0]
    # R = 2 with a huge sigma: a 5x5 box of 255 / 25 = 10.2 around the dot, nothing outside
    assert wide.crop(18, 18, 5, 5).min() == 10 and wide.crop(18, 18, 5, 5).max() == 10
    assert wide.crop(0, 0, 41, 17).max() == 0 and wide.crop(24, 0, 17, 41).max() == 0
    narrow = kit.decode(kit.run("imageMogr2/blur/10x1", data).data)[0]
    assert narrow(20, 20)[0] > 30 and narrow(24, 20)[0] == 0    # sigma 1: gone by 4 px


def test_blur_smooths_a_photo_but_keeps_its_mean_and_a_flat_image(kit):
    src = kit.corpus("coffee.png")
    mean, spread = _stats(kit, src)
    out = kit.run("imageMogr2/blur/8x5", src)
    blurred_mean, blurred_spread = _stats(kit, out.data)
    assert (out.width, out.height) == (600, 400)
    assert abs(blurred_mean - mean) < 0.5 and blurred_spread < spread
    assert _stats(kit, kit.run("imageMogr2/blur/20x8", _grey(kit, 77)).data) == (77, 0)


def test_blur_of_rgba_has_no_dark_halo(kit):
    # opaque white square on a fully transparent black background
    square = (kit.pyvips.Image.black(40, 40).draw_rect(255, 10, 10, 20, 20, fill=True))
    image = square.bandjoin([square, square, square]).cast("uchar") \
        .copy(interpretation="srgb")
    out = kit.decode(kit.run("imageMogr2/blur/6x3", image.pngsave_buffer()).data)
    edge = out(9, 20)                                 # just outside: partly transparent
    assert 0 < edge[3] < 255 and edge[0] >= 250       # its colour is still white


def _edge_energy(kit, data):
    image = kit.decode(data).colourspace("b-w")
    return (image.cast("int") - image.gaussblur(1)).abs().avg()


def test_sharpen_grows_with_its_value(kit):
    src = kit.corpus("coffee.png")
    energies = [_edge_energy(kit, src)] + [
        _edge_energy(kit, kit.run(f"imageMogr2/sharpen/{v}", src).data) for v in (10, 70, 300)]
    assert energies == sorted(energies) and energies[2] > energies[0] * 1.2


# --- grayscale -------------------------------------------------------------------------

def test_grayscale_writes_one_band_of_luminance(kit):
    out = kit.run("imageMogr2/grayscale/1", kit.corpus("rocket.jpg"))
    image = kit.decode(out.data)
    assert (out.format, image.bands, image.interpretation) == ("jpg", 1, "b-w")
    reference = kit.decode(kit.corpus("rocket.jpg")).colourspace("b-w")
    assert kit.mad(image, reference) < 2


def test_grayscale_0_changes_nothing_and_alpha_survives_grayscale_1(kit):
    src = kit.corpus("coffee.png")
    same = kit.decode(kit.run("imageMogr2/grayscale/0", src).data)
    assert kit.mad(same, kit.decode(src)) == 0
    out = kit.decode(kit.run("imageMogr2/grayscale/1", kit.corpus("coffee_alpha.png")).data)
    assert out.bands == 2 and out.hasalpha()


def test_filters_run_frame_by_frame_on_animations(kit):
    src = kit.corpus("chelsea_anim.gif")
    out = kit.run("imageMogr2/blur/3x2/grayscale/1/bright/10", src)
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 6, 160, 106)
    image = kit.decode(out.data, n=-1)
    original = kit.decode(src, n=-1)
    for i in (1, 4):
        # the same rule on that frame alone: its edge rows see no neighbouring frame
        alone = original.crop(0, 106 * i, 160, 106).pngsave_buffer()
        expected = kit.decode(kit.run("imageMogr2/blur/3x2/grayscale/1/bright/10", alone).data)
        frame = image.crop(0, 106 * i, 160, 106)
        assert kit.mad(frame[0], expected[0]) < 3
        assert kit.mad(frame.crop(0, 0, 160, 2)[0], expected.crop(0, 0, 160, 2)[0]) < 3
