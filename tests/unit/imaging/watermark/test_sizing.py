"""Watermark size: scatype/spcent scaling and blogo fitting (1: scale down, 2: crop)."""

import pytest

from picops_emulator.imaging.ops.watermark_image import watermark_size


@pytest.mark.parametrize("mark,frame,scatype,spcent,blogo,scaled,drawn", [
    ((40, 20), (200, 100), None, None, None, (40, 20), (40, 20)),
    ((40, 20), (200, 100), 1, 500, None, (100, 50), (100, 50)),     # width = 50 % of 200
    ((40, 20), (200, 100), 2, 500, None, (100, 50), (100, 50)),     # height = 50 % of 100
    ((40, 20), (200, 100), 2, 1000, None, (200, 100), (200, 100)),
    ((40, 20), (200, 100), 3, 100, None, (63, 32), (63, 32)),       # area = 10 % of 20 000
    ((30, 30), (200, 100), 1, 1, None, (1, 1), (1, 1)),             # never below 1 px
    ((400, 100), (200, 100), None, None, 1, (200, 50), (200, 50)),  # scaled to fit
    ((100, 400), (200, 100), None, None, 1, (25, 100), (25, 100)),
    ((40, 20), (200, 100), None, None, 1, (40, 20), (40, 20)),      # fits: untouched
    ((400, 300), (200, 100), None, None, 2, (400, 300), (200, 100)),  # cropped
    ((40, 300), (200, 100), None, None, 2, (40, 300), (40, 100)),
    ((40, 20), (200, 100), 1, 1000, 1, (200, 100), (200, 100)),
    ((40, 40), (200, 100), 1, 1000, 1, (100, 100), (100, 100)),     # scatype, then fit
])
def test_size_arithmetic(mark, frame, scatype, spcent, blogo, scaled, drawn):
    assert watermark_size(mark, frame, scatype, spcent, blogo) == (scaled, drawn)


def test_scatype_width_scales_the_drawn_watermark(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    mark = bucket.put("red.png", wk.png(wk.solid(40, 40, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/scatype/1/spcent/250/gravity/northwest"
                     f"/dissolve/100", base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=30) == (0, 0, 50, 50)


def test_scatype_area_scales_the_drawn_watermark(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    mark = bucket.put("red.png", wk.png(wk.solid(10, 10, wk.RED)))
    out = bucket.run(f"watermark/1/image/{mark}/scatype/3/spcent/125/gravity/center"
                     f"/dissolve/100", base)
    assert wk.box(kit.decode(out.data), wk.RED, tol=30) == (75, 25, 50, 50)   # 2 500 px


# A 400x200 watermark, red on its left half and green on its right, on a 200x100 image.
@pytest.fixture
def wide_mark(wk, bucket):
    return bucket.put("wide.png", wk.png(wk.halves(400, 200, wk.RED, wk.GREEN)))


def test_blogo_1_scales_a_too_big_watermark_to_fit(wk, kit, bucket, wide_mark):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    image = kit.decode(bucket.run(f"watermark/1/image/{wide_mark}/blogo/1/dissolve/100",
                                  base).data)
    assert wk.box(image, wk.RED, tol=30) == (0, 0, 100, 100)
    assert wk.box(image, wk.GREEN, tol=30) == (100, 0, 100, 100)


def test_blogo_2_crops_a_too_big_watermark_to_the_image(wk, kit, bucket, wide_mark):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    image = kit.decode(bucket.run(f"watermark/1/image/{wide_mark}/blogo/2/dissolve/100",
                                  base).data)
    assert wk.box(image, wk.RED, tol=2) == (0, 0, 200, 100)     # its top-left part
    assert wk.box(image, wk.GREEN, tol=60) is None


def test_without_blogo_a_too_big_watermark_is_clipped_at_its_anchor(wk, kit, bucket,
                                                                   wide_mark):
    base = wk.png(wk.solid(200, 100, wk.GREY))
    image = kit.decode(bucket.run(f"watermark/1/image/{wide_mark}/dissolve/100", base).data)
    assert wk.box(image, wk.GREEN, tol=2) == (0, 0, 200, 100)   # southeast: its bottom-right


def test_an_exif_rotated_watermark_is_used_upright(wk, kit, bucket):
    base = wk.png(wk.solid(600, 600, wk.GREY))
    mark = bucket.put("cat.jpg", kit.corpus("chelsea_exif6.jpg"))   # displays 451x300
    out = bucket.run(f"watermark/1/image/{mark}/gravity/northwest/dissolve/100", base)
    image = kit.decode(out.data)
    assert wk.mask_box(wk.changed(kit.decode(base), image)) == (0, 0, 451, 300)
