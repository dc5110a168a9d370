"""What watermark/1 refuses, and that every refusal names the parameter."""

import pytest

from picops.errors import GrammarError
from picops.grammar import parse
from picops.grammar.ast import Base64Text, Operation, Param, Rule
from picops_emulator.imaging import InvalidArgument, UnsupportedOperation, execute
from picops_emulator.imaging.watermark_fetch import (ERRNO_FETCH_FAILED, bucket_fetcher,
                                                     parse_watermark_url)
from picops_emulator.errors import status_of

PARAM = "watermark/1/image"


@pytest.fixture
def base(wk):
    return wk.png(wk.solid(60, 40, wk.GREY))


def _refused(bucket, rule, data) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        bucket.run(rule, data)
    assert status_of(err.value.code) == 400 and err.value.code == "InvalidArgument"
    return err.value


def test_a_watermark_from_another_bucket_is_refused(wk, bucket, base):
    bucket.put("logo.png", wk.png(wk.solid(10, 10, wk.RED)))
    other = wk.b64(wk.url("logo.png", bucket="otherbucket-1250000000"))
    e = _refused(bucket, f"watermark/1/image/{other}", base)
    assert PARAM in e.message and "otherbucket-1250000000" in e.message
    assert wk.BUCKET in e.message


def test_a_watermark_url_in_another_region_is_refused(wk, bucket, base):
    bucket.put("logo.png", wk.png(wk.solid(10, 10, wk.RED)))
    elsewhere = wk.b64(wk.url("logo.png", region="ap-beijing"))
    e = _refused(bucket, f"watermark/1/image/{elsewhere}", base)
    assert PARAM in e.message and "ap-beijing" in e.message


def test_a_missing_watermark_object_fails_to_fetch(wk, bucket, base):
    e = _refused(bucket, f"watermark/1/image/{wk.b64(wk.url('nope/logo.png'))}", base)
    assert PARAM in e.message and "'nope/logo.png'" in e.message
    assert e.ci_errno == ERRNO_FETCH_FAILED and "-60987" in e.message


def test_https_is_refused_by_the_parser_and_by_the_engine(wk, bucket, base):
    https = wk.url("logo.png", scheme="https")
    with pytest.raises(GrammarError) as err:
        parse(f"watermark/1/image/{wk.b64(https)}")
    assert "image" in err.value.message and "https" in err.value.message
    # a tree built by hand skips the parser; the fetcher refuses it too
    bucket.put("logo.png", wk.png(wk.solid(10, 10, wk.RED)))
    rule = Rule((Operation("watermark", (Param("image", Base64Text(https)),), mode=1),))
    with pytest.raises(InvalidArgument) as err:
        execute(rule, base, fetch=bucket.fetch)
    assert PARAM in err.value.message and "http://" in err.value.message


def test_an_animated_watermark_is_refused(wk, kit, bucket, base):
    mark = bucket.put("anim.gif", kit.corpus("chelsea_anim.gif"))
    e = _refused(bucket, f"watermark/1/image/{mark}", base)
    assert PARAM in e.message and "animated" in e.message and "6 frames" in e.message


@pytest.mark.parametrize("name", ["not_an_image.jpg", "empty.jpg", "truncated.jpg"])
def test_a_watermark_that_is_not_a_usable_image_is_refused(wk, kit, bucket, base, name):
    mark = bucket.put(name, kit.corpus(name))
    e = _refused(bucket, f"watermark/1/image/{mark}/dissolve/100", base)
    assert PARAM in e.message


def test_a_broken_watermark_under_a_scaled_or_tiled_stage_is_still_named(wk, kit, bucket, base):
    # truncated.jpg keeps only its top 40 %: every one of these needs rows past the cut
    mark = bucket.put("t.jpg", kit.corpus("truncated.jpg"))
    for extra in ("/scatype/1/spcent/500", "/batch/1/degree/10", "/blogo/1",
                  "/gravity/southwest"):
        e = _refused(bucket, f"watermark/1/image/{mark}{extra}", base)
        assert PARAM in e.message, extra


def test_without_a_fetcher_image_watermarks_are_unsupported(wk, kit, base):
    rule = parse(f"watermark/1/image/{wk.b64(wk.url('logo.png'))}")
    with pytest.raises(UnsupportedOperation, match="watermark/1"):
        execute(rule, base)


def test_blind_watermark_modes_are_unsupported(kit, base):
    rule = Rule((Operation("watermark", (Param("text", Base64Text("x")),), mode=3),))
    with pytest.raises(UnsupportedOperation, match="watermark/3"):
        execute(rule, base)


def test_a_stage_error_names_its_stage(wk, kit, bucket, base):
    missing = wk.b64(wk.url("missing.png"))
    with pytest.raises(InvalidArgument, match=r"^stage 2 \(watermark/1/image/"):
        bucket.run(f"imageMogr2/thumbnail/30x|watermark/1/image/{missing}", base)


# --- the URL rule, on its own ------------------------------------------------------------

def test_the_key_is_the_path_percent_decoded_once_without_a_query(wk):
    where = parse_watermark_url(
        "http://Example-1250000000.cos.ap-guangzhou.myqcloud.com/a%20b/%E6%B0%B4%2541.png"
        "?q-sign-algorithm=sha1&q-ak=x")
    assert (where.bucket, where.region, where.key) == ("example-1250000000", "ap-guangzhou",
                                                       "a b/水%41.png")


@pytest.mark.parametrize("url", [
    "http://cdn.example.com/logo.png",
    "http://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/",
    "ftp://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/logo.png",
    "http://examplebucket.cos.ap-guangzhou.myqcloud.com/logo.png",        # no appid
])
def test_urls_that_are_not_a_bucket_object_are_refused(url):
    with pytest.raises(InvalidArgument, match=PARAM):
        parse_watermark_url(url)


def test_the_fetcher_reads_only_its_own_bucket(wk):
    reads = []

    def read(key):
        reads.append(key)
        return b"bytes" if key == "logo.png" else None

    fetch = bucket_fetcher(wk.BUCKET, read)
    assert fetch(wk.url("logo.png")) == b"bytes"
    assert fetch(wk.url("logo.png", region="ap-beijing")) == b"bytes"   # region not known
    with pytest.raises(InvalidArgument):
        fetch(wk.url("logo.png", bucket="other-1250000000"))
    assert reads == ["logo.png", "logo.png"]                          # never read elsewhere
