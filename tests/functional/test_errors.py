"""Each error class: permanent -> failed and returned; transient -> retried, then raised."""

import pytest

from picops.constants import MAX_ATTEMPTS
from picops.errors import ConfigError, TransientCloudError
from picops.handler import Processor, processor_from_env

from .conftest import CONFIG, SOURCE, context, event_for, load_event


@pytest.mark.parametrize("status, code", [
    (400, "InvalidImageFormat"), (400, "ImageTooLarge"), (403, "AccessDenied"),
    (404, "NoSuchKey"), (400, "InvalidArgument"),
])
def test_permanent_errors_fail_the_record_without_retry_or_raise(harness, status, code):
    harness.ci.script = [("error", status, code)]
    summary = harness.handle(event_for("uploads/a.jpg"))
    assert len(harness.ci.calls) == 1 and harness.clock.sleeps == []
    (line,) = harness.outcomes()
    assert line["outcome"] == "failed" and line["level"] == "ERROR"
    assert line["error"] == {"code": code, "message": f"{code} happened", "status": status,
                             "retryable": False, "request_id": "rid-1",
                             "outputs": ["thumbs/uploads/a_jpg_400.webp",
                                         "covers/uploads/a_jpg.jpg"],
                             "attempts": 1}
    assert line["ci_request_id"] == "rid-1"
    assert summary["counts"] == {"processed": 0, "skipped": 0, "failed": 1}


def test_a_failed_call_does_not_stop_the_next_calls_of_the_record(make_harness):
    rules = "".join(f"      - fileid: /o/{{dir}}/{{name}}_{i}.jpg\n"
                    f"        rule: imageMogr2/thumbnail/{100 + i}x\n" for i in range(7))
    h = make_harness(config_text="routes:\n  - prefix: uploads/\n    bucket: derived-1250000000"
                                 "\n    rules:\n" + rules)
    h.ci.script = [("error", 400, "InvalidArgument"), "ok"]
    h.handle(event_for("uploads/a.jpg"))
    assert [len(c["ops"]["rules"]) for c in h.ci.calls] == [5, 2]
    (line,) = h.outcomes()
    assert line["outcome"] == "failed"
    assert line["error"]["outputs"] == [f"o/uploads/a.jpg_{i}.jpg" for i in range(5)]
    assert [o["key"] for o in line["outputs"]] == ["o/uploads/a.jpg_5.jpg",
                                                   "o/uploads/a.jpg_6.jpg"]


def test_transient_error_is_retried_then_succeeds(harness):
    harness.ci.script = [("error", 503, "SlowDown"), ("error", 500, "InternalError"), "ok"]
    summary = harness.handle(event_for("uploads/a.jpg"))
    assert len(harness.ci.calls) == 3
    assert harness.clock.sleeps == [0.25, 0.5]  # exponential backoff (jitter pinned to 1)
    assert harness.outcomes()[0]["outcome"] == "processed"
    assert summary["counts"]["processed"] == 1


@pytest.mark.parametrize("action, code, status", [
    (("error", 500, "InternalError"), "InternalError", 500),
    (("error", 503, "SlowDown"), "SlowDown", 503),
    (("error", 429, "TooManyRequests"), "TooManyRequests", 429),
    ("connection", "ConnectionError", None),
    ("timeout", "Timeout", None),
    ("not-xml", "InvalidResponse", 200),
])
def test_transient_errors_are_retried_then_raised_after_all_records(harness, action, code,
                                                                    status):
    harness.ci.script = [action] * MAX_ATTEMPTS + ["ok"] * 2
    with pytest.raises(TransientCloudError) as e:
        harness.handle(event_for("uploads/a.jpg", "avatars/b.png"))
    # the second record was still handled before raising
    assert len(harness.ci.calls) == MAX_ATTEMPTS + 1
    first, second = harness.outcomes()
    assert first["outcome"] == "failed"
    assert (first["error"]["code"], first["error"]["status"], first["error"]["retryable"],
            first["error"]["attempts"]) == (code, status, True, MAX_ATTEMPTS)
    assert second["outcome"] == "processed"
    last = harness.lines[-1]
    assert last["message"] == "transient failures left: raising so SCF retries the event"
    assert last["retry_keys"] == ["uploads/a.jpg"]
    assert e.value.code == code and "uploads/a.jpg" in e.value.message


def test_retries_stop_at_the_deadline(harness):
    # GIVEN a 3 s invocation (0.5 s kept back) and a CI that takes 1 s to fail
    harness.ci.call_seconds = 1.0
    harness.ci.script = [("error", 503, "SlowDown")] * 10
    start = harness.clock.now
    with pytest.raises(TransientCloudError):
        harness.handle(event_for("uploads/a.jpg"), context(limit_ms=3000))
    # THEN no attempt started without a second left before the 2.5 s budget ends
    starts = [c["at"] - start for c in harness.ci.calls]
    assert starts == [0.0, 1.25]
    assert all(t + 1.0 <= 2.5 for t in starts)
    # AND every HTTP timeout was capped to the time left
    assert [c["timeout"] for c in harness.ci.calls] == [2.5, 1.25]
    (line,) = harness.outcomes()
    assert line["error"]["attempts"] == 2


def test_no_time_left_means_no_call_and_a_retry(harness):
    with pytest.raises(TransientCloudError) as e:
        harness.handle(event_for("uploads/a.jpg"), context(limit_ms=1200))
    assert harness.ci.calls == []
    assert e.value.code == "DeadlineExceeded"
    assert harness.outcomes()[0]["error"]["attempts"] == 0


def test_malformed_event_is_logged_and_returned(harness):
    summary = harness.handle(load_event("not_cos_timer.json"))
    assert harness.ci.calls == []
    (line,) = harness.lines
    assert (line["level"], line["message"]) == ("ERROR", "malformed event")
    assert line["error"] == {"code": "MalformedEvent", "status": None, "retryable": False,
                             "message": "Records: missing: not a COS trigger event"}
    assert '"Type": "Timer"' in line["event"]
    assert summary["error"]["code"] == "MalformedEvent" and summary["results"] == []


@pytest.mark.parametrize("event", [None, [], "text", {"Records": []}, {"Records": "x"}])
def test_any_non_event_is_returned_from(harness, event):
    summary = harness.handle(event)
    assert summary["counts"] == {"processed": 0, "skipped": 0, "failed": 0}
    assert harness.lines[0]["message"] == "malformed event"


def test_malformed_record_fails_alone(harness):
    event = event_for("uploads/a.jpg", "uploads/b.jpg")
    del event["Records"][0]["cos"]["cosObject"]["key"]
    summary = harness.handle(event)
    first, second = harness.outcomes()
    assert first["outcome"] == "failed" and first["error"]["code"] == "MalformedEvent"
    assert first["error"]["message"] == "Records[0].cos.cosObject.key: missing"
    assert second["outcome"] == "processed" and second["key"] == "uploads/b.jpg"
    assert summary["counts"] == {"processed": 1, "skipped": 0, "failed": 1}


def test_invalid_config_logs_every_problem_then_raises_every_time(make_harness):
    h = make_harness(config_text="""
        routes:
          - prefix: uploads/
            bucket: Derived
            rules:
              - fileid: /t/{nope}
                rule: imageMogr2/thumbnial/400x
    """)
    for _ in range(2):
        with pytest.raises(ConfigError):
            h.handle(event_for("uploads/a.jpg"))
    assert h.ci.calls == []
    errors = [ln for ln in h.lines if ln["message"] == "invalid configuration"]
    assert len(errors) == 6 and all(ln["level"] == "ERROR" for ln in errors)
    assert [ln["where"] for ln in errors[:3]] == ["routes[0].bucket", "routes[0].rules[0].fileid",
                                               "routes[0].rules[0].rule"]
    assert errors[2]["problem"].startswith("unknown imageMogr2 parameter 'thumbnial'")
    assert errors[0]["source"].endswith("picops.yaml")


def test_missing_credentials_are_a_setup_error(make_harness):
    h = make_harness(env={"TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": "ftp://x"})
    with pytest.raises(ConfigError):
        h.handle(event_for("uploads/a.jpg"))
    wheres = [ln["where"] for ln in h.lines]
    assert wheres == ["env TENCENTCLOUD_SECRETID", "env TENCENTCLOUD_SECRETKEY", "env COS_ENDPOINT"]


def test_missing_config_file(tmp_path):
    p = processor_from_env({"TENCENTCLOUD_SECRETID": "a", "TENCENTCLOUD_SECRETKEY": "b"},
                           str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        p.handle(event_for("uploads/a.jpg"), context())


def test_processor_needs_a_config_or_an_error():
    with pytest.raises(ValueError):
        Processor(None, {})


def test_region_from_context_when_env_has_none(make_harness):
    h = make_harness(env={"TENCENTCLOUD_SECRETID": "a", "TENCENTCLOUD_SECRETKEY": "b",
                          "COS_ENDPOINT": "http://127.0.0.1:9000"})
    event = event_for("uploads/a.jpg")
    bucket = event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"], bucket["s3Region"], bucket["region"]  # no short code either
    h.handle(event, dict(context(), tencentcloud_region="ap-shanghai"))
    assert h.ci.calls[0]["host"] == f"{SOURCE}.cos.ap-shanghai.myqcloud.com"


def test_config_constant_is_valid_yaml_config():
    from picops.config import parse_config
    assert parse_config(CONFIG).routes


def test_unexpected_exception_fails_its_record_only_and_keeps_the_event(harness, monkeypatch):
    from picops import routing
    real_plan = routing.plan

    def flaky_plan(config, bucket, key):
        if key == "uploads/a.jpg":
            raise RuntimeError("bug in planning")
        return real_plan(config, bucket, key)

    monkeypatch.setattr(routing, "plan", flaky_plan)
    with pytest.raises(TransientCloudError):
        harness.handle(event_for("uploads/a.jpg", "uploads/b.jpg"))
    first, second = harness.outcomes()
    assert first["key"] == "uploads/a.jpg" and first["outcome"] == "failed"
    assert first["error"] == {"code": "InternalError", "message": "RuntimeError: bug in planning",
                              "status": None, "retryable": True}
    assert "bug in planning" in first["traceback"]
    assert second["outcome"] == "processed"


def test_sdk_client_errors_that_are_not_network_errors_are_permanent():
    from qcloud_cos.cos_exception import CosClientError

    from picops.ci_client import classify, process
    from picops.errors import CloudError

    class Client:
        calls = 0

        def ci_image_process(self, **kwargs):
            Client.calls += 1
            raise CosClientError("No Parameter Named Foo Please Check It")

    with pytest.raises(CloudError) as e:
        process(Client(), SOURCE, "a.jpg", {"is_pic_info": 0, "rules": [
            {"fileid": "/t/a.jpg", "rule": "imageMogr2/strip"}]}, deadline=100.0,
            clock=lambda: 0.0, sleep=lambda s: None)
    assert (e.value.code, e.value.retryable, Client.calls) == ("ClientError", False, 1)
    with pytest.raises(TypeError):
        classify(ValueError("not from the SDK"))
