"""The seam to the CI layer: what reaches ``ci_backend.handle(ctx)``, in which order, and what
happens without a backend."""

import asyncio
import functools
import json
import logging

import pytest
from qcloud_cos.cos_exception import CosServiceError

from picops_emulator.errors import EmulatorError
from picops_emulator.cosxml import document, xml_response

PIC_OPS = json.dumps({"is_pic_info": 1, "rules": [{"fileid": "/out/缩略.jpg",
                                                   "rule": "imageMogr2/thumbnail/!50p"}]},
                     ensure_ascii=False)


class RecordingBackend:
    """A stand-in CI layer: reverses the source bytes into out/<name> and reports it."""

    def __init__(self, fail_with=None):
        self.contexts = []
        self.fail_with = fail_with

    async def handle(self, ctx):
        self.contexts.append(ctx)
        if self.fail_with is not None:
            raise self.fail_with
        if ctx.operation == "style":
            body = await ctx.request.read()
            return xml_response(document("StyleSeen", [("Bytes", len(body))]))
        if ctx.operation == "complete_multipart":
            return xml_response(document("CompleteMultipartUploadResult", [
                ("Location", ctx.location(ctx.key)), ("Bucket", ctx.bucket), ("Key", ctx.key),
                ("ETag", ctx.stored.quoted_etag), ("ProcessResults", None)]))
        loop = asyncio.get_running_loop()
        source = ctx.stored or await loop.run_in_executor(
            None, ctx.store.require_object, ctx.bucket, ctx.key)
        data = await loop.run_in_executor(None, ctx.store.read_bytes, ctx.bucket, ctx.key)
        out = await loop.run_in_executor(None, functools.partial(
            ctx.store.put_bytes, ctx.bucket, "out/缩略.jpg", data[::-1], "image/jpeg",
            generation=source.generation + 1, region=ctx.region, request_id=ctx.request_id))
        return xml_response(document("UploadResult", [
            ("OriginalInfo", [("Key", ctx.key), ("Location", ctx.location(ctx.key)),
                              ("ETag", source.quoted_etag)]),
            ("ProcessResults", [("Object", [("Key", out.key),
                                            ("Location", ctx.location(out.key)),
                                            ("Size", out.size), ("ETag", out.quoted_etag)])]),
        ]))


def test_without_a_backend_ci_requests_are_501_and_store_nothing(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="src.jpg", Body=b"img")
    with pytest.raises(CosServiceError) as err:
        cos_client.ci_image_process(Bucket=bucket, Key="src.jpg", PicOperations=PIC_OPS)
    assert err.value.get_status_code() == 501
    assert err.value.get_error_code() == "NotImplemented"
    assert "ci_image_process" in err.value.get_error_msg()

    with pytest.raises(CosServiceError) as err:
        cos_client.ci_put_object(Bucket=bucket, Key="up.jpg", Body=b"img", PicOperations=PIC_OPS)
    assert err.value.get_error_code() == "NotImplemented"
    assert "ci_put_object" in err.value.get_error_msg()
    keys = [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]]
    assert keys == ["src.jpg"]

    with pytest.raises(CosServiceError) as err:
        cos_client.ci_put_image_style(Bucket=bucket, Request={"StyleName": "s",
                                                              "StyleBody": "imageMogr2/strip"})
    assert err.value.get_error_code() == "NotImplemented"
    assert "style" in err.value.get_error_msg()


def test_image_process_reaches_the_backend(emulator_factory, client_for):
    backend = RecordingBackend()
    running = emulator_factory(ci_backend=backend)
    client = client_for(running, Region="ap-shanghai")
    client.create_bucket(Bucket="ci-1250000000")
    client.put_object(Bucket="ci-1250000000", Key="src/中 文+1.jpg", Body=b"abc")
    headers, data = client.ci_image_process(Bucket="ci-1250000000", Key="src/中 文+1.jpg",
                                            PicOperations=PIC_OPS)
    ctx = backend.contexts[0]
    assert (ctx.operation, ctx.bucket, ctx.key, ctx.region, ctx.method) == (
        "image_process", "ci-1250000000", "src/中 文+1.jpg", "ap-shanghai", "POST")
    assert ctx.query == {"image_process": ""}
    assert json.loads(ctx.pic_operations) == json.loads(PIC_OPS)
    assert ctx.stored is None
    assert headers["x-cos-request-id"] == ctx.request_id
    assert data["ProcessResults"]["Object"]["Key"] == "out/缩略.jpg"
    assert data["OriginalInfo"]["Location"] == \
        "ci-1250000000.cos.ap-shanghai.myqcloud.com/src/中 文+1.jpg"
    out = client.get_object(Bucket="ci-1250000000", Key="out/缩略.jpg")
    assert out["Body"].get_raw_stream().read() == b"cba"


def test_ci_put_object_stores_first_and_emits_upload_before_outputs(emulator_factory,
                                                                    client_for):
    backend = RecordingBackend()
    running = emulator_factory(ci_backend=backend)
    events = []
    running.add_listener(events.append)
    client = client_for(running)
    client.create_bucket(Bucket="ci-1250000000")
    headers, data = client.ci_put_object(Bucket="ci-1250000000", Key="up.jpg", Body=b"xyz",
                                         PicOperations=PIC_OPS, ContentType="image/jpeg")
    ctx = backend.contexts[0]
    assert ctx.operation == "put"
    assert ctx.stored is not None and ctx.stored.key == "up.jpg" and ctx.stored.size == 3
    assert [(e.key, e.generation) for e in events] == [("up.jpg", 0), ("out/缩略.jpg", 1)]
    assert data["OriginalInfo"]["ETag"] == ctx.stored.quoted_etag


def test_style_requests_reach_the_backend(emulator_factory, client_for):
    backend = RecordingBackend()
    running = emulator_factory(ci_backend=backend)
    client = client_for(running)
    client.create_bucket(Bucket="ci-1250000000")
    client.ci_put_image_style(Bucket="ci-1250000000",
                              Request={"StyleName": "small", "StyleBody": "imageMogr2/strip"})
    ctx = backend.contexts[0]
    assert (ctx.operation, ctx.key, ctx.method) == ("style", None, "PUT")


def test_backend_errors_become_cos_errors(emulator_factory, client_for, caplog, tmp_path):
    running = emulator_factory(ci_backend=RecordingBackend(
        fail_with=EmulatorError("InvalidPicOperations", "rules[0].fileid must not end with /")))
    client = client_for(running)
    client.create_bucket(Bucket="ci-1250000000")
    client.put_object(Bucket="ci-1250000000", Key="k", Body=b"x")
    with pytest.raises(CosServiceError) as err:
        client.ci_image_process(Bucket="ci-1250000000", Key="k", PicOperations=PIC_OPS)
    assert (err.value.get_status_code(), err.value.get_error_code()) == (400,
                                                                         "InvalidPicOperations")
    assert "fileid" in err.value.get_error_msg()

    crashing = emulator_factory(ci_backend=RecordingBackend(fail_with=RuntimeError("boom")),
                                data_dir=tmp_path / "other", buckets_to_create=("ci-1250000000",))
    client = client_for(crashing)
    client.put_object(Bucket="ci-1250000000", Key="k", Body=b"x")
    with caplog.at_level(logging.ERROR, logger="picops_emulator.server"):
        with pytest.raises(CosServiceError) as err:
            client.ci_image_process(Bucket="ci-1250000000", Key="k", PicOperations=PIC_OPS)
    assert (err.value.get_status_code(), err.value.get_error_code()) == (500, "InternalError")
    assert any("boom" in (r.exc_text or "") for r in caplog.records)


def test_operations_a_backend_does_not_declare_are_refused_before_storing(emulator_factory,
                                                                        client_for):
    backend = RecordingBackend()
    backend.operations = frozenset({"image_process", "put", "style"})
    running = emulator_factory(ci_backend=backend)
    client = client_for(running)
    client.create_bucket(Bucket="ci-1250000000")
    upload_id = client.create_multipart_upload(Bucket="ci-1250000000", Key="m")["UploadId"]
    etag = client.upload_part(Bucket="ci-1250000000", Key="m", Body=b"x", PartNumber=1,
                              UploadId=upload_id)["ETag"]
    with pytest.raises(CosServiceError) as err:
        client.complete_multipart_upload(
            Bucket="ci-1250000000", Key="m", UploadId=upload_id, PicOperations=PIC_OPS,
            MultipartUpload={"Part": [{"PartNumber": 1, "ETag": etag}]})
    assert err.value.get_error_code() == "NotImplemented"
    assert "Complete Multipart Upload" in err.value.get_error_msg()
    assert backend.contexts == []
    assert "Contents" not in client.list_objects(Bucket="ci-1250000000")


def test_complete_multipart_with_pic_operations_reaches_the_backend(emulator_factory,
                                                                   client_for):
    backend = RecordingBackend()
    running = emulator_factory(ci_backend=backend)
    client = client_for(running)
    client.create_bucket(Bucket="ci-1250000000")
    upload_id = client.create_multipart_upload(Bucket="ci-1250000000", Key="m")["UploadId"]
    etag = client.upload_part(Bucket="ci-1250000000", Key="m", Body=b"x", PartNumber=1,
                              UploadId=upload_id)["ETag"]
    done = client.complete_multipart_upload(
        Bucket="ci-1250000000", Key="m", UploadId=upload_id, PicOperations=PIC_OPS,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": etag}]})
    ctx = backend.contexts[0]
    assert ctx.operation == "complete_multipart" and ctx.stored.key == "m"
    assert done["ETag"] == ctx.stored.quoted_etag and done["ETag"].endswith('-1"')
