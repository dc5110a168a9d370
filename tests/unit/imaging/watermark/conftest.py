"""Helpers for the watermark tests, served as the ``wk`` fixture (``kit`` comes from the parent).

Images are small solid blocks made in code, so where a watermark lands can be read exactly
from the pixels: :func:`box` finds the bounding box of the pixels that match a test.
"""

import array
import base64
from typing import Dict, Optional, Tuple

import pytest

from picops.grammar import parse
from picops_emulator.imaging import execute
from picops_emulator.imaging.libvips import pyvips
from picops_emulator.imaging.watermark_fetch import bucket_fetcher

BUCKET = "examplebucket-1250000000"
REGION = "ap-guangzhou"

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
GREY = (128, 128, 128)
WHITE = (255, 255, 255)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def url(key: str, bucket: str = BUCKET, region: str = REGION, scheme: str = "http") -> str:
    return f"{scheme}://{bucket}.cos.{region}.myqcloud.com/{key}"


def solid(width: int, height: int, colour, alpha: Optional[int] = None):
    """A ``width x height`` image of one colour (RGB, or grey for a 1-tuple), optional alpha."""
    values = list(colour) + ([] if alpha is None else [alpha])
    image = pyvips.Image.black(width, height).new_from_image(values).cast("uchar")
    return image.copy(interpretation="b-w" if len(colour) == 1 else "srgb")


def png(image) -> bytes:
    return image.pngsave_buffer()


def halves(width: int, height: int, left, right):
    """Left half one colour, right half another."""
    return solid(width // 2, height, left).join(solid(width - width // 2, height, right),
                                               "horizontal")


def box(image, colour, tol: int = 40) -> Optional[Tuple[int, int, int, int]]:
    """(left, top, width, height) of the pixels within ``tol`` of ``colour`` on every band."""
    return mask_box(_near(image, colour, tol))


def _near(image, colour, tol: int):
    """A mask of the pixels within ``tol`` of ``colour`` on every band."""
    bands = len(colour)
    diff = (image[0:bands].cast("int") - list(colour)).abs()
    near = diff[0] <= tol
    for i in range(1, bands):
        near = near & (diff[i] <= tol)
    return near


def mask_box(mask) -> Optional[Tuple[int, int, int, int]]:
    """Bounding box of the non-zero pixels of a one-band mask, None when there are none."""
    mask = (mask > 0).ifthenelse(255, 0).cast("uchar")
    if mask.max() == 0:
        return None
    columns, rows = mask.project()
    xs = [x for x, v in enumerate(_values(columns)) if v > 0]
    ys = [y for y, v in enumerate(_values(rows)) if v > 0]
    return xs[0], ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1


def _values(line):
    """The pixel values of a one-row or one-column image, as Python numbers."""
    values = array.array("d")
    values.frombytes(line.cast("double").write_to_memory())
    return values


def count(image, colour, tol: int = 40) -> int:
    """How many pixels are within ``tol`` of ``colour`` on every band."""
    near = _near(image, colour, tol)
    return int((near > 0).ifthenelse(1, 0).avg() * image.width * image.height + 0.5)


def changed(before, after, tol: int = 8):
    """A mask of the pixels whose value moved by more than ``tol`` on any band."""
    bands = min(before.bands, after.bands)
    return ((after[0:bands].cast("int") - before[0:bands].cast("int")).abs()
            .bandor() > tol)


class Objects:
    """A bucket's objects as a dict, and the fetcher the engine gets for them."""

    def __init__(self):
        self.objects: Dict[str, bytes] = {}
        self.fetch = bucket_fetcher(BUCKET, self.objects.get, region=REGION)

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key``; the rule's Base64 image param for it."""
        self.objects[key] = data
        return b64(url(key))

    def run(self, rule: str, data: bytes, **kwargs):
        return execute(parse(rule), data, fetch=self.fetch, **kwargs)


class WatermarkKit:
    b64 = staticmethod(b64)
    url = staticmethod(url)
    solid = staticmethod(solid)
    png = staticmethod(png)
    halves = staticmethod(halves)
    box = staticmethod(box)
    mask_box = staticmethod(mask_box)
    count = staticmethod(count)
    changed = staticmethod(changed)
    BUCKET, REGION = BUCKET, REGION
    RED, GREEN, BLUE, GREY, WHITE = RED, GREEN, BLUE, GREY, WHITE


@pytest.fixture
def wk():
    return WatermarkKit


@pytest.fixture
def bucket():
    return Objects()
