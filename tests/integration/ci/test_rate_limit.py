"""CI's request-rate ceiling in the emulator: 503 SlowDown over ``qps``, per account.

The CI backend's clock is a test-controlled one (:class:`FrozenClock`): time moves only
when a test says so, so "a burst" and "paced calls" are exact, and nothing sleeps. Every
request still goes over HTTP through the real SDK (``retry=0``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import List, Union

import pytest
import pyvips
from click.testing import CliRunner
from qcloud_cos.cos_exception import CosServiceError

from picops_cli.main import cli
from picops_emulator import local
from picops_emulator.ci.ratelimit import DEFAULT_QPS, RequestCeiling
from picops_emulator.ci.service import CiService

from .conftest import CI_WORKERS

QPS = 5


class FrozenClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ci_service(request, clock):
    # overrides ci/conftest.py's: the same backend with a ceiling and a frozen clock
    qps = getattr(request, "param", QPS)
    service = CiService(workers=CI_WORKERS, qps=qps, clock=clock)
    yield service
    service.close()


def small_png(shade: int = 0) -> bytes:
    base = pyvips.Image.xyz(32, 24)
    return ((base[0] * 6 + shade).bandjoin([base[1] * 8, base[0] + base[1]])
            .cast("uchar").write_to_buffer(".png"))


def thumbnail_rule(fileid: str) -> dict:
    return {"fileid": fileid, "rule": "imageMogr2/thumbnail/16x/format/png"}


def process_or_error(ci, client, key: str, fileid: str,
                     bucket: str = None) -> Union[dict, CosServiceError]:
    try:
        _, data = client.ci_image_process(Bucket=bucket or ci.bucket, Key=key,
                                          PicOperations=ci.pic_operations(
                                              [thumbnail_rule(fileid)]))
        return data
    except CosServiceError as e:
        return e


def burst(ci, client_for, emulator, calls: int, bucket: str = None
          ) -> List[Union[dict, CosServiceError]]:
    """``calls`` ci_image_process requests sent at once, each from its own client."""
    start = threading.Barrier(calls, timeout=20)

    def one(i: int):
        client = client_for(emulator)
        start.wait()
        return process_or_error(ci, client, "src/a.png", f"out/{i:02d}.png", bucket)

    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(one, range(calls)))


def assert_slow_down(err: CosServiceError) -> None:
    assert isinstance(err, CosServiceError), err
    assert (err.get_status_code(), err.get_error_code()) == (503, "SlowDown")
    assert err.get_request_id() not in ("", "Unknown")
    message = err.get_error_msg()
    assert f"{QPS} request(s) per second per account" in message, message
    assert "1250000000" in message, message


# --- the ceiling over HTTP ----------------------------------------------------------------

def test_a_burst_over_the_ceiling_gets_slow_down_and_the_rest_succeed(ci, client_for,
                                                                      emulator):
    ci.upload("src/a.png", small_png())
    results = burst(ci, client_for, emulator, 20)

    done = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    # the clock does not move: exactly one second's worth (the burst) gets through
    assert len(done) == QPS and len(refused) == 20 - QPS
    for err in refused:
        assert_slow_down(err)
    # the refused calls were answered before any work: only the admitted ones wrote
    written = sorted(ci.objects(d)[0]["Key"] for d in done)
    assert ci.keys() == sorted(["src/a.png"] + written)
    for key in written:
        assert ci.get_image(key).width == 16


def test_calls_paced_under_the_ceiling_all_succeed_and_it_still_holds(ci, client_for,
                                                                      emulator, clock):
    ci.upload("src/a.png", small_png())
    client = client_for(emulator)
    # 15 calls, three times the burst, at 4 per second: never refused
    for i in range(15):
        result = process_or_error(ci, client, "src/a.png", f"paced/{i:02d}.png")
        assert isinstance(result, dict), result.get_error_msg()
        clock.advance(1 / (QPS - 1))
    assert len(ci.keys()) == 16

    # the ceiling is still there: the bucket refilled to one burst, not more
    quick = [process_or_error(ci, client, "src/a.png", f"quick/{i}.png")
             for i in range(QPS + 1)]
    assert all(isinstance(r, dict) for r in quick[:QPS])
    assert_slow_down(quick[QPS])
    # and a refusal costs nothing: one fifth of a second later one call goes through
    clock.advance(1 / QPS)
    assert isinstance(process_or_error(ci, client, "src/a.png", "later.png"), dict)


@pytest.mark.parametrize("ci_service", [0], indirect=True)
def test_qps_zero_never_refuses(ci, client_for, emulator, ci_service):
    assert not ci_service.ceiling.enabled
    ci.upload("src/a.png", small_png())
    results = burst(ci, client_for, emulator, 30)
    assert all(isinstance(r, dict) for r in results), [
        r.get_error_code() for r in results if not isinstance(r, dict)]
    assert len(ci.keys()) == 31


def test_the_ceiling_is_per_account(ci, client_for, emulator, make_bucket, cos_client):
    other = "other-1300000000"  # another APPID: another account
    cos_client.create_bucket(Bucket=other)
    ci.upload("src/a.png", small_png())
    ci.upload("src/a.png", small_png(40), bucket=other)
    client = client_for(emulator)
    mine = [process_or_error(ci, client, "src/a.png", f"mine/{i}.png") for i in range(QPS + 1)]
    assert_slow_down(mine[-1])
    # a second bucket of the same account shares its ceiling
    second = make_bucket("second")
    ci.upload("src/a.png", small_png(), bucket=second)
    assert_slow_down(process_or_error(ci, client, "src/a.png", "x.png", bucket=second))
    # the other account has its own
    theirs = [process_or_error(ci, client, "src/a.png", f"theirs/{i}.png", bucket=other)
              for i in range(QPS)]
    assert all(isinstance(r, dict) for r in theirs)


def test_upload_with_pic_operations_counts_and_styles_do_not(ci, client_for, emulator):
    client = client_for(emulator)
    body = small_png()
    header = ci.pic_operations([thumbnail_rule("put-thumb.png")])
    for i in range(QPS):
        _, data = client.ci_put_object(Bucket=ci.bucket, Key=f"up/{i}.png", Body=body,
                                       PicOperations=header)
        assert ci.objects(data)[0]["Key"] == "up/put-thumb.png"
    with pytest.raises(CosServiceError) as caught:
        client.ci_put_object(Bucket=ci.bucket, Key="up/late.png", Body=body,
                             PicOperations=header)
    assert_slow_down(caught.value)
    assert "put on" in caught.value.get_error_msg()
    # the server stores an upload before CI sees it: the object is there, unprocessed
    # (see CiService's docstring; how real CI treats it is not documented)
    assert "up/late.png" in ci.keys()
    # image styles are not persistent processing: no ceiling on them
    for i in range(QPS + 2):
        client.ci_put_image_style(Bucket=ci.bucket,
                                  Request={"StyleName": f"s{i}",
                                           "StyleBody": "imageMogr2/thumbnail/8x"})
    _, data = client.ci_get_image_style(Bucket=ci.bucket, Request={})
    assert len(data["StyleRule"]) == QPS + 2


# --- the token bucket on its own ----------------------------------------------------------

def test_request_ceiling_refills_at_qps_up_to_one_second_of_burst(clock):
    ceiling = RequestCeiling(2, clock=clock)
    assert ceiling.burst == 2
    assert [ceiling.admit("a") for _ in range(3)] == [True, True, False]
    clock.advance(0.25)                    # half a token
    assert not ceiling.admit("a")
    clock.advance(0.25)                    # a whole one
    assert ceiling.admit("a") and not ceiling.admit("a")
    clock.advance(60)                      # idle for long: still only one burst banked
    assert [ceiling.admit("a") for _ in range(3)] == [True, True, False]
    assert ceiling.admit("b")              # another account, its own bucket


def test_request_ceiling_fractional_rates_and_bad_values(clock):
    slow = RequestCeiling(0.5, clock=clock)
    assert slow.burst == 1                 # at least one request can ever pass
    assert slow.admit("a") and not slow.admit("a")
    clock.advance(1.9)
    assert not slow.admit("a")
    clock.advance(0.1)
    assert slow.admit("a")
    assert RequestCeiling(0, clock=clock).admit("a")
    with pytest.raises(ValueError, match="qps"):
        RequestCeiling(-1)
    with pytest.raises(ValueError, match="burst"):
        RequestCeiling(5, burst=0.5)


# --- configuration: CiService, LocalOptions, picops emulator --ci-qps --------------------

def test_the_default_ceiling_is_cis_documented_100_per_second():
    service = CiService(workers=1)
    try:
        assert service.ceiling.qps == DEFAULT_QPS == 100
    finally:
        service.close()
    assert local.LocalOptions().ci_qps == 100


def test_picops_emulator_ci_qps_flag_reaches_the_local_cloud(monkeypatch):
    seen = []
    monkeypatch.setattr(local, "serve", lambda options, **wiring: seen.append(options))
    runner = CliRunner()
    result = runner.invoke(cli, ["emulator", "--no-auth", "--ci-qps", "7.5"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen[0].ci_qps == 7.5
    assert runner.invoke(cli, ["emulator", "--no-auth"]).exit_code == 0
    assert seen[1].ci_qps == 100
    refused = runner.invoke(cli, ["emulator", "--no-auth", "--ci-qps", "-1"])
    assert refused.exit_code == 2 and "--ci-qps" in refused.output
    helped = runner.invoke(cli, ["emulator", "--help"])
    assert "--ci-qps" in helped.output and "100/s per account" in " ".join(
        helped.output.split())
