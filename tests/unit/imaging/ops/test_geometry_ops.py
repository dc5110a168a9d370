"""Pure arithmetic behind crop, scrop and rotate (no pixels)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from picops.grammar.ast import Cut, Size
from picops_emulator.imaging import InvalidArgument
from picops_emulator.imaging.geometry import (GRAVITY_GRID, cover_size, gravity_offset,
                                              rotated_size)
from picops_emulator.imaging.ops.crop import crop_box, cut_box


@pytest.mark.parametrize("gravity,expected", [
    ("northwest", (0, 0)), ("north", (150, 0)), ("northeast", (300, 0)),
    ("west", (0, 50)), ("center", (150, 50)), ("east", (300, 50)),
    ("southwest", (0, 100)), ("south", (150, 100)), ("southeast", (300, 100)),
])
def test_gravity_offsets_on_the_3x3_grid(gravity, expected):
    assert gravity_offset(gravity, (600, 400), (300, 300)) == expected


@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_every_gravity_keeps_the_box_inside(w0, h0, data):
    w, h = data.draw(st.integers(1, w0)), data.draw(st.integers(1, h0))
    for gravity in GRAVITY_GRID:
        left, top = gravity_offset(gravity, (w0, h0), (w, h))
        assert 0 <= left <= w0 - w and 0 <= top <= h0 - h


def test_crop_box_takes_the_missing_side_from_the_image():
    assert crop_box(Size(300, None), "center", 600, 400, "x") == (150, 0, 300, 400)
    assert crop_box(Size(None, 100), "south", 600, 400, "x") == (0, 300, 600, 100)
    with pytest.raises(InvalidArgument, match="where: height 500 is larger than the 600x400"):
        crop_box(Size(100, 500), "center", 600, 400, "where")


def test_cut_box_clips_at_the_far_edges():
    assert cut_box(Cut(100, 100, 550, 350), 600, 400, "x") == (550, 350, 50, 50)
    assert cut_box(Cut(600, 400, 0, 0), 600, 400, "x") == (0, 0, 600, 400)


@pytest.mark.parametrize("size,expected", [((300, 300), (450, 300)), ((200, 100), (200, 133)),
                                           ((900, 100), (900, 600)), ((150, 400), (600, 400))])
def test_cover_size_covers_with_one_side_exact(size, expected):
    assert cover_size(600, 400, *size) == expected


@pytest.mark.parametrize("degrees,expected", [
    (0, (600, 400)), (360, (600, 400)), (90, (400, 600)), (180, (600, 400)),
    (270, (400, 600)), (45, (707, 707)), (30, (720, 646)), (135, (707, 707)),
])
def test_rotated_size_worked_examples(degrees, expected):
    # 30 degrees: 600 cos 30 + 400 sin 30 = 719.6 -> 720; 600 sin 30 + 400 cos 30 = 646.4 -> 646
    assert rotated_size(600, 400, degrees) == expected


@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(0, 360))
def test_rotated_size_is_the_rounded_bounding_box(w, h, degrees):
    a = math.radians(degrees)
    width, height = rotated_size(w, h, degrees)
    exact_w = abs(w * math.cos(a)) + abs(h * math.sin(a))
    exact_h = abs(w * math.sin(a)) + abs(h * math.cos(a))
    assert abs(width - exact_w) <= 0.5 + 1e-6 and abs(height - exact_h) <= 0.5 + 1e-6
    assert rotated_size(w, h, degrees) == rotated_size(w, h, 360 - degrees)  # either way
