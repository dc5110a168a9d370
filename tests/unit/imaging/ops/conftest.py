"""Golden-image helpers for the imageMogr2 operation tests, served as the ``gold`` fixture.

A golden image is the decoded output of a rule, generated once with the engine, reviewed by
eye and committed as PNG under ``tests/data/golden/`` (animations as a vertical strip of
frames). Tests compare outputs to it by tolerance (SSIM and mean absolute error), never by
bytes, after asserting format, size and frame count exactly.

To (re)create goldens after a deliberate change: ``PICOPS_WRITE_GOLDEN=1 pytest <this dir>``.
Every test that writes a golden then fails ("written, review it"), so a regeneration run can
never pass by itself; review the PNGs and run again without the variable.
"""

import os
from pathlib import Path

import pytest

from picops_emulator.imaging.libvips import pyvips

GOLDEN = Path(__file__).resolve().parents[3] / "data" / "golden"
IMAGES = Path(__file__).resolve().parents[3] / "data" / "images"
WRITE = os.environ.get("PICOPS_WRITE_GOLDEN") == "1"
# Composite colour for comparing images with alpha: magenta shows any alpha mistake.
MATTE = [255, 0, 255]


def as_rgb(image):
    """8-bit sRGB, alpha composited over MATTE, so any two images compare band for band."""
    if image.format != "uchar":
        image = image.colourspace("srgb" if image.bands >= 3 else "b-w").cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=MATTE if image.bands > 2 else [128])
    if image.bands == 1:
        image = image.bandjoin([image, image])
    return image.copy(interpretation="srgb")


def mae(a, b) -> float:
    """Mean absolute difference per sample (0..255) of two same-sized images."""
    return (as_rgb(a).cast("float") - as_rgb(b).cast("float")).abs().avg()


def ssim(a, b) -> float:
    """Mean structural similarity of the luminance of two same-sized images (1 = identical).

    The usual SSIM: Gaussian windows of sigma 1.5, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2.
    """
    x = as_rgb(a).colourspace("b-w").cast("float")
    y = as_rgb(b).colourspace("b-w").cast("float")

    def blur(image):
        return image.gaussblur(1.5)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cov = blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    num = (mx * my * 2 + c1) * (cov * 2 + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return (num / den).avg()


def decode_all(data: bytes):
    """Every frame of an output, as one strip (a still image is a strip of one)."""
    animated = data[:4] == b"GIF8" or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    return pyvips.Image.new_from_buffer(data, "", n=-1) if animated else \
        pyvips.Image.new_from_buffer(data, "")


class Gold:
    mae = staticmethod(mae)
    ssim = staticmethod(ssim)
    as_rgb = staticmethod(as_rgb)
    decode_all = staticmethod(decode_all)

    @staticmethod
    def small(name: str, width: int = 200) -> bytes:
        """A corpus photo shrunk to ``width`` px wide, as lossless PNG bytes (alpha kept)."""
        image = pyvips.Image.thumbnail(str(IMAGES / name), width)
        return image.pngsave_buffer()

    @staticmethod
    def check(name: str, image, *, max_mae: float = 2.0, min_ssim: float = 0.97) -> None:
        """Compare ``image`` (decoded, all frames) to the golden ``name``.png by tolerance."""
        path = GOLDEN / f"{name}.png"
        if WRITE:
            GOLDEN.mkdir(parents=True, exist_ok=True)
            image.pngsave(str(path), compression=9)
            pytest.fail(f"golden {path.name} written; review it by eye, then rerun without "
                        f"PICOPS_WRITE_GOLDEN")
        assert path.exists(), (f"golden {path.name} is missing; create it with "
                               f"PICOPS_WRITE_GOLDEN=1 and review it")
        expected = pyvips.Image.new_from_file(str(path))
        assert (image.width, image.height) == (expected.width, expected.height)
        assert image.hasalpha() == expected.hasalpha(), "alpha band differs from the golden"
        difference, similarity = mae(image, expected), ssim(image, expected)
        assert difference <= max_mae, f"{name}: mean abs error {difference:.2f} > {max_mae}"
        assert similarity >= min_ssim, f"{name}: SSIM {similarity:.4f} < {min_ssim}"


@pytest.fixture
def gold():
    return Gold
