"""Golden tests for watermark/1 (image) and watermark/2 (text) on corpus photos.

Same contract as ``test_golden.py``: format, size and frame count exactly, pixels by
tolerance against a reviewed PNG under ``tests/data/golden/`` (``wm_*``). The watermark
images are corpus photos too, read through a same-bucket fetcher as the CI layer does.
"""

import base64
from pathlib import Path

import pytest

from picops.grammar import parse
from picops_emulator.imaging import execute
from picops_emulator.imaging.libvips import pyvips
from picops_emulator.imaging.watermark_fetch import bucket_fetcher

IMAGES = Path(__file__).resolve().parents[3] / "data" / "images"

BUCKET = "examplebucket-1250000000"
HOST = f"http://{BUCKET}.cos.ap-guangzhou.myqcloud.com"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def image(key: str) -> str:
    return b64(f"{HOST}/{key}")


MARK = image("marks/coffee_alpha_60.png")       # 60x40 RGBA, alpha ramps left to right
CAMERA = image("marks/camera_80.png")           # 80x80 greyscale
BIG = image("marks/grace_hopper.jpg")           # 512x600: larger than the images

# name, rule, input, expected (format, width, height, frames), alpha expected
CASES = [
    ("wm_image_southeast", f"watermark/1/image/{MARK}/gravity/southeast/dx/10/dy/8"
                           f"/dissolve/80", "small:coffee.png", ("png", 200, 133, 1), False),
    ("wm_image_grey_on_colour_center", f"watermark/1/image/{CAMERA}/gravity/center"
                                       f"/dissolve/60", "small:chelsea.png",
     ("png", 200, 133, 1), False),
    ("wm_image_scaled_tiled", f"watermark/1/image/{CAMERA}/scatype/1/spcent/150/batch/1"
                              f"/degree/30/dx/12/dy/12/dissolve/40", "small:coffee.png",
     ("png", 200, 133, 1), False),
    ("wm_image_blogo_fit", f"watermark/1/image/{BIG}/blogo/1/gravity/west/dissolve/50",
     "small:chelsea.png", ("png", 200, 133, 1), False),
    ("wm_text_cjk_shadow", f"watermark/2/text/{b64('数据万象 picops')}/fontsize/22"
                           f"/fill/{b64('#FFFFFF')}/shadow/70/gravity/center/dissolve/100",
     "small:coffee.png", ("png", 200, 133, 1), False),
    ("wm_text_tiled", f"watermark/2/text/{b64('preview')}/fontsize/14"
                      f"/fill/{b64('#FF3300')}/batch/1/degree/45/dx/20/dy/20/dissolve/60",
     "small:chelsea.png", ("png", 200, 133, 1), False),
    ("wm_text_on_animation", f"watermark/2/text/{b64('猫 cat')}/fontsize/16"
                             f"/fill/{b64('#FFFF00')}/gravity/northwest/dx/4/dy/4",
     "chelsea_anim.gif", ("gif", 160, 106, 6), True),
    ("wm_pipeline", f"imageMogr2/thumbnail/240x/format/jpg/quality/90!"
                    f"|watermark/1/image/{MARK}/gravity/northeast/dissolve/100"
                    f"|watermark/2/text/{b64('© picops')}/fontsize/12/fill/{b64('#FFFFFF')}"
                    f"/gravity/south/dy/6", "rocket.jpg", ("jpg", 240, 160, 1), False),
]


@pytest.fixture(scope="module")
def fetch():
    objects = {
        "marks/coffee_alpha_60.png":
            pyvips.Image.thumbnail(str(IMAGES / "coffee_alpha.png"), 60).pngsave_buffer(),
        "marks/camera_80.png":
            pyvips.Image.thumbnail(str(IMAGES / "camera.png"), 80).pngsave_buffer(),
        "marks/grace_hopper.jpg": (IMAGES / "grace_hopper.jpg").read_bytes(),
    }
    return bucket_fetcher(BUCKET, objects.get)


@pytest.mark.parametrize("name,rule,spec,expected,alpha", CASES, ids=[c[0] for c in CASES])
def test_golden_watermark(kit, gold, fetch, name, rule, spec, expected, alpha):
    fmt, width, height, frames = expected
    if spec.startswith("small:"):
        data = gold.small(spec[len("small:"):])
    else:
        data = kit.corpus(spec)
    out = execute(parse(rule), data, fetch=fetch)
    assert (out.format, out.width, out.height, out.frame_count) == expected
    decoded = gold.decode_all(out.data)
    assert (decoded.width, decoded.height) == (width, height * frames)
    assert decoded.hasalpha() == alpha
    lossy = fmt in ("jpg", "webp")
    gold.check(name, decoded, max_mae=3.0 if lossy else 1.0, min_ssim=0.95 if lossy else 0.98)
