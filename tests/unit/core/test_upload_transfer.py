"""An upload's calls under transient failures: what is sent again, and how.

A scripted stand-in for the SDK client records every call; clocks and sleeps are fakes,
so the function's backoff runs without waiting.
"""

import hashlib
import io

import pytest
from qcloud_cos.cos_exception import CosServiceError

from picops.errors import CloudError
from picops.upload_transfer import multipart_and_process, multipart_etag, put_and_process

PAYLOAD = {"is_pic_info": 0, "rules": [{"fileid": "/t/a.jpg", "rule": "imageMogr2/thumbnail/9x"}]}
ANSWER = {"ProcessResults": {"Object": {"Key": "t/a.jpg", "ETag": '"e"', "Width": "9"}}}


def slow_down():
    return CosServiceError("PUT", {"code": "SlowDown", "message": "slow", "resource": "",
                                   "requestid": "", "traceid": ""}, 503)


def refused():
    return CosServiceError("PUT", {"code": "InvalidImageFormat", "message": "not an image",
                                   "resource": "", "requestid": "r9", "traceid": ""}, 400)


class Script:
    """Answers each SDK method from a list (an exception is raised), recording calls."""

    def __init__(self, **answers):
        self.answers = {name: list(values) for name, values in answers.items()}
        self.calls = []

    def __getattr__(self, name):
        def call(**kwargs):
            if "Body" in kwargs and hasattr(kwargs["Body"], "read"):
                kwargs["Body"] = kwargs["Body"].read()
            self.calls.append((name, kwargs))
            answer = self.answers[name].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call


def _timing():
    now = [0.0]
    return {"clock": lambda: now[0], "sleep": lambda s: now.__setitem__(0, now[0] + s),
            "jitter": lambda: 1.0}


def test_a_put_refused_for_speed_is_sent_again_whole():
    body = b"image bytes"
    md5 = hashlib.md5(body).hexdigest()
    client = Script(ci_put_object=[slow_down(), ({"x-cos-request-id": "r2"}, ANSWER)])
    done = put_and_process(client, "b-1", "in/a.jpg", lambda: io.BytesIO(body), md5, PAYLOAD,
                           {"x-cos-meta-picops-processed": "m"}, 100.0, **_timing())
    assert [c[1]["Body"] for c in client.calls] == [body, body]
    sent = client.calls[1][1]
    assert sent["Metadata"] == {"x-cos-meta-picops-processed": "m"}
    assert sent["ContentMD5"] and '"rules"' in sent["PicOperations"]
    assert (done.etag, done.call.attempts, done.call.request_id) == (md5, 2, "r2")
    assert done.call.outputs[0]["key"] == "t/a.jpg" and done.call.missing == []


def test_a_refused_put_is_not_retried():
    client = Script(ci_put_object=[refused()])
    with pytest.raises(CloudError) as caught:
        put_and_process(client, "b-1", "a.jpg", lambda: io.BytesIO(b"x"), "00" * 16, PAYLOAD,
                        {}, 100.0, **_timing())
    assert (caught.value.code, caught.value.attempts) == ("InvalidImageFormat", 1)


def _parts(body):
    return lambda offset, n: body[offset:offset + n]


def test_a_complete_whose_processing_was_refused_is_retried_as_processing_only():
    body = bytes(range(256)) * 10  # 2560 bytes in parts of 1024: three parts
    assembled = multipart_etag(hashlib.md5(body[i:i + 1024]).digest() for i in (0, 1024, 2048))
    client = Script(
        create_multipart_upload=[{"UploadId": "u1"}],
        upload_part=[{"ETag": '"p1"'}, slow_down(), {"ETag": '"p2"'}, {"ETag": '"p3"'}],
        complete_multipart_upload=[slow_down()],
        head_object=[{"ETag": f'"{assembled}"'}],
        ci_image_process=[({"x-cos-request-id": "r3"}, ANSWER)])
    done = multipart_and_process(client, "b-1", "big.png", _parts(body), len(body), 1024,
                                 PAYLOAD, {"x-cos-meta-picops-processed": "m"}, 100.0,
                                 **_timing())
    names = [name for name, _ in client.calls]
    assert names == ["create_multipart_upload", "upload_part", "upload_part", "upload_part",
                     "upload_part", "complete_multipart_upload", "head_object",
                     "ci_image_process"]
    assert client.calls[0][1]["Metadata"] == {"x-cos-meta-picops-processed": "m"}
    # The refused part went again with the same bytes; the parts make the whole body.
    parts = [kw for name, kw in client.calls if name == "upload_part"]
    assert parts[1]["Body"] == parts[2]["Body"] == body[1024:2048]
    assert b"".join(p["Body"] for p in (parts[0], parts[2], parts[3])) == body
    complete = client.calls[5][1]
    assert complete["MultipartUpload"] == {"Part": [
        {"PartNumber": 1, "ETag": '"p1"'}, {"PartNumber": 2, "ETag": '"p2"'},
        {"PartNumber": 3, "ETag": '"p3"'}]}
    assert (done.etag, done.call.request_id) == (assembled, "r3")


def test_a_multipart_upload_that_fails_is_aborted():
    client = Script(create_multipart_upload=[{"UploadId": "u1"}],
                    upload_part=[{"ETag": '"p1"'}],
                    complete_multipart_upload=[refused()],
                    abort_multipart_upload=[None])
    with pytest.raises(CloudError) as caught:
        multipart_and_process(client, "b-1", "k.png", _parts(b"x" * 10), 10, 1024,
                              PAYLOAD, {}, 100.0, **_timing())
    assert caught.value.code == "InvalidImageFormat"
    assert client.calls[-1] == ("abort_multipart_upload",
                                {"Bucket": "b-1", "Key": "k.png", "UploadId": "u1"})
