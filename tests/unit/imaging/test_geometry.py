"""Size arithmetic of thumbnail geometries and imageView2 modes (pure, no pixels)."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picops.grammar import parse
from picops_emulator.imaging.geometry import (centre_offset, round_half_up, thumbnail_size,
                                              view2_plan)


def geom(text: str):
    return parse(f"imageMogr2/thumbnail/{text}").stages[0].get("thumbnail")


# (geometry, source w x h, expected w x h): the §5.2 table worked through by hand.
THUMBNAILS = [
    ("!50p", (1000, 500), (500, 250)),
    ("!150p", (1000, 500), (1500, 750)),
    ("!50px", (1000, 500), (500, 500)),
    ("!x50p", (1000, 500), (1000, 250)),
    ("500x", (1000, 500), (500, 250)),
    ("x100", (1000, 500), (200, 100)),
    ("400x400", (1000, 500), (400, 200)),       # fit: width binds
    ("400x100", (1000, 500), (200, 100)),       # fit: height binds
    ("2000x2000", (1000, 500), (2000, 1000)),   # fit enlarges
    ("400x400>", (1000, 500), (400, 200)),      # shrink-only shrinks
    ("2000x2000>", (1000, 500), (1000, 500)),   # ... and never enlarges
    ("2000x2000<", (1000, 500), (2000, 1000)),  # enlarge-only enlarges
    ("400x400<", (1000, 500), (1000, 500)),     # ... and never shrinks
    ("!400x400r", (1000, 500), (800, 400)),     # cover: minimum sides
    ("300x300!", (1000, 500), (300, 300)),      # exact, aspect ignored
    ("125000@", (1000, 500), (500, 250)),       # area: 500 x 250 = 125000
    ("100000@", (1000, 500), (447, 223)),       # floored so w*h <= A
    ("8000000@", (1000, 500), (4000, 2000)),    # area enlarges too
    ("!33p", (100, 100), (33, 33)),
    ("!1p", (10, 10), (1, 1)),                  # 0.1 px -> the 1 px minimum
    ("333x", (1000, 501), (333, 167)),          # 166.833 -> 167
    ("x3", (3, 9), (1, 3)),
]


@pytest.mark.parametrize("text,src,expected", THUMBNAILS)
def test_thumbnail_sizes(text, src, expected):
    assert thumbnail_size(geom(text), *src) == expected


@pytest.mark.parametrize("text,src,expected", [
    ("2000x2000", (160, 106), (160, 106)),   # fit would enlarge: kept
    ("!200p", (160, 106), (160, 106)),
    ("!200px", (160, 106), (160, 106)),
    ("500x50!", (160, 106), (160, 50)),      # each side capped separately
    ("1000000@", (160, 106), (160, 106)),
    ("80x", (160, 106), (80, 53)),           # shrinking is unaffected
])
def test_animated_images_are_never_enlarged(text, src, expected):
    assert thumbnail_size(geom(text), *src, enlarge=False) == expected


def test_rounding_is_half_up_with_a_one_pixel_minimum():
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(7, 2)) == 4    # not banker's rounding
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(Fraction(0)) == 1
    # 25% of 10 px is 2.5 px -> 3
    assert thumbnail_size(geom("!25p"), 10, 10) == (3, 3)


@settings(max_examples=200, deadline=None)
@given(area=st.integers(1, 10**8), w0=st.integers(1, 30000), h0=st.integers(1, 30000))
def test_area_never_exceeds_the_budget_unless_the_minimum_forces_it(area, w0, h0):
    w, h = thumbnail_size(geom(f"{area}@"), w0, h0)
    assert w >= 1 and h >= 1
    if w > 1 and h > 1:
        assert w * h <= area
        # and it is the largest such: one more pixel on both sides would exceed it
        assert (w + 1) * (h + 1) > area


@settings(max_examples=200, deadline=None)
@given(w=st.integers(1, 5000), h=st.integers(1, 5000), w0=st.integers(1, 20000),
       h0=st.integers(1, 20000))
def test_fit_pins_one_side_and_stays_inside_the_box(w, h, w0, h0):
    out_w, out_h = thumbnail_size(geom(f"{w}x{h}"), w0, h0)
    assert out_w == w or out_h == h
    assert out_w <= w and out_h <= h


# imageView2, on the documented 1000x500 example (reference §5.8)
VIEW2 = [
    (1, 500, 400, (1000, 500), (800, 400), (500, 400)),
    (2, 500, 400, (1000, 500), (500, 250), None),
    (3, 500, 400, (1000, 500), (800, 400), None),
    (1, 300, None, (1000, 500), (600, 300), (300, 300)),   # one side -> square
    (2, 300, None, (1000, 500), (300, 150), None),          # one side -> other free
    (2, None, 100, (1000, 500), (200, 100), None),
    (3, 300, None, (1000, 500), (600, 300), None),          # one side -> both
    (4, 500, 200, (1000, 500), (500, 250), None),           # long >= 500, short >= 200
    (4, 500, 200, (500, 1000), (250, 500), None),           # same on a portrait source
    (5, 500, 200, (1000, 500), (500, 250), (500, 200)),     # then crop Long x Short
    (5, 500, 200, (500, 1000), (250, 500), (200, 500)),     # portrait: Short x Long
    # never enlarges: a small source stays its size, the crop box shrinks to fit
    (2, 2000, 2000, (1000, 500), (1000, 500), None),
    (3, 2000, 2000, (1000, 500), (1000, 500), None),
    (1, 2000, 400, (1000, 500), (1000, 500), (1000, 400)),
]


@pytest.mark.parametrize("mode,w,h,src,size,crop", VIEW2)
def test_view2_plans(mode, w, h, src, size, crop):
    plan = view2_plan(mode, w, h, *src)
    assert plan.size == size
    assert plan.crop == crop


def test_view2_rejects_mode_zero_and_missing_sides():
    with pytest.raises(ValueError, match="mode 0"):
        view2_plan(0, 100, 100, 10, 10)
    with pytest.raises(ValueError, match="needs w or h"):
        view2_plan(2, None, None, 10, 10)


def test_centre_offset_matches_the_documented_crop():
    # 800x400 -> 500x400 cuts 150 px from each side
    assert centre_offset((800, 400), (500, 400)) == (150, 0)
    assert centre_offset((5, 5), (2, 2)) == (1, 1)
