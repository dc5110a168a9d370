"""How a watermark's pixels mix with the image: dissolve, the mark's own alpha, base alpha,
greyscale and 16-bit bases."""

import pytest


def _pixel(kit, out, x, y):
    return kit.decode(out.data)(x, y)


def _close(actual, expected, tol=2):
    return all(abs(a - e) <= tol for a, e in zip(actual, expected))


@pytest.fixture
def blue_base(wk):
    return wk.png(wk.solid(60, 40, wk.BLUE))


@pytest.mark.parametrize("dissolve,expected", [
    (100, (255, 0, 0)),
    (40, (102, 0, 153)),     # 0.4 * red + 0.6 * blue
    (1, (3, 0, 252)),
])
def test_dissolve_is_the_watermark_opacity(wk, kit, bucket, blue_base, dissolve, expected):
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/{dissolve}", blue_base)
    assert _close(_pixel(kit, out, 50, 35), expected)
    assert _close(_pixel(kit, out, 5, 5), wk.BLUE, tol=0)     # untouched outside the mark


def test_default_dissolve_is_90_percent(wk, kit, bucket, blue_base):
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}", blue_base)
    assert _close(_pixel(kit, out, 50, 35), (230, 0, 25))


def test_the_watermarks_own_alpha_multiplies_with_dissolve(wk, kit, bucket, blue_base):
    mark = bucket.put("half.png", wk.png(wk.solid(20, 10, wk.RED, alpha=128)))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/50", blue_base)
    assert _close(_pixel(kit, out, 50, 35), (64, 0, 191))      # 25 % red over blue


def test_a_transparent_base_keeps_its_alpha_and_gets_an_opaque_mark(wk, kit, bucket):
    base = wk.png(wk.solid(60, 40, wk.BLUE, alpha=0))
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/100", base)
    image = kit.decode(out.data)
    assert image.bands == 4
    assert _close(image(50, 35), (255, 0, 0, 255))
    assert image(5, 5)[3] == 0


def test_an_opaque_base_stays_without_alpha(wk, kit, bucket, blue_base):
    mark = bucket.put("half.png", wk.png(wk.solid(20, 10, wk.RED, alpha=128)))
    out = bucket.run(f"watermark/1/image/{mark}", blue_base)
    assert kit.decode(out.data).bands == 3


def test_a_coloured_mark_turns_a_greyscale_image_into_colour(wk, kit, bucket):
    base = wk.png(wk.solid(60, 40, (100,)))
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/100", base)
    image = kit.decode(out.data)
    assert image.bands == 3
    assert _close(image(50, 35), wk.RED) and _close(image(5, 5), (100, 100, 100))


def test_a_grey_mark_keeps_a_greyscale_image_grey(wk, kit, bucket):
    base = wk.png(wk.solid(60, 40, (100,)))
    mark = bucket.put("white.png", wk.png(wk.solid(20, 10, (255,))))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/50", base)
    image = kit.decode(out.data)
    assert image.bands == 1
    assert abs(image(50, 35)[0] - 178) <= 2      # halfway from 100 to 255


def test_a_16_bit_image_stays_16_bit(wk, kit, bucket):
    base16 = (wk.solid(60, 40, (100,)).cast("ushort") * 257).cast("ushort") \
        .copy(interpretation="grey16")
    mark = bucket.put("white.png", wk.png(wk.solid(20, 10, (255,))))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/100", base16.pngsave_buffer())
    image = kit.decode(out.data)
    assert image.format == "ushort"
    assert abs(image(50, 35)[0] - 65535) <= 257 and abs(image(5, 5)[0] - 25700) <= 257


def test_jpeg_output_of_a_jpeg_source(wk, kit, bucket):
    mark = bucket.put("red.png", wk.png(wk.solid(40, 30, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/dissolve/100", kit.corpus("rocket.jpg"))
    assert (out.format, out.width, out.height) == ("jpg", 640, 427)
    corner = kit.decode(out.data).crop(600 + 5, 397 + 5, 30, 20)
    assert _close([corner[i].avg() for i in range(3)], wk.RED, tol=12)
