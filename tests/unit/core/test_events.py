"""COS events -> records: real shapes, every record, raw keys, precise errors."""

import json

import pytest
from .conftest import event_for, load_event, parse_event

from picops.errors import EventError
from picops.events import CosRecord, mask_event, parse_record, split_records


def test_real_event_gives_bucket_key_region_etag():
    (rec,) = parse_event(load_event("cos_put_real.json"))
    assert rec == CosRecord(bucket="uploads-1250000000", key="uploads/2024/cat.jpg", size=34567,
                            etag="0d7316832fef232e5dcdcf81f39bfdba", region="ap-guangzhou",
                            event_name="cos:ObjectCreated:Put", index=0, user_meta={})
    assert rec.is_created


def test_user_metadata_is_kept_and_an_event_without_meta_leaves_it_unknown():
    event = load_event("cos_put_real.json")
    event["Records"][0]["cos"]["cosObject"]["meta"]["X-Cos-Meta-Picops-Processed"] = "1.a.b"
    (rec,) = parse_event(event)
    assert rec.user_meta == {"x-cos-meta-picops-processed": "1.a.b"}
    del event["Records"][0]["cos"]["cosObject"]["meta"]
    (rec,) = parse_event(event)
    assert rec.user_meta is None and rec.etag == ""


def test_doc_sample_without_long_region_falls_back_to_function_region():
    (rec,) = parse_event(load_event("cos_doc_sample.json"), default_region="ap-guangzhou")
    assert rec.region == "ap-guangzhou"
    assert rec.etag == ""  # the documented sample has no ETag in meta
    assert rec.event_name == "cos:ObjectCreated:*"


def test_s3region_used_when_cosregion_absent(real_event):
    del real_event["Records"][0]["cos"]["cosBucket"]["cosRegion"]
    real_event["Records"][0]["cos"]["cosBucket"]["s3Region"] = "ap-shanghai"
    (rec,) = parse_event(real_event, default_region="ap-guangzhou")
    assert rec.region == "ap-shanghai"


def test_no_region_anywhere_is_an_error(real_event):
    bucket = real_event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"], bucket["s3Region"]
    bucket["region"] = "zz"
    with pytest.raises(EventError) as e:
        parse_event(real_event)
    assert str(e.value).startswith("Records[0].cos.cosBucket.region: no cosRegion/s3Region, "
                                   "short code 'zz' is not one picops knows")


@pytest.mark.parametrize("code, region", [("gz", "ap-guangzhou"), ("sh", "ap-shanghai"),
                                          ("bj", "ap-beijing"), ("cd", "ap-chengdu"),
                                          ("cq", "ap-chongqing"), ("hk", "ap-hongkong"),
                                          ("sg", "ap-singapore"), ("ap-tokyo", "ap-tokyo"),
                                          ("zz", "ap-nanjing")])
def test_a_short_region_code_alone_gives_the_region(real_event, code, region):
    bucket = real_event["Records"][0]["cos"]["cosBucket"]
    del bucket["cosRegion"], bucket["s3Region"]
    bucket["region"] = code
    (record,) = parse_event(real_event, default_region="ap-nanjing")
    assert record.region == region


def test_every_record_is_returned_in_order():
    records = parse_event(load_event("cos_multi_record.json"))
    assert [(r.index, r.key, r.size) for r in records] == [
        (0, "uploads/2024/cat.jpg", 34567), (1, "uploads/2024/", 0), (2, "avatars/me.png", 2048)]
    assert records[2].event_name == "cos:ObjectCreated:CompleteMultipartUpload"


@pytest.mark.parametrize("key", [
    "uploads/a b.jpg",            # space stays a space
    "uploads/a+b.jpg",            # a literal plus is not a space
    "uploads/100%25.jpg",         # percent sequences are not decoded
    "uploads/%E4%B8%AD.jpg",
    "uploads/猫の写真.jpg",
    "uploads/📷 holiday.png",
    "uploads/!!!!!!!",
    "uploads/a//b.jpg",
    "/leading-slash-inside.jpg",
])
def test_keys_are_used_exactly_as_they_arrive(key):
    (rec,) = parse_event(event_for(key))
    assert rec.key == key


def test_folder_marker_and_zero_size_are_records_too():
    (rec,) = parse_event(event_for("uploads/new folder/", size=0))
    assert rec.key.endswith("/") and rec.size == 0


def test_removal_event_is_not_created():
    (rec,) = parse_event(event_for("uploads/a.jpg", event_name="cos:ObjectRemove:Delete"))
    assert not rec.is_created


def test_string_size_is_tolerated(real_event):
    real_event["Records"][0]["cos"]["cosObject"]["size"] = "42"
    assert parse_event(real_event)[0].size == 42


@pytest.mark.parametrize("mutate, message", [
    (lambda e: e["Records"][0]["cos"]["cosObject"].pop("key"),
     "Records[0].cos.cosObject.key: missing"),
    (lambda e: e["Records"][0]["cos"].pop("cosBucket"),
     "Records[0].cos.cosBucket: missing"),
    (lambda e: e["Records"][0].pop("cos"), "Records[0].cos: missing"),
    (lambda e: e["Records"][0]["cos"]["cosBucket"].update(appid="12x"),
     "Records[0].cos.cosBucket.appid: expected the numeric APPID, got '12x'"),
    (lambda e: e["Records"][0]["cos"]["cosBucket"].update(appid=1250000000),
     "Records[0].cos.cosBucket.appid: expected a string, got number"),
    (lambda e: e["Records"][0]["cos"]["cosObject"].update(key="/999/other/x.jpg"),
     "Records[0].cos.cosObject.key: expected '/1250000000/uploads/<object key>', "
     "got '/999/other/x.jpg'"),
    (lambda e: e["Records"][0]["cos"]["cosObject"].update(key="/1250000000/uploads/"),
     "Records[0].cos.cosObject.key: no object key after '/1250000000/uploads/'"),
    (lambda e: e["Records"][0]["cos"]["cosObject"].update(size=-1),
     "Records[0].cos.cosObject.size: expected a byte count, got -1 (a number)"),
    (lambda e: e["Records"][0]["cos"]["cosObject"].update(size=True),
     "Records[0].cos.cosObject.size: expected a byte count, got true (a boolean)"),
    (lambda e: e["Records"][0]["cos"]["cosObject"].update(size="12x" + "9" * 100_000),
     "Records[0].cos.cosObject.size: expected a byte count, got '12x" + "9" * 116
     + "... (a string)"),
    (lambda e: e["Records"][0]["event"].pop("eventName"),
     "Records[0].event.eventName: missing"),
    (lambda e: e["Records"][0].update(cos=[]), "Records[0].cos: expected an object, got list"),
])
def test_malformed_record_names_the_field(real_event, mutate, message):
    mutate(real_event)
    with pytest.raises(EventError) as e:
        parse_event(real_event)
    assert str(e.value) == message
    assert e.value.code == "MalformedEvent" and not e.value.retryable


def test_error_names_the_record_index():
    event = load_event("cos_multi_record.json")
    del event["Records"][2]["cos"]["cosObject"]["key"]
    with pytest.raises(EventError, match=r"^Records\[2\]\.cos\.cosObject\.key: missing$"):
        parse_event(event)


@pytest.mark.parametrize("event, message", [
    (None, "event: expected a JSON object, got null"),
    ([], "event: expected a JSON object, got list"),
    ({}, "Records: missing: not a COS trigger event"),
    ({"Records": {}}, "Records: expected a list, got object"),
    ({"Records": []}, "Records: empty list: no object to handle"),
    (load_event("not_cos_timer.json"), "Records: missing: not a COS trigger event"),
])
def test_malformed_event_shapes(event, message):
    with pytest.raises(EventError) as e:
        split_records(event)
    assert str(e.value) == message


def test_parse_record_alone_keeps_good_records_usable():
    event = load_event("cos_multi_record.json")
    event["Records"][1] = "garbage"
    raws = split_records(event)
    assert parse_record(raws[0], 0).key == "uploads/2024/cat.jpg"
    with pytest.raises(EventError, match=r"^Records\[1\]: expected an object, got string$"):
        parse_record(raws[1], 1)


def test_mask_event_hides_authorization_at_any_depth_and_case():
    event = load_event("cos_put_real.json")
    event["extra"] = [{"AUTHORIZATION": "other-secret"}]
    masked = json.dumps(mask_event(event))
    assert "AKIDuploaderSECRETak" not in masked and "q-signature" not in masked
    assert "other-secret" not in masked
    assert "uploads/2024/cat.jpg" in masked
    # the original is untouched
    assert "AKIDuploaderSECRETak" in json.dumps(event)


def test_record_repr_holds_no_authorization():
    (rec,) = parse_event(load_event("cos_put_real.json"))
    assert "AKID" not in repr(rec)
