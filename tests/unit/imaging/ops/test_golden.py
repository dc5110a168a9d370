"""Golden tests: each imageMogr2 operation on corpus photos against a reviewed expected image.

Format, size and frame count are asserted exactly; pixels by tolerance (SSIM and mean absolute
error, see conftest.py), never bytes. Inputs are the corpus photos, most shrunk to 200 px wide
(lossless PNG) so goldens stay small; orientation, CMYK and animation cases use the corpus
files themselves.
"""

import pytest

from picops_emulator.imaging.geometry import rotated_size

LOADERS = {"png": "pngload_buffer", "jpg": "jpegload_buffer", "gif": "gifload_buffer",
           "webp": "webpload_buffer"}

# name, rule, input ("small:<file>" = shrunk to 200 px wide, "small@<W>:<file>" to W px,
# else the corpus file itself),
# expected (format, width, height, frames), alpha expected in the output
CASES = [
    ("crop_center", "imageMogr2/crop/120x80/gravity/center", "small:coffee.png",
     ("png", 120, 80, 1), False),
    ("crop_width_only", "imageMogr2/crop/100x", "small:chelsea.png",
     ("png", 100, 133, 1), False),
    ("crop_height_southeast", "imageMogr2/crop/x90/gravity/southeast", "small:coffee.png",
     ("png", 200, 90, 1), False),
    ("cut", "imageMogr2/cut/80x60x100x50", "small:coffee.png", ("png", 80, 60, 1), False),
    ("scrop_portrait", "imageMogr2/scrop/150x150", "grace_hopper.jpg",
     ("jpg", 150, 150, 1), False),
    ("scrop_landscape", "imageMogr2/scrop/90x120", "small:chelsea.png",
     ("png", 90, 120, 1), False),
    ("iradius_png", "imageMogr2/iradius/60", "small:coffee.png", ("png", 120, 120, 1), True),
    ("iradius_jpg", "imageMogr2/iradius/60/format/jpg", "small:coffee.png",
     ("jpg", 120, 120, 1), False),
    ("rradius_rgba", "imageMogr2/rradius/30", "small:coffee_alpha.png",
     ("png", 200, 133, 1), True),
    ("rotate_30", "imageMogr2/rotate/30", "small@150:coffee.png",
     ("png",) + rotated_size(150, 100, 30) + (1,), False),
    ("rotate_45_rgba_webp", "imageMogr2/rotate/45/format/webp", "small@150:coffee_alpha.png",
     ("webp",) + rotated_size(150, 100, 45) + (1,), True),
    ("rotate_270_flip", "imageMogr2/rotate/270/flip/horizontal", "small:chelsea.png",
     ("png", 133, 200, 1), False),
    ("blur_8x5", "imageMogr2/blur/8x5", "small:coffee.png", ("png", 200, 133, 1), False),
    ("sharpen_70", "imageMogr2/sharpen/70", "small:coffee.png", ("png", 200, 133, 1), False),
    ("bright_50", "imageMogr2/bright/50", "small:coffee.png", ("png", 200, 133, 1), False),
    ("contrast_50", "imageMogr2/contrast/50", "small:coffee.png", ("png", 200, 133, 1), False),
    ("contrast_minus_50", "imageMogr2/contrast/-50", "small:coffee.png",
     ("png", 200, 133, 1), False),
    ("grayscale", "imageMogr2/grayscale/1", "small:chelsea.png", ("png", 200, 133, 1), False),
    ("exif6_orient_crop", "imageMogr2/auto-orient/crop/200x150/gravity/center",
     "chelsea_exif6.jpg", ("jpg", 200, 150, 1), False),
    ("cmyk_crop", "imageMogr2/crop/200x150/gravity/center", "coffee_cmyk.jpg",
     ("jpg", 200, 150, 1), False),
    ("gif_crop", "imageMogr2/crop/100x80/gravity/center", "chelsea_anim.gif",
     ("gif", 100, 80, 6), True),
    ("gif_cgif3_rotate", "imageMogr2/cgif/3/rotate/90", "chelsea_anim.gif",
     ("gif", 106, 160, 3), True),
    ("combination", "imageMogr2/auto-orient/thumbnail/200x/crop/150x100/gravity/north"
     "/rotate/90/sharpen/70/format/jpg/quality/80", "chelsea_exif6.jpg",
     ("jpg", 100, 150, 1), False),
]


def source(gold, kit, spec: str) -> bytes:
    if spec.startswith("small"):
        head, name = spec.split(":")
        return gold.small(name, int(head[len("small@"):]) if "@" in head else 200)
    return kit.corpus(spec)


@pytest.mark.parametrize("name,rule,spec,expected,alpha", CASES, ids=[c[0] for c in CASES])
def test_golden(kit, gold, name, rule, spec, expected, alpha):
    fmt, width, height, frames = expected
    out = kit.run(rule, source(gold, kit, spec))
    assert (out.format, out.width, out.height, out.frame_count) == expected
    assert out.size == len(out.data)
    image = gold.decode_all(out.data)
    assert image.get("vips-loader") == LOADERS[fmt]
    assert (image.width, image.height) == (width, height * frames)
    assert image.hasalpha() == alpha
    # JPEG/WebP outputs carry encoder noise; lossless ones must match closely.
    lossy = fmt in ("jpg", "webp")
    gold.check(name, image, max_mae=3.0 if lossy else 1.0, min_ssim=0.95 if lossy else 0.98)
