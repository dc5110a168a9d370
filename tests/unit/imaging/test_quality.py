"""Quality: the estimators (JPEG tables, WebP quantisers) and the §5.6 formulas end to end."""

import pytest

from picops.grammar.ast import Quality
from picops_emulator.imaging import probe
from picops_emulator.imaging.jpegquant import estimate_quality as jpeg_q
from picops_emulator.imaging.jpegquant import read_quant_tables
from picops_emulator.imaging.quality import DEFAULT_LOSSY_QUALITY, resolve_quality
from picops_emulator.imaging.webpquant import estimate_quality as webp_q


@pytest.mark.parametrize("q", [1, 10, 25, 49, 50, 51, 75, 80, 90, 95, 99, 100])
def test_jpeg_estimator_recovers_the_encoder_quality(kit, q):
    data = kit.photo(64, 48).jpegsave_buffer(Q=q)
    assert abs(jpeg_q(data) - q) <= 1
    assert probe(data).quality == jpeg_q(data)


def test_jpeg_estimator_reads_progressive_and_16bit_tables(kit):
    assert jpeg_q(kit.photo(64, 48).jpegsave_buffer(Q=70, interlace=True)) == 70
    # A hand-made DQT with 16-bit precision holding the Q=50 luminance table (all base values)
    from picops_emulator.imaging.jpegquant import _LUMA, _ZIGZAG
    zz = [0] * 64
    for k in range(64):
        zz[k] = _LUMA[_ZIGZAG[k]]
    body = bytes([0x10]) + b"".join(v.to_bytes(2, "big") for v in zz)
    seg = b"\xff\xdb" + (len(body) + 2).to_bytes(2, "big") + body
    data = b"\xff\xd8" + seg + b"\xff\xda\x00\x02"
    assert read_quant_tables(data)[0] == list(_LUMA)
    assert jpeg_q(data) == 50


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xdb\x00", b"not a jpeg",
                                  b"\xff\xd8\xff\xdb\xff\xff" + b"\x00" * 10])
def test_jpeg_estimator_never_raises_on_garbage(data):
    assert jpeg_q(data) is None


@pytest.mark.parametrize("q", [30, 50, 75, 90, 100])
def test_webp_estimator_is_close_for_lossy_and_100_for_lossless(kit, q):
    image = kit.pyvips.Image.new_from_buffer(kit.corpus("coffee.png"), "")
    est = webp_q(image.webpsave_buffer(Q=q))
    assert abs(est - q) <= 6, est
    assert webp_q(image.webpsave_buffer(lossless=True)) == 100


def test_corpus_qualities(kit):
    assert probe(kit.corpus("grace_hopper.jpg")).quality == 80
    assert probe(kit.corpus("coffee.png")).quality == 100   # lossless -> 100
    assert probe(kit.corpus("chelsea_anim.gif")).quality == 100
    assert 70 <= probe(kit.corpus("coffee.webp")).quality <= 90


# --- formulas (§5.6) ---------------------------------------------------------------------

def test_formulas_pure():
    assert resolve_quality("jpg", 80, True, [("quality", Quality(90))]) == 80   # min
    assert resolve_quality("jpg", 80, True, [("quality", Quality(60))]) == 60
    assert resolve_quality("jpg", 80, True, [("quality", Quality(90, True))]) == 90  # forced
    assert resolve_quality("jpg", 80, True, [("rquality", Quality(80))]) == 64
    assert resolve_quality("jpg", 85, True, [("lquality", Quality(80))]) == 85
    assert resolve_quality("jpg", 60, True, [("lquality", Quality(80))]) == 80
    assert resolve_quality("webp", 70, True, [("rq", Quality(50))]) == 35
    assert resolve_quality("jpg", 75, True, [("rquality", Quality(50))]) == 38  # 37.5 -> 38
    assert resolve_quality("jpg", 80, True, [("quality", Quality(0, True))]) == 1  # clamped
    # lossless outputs ignore quality params and report 100
    assert resolve_quality("png", 80, True, [("quality", Quality(10))]) == 100
    # no param: keep a lossy source's quality; a lossless source gets the default
    assert resolve_quality("jpg", 72, True, []) == 72
    assert resolve_quality("jpg", 100, False, []) == DEFAULT_LOSSY_QUALITY


@pytest.mark.parametrize("rule,expected", [
    ("imageMogr2/quality/90", 80),
    ("imageMogr2/quality/60", 60),
    ("imageMogr2/quality/90!", 90),
    ("imageMogr2/rquality/80", 64),
    ("imageMogr2/lquality/85", 85),
    ("imageMogr2/lquality/70", 80),
    ("imageMogr2/format/webp", 80),
    ("imageView2/2/w/32/q/50", 50),
    ("imageView2/2/w/32/rq/50", 40),
    ("imageView2/2/w/32/lq/95", 95),
])
def test_quality_params_on_a_q80_jpeg(kit, rule, expected):
    src = kit.jpeg(64, 48, q=80)
    out = kit.run(rule, src)
    assert out.quality == expected
    if out.format == "jpg":
        # the file really is encoded at the reported quality
        assert jpeg_q(out.data) == expected


def test_quality_in_a_pipeline_compounds_on_the_previous_stage(kit):
    out = kit.run("imageMogr2/rquality/80|imageMogr2/rquality/50", kit.jpeg(64, 48, q=80))
    assert out.quality == 32  # 80 -> 64 -> 32
    assert jpeg_q(out.data) == 32


def test_lossless_source_to_jpeg_uses_the_default_and_png_reports_100(kit):
    out = kit.run("imageMogr2/format/jpg", kit.png(64, 48))
    assert out.quality == DEFAULT_LOSSY_QUALITY == jpeg_q(out.data)
    out = kit.run("imageMogr2/format/png/quality/10", kit.jpeg(64, 48))
    assert out.quality == 100
