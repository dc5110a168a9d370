"""Complete Multipart Upload carrying ``Pic-Operations``: the assembled object is processed
before the answer, which is ``CompleteMultipartUploadResult`` plus CI's results."""

import hashlib
import json

import pytest

from picops_emulator.ci.service import CiService

PART = 1024 * 1024  # COS's smallest part but the last


def _multipart(ci, key, body, metadata=None):
    """Initiate and send ``body`` in parts; the ``MultipartUpload`` for Complete, and the id."""
    kwargs = {"Metadata": metadata} if metadata else {}
    upload_id = ci.client.create_multipart_upload(Bucket=ci.bucket, Key=key,
                                                  **kwargs)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(body), PART), 1):
        etag = ci.client.upload_part(Bucket=ci.bucket, Key=key, UploadId=upload_id,
                                     PartNumber=number, Body=body[start:start + PART])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    return {"Part": parts}, upload_id


def _multipart_etag(body):
    digests = b"".join(hashlib.md5(body[i:i + PART]).digest() for i in range(0, len(body), PART))
    return f"{hashlib.md5(digests).hexdigest()}-{-(-len(body) // PART)}"


def _large_png():
    """A PNG of about 2.5 MB (noise does not compress), so it takes three parts."""
    import pyvips

    noise = pyvips.Image.gaussnoise(1000, 800, mean=128, sigma=60).cast("uchar")
    image = noise.bandjoin([noise.rot180(), noise.fliphor()])
    return image.pngsave_buffer(compression=0)


def test_complete_with_pic_operations_processes_the_assembled_object(ci):
    body = _large_png()
    assert len(body) > 2 * PART
    ops = json.dumps({"is_pic_info": 1, "rules": [
        {"fileid": "/thumbs/big.webp", "rule": "imageMogr2/thumbnail/200x/format/webp"},
        {"fileid": "small.jpg", "rule": "imageView2/2/w/100/format/jpg"}]})
    done_parts, upload_id = _multipart(ci, "in/big.png", body,
                                       {"x-cos-meta-picops-mark": "m1"})
    data = ci.client.complete_multipart_upload(Bucket=ci.bucket, Key="in/big.png",
                                               UploadId=upload_id, MultipartUpload=done_parts,
                                               PicOperations=ops)
    etag = _multipart_etag(body)
    # Complete's own answer is there, as without processing (the SDK insists on ETag) ...
    assert data["ETag"] == f'"{etag}"'
    assert (data["Bucket"], data["Key"]) == (ci.bucket, "in/big.png")
    assert data["Location"].endswith("/in/big.png")
    assert data["x-cos-hash-crc64ecma"]
    # ... followed by CI's results, like an UploadResult.
    original = data["OriginalInfo"]
    assert (original["Key"], original["ETag"]) == ("in/big.png", f'"{etag}"')
    assert (original["ImageInfo"]["Width"], original["ImageInfo"]["Height"]) == ("1000", "800")
    objects = ci.objects(data)
    assert [o["Key"] for o in objects] == ["thumbs/big.webp", "in/small.jpg"]
    for obj, (fmt, size) in zip(objects, [("webp", (200, 160)), ("jpeg", (100, 80))]):
        image = ci.get_image(obj["Key"])
        assert (ci.loader(image), image.width, image.height) == (fmt, *size)
        assert ci.head_etag(obj["Key"]) == obj["ETag"].strip('"')
    # The assembled object is the upload, byte for byte, with its metadata.
    head = ci.client.head_object(Bucket=ci.bucket, Key="in/big.png")
    assert head["ETag"] == f'"{etag}"' and head["x-cos-meta-picops-mark"] == "m1"
    assert ci.get_bytes("in/big.png") == body


def test_a_failing_rule_fails_complete_and_writes_no_output(ci):
    body = ci.image_bytes("rocket.jpg")
    ops = json.dumps({"rules": [{"fileid": "ok.jpg", "rule": "imageMogr2/thumbnail/50x"},
                                {"fileid": "huge.jpg", "rule": "imageMogr2/thumbnail/20000x"}]})
    done_parts, upload_id = _multipart(ci, "up.jpg", body)
    err = ci.error(lambda: ci.client.complete_multipart_upload(
        Bucket=ci.bucket, Key="up.jpg", UploadId=upload_id, MultipartUpload=done_parts,
        PicOperations=ops))
    ci.assert_error(err, 400, "ImageResolutionExceed", "rules[1]", "9999")
    # As with ci_put_object, the upload itself was committed before processing ran.
    assert ci.keys() == ["up.jpg"]


def test_a_bad_header_names_the_field(ci):
    body = ci.image_bytes("rocket.jpg")
    done_parts, upload_id = _multipart(ci, "up.jpg", body)
    err = ci.error(lambda: ci.client.complete_multipart_upload(
        Bucket=ci.bucket, Key="up.jpg", UploadId=upload_id, MultipartUpload=done_parts,
        PicOperations=json.dumps({"rules": [{"fileid": "x.jpg"}]})))
    ci.assert_error(err, 400, "InvalidPicOperations", "rules[0].rule")


class TestRequestCeiling:
    @pytest.fixture
    def ci_service(self):
        # One request a second: the second processing request of the test is refused.
        service = CiService(workers=2, qps=1)
        yield service
        service.close()

    def test_complete_with_processing_counts_against_it(self, ci):
        body = ci.image_bytes("rocket.jpg")
        ops = json.dumps({"rules": [{"fileid": "a.jpg", "rule": "imageMogr2/thumbnail/50x"}]})
        ci.upload("src.jpg", body)
        ci.process("src.jpg", json.loads(ops)["rules"])
        done_parts, upload_id = _multipart(ci, "up.jpg", body)
        err = ci.error(lambda: ci.client.complete_multipart_upload(
            Bucket=ci.bucket, Key="up.jpg", UploadId=upload_id, MultipartUpload=done_parts,
            PicOperations=ops))
        ci.assert_error(err, 503, "SlowDown", "up.jpg")
