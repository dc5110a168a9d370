"""The COS event and SCF context the emulator delivers look like the real ones (§1.2, §2.2)."""

import json
import re
import uuid
from pathlib import Path
from urllib.parse import unquote

import pytest

from picops_emulator.triggers.events import (
    build_context, build_cos_event, object_url, short_region, split_bucket)

from .conftest import APPID, UPLOADS, change


EVENTS = Path(__file__).resolve().parents[2] / "events"


def record_of(event):
    assert list(event) == ["Records"]
    assert len(event["Records"]) == 1
    return event["Records"][0]


def test_every_field_of_a_put_event():
    c = change("uploads/photo.jpg", size=557, meta={"x-cos-meta-owner": "ann"},
               source_ip="10.1.2.3")
    event = build_cos_event(c, function_name="picops-fn", function_region="ap-guangzhou",
                            now=1650016156, reqid=0)
    rec = record_of(event)
    assert set(rec) == {"cos", "event"}
    cos = rec["cos"]
    assert set(cos) == {"cosSchemaVersion", "cosObject", "cosBucket", "cosNotificationId"}
    assert cos["cosSchemaVersion"] == "1.0"
    assert cos["cosNotificationId"] == "unkown"
    obj = cos["cosObject"]
    assert set(obj) == {"url", "meta", "vid", "key", "size"}
    assert obj["url"] == f"http://{UPLOADS}.cos.ap-guangzhou.myqcloud.com/uploads/photo.jpg"
    assert obj["key"] == f"/{APPID}/uploads/uploads/photo.jpg"
    assert obj["vid"] == ""
    assert obj["size"] == 557 and isinstance(obj["size"], int)
    assert obj["meta"] == {
        "Content-Type": "image/jpeg",
        "ETag": '"0d7316832fef232e5dcdcf81f39bfdba"',
        "x-cos-request-id": "NjI1OTRhYzBfMTQ0",
        "x-cos-storage-class": "Standard",
        "x-cos-meta-owner": "ann",
    }
    assert cos["cosBucket"] == {"appid": APPID, "name": "uploads", "region": "gz",
                                "cosRegion": "ap-guangzhou", "s3Region": "ap-guangzhou"}
    ev = rec["event"]
    assert set(ev) == {"eventName", "eventVersion", "eventTime", "eventSource", "eventQueue",
                       "reqid", "requestParameters", "reservedInfo"}
    assert ev["eventName"] == "cos:ObjectCreated:Put"
    assert ev["eventVersion"] == "1.0"
    assert ev["eventTime"] == 1650016156
    assert ev["eventSource"] == "qcs::cos"
    assert ev["eventQueue"] == f"qcs:0:scf:ap-guangzhou:appid/{APPID}:default.picops-fn.$DEFAULT"
    assert ev["reqid"] == 0
    assert ev["reservedInfo"] == ""
    params = ev["requestParameters"]
    assert params["requestSourceIP"] == "10.1.2.3"
    auth = params["requestHeaders"]["Authorization"]
    assert re.fullmatch(r"q-sign-algorithm=sha1&q-ak=[^&]+&q-sign-time=\d+;\d+&q-key-time=\d+;\d+"
                        r"&q-header-list=[^&]*&q-url-param-list=[^&]*&q-signature=[0-9a-f]{40}",
                        auth)
    json.dumps(event)  # the whole event is plain JSON


def test_event_time_defaults_to_now_as_int_seconds():
    ev = record_of(build_cos_event(change(), function_name="f", function_region="ap-guangzhou"))
    assert isinstance(ev["event"]["eventTime"], int) and ev["event"]["eventTime"] > 1_600_000_000
    assert isinstance(ev["event"]["reqid"], int)


@pytest.mark.parametrize("key", [
    "uploads/中文 文件+1.jpg",
    "uploads/a+b c%20d.jpg",
    "uploads/!!!!!!!",
    "uploads/emoji 😀/x.png",
    "uploads/dir/./..\\x?y#z&.jpg",
])
def test_key_is_raw_and_url_is_percent_encoded(key):
    obj = record_of(build_cos_event(change(key), function_name="f",
                                    function_region="ap-guangzhou"))["cos"]["cosObject"]
    assert obj["key"] == f"/{APPID}/uploads/{key}"
    prefix = f"http://{UPLOADS}.cos.ap-guangzhou.myqcloud.com/"
    assert obj["url"].startswith(prefix)
    encoded = obj["url"][len(prefix):]
    assert unquote(encoded) == key
    assert re.fullmatch(r"[A-Za-z0-9_.~/%-]*", encoded), encoded
    # the recovery recipe of the official samples gives the key back byte for byte
    assert obj["key"].replace(f"/{APPID}/uploads/", "", 1) == key


def test_exclamation_marks_are_encoded_like_the_real_dump():
    assert object_url("bookshelfplus-1302260381", "ap-shanghai", "!!!!!!!") == (
        "http://bookshelfplus-1302260381.cos.ap-shanghai.myqcloud.com/%21%21%21%21%21%21%21")


def test_space_and_plus_stay_distinct_in_the_url():
    url = object_url(UPLOADS, "ap-guangzhou", "a b+c")
    assert url.endswith("/a%20b%2Bc")


@pytest.mark.parametrize("region,short", [("ap-guangzhou", "gz"), ("ap-shanghai", "sh"),
                                          ("ap-beijing", "bj"), ("ap-chengdu", "cd"),
                                          ("ap-singapore", "sg"),
                                          ("ap-nowhere", "ap-nowhere")])
def test_short_region_codes(region, short):
    assert short_region(region) == short
    bucket = record_of(build_cos_event(change(region=region), function_name="f",
                                       function_region=region))["cos"]["cosBucket"]
    assert bucket["region"] == short
    assert bucket["cosRegion"] == region and bucket["s3Region"] == region


def test_bucket_region_of_the_trigger_wins_over_the_addressed_one():
    rec = record_of(build_cos_event(change(region="ap-beijing"), function_name="f",
                                    function_region="ap-shanghai", bucket_region="ap-shanghai"))
    assert rec["cos"]["cosBucket"]["cosRegion"] == "ap-shanghai"
    assert ".cos.ap-shanghai.myqcloud.com/" in rec["cos"]["cosObject"]["url"]


def test_user_meta_without_prefix_gets_it_and_quoted_etag_is_not_requoted():
    meta = record_of(build_cos_event(
        change(etag='"abc"', meta={"colour": "red"}, storage_class="STANDARD_IA"),
        function_name="f", function_region="ap-guangzhou"))["cos"]["cosObject"]["meta"]
    assert meta["x-cos-meta-colour"] == "red"
    assert meta["ETag"] == '"abc"'
    assert meta["x-cos-storage-class"] == "Standard_IA"


def test_multipart_etag_kept_whole():
    meta = record_of(build_cos_event(
        change(etag="5d41402abc4b2a76b9719d911017c592-3",
               event_name="cos:ObjectCreated:CompleteMultipartUpload"),
        function_name="f", function_region="ap-guangzhou"))["cos"]["cosObject"]["meta"]
    assert meta["ETag"] == '"5d41402abc4b2a76b9719d911017c592-3"'


def test_delete_event_has_specific_name_and_no_invented_etag():
    rec = record_of(build_cos_event(
        change(event_name="cos:ObjectRemove:Delete", size=0, etag="", content_type=""),
        function_name="f", function_region="ap-guangzhou"))
    assert rec["event"]["eventName"] == "cos:ObjectRemove:Delete"
    assert "ETag" not in rec["cos"]["cosObject"]["meta"]
    assert rec["cos"]["cosObject"]["meta"]["Content-Type"] == ""
    assert rec["cos"]["cosObject"]["size"] == 0


def _shape(value):
    """The keys at every level (lists by their first item), values dropped."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("kind, event_name", [("put", "cos:ObjectCreated:Put"),
                                              ("post", "cos:ObjectCreated:Post"),
                                              ("delete", "cos:ObjectRemove:Delete")])
def test_every_field_of_the_scf_cli_template_is_there_with_its_type(kind, event_name):
    # Tencent's SCF CLI templates (tests/events/scf_cli_cos_*.json) are the judge: the
    # emulator's event has each of their fields, with the same JSON type. It adds only
    # what real events add (cosRegion/s3Region; ETag and storage class on creates).
    template = json.loads((EVENTS / f"scf_cli_cos_{kind}.json").read_text(encoding="utf-8"))
    etag = "" if kind == "delete" else "0d7316832fef232e5dcdcf81f39bfdba"
    ours = build_cos_event(change(event_name=event_name, etag=etag, content_type="image/jpeg"
                                  if etag else ""), function_name="f",
                           function_region="ap-guangzhou")

    def contains(big, small, at="event"):
        if isinstance(small, dict):
            assert isinstance(big, dict), at
            for k, v in small.items():
                assert k in big, f"{at}.{k} missing"
                contains(big[k], v, f"{at}.{k}")
        elif isinstance(small, list):
            assert isinstance(big, list) and len(big) == len(small), at
            contains(big[0], small[0], f"{at}[0]")
        else:
            assert small == big, f"{at}: {big} is not {small}"

    contains(_shape(ours), _shape(template))
    extra = set(_shape(ours)["Records"][0]["cos"]["cosObject"]["meta"]) - set(
        _shape(template)["Records"][0]["cos"]["cosObject"]["meta"])
    assert extra == (set() if kind == "delete" else {"ETag", "x-cos-storage-class"})
    assert set(_shape(ours)["Records"][0]["cos"]["cosBucket"]) - set(
        _shape(template)["Records"][0]["cos"]["cosBucket"]) == {"cosRegion", "s3Region"}


def test_loop_generation_never_appears_in_the_event():
    text = json.dumps(build_cos_event(change(generation=2), function_name="f",
                                      function_region="ap-guangzhou"))
    assert "generation" not in text.lower()


def test_split_bucket():
    assert split_bucket("my-photos-1250000000") == ("my-photos", "1250000000")
    assert split_bucket("noappid") == ("noappid", "")


def test_context_fields():
    ctx = build_context(function_name="picops-fn", region="ap-shanghai", appid=APPID,
                        memory_mb=256, timeout_s=60, environment={"TARGET": "derived"})
    assert set(ctx) == {"memory_limit_in_mb", "time_limit_in_ms", "request_id", "environment",
                        "environ", "function_version", "function_name", "namespace",
                        "tencentcloud_region", "tencentcloud_appid", "tencentcloud_uin"}
    assert ctx["memory_limit_in_mb"] == 256
    assert ctx["time_limit_in_ms"] == 60_000
    assert uuid.UUID(ctx["request_id"]).version == 4
    assert ctx["function_version"] == "$LATEST"
    assert ctx["function_name"] == "picops-fn"
    assert ctx["namespace"] == "default"
    assert ctx["tencentcloud_region"] == "ap-shanghai"
    assert ctx["tencentcloud_appid"] == APPID
    assert ctx["tencentcloud_uin"].isdigit()
    assert json.loads(ctx["environment"]) == {"TARGET": "derived", "SCF_NAMESPACE": "default"}
    assert ctx["environ"] == "TARGET=derived;SCF_NAMESPACE=default"


def test_context_request_ids_differ_and_fractional_timeout_rounds():
    a = build_context(function_name="f", region="r", appid="1", memory_mb=128, timeout_s=1.5,
                      environment={})
    b = build_context(function_name="f", region="r", appid="1", memory_mb=128, timeout_s=1.5,
                      environment={})
    assert a["request_id"] != b["request_id"]
    assert a["time_limit_in_ms"] == 1500
