"""Where a watermark lands: gravity, dx/dy, clipping, orientation, animation frames."""

import pytest

# A 20x10 red block on a 200x100 grey image, margins dx=7, dy=5 (reference §5.1: inward
# offsets; centre ignores both, north/south ignore dx, west/east ignore dy).
EXPECTED = {
    "northwest": (7, 5), "north": (90, 5), "northeast": (173, 5),
    "west": (7, 45), "center": (90, 45), "east": (173, 45),
    "southwest": (7, 85), "south": (90, 85), "southeast": (173, 85),
}


@pytest.fixture
def grey_base(wk):
    return wk.png(wk.solid(200, 100, wk.GREY))


@pytest.fixture
def red_mark(wk, bucket):
    return bucket.put("marks/red.png", wk.png(wk.solid(20, 10, wk.RED)))


@pytest.mark.parametrize("gravity", sorted(EXPECTED))
def test_each_gravity_anchors_with_inward_margins(wk, kit, bucket, grey_base, red_mark,
                                                  gravity):
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/{gravity}/dx/7/dy/5/dissolve/100",
                     grey_base)
    assert (out.width, out.height) == (200, 100)
    x, y = EXPECTED[gravity]
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (x, y, 20, 10)


def test_gravity_is_read_in_any_case(wk, kit, bucket, grey_base, red_mark):
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/NorthEast/dissolve/100", grey_base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (180, 0, 20, 10)


def test_defaults_are_southeast_without_margins(wk, kit, bucket, grey_base, red_mark):
    out = bucket.run(f"watermark/1/image/{red_mark}/dissolve/100", grey_base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (180, 90, 20, 10)


def test_a_watermark_pushed_past_the_edge_is_clipped(wk, kit, bucket, grey_base, red_mark):
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/northwest/dx/190/dy/95/dissolve/100",
                     grey_base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (190, 95, 10, 5)


def test_a_watermark_pushed_off_the_image_draws_nothing(wk, kit, bucket, grey_base, red_mark):
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/northwest/dx/500/dissolve/100",
                     grey_base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=60) is None
    assert (out.width, out.height) == (200, 100)


def test_placement_is_on_the_image_as_displayed(wk, kit, bucket, red_mark):
    # Stored 300x451 with EXIF orientation 6: displays 451x300; the mark goes bottom-right of
    # what a viewer sees, and the output carries no rotation left to apply.
    out = bucket.run(f"watermark/1/image/{red_mark}/dissolve/100|imageMogr2/format/png",
                     kit.corpus("chelsea_exif6.jpg"))
    assert (out.width, out.height) == (451, 300)
    image = kit.decode(out.data)
    assert not image.get_typeof("orientation") or image.get("orientation") == 1
    assert wk.box(image, wk.RED, tol=40) == (431, 290, 20, 10)


def test_every_frame_of_an_animation_gets_the_watermark(wk, kit, bucket, red_mark):
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/northwest/dx/3/dy/4/dissolve/100",
                     kit.corpus("chelsea_anim.gif"))
    assert (out.format, out.frame_count, out.width, out.height) == ("gif", 6, 160, 106)
    strip = kit.decode(out.data, n=-1)
    for i in range(6):
        frame = strip.crop(0, i * 106, 160, 106)
        assert wk.box(frame, wk.RED, tol=40) == (3, 4, 20, 10), f"frame {i}"


def test_a_watermark_clipped_at_a_frame_edge_does_not_spill_into_the_next(wk, kit, bucket,
                                                                           red_mark):
    # 10 px tall at y=100 of a 106 px frame: 4 rows would fall onto the next frame.
    out = bucket.run(f"watermark/1/image/{red_mark}/gravity/northwest/dx/0/dy/100/dissolve/100",
                     kit.corpus("chelsea_anim.gif"))
    strip = kit.decode(out.data, n=-1)
    for i in range(6):
        frame = strip.crop(0, i * 106, 160, 106)
        assert wk.box(frame, wk.RED, tol=40) == (0, 100, 20, 6), f"frame {i}"
