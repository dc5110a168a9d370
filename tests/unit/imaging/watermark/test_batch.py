"""batch/1 tiling: the watermark repeats over the whole image, with dx/dy gaps, rotated by
degree (clockwise)."""


def test_tiles_without_gaps_cover_every_pixel(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.BLUE))
    mark = bucket.put("red.png", wk.png(wk.solid(30, 20, wk.RED)))
    image = kit.decode(bucket.run(f"watermark/1/image/{mark}/batch/1/dissolve/100", base).data)
    assert wk.count(image, wk.RED, tol=2) == 200 * 100


def test_dx_dy_are_the_gaps_of_the_grid_from_the_top_left(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.BLUE))
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    image = kit.decode(bucket.run(f"watermark/1/image/{mark}/batch/1/dx/10/dy/15/dissolve/100",
                                  base).data)
    # cells are 30x25: red in [0, 20) x [0, 10) of each cell, blue in the gaps
    for x, y, colour in [(0, 0, wk.RED), (19, 9, wk.RED), (25, 5, wk.BLUE), (5, 15, wk.BLUE),
                         (35, 30, wk.RED), (175, 80, wk.BLUE), (180, 75, wk.RED)]:
        assert list(image(x, y)) == list(colour), (x, y)
    # every 50x50 block of the image has tiles in it
    for bx in range(0, 200, 50):
        for by in range(0, 100, 50):
            assert wk.count(image.crop(bx, by, 50, 50), wk.RED, tol=2) > 0, (bx, by)
    assert wk.count(image, wk.RED, tol=2) == 7 * 4 * 200   # 7 columns x 4 rows of 20x10


def test_degree_rotates_each_tile_clockwise(wk, kit, bucket):
    # A 140x8 bar turned 45 degrees clockwise runs from top-left to bottom-right ("\").
    base = wk.png(wk.solid(100, 100, wk.BLUE))
    mark = bucket.put("bar.png", wk.png(wk.solid(140, 8, wk.RED)))
    image = kit.decode(bucket.run(f"watermark/1/image/{mark}/batch/1/degree/45/dissolve/100",
                                  base).data)
    assert wk.count(image.crop(5, 5, 10, 10), wk.RED, tol=60) > 50       # on the "\" diagonal
    assert wk.count(image.crop(85, 85, 10, 10), wk.RED, tol=60) > 50
    assert wk.count(image.crop(85, 5, 10, 10), wk.RED, tol=60) == 0      # off it
    assert wk.count(image.crop(5, 85, 10, 10), wk.RED, tol=60) == 0


def test_rotated_tiles_have_clean_edges(wk, kit, bucket):
    # Rotation is done premultiplied: no dark fringe between a white tile and a white image.
    base = wk.png(wk.solid(100, 100, wk.WHITE))
    mark = bucket.put("white.png", wk.png(wk.solid(30, 30, wk.WHITE)))
    image = kit.decode(bucket.run(f"watermark/1/image/{mark}/batch/1/degree/30/dissolve/100",
                                  base).data)
    assert image.min() >= 250


def test_tiling_ignores_gravity(wk, kit, bucket):
    base = wk.png(wk.solid(200, 100, wk.BLUE))
    mark = bucket.put("red.png", wk.png(wk.solid(20, 10, wk.RED)))
    a = bucket.run(f"watermark/1/image/{mark}/batch/1/dx/10/dy/10/dissolve/100", base)
    b = bucket.run(f"watermark/1/image/{mark}/gravity/center/batch/1/dx/10/dy/10/dissolve/100",
                   base)
    assert kit.mad(kit.decode(a.data), kit.decode(b.data)) == 0
