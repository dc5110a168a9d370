"""Helpers for the image engine's tests, served as the ``kit`` fixture.

pytest runs with ``--import-mode=importlib``, so test modules cannot import this file; the
helpers are reached through ``kit.<name>`` instead.
"""

from pathlib import Path

import pytest

from picops.grammar import parse
from picops_emulator.imaging import execute
from picops_emulator.imaging.libvips import pyvips

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"


def corpus(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def run(rule: str, data: bytes, **kwargs):
    return execute(parse(rule), data, **kwargs)


def decode(data: bytes, **kwargs):
    """Decode output bytes with libvips (all frames when asked with n=-1)."""
    return pyvips.Image.new_from_buffer(data, "", **kwargs)


def mean_abs_diff(a, b) -> float:
    """Mean absolute difference of two same-sized images over their common bands."""
    bands = min(a.bands, b.bands)
    return (a[0:bands].cast("float") - b[0:bands].cast("float")).abs().avg()


def photo(width: int, height: int, bands: int = 3):
    """A smooth synthetic photo-like image (gradients), cheap to make at any size."""
    x = pyvips.Image.xyz(width, height)
    r = (x[0] * (255.0 / max(width - 1, 1)))
    g = (x[1] * (255.0 / max(height - 1, 1)))
    b = ((x[0] + x[1]) * (255.0 / max(width + height - 2, 1)))
    image = r.bandjoin([g, b]).cast("uchar").copy(interpretation="srgb")
    if bands == 4:
        image = image.bandjoin(255)
    elif bands == 1:
        image = image.colourspace("b-w")
    return image


def jpeg(width: int, height: int, q: int = 80) -> bytes:
    return photo(width, height).jpegsave_buffer(Q=q)


def png(width: int, height: int) -> bytes:
    return photo(width, height).pngsave_buffer()


class Kit:
    corpus = staticmethod(corpus)
    run = staticmethod(run)
    decode = staticmethod(decode)
    mad = staticmethod(mean_abs_diff)
    photo = staticmethod(photo)
    jpeg = staticmethod(jpeg)
    png = staticmethod(png)
    pyvips = pyvips


@pytest.fixture
def kit():
    return Kit


@pytest.fixture
def no_full_decode(monkeypatch):
    """Make any full decode of the source fail, to prove a path uses shrink-on-load."""
    from picops_emulator.imaging import source

    def refuse(self, frames=None):
        raise AssertionError("Source.load() was called: the fast path did a full decode")

    monkeypatch.setattr(source.Source, "load", refuse)
