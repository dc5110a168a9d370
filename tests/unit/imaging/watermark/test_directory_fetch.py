"""watermark/1 from a local folder (``directory_fetcher``, used by ``picops preview``)."""

import os

import pytest

from picops.grammar import parse
from picops_emulator.imaging import InvalidArgument, execute
from picops_emulator.imaging.watermark_fetch import ERRNO_FETCH_FAILED, directory_fetcher
from picops_emulator.errors import status_of


@pytest.fixture
def assets(tmp_path):
    root = tmp_path / "assets"
    (root / "logos").mkdir(parents=True)
    return root


def test_the_key_is_found_as_a_path_under_the_folder(wk, assets):
    (assets / "logos" / "mark.png").write_bytes(b"by path")
    fetch = directory_fetcher(assets)
    assert fetch(wk.url("logos/mark.png")) == b"by path"


def test_then_by_its_file_name_alone(wk, assets):
    (assets / "mark.png").write_bytes(b"by name")
    assert directory_fetcher(assets)(wk.url("logos/mark.png")) == b"by name"


def test_the_path_wins_over_the_file_name(wk, assets):
    (assets / "logos" / "mark.png").write_bytes(b"by path")
    (assets / "mark.png").write_bytes(b"by name")
    assert directory_fetcher(assets)(wk.url("logos/mark.png")) == b"by path"


def test_any_bucket_and_region_is_accepted_locally(wk, assets):
    (assets / "mark.png").write_bytes(b"x")
    url = wk.url("mark.png", bucket="otherbucket-1300000000", region="ap-beijing")
    assert directory_fetcher(assets)(url) == b"x"


def test_percent_encoded_and_cjk_keys_are_decoded_once(wk, assets):
    (assets / "logos" / "水印 1.png").write_bytes(b"cjk")
    url = wk.url("logos/%E6%B0%B4%E5%8D%B0%201.png")
    assert directory_fetcher(assets)(url) == b"cjk"


def test_a_missing_watermark_names_the_url_and_every_path_looked_at(wk, assets):
    url = wk.url("logos/none.png")
    with pytest.raises(InvalidArgument) as err:
        directory_fetcher(assets)(url)
    message = err.value.message
    assert message.startswith("watermark/1/image: failed to fetch the watermark ")
    assert url in message
    assert str(assets / "logos" / "none.png") in message and str(assets / "none.png") in message
    assert err.value.ci_errno == ERRNO_FETCH_FAILED and status_of(err.value.code) == 400


def test_a_key_climbing_out_of_the_folder_is_never_read(wk, assets):
    secret = assets.parent / "secret.png"
    secret.write_bytes(b"secret")
    with pytest.raises(InvalidArgument) as err:
        directory_fetcher(assets)(wk.url("../secret.png"))
    assert f"{assets / '..' / 'secret.png'} (outside {assets}: not read)" in err.value.message


def test_a_symbolic_link_out_of_the_folder_is_never_read(wk, assets):
    secret = assets.parent / "secret.png"
    secret.write_bytes(b"secret")
    os.symlink(secret, assets / "mark.png")
    with pytest.raises(InvalidArgument, match="not read"):
        directory_fetcher(assets)(wk.url("mark.png"))


def test_a_folder_named_like_the_key_is_not_a_file(wk, assets):
    with pytest.raises(InvalidArgument, match="no file for key 'logos'"):
        directory_fetcher(assets)(wk.url("logos"))


def test_urls_that_are_not_ci_watermark_urls_are_still_refused(wk, assets):
    (assets / "mark.png").write_bytes(b"x")
    with pytest.raises(InvalidArgument, match="requires http://"):
        directory_fetcher(assets)(wk.url("mark.png", scheme="https"))
    with pytest.raises(InvalidArgument, match="is not http://"):
        directory_fetcher(assets)("http://example.com/mark.png")


def test_the_engine_draws_a_watermark_read_from_the_folder(wk, kit, assets):
    (assets / "logos" / "mark.png").write_bytes(wk.png(wk.solid(20, 10, wk.RED)))
    base = wk.png(wk.solid(100, 60, wk.WHITE))
    rule = parse(f"watermark/1/image/{wk.b64(wk.url('logos/mark.png'))}/dissolve/100")
    out = execute(rule, base, fetch=directory_fetcher(assets))
    assert wk.box(kit.decode(out.data), wk.RED) == (80, 50, 20, 10)  # southeast by default
