"""Listeners get one ObjectChanged per committed create/delete, in order, off the request path."""

import hashlib
import logging
import threading

from picops_emulator.notifications import ObjectChanged

MB = 1024 * 1024


def test_events_in_order_for_every_create_and_delete_path(emulator, cos_client, bucket):
    events = []
    threads = set()

    def listener(change):
        events.append(change)
        threads.add(threading.current_thread().name)

    emulator.add_listener(listener)
    cos_client.put_object(Bucket=bucket, Key="p 1+中", Body=b"put", ContentType="text/plain",
                          Metadata={"x-cos-meta-who": "me"})
    cos_client.copy_object(Bucket=bucket, Key="c",
                           CopySource={"Bucket": bucket, "Key": "p 1+中",
                                       "Region": "ap-guangzhou"})
    upload_id = cos_client.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = cos_client.upload_part(Bucket=bucket, Key="m", Body=b"m" * 10, PartNumber=1,
                                  UploadId=upload_id)["ETag"]
    cos_client.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id,
                                         MultipartUpload={"Part": [{"PartNumber": 1,
                                                                    "ETag": etag}]})
    cos_client.delete_object(Bucket=bucket, Key="c")
    cos_client.delete_object(Bucket=bucket, Key="never-existed")
    cos_client.delete_objects(Bucket=bucket, Delete={"Object": [{"Key": "m"}, {"Key": "x"}]})

    assert [(e.event_name, e.key) for e in events] == [
        ("cos:ObjectCreated:Put", "p 1+中"),
        ("cos:ObjectCreated:Copy", "c"),
        ("cos:ObjectCreated:CompleteMultipartUpload", "m"),
        ("cos:ObjectRemove:Delete", "c"),
        ("cos:ObjectRemove:Delete", "m"),
    ]
    put = events[0]
    assert isinstance(put, ObjectChanged)
    assert put.bucket == bucket and put.size == 3 and put.content_type == "text/plain"
    assert put.etag == hashlib.md5(b"put").hexdigest()
    assert put.meta == {"x-cos-meta-who": "me"}
    assert put.region == "ap-guangzhou" and put.generation == 0
    assert put.request_id and put.source_ip == "127.0.0.1"
    assert events[2].etag.endswith("-1")
    assert threads == {"picops-emulator"}  # delivered on the server's loop thread


def test_region_comes_from_the_host(emulator, client_for):
    chengdu = client_for(emulator, Region="ap-chengdu")
    chengdu.create_bucket(Bucket="west-1250000000")
    events = []
    emulator.add_listener(events.append)
    chengdu.put_object(Bucket="west-1250000000", Key="k", Body=b"x")
    assert [e.region for e in events] == ["ap-chengdu"]


def test_a_failing_listener_is_logged_and_harmless(emulator, cos_client, bucket, caplog):
    seen = []

    def broken(change):
        raise RuntimeError("listener exploded")

    emulator.add_listener(broken)
    emulator.add_listener(seen.append)
    with caplog.at_level(logging.ERROR, logger="picops_emulator.notifications"):
        response = cos_client.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert response["ETag"]
    assert [e.key for e in seen] == ["k"]
    failures = [r for r in caplog.records if "listener exploded" in (r.exc_text or "")]
    assert failures and "cos:ObjectCreated:Put" in failures[0].getMessage()


def test_store_writes_by_the_ci_layer_emit_with_their_generation(emulator, cos_client, bucket):
    events = []
    emulator.add_listener(events.append)
    emulator.store.put_bytes(bucket, "out/thumb.jpg", b"jpeg", "image/jpeg", generation=1,
                             event_name="cos:ObjectCreated:Put", region="ap-shanghai",
                             request_id="rid-1")
    emulator.store.put_bytes(bucket, "quiet", b"q", event_name=None)
    # written from this (non-loop) thread, the events are delivered on the loop, in order,
    # before anything the loop does next: one request round trip is enough to see them
    head = cos_client.head_object(Bucket=bucket, Key="out/thumb.jpg")
    assert head["Content-Type"] == "image/jpeg"
    assert [(e.key, e.generation, e.region, e.request_id) for e in events] == [
        ("out/thumb.jpg", 1, "ap-shanghai", "rid-1")]
