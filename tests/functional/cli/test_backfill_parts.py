"""The pieces of `picops backfill` on their own: listing, watermark and checkpoint, the CI
rate limiter, the summary line, and the SCF fan-out (pages and the Invoke request)."""

import json
from urllib.parse import quote

import pytest
from qcloud_cos.cos_exception import CosServiceError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.scf.v20180416 import models as scf_models

from picops.errors import CloudError, ConfigError, TransientCloudError
from picops_cli.backfill.checkpoint import CheckpointStore, DoneTracker
from picops_cli.backfill.fanout import (MAX_EVENT_BYTES, event_bytes, page_events, scf_credentials,
                                        scf_invoker)
from picops_cli.backfill.listing import ListedObject, list_pages, past
from picops_cli.backfill.ratelimit import SLOW_DOWN_RETRIES, RateLimitedClient, RateLimiter
from picops_cli.backfill.summary import Summary

BUCKET = "src-1250000000"


class FakeListing:
    """``list_objects`` over a sorted key set, answering like COS with encoding-type=url."""

    def __init__(self, keys, send_next_marker=True):
        self.keys = sorted(keys)
        self.calls = []
        self.send_next_marker = send_next_marker

    def list_objects(self, Bucket, Prefix="", Marker="", MaxKeys=1000, EncodingType=""):
        self.calls.append({"Prefix": Prefix, "Marker": Marker, "MaxKeys": MaxKeys,
                           "EncodingType": EncodingType})
        assert EncodingType == "url"
        hits = [k for k in self.keys if k.startswith(Prefix) and k > Marker]
        page, rest = hits[:MaxKeys], hits[MaxKeys:]
        data = {"IsTruncated": "true" if rest else "false",
                "Contents": [{"Key": quote(k, safe="/"), "ETag": f'"etag-{i}"', "Size": str(10 + i)}
                             for i, k in enumerate(page)]}
        if rest and self.send_next_marker:
            data["NextMarker"] = quote(page[-1], safe="/")
        return data


def all_keys(pages):
    return [o.key for p in pages for o in p.objects]


# --- listing -----------------------------------------------------------------------------

@pytest.mark.parametrize("send_next_marker", [True, False])
def test_listing_follows_the_marker_and_decodes_keys_exactly(send_next_marker):
    keys = ["a/1.jpg", "a/b+c.jpg", "a/相册 2024.png", "a/100%.jpg", "b/x.jpg"]
    client = FakeListing(keys, send_next_marker)
    pages = list(list_pages(client, BUCKET, prefix="a/", page_size=2))
    # '+' stays '+', '%' and spaces and CJK round-trip: unquote, never unquote_plus
    assert all_keys(pages) == sorted(k for k in keys if k.startswith("a/"))
    assert [c["Marker"] for c in client.calls] == ["", "a/100%.jpg"]
    assert pages[-1].next_marker == ""
    first = pages[0].objects[0]
    assert first == ListedObject(key="a/1.jpg", etag="etag-0", size=10)


def test_listing_resumes_after_a_marker_and_jumps_over_the_excluded_prefix():
    keys = (["_picops/manifests/a/%d.jpg.json" % i for i in range(5)]
            + ["a/%d.jpg" % i for i in range(3)] + ["_other.jpg"])
    client = FakeListing(keys)
    pages = list(list_pages(client, BUCKET, page_size=2, exclude="_picops/manifests/"))
    assert all_keys(pages) == ["_other.jpg", "a/0.jpg", "a/1.jpg", "a/2.jpg"]
    # after the first manifest key was seen, the next call starts past the whole prefix
    assert past("_picops/manifests/") in [c["Marker"] for c in client.calls]
    assert len(client.calls) < 5

    resumed = list(list_pages(FakeListing(keys), BUCKET, start_after="a/0.jpg"))
    assert all_keys(resumed) == ["a/1.jpg", "a/2.jpg"]


def test_a_listing_that_does_not_advance_fails_instead_of_looping():
    class Stuck:
        def list_objects(self, **kw):
            return {"IsTruncated": "true", "NextMarker": "a", "Contents": [{"Key": "a"}]}

    with pytest.raises(CloudError) as info:
        list(list_pages(Stuck(), BUCKET, start_after="a"))
    assert info.value.code == "InvalidResponse"


def test_a_failed_listing_call_is_a_typed_error_naming_the_bucket():
    class Missing:
        def list_objects(self, **kw):
            raise CosServiceError("GET", {"code": "NoSuchBucket", "message": "no such bucket",
                                          "resource": "", "requestid": "r1", "traceid": ""}, 404)

    with pytest.raises(CloudError) as info:
        list(list_pages(Missing(), BUCKET))
    assert info.value.code == "NoSuchBucket" and BUCKET in info.value.message


# --- watermark and checkpoint ---------------------------------------------------------------

def test_watermark_moves_only_over_a_done_prefix_of_the_listing():
    t = DoneTracker()
    a, b, c = t.add("a"), t.add("b"), t.add("c")
    assert not t.finish(c) and t.done_through == ""
    assert t.finish(a) and t.done_through == "a"
    assert t.finish(b) and t.done_through == "c" and t.objects_done == 3
    assert t.pending == 0


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_checkpoint_round_trips_and_is_keyed_by_bucket_prefix_and_config(tmp_path):
    clock = Clock()
    store = CheckpointStore(tmp_path, BUCKET, "a/", "cfg1", min_interval=5, clock=clock)
    t = DoneTracker()
    t.finish(t.add("a/1.jpg"))
    assert store.save(t)
    t.finish(t.add("a/2.jpg"))
    assert not store.save(t)          # throttled
    assert store.save(t, force=True)  # unless forced (a stop)
    cp, warning = store.load()
    assert warning == "" and (cp.done_through, cp.objects_done) == ("a/2.jpg", 2)
    doc = json.loads(store.path.read_text())
    assert doc["format"] == "picops-backfill-checkpoint" and doc["version"] == 1

    # another config (rules changed) or prefix never resumes from it
    assert CheckpointStore(tmp_path, BUCKET, "a/", "cfg2").load() == (None, "")
    assert CheckpointStore(tmp_path, BUCKET, "", "cfg1").load() == (None, "")
    store.remove()
    assert not store.path.exists()
    store.remove()  # twice is fine


def test_a_damaged_checkpoint_is_ignored_with_a_warning(tmp_path):
    store = CheckpointStore(tmp_path, BUCKET, "", "cfg")
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    cp, warning = store.load()
    assert cp is None and "ignoring checkpoint" in warning


# --- rate limiter ------------------------------------------------------------------------

class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_limiter_holds_calls_to_the_rate():
    ft = FakeTime()
    limiter = RateLimiter(10, clock=ft.clock, sleep=ft.sleep)
    for _ in range(51):
        limiter.acquire()
    # one token banked at the start, then one every 0.1 s
    assert ft.now == pytest.approx(5.0)


def test_slow_down_halves_the_rate_for_everyone_then_recovers():
    ft = FakeTime()
    limiter = RateLimiter(100, clock=ft.clock, sleep=ft.sleep, cooloff=10, settle=1.0)
    limiter.slow_down()
    limiter.slow_down()  # the same overload, answered to a call already in flight
    assert limiter.rate == 50 and limiter.slowdowns == 2
    ft.now = 1.0  # a SlowDown a settle period later is news: halve again
    limiter.slow_down()
    assert limiter.rate == 25 and limiter.slowdowns == 3
    t0 = ft.now
    for _ in range(25):
        limiter.acquire()
    assert ft.now - t0 == pytest.approx(1.0)
    ft.now = 14.0  # 10 s cool-off after the last SlowDown (t=1), then 3 s of recovery
    limiter.acquire()
    assert limiter.rate == pytest.approx(25 + 3 * 100 / 10)
    ft.now += 100
    limiter.acquire()
    assert limiter.rate == 100


def slow_down_error() -> CosServiceError:
    return CosServiceError("POST", {"code": "SlowDown", "message": "slow", "resource": "",
                                    "requestid": "", "traceid": ""}, 503)


def test_rate_limited_client_takes_a_token_per_ci_call_and_reports_slow_down():
    ft = FakeTime()
    limiter = RateLimiter(1000, clock=ft.clock, sleep=ft.sleep)
    calls = []

    class Sdk:
        def __init__(self):
            self.answers = ["ok"] + [slow_down_error()] * (SLOW_DOWN_RETRIES + 1)

        def ci_image_process(self, **kw):
            a = self.answers.pop(0)
            if isinstance(a, Exception):
                raise a
            return {}, a

        def get_object(self, **kw):
            return "passed through"

    client = RateLimitedClient(Sdk(), limiter, on_call=lambda: calls.append(1))
    assert client.ci_image_process(Bucket="b", Key="k", PicOperations="{}") == ({}, "ok")
    # refused SLOW_DOWN_RETRIES + 1 times in a row: the last refusal goes to the handler
    with pytest.raises(CosServiceError):
        client.ci_image_process(Bucket="b", Key="k", PicOperations="{}")
    assert len(calls) == SLOW_DOWN_RETRIES + 2
    assert limiter.slowdowns == SLOW_DOWN_RETRIES + 1 and limiter.rate == 500
    assert client.get_object(Bucket="b", Key="k") == "passed through"


def test_rate_limited_client_sends_a_refused_call_again_after_the_limiter_slows():
    ft = FakeTime()
    limiter = RateLimiter(1000, clock=ft.clock, sleep=ft.sleep)
    answers = [slow_down_error(), slow_down_error(), ({}, "ok")]

    class Sdk:
        def ci_image_process(self, **kw):
            a = answers.pop(0)
            if isinstance(a, Exception):
                raise a
            return a

    calls = []
    client = RateLimitedClient(Sdk(), limiter, on_call=lambda: calls.append(ft.now))
    assert client.ci_image_process(Bucket="b", Key="k", PicOperations="{}") == ({}, "ok")
    assert len(calls) == 3 and limiter.slowdowns == 2 and limiter.rate == 500
    # each resend waited for a token of the slowed limiter (no banked burst after a SlowDown)
    assert calls[1] > calls[0] and calls[2] > calls[1]


def test_rate_limited_client_passes_other_errors_at_once():
    limiter = RateLimiter(1000)

    class Sdk:
        calls = 0

        def ci_image_process(self, **kw):
            Sdk.calls += 1
            raise CosServiceError("POST", {"code": "AccessDenied", "message": "no",
                                           "resource": "", "requestid": "", "traceid": ""}, 403)

    with pytest.raises(CosServiceError):
        RateLimitedClient(Sdk(), limiter).ci_image_process(Bucket="b", Key="k")
    assert Sdk.calls == 1 and limiter.slowdowns == 0


# --- summary ---------------------------------------------------------------------------------

def test_summary_json_line_is_exactly_the_documented_shape():
    s = Summary()
    for _ in range(3):
        s.add_processed()
    s.add_up_to_date()
    s.add_skipped("no_route")
    s.add_skipped("folder_marker")
    s.add_failed("a.jpg", "InvalidImageFormat", "bad")
    assert json.loads(s.json_line()) == {"processed": 3, "up_to_date": 1,
                                         "skipped": {"folder_marker": 1, "no_route": 1},
                                         "failed": {"InvalidImageFormat": 1}}
    assert "\n" not in s.json_line() and list(json.loads(s.json_line())) == [
        "processed", "up_to_date", "skipped", "failed"]


# --- fan-out ---------------------------------------------------------------------------

def objs(n, key_len=10):
    return [ListedObject(key=f"k/{i:05d}".ljust(key_len, "x"), etag=f"e{i}", size=i + 1)
            for i in range(n)]


def test_pages_respect_the_key_count_and_the_async_event_size():
    pages = list(page_events(objs(45), BUCKET, "ap-guangzhou", page_size=20))
    assert [len(p[1]) for p in pages] == [20, 20, 5]
    event = pages[0][0]
    assert event == {"picops_backfill": {
        "version": 1, "bucket": BUCKET, "region": "ap-guangzhou",
        "keys": [{"key": o.key, "etag": o.etag, "size": o.size} for o in pages[0][1]]}}

    big = list(page_events(objs(1000, key_len=800), BUCKET, "ap-guangzhou", page_size=1000))
    assert len(big) > 1 and sum(len(p[1]) for p in big) == 1000
    assert all(event_bytes(e) <= MAX_EVENT_BYTES for e, _ in big)


def test_a_page_is_cut_only_when_the_next_key_would_not_fit():
    from picops_cli.backfill.fanout import page_event

    listed = objs(300, key_len=700)
    pages = list(page_events(listed, BUCKET, "ap-guangzhou", page_size=1000))
    assert [o for _, page in pages for o in page] == listed
    for (event, page), (_, following) in zip(pages, pages[1:]):
        assert event == page_event(BUCKET, "ap-guangzhou", page)
        assert event_bytes(event) <= MAX_EVENT_BYTES
        fuller = page_event(BUCKET, "ap-guangzhou", page + following[:1])
        assert event_bytes(fuller) > MAX_EVENT_BYTES


class StubScf:
    """Stands in for tencentcloud's ScfClient: records the InvokeRequest objects."""

    def __init__(self, errors=()):
        self.requests = []
        self.errors = list(errors)

    def Invoke(self, request):
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        response = scf_models.InvokeResponse()
        response._deserialize({"Result": {"FunctionRequestId": f"req-{len(self.requests)}"},
                               "RequestId": "api-1"})
        return response


def test_invoker_sends_an_async_invoke_with_the_page_as_client_context():
    stub = StubScf()
    invoke = scf_invoker("picops-image-processor", "ap-guangzhou", namespace="prod",
                         qualifier="$DEFAULT", client=stub)
    event = next(page_events(objs(3), BUCKET, "ap-guangzhou"))[0]
    assert invoke(event) == "req-1"
    (request,) = stub.requests
    assert isinstance(request, scf_models.InvokeRequest)
    sent = json.loads(request.to_json_string())
    assert sent["FunctionName"] == "picops-image-processor"
    assert sent["InvocationType"] == "Event"
    assert sent["Namespace"] == "prod" and sent["Qualifier"] == "$DEFAULT"
    assert json.loads(sent["ClientContext"]) == event


def test_invoker_retries_rate_limits_and_reports_permanent_errors():
    sleeps = []
    stub = StubScf(errors=[TencentCloudSDKException("RequestLimitExceeded", "slow", "r1")])
    invoke = scf_invoker("fn", "ap-guangzhou", client=stub, sleep=sleeps.append)
    assert invoke({"picops_backfill": {}}) == "req-2"
    assert len(stub.requests) == 2 and len(sleeps) == 1

    stub = StubScf(errors=[TencentCloudSDKException("ResourceNotFound.Function", "no fn", "r2")])
    invoke = scf_invoker("fn", "ap-guangzhou", client=stub, sleep=sleeps.append)
    with pytest.raises(CloudError) as info:
        invoke({"picops_backfill": {}})
    assert not isinstance(info.value, TransientCloudError)
    assert info.value.code == "ResourceNotFound.Function" and "fn" in info.value.message


def test_scf_credentials_take_picops_or_sdk_names_and_say_what_is_missing():
    assert scf_credentials({"TENCENTCLOUD_SECRETID": "a", "TENCENTCLOUD_SECRETKEY": "b",
                            "TENCENTCLOUD_SESSIONTOKEN": "t"}) == ("a", "b", "t")
    assert scf_credentials({"TENCENTCLOUD_SECRET_ID": "a",
                            "TENCENTCLOUD_SECRET_KEY": "b"}) == ("a", "b", None)
    with pytest.raises(ConfigError) as info:
        scf_credentials({})
    assert "TENCENTCLOUD_SECRETID" in str(info.value)


FANOUT_CONFIG = """
routes:
  - prefix: photos/
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{name}.webp
        rule: imageMogr2/thumbnail/32x/format/webp
"""


def test_fan_out_paces_pages_by_their_ci_calls_and_stops_on_a_failed_invoke(tmp_path):
    from picops.config import parse_config
    from picops_cli.backfill.fanout import FanOut

    keys = [f"photos/{i:02d}.jpg" for i in range(10)] + ["photos/", "other/x.jpg"]
    ft = FakeTime()
    sent = []

    def invoke(event):
        sent.append((ft.now, [k["key"] for k in event["picops_backfill"]["keys"]]))
        if len(sent) == 3:
            raise TransientCloudError("throttled", code="RequestLimitExceeded")
        return f"req-{len(sent)}"

    store = CheckpointStore(tmp_path, BUCKET, "", "fan-out:test")
    job = FanOut(parse_config(FANOUT_CONFIG), FakeListing(keys), invoke, bucket=BUCKET,
                 region="ap-guangzhou", page_size=4, rate=2.0, checkpoint=store,
                 clock=ft.clock, sleep=ft.sleep)
    result = job.run()
    # 4 keys = 4 CI calls per page at 2 calls/s: the next page waits 2 s
    assert [t for t, _ in sent] == [0.0, 2.0, 4.0]
    assert result.pages == 2 and result.keys == 8 and not result.completed
    assert result.error.code == "RequestLimitExceeded"
    assert result.to_json("fn")["failed"] == {"RequestLimitExceeded": 1}
    assert result.to_json("fn")["skipped"] == {"folder_marker": 1, "no_route": 1}
    cp, _ = store.load()
    assert cp.done_through == "photos/07.jpg"  # the last key of the last page sent

    # a rerun starts after it and completes
    sent.clear()
    job.invoke = lambda event: sent.append(event) or "ok"
    result = job.run()
    assert result.completed and result.resumed_after == "photos/07.jpg"
    assert [k["key"] for k in sent[0]["picops_backfill"]["keys"]] == ["photos/08.jpg",
                                                                     "photos/09.jpg"]
    assert store.load() == (None, "")


# --- the progress bar ------------------------------------------------------------------

def test_progress_bar_shows_count_rate_eta_and_tally():
    import io

    from rich.console import Console

    from picops_cli.backfill import runner
    from picops_cli.progress import ProgressView

    now = [100.0]
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140, color_system=None)
    # GIVEN 20 of 100 listed objects done, one every 0.1 s of the fake clock
    with ProgressView(console, "backfill", get_time=lambda: now[0]) as view:
        for done in range(1, 21):
            now[0] += 0.1
            state = runner.Progress(listed=100, listing_complete=True, done=done)
            state.summary.skipped["no_route"] = min(done, 2)
            state.summary.processed = done - state.summary.skipped["no_route"]
            view.update(state)
    # THEN the last frame shows the count, the rate, the time left and the tally
    last = screen.getvalue().rsplit("\r", 1)[-1]
    assert "20/100" in last
    assert "10 obj/s" in last
    assert "ETA 0:00:08" in last  # 80 objects left at 10 per second
    assert "processed 18 · skipped 2" in last
