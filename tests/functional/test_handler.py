"""The handler end to end over the real SDK: requests sent, log lines, summary."""

import json

import pytest

from .conftest import (DERIVED, SOURCE, UPLOADER_SECRETS, context, event_for, load_event)


def test_real_event_is_processed_with_the_requests_the_sdk_sends(harness):
    # GIVEN the real-shaped event for uploads/2024/cat.jpg
    summary = harness.handle(load_event("cos_put_real.json"))

    # THEN one signed POST ?image_process went to the endpoint, bucket in Host
    (call,) = harness.ci.calls
    assert call["url"].startswith("http://127.0.0.1:9000/uploads/2024/cat.jpg?")
    assert call["query"] == "image_process="
    assert call["host"] == f"{SOURCE}.cos.ap-guangzhou.myqcloud.com"
    assert call["ops"] == {"is_pic_info": 1, "rules": [
        {"bucket": DERIVED, "fileid": "/thumbs/uploads/2024/cat_jpg_400.webp",
         "rule": "imageMogr2/thumbnail/400x/format/webp"},
        {"bucket": DERIVED, "fileid": "/covers/uploads/2024/cat_jpg.jpg",
         "rule": "imageView2/1/w/300/h/300/q/85"}]}
    auth = call["headers"]["Authorization"]
    assert "q-ak=AKIDfunction" in auth and "pic-operations" in auth
    assert call["headers"]["x-cos-security-token"] == "tok"

    # AND one outcome line with every field the issue lists
    (line,) = harness.outcomes()
    assert list(line)[:6] == ["level", "timestamp", "message", "request_id", "function_name",
                              "cold_start"]
    assert (line["level"], line["message"], line["request_id"], line["cold_start"]) == (
        "INFO", "record processed", "req-1", True)
    assert (line["bucket"], line["key"], line["outcome"], line["route"]) == (
        SOURCE, "uploads/2024/cat.jpg", "processed", "uploads/")
    assert isinstance(line["duration_ms"], float)
    assert line["outputs"] == [
        {"key": "thumbs/uploads/2024/cat_jpg_400.webp", "bucket": DERIVED,
         "location":
             f"{DERIVED}.cos.ap-guangzhou.myqcloud.com/thumbs/uploads/2024/cat_jpg_400.webp",
         "format": "webp", "width": 400, "height": 267, "size": 1000, "quality": 80,
         "etag": "etag0"},
        {"key": "covers/uploads/2024/cat_jpg.jpg", "bucket": DERIVED,
         "location": f"{DERIVED}.cos.ap-guangzhou.myqcloud.com/covers/uploads/2024/cat_jpg.jpg",
         "format": "jpg", "width": 400, "height": 267, "size": 1001, "quality": 80,
         "etag": "etag1"}]
    assert line["original"] == {"format": "JPEG", "width": 640, "height": 427, "quality": 100,
                                "ave": "0xa18454", "orientation": 1}
    assert line["ci_request_id"] == "rid-1"

    # AND the summary is JSON-serialisable and counts outcomes
    assert json.loads(json.dumps(summary))["counts"] == {"processed": 1, "skipped": 0,
                                                         "failed": 0}
    assert summary["results"][0]["outputs"] == line["outputs"]


def test_cold_start_only_on_the_first_invocation(harness):
    harness.handle(event_for("uploads/a.jpg"))
    harness.handle(event_for("uploads/b.jpg"), context(request_id="req-2"))
    assert [(ln["request_id"], ln["cold_start"]) for ln in harness.outcomes()] == [
        ("req-1", True), ("req-2", False)]


def test_without_cos_endpoint_the_sdk_goes_to_tencent_cloud(make_harness):
    h = make_harness(env={"TENCENTCLOUD_SECRETID": "AKIDfunction", "TENCENTCLOUD_SECRETKEY": "sk",
                          "TENCENTCLOUD_REGION": "ap-guangzhou"})
    h.handle(event_for("uploads/a.jpg"))
    (call,) = h.ci.calls
    assert call["url"].startswith(
        f"https://{SOURCE}.cos.ap-guangzhou.myqcloud.com/uploads/a.jpg?image_process")
    assert "x-cos-security-token" not in call["headers"]


@pytest.mark.parametrize("key, path, stem", [
    ("uploads/a b.jpg", "/uploads/a%20b.jpg", "a b"),
    ("uploads/a+b.jpg", "/uploads/a%2Bb.jpg", "a+b"),
    ("uploads/100%.jpg", "/uploads/100%25.jpg", "100%"),
    ("uploads/%E4%B8%AD.jpg", "/uploads/%25E4%25B8%25AD.jpg", "%E4%B8%AD"),
    ("uploads/中 文.jpg", "/uploads/%E4%B8%AD%20%E6%96%87.jpg", "中 文"),
    ("uploads/📷.png", "/uploads/%F0%9F%93%B7.png", "📷"),
])
def test_special_keys_reach_ci_as_the_same_object(harness, key, path, stem):
    harness.handle(event_for(key))
    (call,) = harness.ci.calls
    assert call["path"] == path  # percent-encoded once, by the SDK
    ext = key.rsplit(".", 1)[1]
    assert call["ops"]["rules"][0]["fileid"] == f"/thumbs/uploads/{stem}_{ext}_400.webp"
    (line,) = harness.outcomes()
    assert line["outcome"] == "processed" and line["key"] == key
    assert line["outputs"][0]["key"] == f"thumbs/uploads/{stem}_{ext}_400.webp"


def test_more_than_five_rules_go_in_calls_of_five_in_order(make_harness):
    rules = "".join(f"      - fileid: /o/{{dir}}/{{name}}_{i}.jpg\n"
                    f"        rule: imageMogr2/thumbnail/{100 + i}x\n" for i in range(7))
    h = make_harness(config_text="routes:\n  - prefix: uploads/\n    bucket: derived-1250000000"
                                 "\n    rules:\n" + rules)
    h.handle(event_for("uploads/a.jpg"))
    assert [len(c["ops"]["rules"]) for c in h.ci.calls] == [5, 2]
    sent = [r["fileid"] for c in h.ci.calls for r in c["ops"]["rules"]]
    assert sent == [f"/o/uploads/a.jpg_{i}.jpg" for i in range(7)]
    assert all(c["ops"]["is_pic_info"] == 0 for c in h.ci.calls)
    (line,) = h.outcomes()
    assert line["outcome"] == "processed"
    assert [o["key"] for o in line["outputs"]] == [f"o/uploads/a.jpg_{i}.jpg" for i in range(7)]
    assert line["ci_request_ids"] == ["rid-1", "rid-2"] and "original" not in line


def test_every_record_of_a_multi_record_event_is_handled(harness):
    summary = harness.handle(load_event("cos_multi_record.json"))
    assert [c["path"] for c in harness.ci.calls] == ["/uploads/2024/cat.jpg", "/avatars/me.png"]
    avatars = harness.ci.calls[1]["ops"]
    assert avatars == {"is_pic_info": 0, "rules": [
        {"fileid": "/avatars-small/avatars/me_png.webp",
         "rule": "imageView2/1/w/64/h/64/format/webp"}]}
    lines = harness.outcomes()
    assert [(ln["index"], ln["outcome"], ln.get("reason")) for ln in lines] == [
        (0, "processed", None), (1, "skipped", "folder_marker"), (2, "processed", None)]
    assert lines[2]["outputs"][0]["bucket"] == SOURCE
    assert summary["counts"] == {"processed": 2, "skipped": 1, "failed": 0}


@pytest.mark.parametrize("key, size, event_name, reason", [
    ("uploads/new/", 0, "cos:ObjectCreated:Put", "folder_marker"),
    ("uploads/empty.jpg", 0, "cos:ObjectCreated:Put", "empty_object"),
    ("uploads/notes.txt", 10, "cos:ObjectCreated:Put", "no_route"),
    ("elsewhere/a.jpg", 10, "cos:ObjectCreated:Put", "no_route"),
    ("avatars-small/avatars/me_png.webp", 10, "cos:ObjectCreated:Put", "loop_guard"),
    # a delete is only acted on through manifests (issue 5); the harness turns them off
    ("uploads/a.jpg", 10, "cos:ObjectRemove:Delete", "manifests_off"),
])
def test_skips_send_nothing_and_say_why(harness, key, size, event_name, reason):
    summary = harness.handle(event_for(key, size=size, event_name=event_name))
    assert harness.ci.calls == []
    (line,) = harness.outcomes()
    assert (line["outcome"], line["reason"], line["level"]) == ("skipped", reason, "INFO")
    assert summary["counts"]["skipped"] == 1


def test_loop_guard_skips_derivatives_even_when_a_route_would_match(make_harness):
    # Outputs of this route stay under its own prefix but end in .webp, which
    # the route excludes; a trigger firing for one is still skipped by name.
    h = make_harness(config_text="""
        routes:
          - prefix: uploads/
            suffixes: [.jpg]
            rules:
              - fileid: thumbs/{stem}_{ext}.webp
                rule: imageMogr2/format/webp
    """)
    h.handle(event_for("uploads/2024/thumbs/cat_jpg.webp"))
    assert h.ci.calls == []
    assert h.outcomes()[0]["reason"] == "loop_guard"


def test_output_a_route_would_take_in_the_event_bucket_is_refused(make_harness):
    h = make_harness(config_text="""
        routes:
          - prefix: uploads/
            bucket: uploads-1250000000
            rules:
              - fileid: /uploads/copies/{dir}/{name}
                rule: imageMogr2/strip
              - fileid: /elsewhere/{dir}/{name}
                rule: imageMogr2/strip
    """)
    summary = h.handle(event_for("uploads/a.jpg"))
    # all or nothing: a config error in one rule sends none of the record's rules
    assert h.ci.calls == []
    (line,) = h.outcomes()
    assert line["outcome"] == "failed" and line["error"]["code"] == "LoopRefused"
    assert line["error"]["retryable"] is False
    assert (line["error"]["rule"], line["error"]["bucket"]) == (0, "uploads-1250000000")
    assert "'uploads/copies/uploads/a.jpg'" in line["error"]["message"]
    assert line["outputs"] == []
    assert summary["counts"]["failed"] == 1


def test_partial_results_fail_the_record_naming_missing_outputs(harness):
    harness.ci.script = [("drop", 1)]
    summary = harness.handle(event_for("uploads/a.jpg"))
    (line,) = harness.outcomes()
    assert line["outcome"] == "failed" and line["level"] == "ERROR"
    assert line["missing_outputs"] == ["covers/uploads/a_jpg.jpg"]
    assert line["error"] == {"code": "MissingOutputs", "status": 200, "retryable": False,
                             "message": "CI answered without these outputs: "
                                        "'covers/uploads/a_jpg.jpg'"}
    assert [o["key"] for o in line["outputs"]] == ["thumbs/uploads/a_jpg_400.webp"]
    assert summary["counts"]["failed"] == 1


def test_uploader_authorization_never_reaches_a_log_line(harness):
    harness.handle(load_event("cos_put_real.json"))
    harness.handle(load_event("cos_doc_sample.json"))
    bad = load_event("cos_put_real.json")
    del bad["Records"][0]["cos"]["cosObject"]["key"]
    harness.handle(bad)
    harness.handle({"not": "cos", "requestHeaders": {"Authorization": UPLOADER_SECRETS[0]}})
    harness.ci.script = [("error", 403, "AccessDenied")]
    harness.handle(load_event("cos_put_real.json"))
    text = harness.stream.getvalue()
    assert len(harness.lines) >= 5
    for secret in UPLOADER_SECRETS:
        assert secret not in text
