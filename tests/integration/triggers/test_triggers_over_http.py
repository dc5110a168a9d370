"""Uploads through the real SDK fire the function from serverless.yml, as SCF would."""

import json
import logging
from pathlib import Path

import pyvips

from picops_emulator.ci.service import CiService
from picops_emulator.triggers.deadletter import read_dead_letters
from picops_emulator.triggers.loader import default_function_dir, load_serverless

from .conftest import APPID, cos_trigger

WAIT = 120  # upper bound for wait_idle on a loaded machine; never a speed check
REPO = Path(__file__).resolve().parents[3]

# A function that talks back to the emulator the way the real one does: COS_ENDPOINT and
# the role's credentials from its environment, the bucket and raw key from the event.
COPY_SIZE = """
    import os
    from urllib.parse import urlsplit
    from qcloud_cos import CosConfig, CosS3Client

    endpoint = urlsplit(os.environ["COS_ENDPOINT"])
    CLIENT = CosS3Client(CosConfig(
        Region=os.environ["TENCENTCLOUD_REGION"], SecretId=os.environ["TENCENTCLOUD_SECRETID"],
        SecretKey=os.environ["TENCENTCLOUD_SECRETKEY"],
        Token=os.environ["TENCENTCLOUD_SESSIONTOKEN"] or None,
        Scheme=endpoint.scheme, IP=endpoint.hostname, Port=endpoint.port), retry=0)

    def main_handler(event, context):
        for record in event["Records"]:
            b = record["cos"]["cosBucket"]
            bucket = b["name"] + "-" + b["appid"]
            key = record["cos"]["cosObject"]["key"].replace(
                "/" + b["appid"] + "/" + b["name"] + "/", "", 1)
            body = CLIENT.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()
            print("read", key, len(body))
            CLIENT.put_object(Bucket="derived-" + b["appid"], Key="sizes/" + key,
                              Body=str(len(body)).encode())
        return {"records": len(event["Records"])}
"""


def small_jpeg(width=64, height=48) -> bytes:
    return pyvips.Image.black(width, height, bands=3).add(90).cast("uchar").jpegsave_buffer(Q=80)


def test_upload_fires_the_function_which_talks_back_over_http(emulator, cos_client, make_bucket,
                                                              wire):
    uploads, derived = make_bucket("uploads"), make_bucket("derived")
    d = wire(emulator, COPY_SIZE, [cos_trigger(uploads, prefix="in/")])
    key = "in/中文 a+b%20c!.txt"
    cos_client.put_object(Bucket=uploads, Key=key, Body=b"x" * 1234)
    cos_client.put_object(Bucket=uploads, Key="elsewhere/skip.txt", Body=b"y")
    assert d.wait_idle(WAIT)

    (record,) = d.invocations
    assert record.outcome == "succeeded", record.failure
    assert record.key == key and record.event_name == "cos:ObjectCreated:Put"
    assert record.logs == [f"read {key} 1234"]
    body = cos_client.get_object(Bucket=derived, Key=f"sizes/{key}")["Body"]
    assert body.get_raw_stream().read() == b"1234"
    meta = record.event["Records"][0]["cos"]["cosObject"]["meta"]
    stored = cos_client.head_object(Bucket=uploads, Key=key)
    assert meta["ETag"] == stored["ETag"]
    decisions = [(e["decision"], e.get("key")) for e in d.decisions]
    assert ("no_trigger", "elsewhere/skip.txt") in decisions
    # the function's own write to derived-… is a change too, matched by no trigger
    assert ("no_trigger", f"sizes/{key}") in decisions


def test_copy_and_multipart_fire_with_their_specific_event_names(emulator, cos_client,
                                                                 make_bucket, wire):
    uploads = make_bucket("uploads")
    make_bucket("derived")
    d = wire(emulator, COPY_SIZE, [cos_trigger(uploads, prefix="in/")])
    cos_client.put_object(Bucket=uploads, Key="src.txt", Body=b"abc")
    cos_client.copy_object(Bucket=uploads, Key="in/copied.txt", CopySource={
        "Bucket": uploads, "Key": "src.txt", "Region": "ap-guangzhou"})
    upload_id = cos_client.create_multipart_upload(Bucket=uploads, Key="in/multi.txt")["UploadId"]
    part = cos_client.upload_part(Bucket=uploads, Key="in/multi.txt", Body=b"m" * 10,
                                  PartNumber=1, UploadId=upload_id)
    cos_client.complete_multipart_upload(
        Bucket=uploads, Key="in/multi.txt", UploadId=upload_id,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert d.wait_idle(WAIT)
    got = {r.key: (r.event_name, r.outcome) for r in d.invocations}
    assert got == {"in/copied.txt": ("cos:ObjectCreated:Copy", "succeeded"),
                   "in/multi.txt": ("cos:ObjectCreated:CompleteMultipartUpload", "succeeded")}


def test_handler_crash_is_retried_then_dead_lettered_in_the_data_dir(emulator, cos_client,
                                                                     make_bucket, wire):
    uploads = make_bucket("uploads")
    d = wire(emulator, """
        def main_handler(event, context):
            raise RuntimeError("handler crashed")
    """, [cos_trigger(uploads)])
    cos_client.put_object(Bucket=uploads, Key="boom.jpg", Body=b"data")
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.outcome == "dead_lettered" and len(record.attempts) == 3
    (entry,) = read_dead_letters(emulator.data_dir)
    assert entry["Key"] == "boom.jpg" and entry["Attempts"] == 3
    assert entry["ErrorMessage"] == "RuntimeError: handler crashed"
    # the emulator is unharmed: it still answers
    assert cos_client.head_object(Bucket=uploads, Key="boom.jpg")["Content-Length"] == "4"


def test_loop_unsafe_setup_is_stopped_by_the_guard(emulator_factory, client_for, wire, caplog):
    """The function writes its CI output back under the watched prefix: a chain the guard ends."""
    caplog.set_level(logging.INFO, logger="picops_emulator.triggers")
    ci = CiService()
    try:
        emulator = emulator_factory(ci_backend=ci, buckets_to_create=(f"loop-{APPID}",))
        client = client_for(emulator)
        d = wire(emulator, """
            import json, os
            from urllib.parse import urlsplit
            from qcloud_cos import CosConfig, CosS3Client

            e = urlsplit(os.environ["COS_ENDPOINT"])
            CLIENT = CosS3Client(CosConfig(
                Region="ap-guangzhou", SecretId=os.environ["TENCENTCLOUD_SECRETID"],
                SecretKey=os.environ["TENCENTCLOUD_SECRETKEY"], Scheme=e.scheme,
                IP=e.hostname, Port=e.port), retry=0)

            def main_handler(event, context):
                b = event["Records"][0]["cos"]["cosBucket"]
                key = event["Records"][0]["cos"]["cosObject"]["key"].split("/", 3)[3]
                stem = key.rsplit(".", 1)[0]
                rules = {"is_pic_info": 0, "rules": [
                    {"fileid": "/" + stem + "x.jpg", "rule": "imageMogr2/thumbnail/!90p"}]}
                CLIENT.ci_image_process(Bucket=b["name"] + "-" + b["appid"], Key=key,
                                        PicOperations=json.dumps(rules))
                return key
        """, [cos_trigger(f"loop-{APPID}", prefix="in/")], max_generation=3)
        client.put_object(Bucket=f"loop-{APPID}", Key="in/a.jpg", Body=small_jpeg())
        assert d.wait_idle(WAIT)
        delivered = sorted((r.generation, r.key, r.outcome) for r in d.invocations)
        assert delivered == [(0, "in/a.jpg", "succeeded"), (1, "in/ax.jpg", "succeeded"),
                             (2, "in/axx.jpg", "succeeded"), (3, "in/axxx.jpg", "succeeded")]
        (guarded,) = [e for e in d.decisions if e["decision"] == "loop_guarded"]
        assert (guarded["key"], guarded["generation"], guarded["trigger"]) == (
            "in/axxxx.jpg", 4, 0)
        assert any(r.levelno == logging.ERROR and "LOOP GUARD" in r.getMessage()
                   for r in caplog.records)
        # the output that was refused delivery is stored like any object
        assert client.head_object(Bucket=f"loop-{APPID}", Key="in/axxxx.jpg")
    finally:
        ci.close()


def test_the_project_function_runs_from_the_checkout(emulator_factory, client_for, wire):
    """serverless.yml + functions/image_processor + picops.yaml, unmodified, end to end."""
    spec = load_serverless(REPO / "serverless.yml")
    ci = CiService()
    try:
        emulator = emulator_factory(ci_backend=ci, buckets_to_create=(
            f"uploads-{APPID}", f"derived-{APPID}"))
        client = client_for(emulator)
        d = wire(emulator, default_function_dir(REPO / "serverless.yml"), [], spec=spec)
        client.put_object(Bucket=f"uploads-{APPID}", Key="uploads/shots/cat.jpg",
                          Body=small_jpeg(800, 600))
        assert d.wait_idle(WAIT)
        (record,) = d.invocations
        assert record.outcome == "succeeded", (record.failure, record.logs)
        lines = [json.loads(line) for line in record.logs if line.startswith("{")]
        assert any(line.get("request_id") == record.request_id for line in lines), record.logs
        thumb_key = "thumbs/uploads/shots/cat_jpg_400.webp"  # /thumbs/{dir}/{stem}_{ext}_400.webp
        head = client.head_object(Bucket=f"derived-{APPID}", Key=thumb_key)
        assert head["Content-Type"] == "image/webp"
        data = client.get_object(Bucket=f"derived-{APPID}", Key=thumb_key)
        thumb = pyvips.Image.new_from_buffer(data["Body"].get_raw_stream().read(), "")
        assert (thumb.width, thumb.height) == (400, 300)
    finally:
        ci.close()
