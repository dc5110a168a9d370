"""POST Object (browser form upload) over real HTTP: the form is built with ``requests``
(the SDK has no POST Object), the result is read back through the real SDK.

The test signs forms with its own few lines of HMAC (not the emulator's code), and the
recipe itself is pinned by COS's published example values (test_published_signature_example).
"""

import base64
import hashlib
import hmac
import json
import os
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from urllib3 import encode_multipart_formdata

from picops_emulator.cos.auth import verify_form
from picops_emulator.errors import EmulatorError

REGION = "ap-guangzhou"
SECRET_ID = "AKIDpicopsIntegrationTest"        # the integration fixtures' key pair
SECRET_KEY = "picopsIntegrationTestSecretKey"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def policy(*conditions, expires_in: int = 3600) -> dict:
    return {"expiration": iso(time.time() + expires_in), "conditions": list(conditions)}


def signed(doc: dict, *, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY,
           key_time: Optional[str] = None) -> List[Tuple[str, str]]:
    """The policy + signature fields of a form, signed as COS documents it."""
    now = int(time.time())
    key_time = key_time or f"{now - 60};{now + 3600}"
    text = json.dumps(doc).encode()
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    string_to_sign = hashlib.sha1(text).hexdigest()
    signature = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()
    return [("policy", base64.b64encode(text).decode()), ("q-sign-algorithm", "sha1"),
            ("q-ak", secret_id), ("q-key-time", key_time), ("q-signature", signature)]


def host(bucket: str) -> str:
    return f"{bucket}.cos.{REGION}.myqcloud.com"


def post(emulator, bucket: str, fields, file=("a.bin", b"data", "application/octet-stream"),
         after=()) -> requests.Response:
    """POST the form: ``fields`` in order, then ``file`` (None: no file), then ``after``."""
    parts = [(name, (None, value)) for name, value in fields]
    if file is not None:
        parts.append(("file", file))
    parts += [(name, (None, value)) for name, value in after]
    return requests.post(f"{emulator.endpoint}/", files=parts, headers={"Host": host(bucket)},
                         allow_redirects=False)


def error(response: requests.Response) -> Tuple[int, str, str]:
    root = ET.fromstring(response.content)
    return response.status_code, root.findtext("Code"), root.findtext("Message")


def read(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()


def keys(client, bucket: str) -> List[str]:
    return [c["Key"] for c in client.list_objects(Bucket=bucket).get("Contents", [])]


def tmp_files(running) -> List[str]:
    return [n for _, _, files in os.walk(running.data_dir) for n in files
            if n.startswith(".tmp")]


# ---------------------------------------------------------------------- success
def test_signed_upload_is_stored_with_its_fields_and_fires_a_post_event(emulator, cos_client,
                                                                        bucket):
    seen = []
    emulator.add_listener(seen.append)
    body = os.urandom(5000)
    doc = policy({"bucket": bucket}, {"key": "forms/photo.jpg"},
                 ["starts-with", "$Content-Type", "image/"],
                 {"q-sign-algorithm": "sha1"}, {"q-ak": SECRET_ID})
    fields = [("key", "forms/photo.jpg"), ("Content-Type", "image/jpeg"),
              ("Cache-Control", "max-age=60"), ("Content-Disposition", "inline"),
              ("x-cos-meta-owner", "alice"), ("Content-MD5",
                                              base64.b64encode(hashlib.md5(body).digest()))]
    # the browser's own part type (text/plain) is not what COS stores
    response = post(emulator, bucket, fields + signed(doc),
                    file=("photo.jpg", body, "text/plain"))

    assert response.status_code == 204, response.text
    assert response.content == b""
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    assert response.headers["ETag"] == etag
    assert response.headers["Location"] == f"http://{host(bucket)}/forms/photo.jpg"
    assert response.headers["x-cos-request-id"]
    assert read(cos_client, bucket, "forms/photo.jpg") == body
    head = cos_client.head_object(Bucket=bucket, Key="forms/photo.jpg")
    assert head["Content-Type"] == "image/jpeg"
    assert head["Cache-Control"] == "max-age=60"
    assert head["Content-Disposition"] == "inline"
    assert head["x-cos-meta-owner"] == "alice"
    assert head["ETag"] == etag
    (change,) = [c for c in seen if c.key == "forms/photo.jpg"]
    assert change.event_name == "cos:ObjectCreated:Post"
    assert (change.bucket, change.size, change.etag) == (bucket, 5000, etag.strip('"'))


def test_without_a_content_type_field_the_object_is_octet_stream(emulator, cos_client, bucket):
    response = post(emulator, bucket, [("key", "plain")] + signed(policy()),
                    file=("x.png", b"png?", "image/png"))
    assert response.status_code == 204, response.text
    assert cos_client.head_object(Bucket=bucket, Key="plain")["Content-Type"] == \
        "application/octet-stream"


@pytest.mark.parametrize("filename,encoded", [
    ("my photo+1.jpg", "my%20photo%2B1.jpg"),
    ("相册 1.jpg", "%E7%9B%B8%E5%86%8C%201.jpg"),
])
def test_filename_wildcard_takes_the_uploaded_file_name(emulator, cos_client, bucket, filename,
                                                        encoded):
    doc = policy(["starts-with", "$key", "uploads/"])
    response = post(emulator, bucket, [("key", "uploads/${filename}")] + signed(doc),
                    file=(filename, b"jpeg bytes", "image/jpeg"))
    assert response.status_code == 204, response.text
    assert keys(cos_client, bucket) == [f"uploads/{filename}"]
    assert response.headers["Location"] == f"http://{host(bucket)}/uploads/{encoded}"


def test_cjk_space_plus_and_percent_keys_are_taken_literally(emulator, cos_client, bucket):
    key = "相册/a b+c%20 (1).txt"
    response = post(emulator, bucket, [("key", key)] + signed(policy({"key": key})),
                    file=("x.txt", b"literal", "text/plain"))
    assert response.status_code == 204, response.text
    assert keys(cos_client, bucket) == [key]
    assert read(cos_client, bucket, key) == b"literal"


def test_status_201_answers_a_post_response_document(emulator, bucket):
    response = post(emulator, bucket, [("key", "k201"), ("success_action_status", "201")]
                    + signed(policy({"success_action_status": "201"})),
                    file=("a.bin", b"abc", "application/octet-stream"))
    assert response.status_code == 201, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "PostResponse"
    etag = '"%s"' % hashlib.md5(b"abc").hexdigest()
    assert root.findtext("Bucket") == bucket
    assert root.findtext("Key") == "k201"
    assert root.findtext("ETag") == etag == response.headers["ETag"]
    assert root.findtext("Location") == f"http://{host(bucket)}/k201"


def test_status_200_is_empty_and_a_bad_status_is_refused(emulator, cos_client, bucket):
    ok = post(emulator, bucket, [("key", "k200"), ("success_action_status", "200")]
              + signed(policy()))
    assert (ok.status_code, ok.content) == (200, b"")
    bad = post(emulator, bucket, [("key", "k302"), ("success_action_status", "302")]
               + signed(policy()))
    status, code, message = error(bad)
    assert (status, code) == (400, "InvalidArgument") and "302" in message
    assert keys(cos_client, bucket) == ["k200"]


def test_redirect_appends_bucket_key_and_etag(emulator, bucket):
    target = "https://my.site/done?from=form"
    response = post(emulator, bucket, [("key", "r/k 1"), ("success_action_redirect", target)]
                    + signed(policy(["starts-with", "$success_action_redirect",
                                     "https://my.site/"])),
                    file=("a", b"xyz", "text/plain"))
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "my.site", "/done")
    query = parse_qs(location.query)
    assert query == {"from": ["form"], "bucket": [bucket], "key": ["r/k 1"],
                     "etag": ['"%s"' % hashlib.md5(b"xyz").hexdigest()]}


def test_auth_off_accepts_an_unsigned_form(emulator_factory, client_for):
    running = emulator_factory(auth=False)
    client = client_for(running)
    client.create_bucket(Bucket="open-1250000000")
    response = post(running, "open-1250000000", [("key", "anon.txt")],
                    file=("anon.txt", b"hello", "text/plain"))
    assert response.status_code == 204, response.text
    assert read(client, "open-1250000000", "anon.txt") == b"hello"


# ---------------------------------------------------------------------- the signature
def test_published_signature_example():
    """COS's API page signs one policy with one key pair and shows every intermediate."""
    # the policy exactly as the page lays it out: the signature covers these bytes
    published = (
        '{\n    "expiration": "2019-08-30T09:38:12.414Z",\n    "conditions": [\n'
        '        { "acl": "default" },\n'
        '        { "bucket": "examplebucket-1250000000" },\n'
        '        [ "starts-with", "$key", "folder/subfolder/" ],\n'
        '        [ "starts-with", "$Content-Type", "image/" ],\n'
        '        [ "starts-with", "$success_action_redirect", "https://my.website/" ],\n'
        '        [ "eq", "$x-cos-server-side-encryption", "AES256" ],\n'
        '        { "q-sign-algorithm": "sha1" },\n'
        '        { "q-ak": "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q" },\n'
        '        { "q-sign-time": "1567150692;1567157892" }\n    ]\n}').encode()
    assert json.loads(published)["conditions"][2] == ["starts-with", "$key", "folder/subfolder/"]
    assert hashlib.sha1(published).hexdigest() == "d5d903b8360468bc81c1311f134989bc8c8b5b89"
    fields = {"q-sign-algorithm": "sha1", "q-ak": "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q",
              "q-key-time": "1567150692;1567157892",
              "q-signature": "7758dc9a832e9d301dca704cacbf9d9f8172fdef"}
    credentials = {"AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q": "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"}
    assert verify_form(fields, published, credentials, 1567150700, 0) == fields["q-ak"]
    with pytest.raises(EmulatorError) as err:  # one byte of the policy changed
        verify_form(fields, published.replace(b"AES256", b"AES257"), credentials, 1567150700, 0)
    assert err.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("tamper,code,needle", [
    (lambda f: f.update({"q-signature": "0" * 40}), "SignatureDoesNotMatch", "policy"),
    (lambda f: f.update({"q-ak": "AKIDnobody"}), "InvalidAccessKeyId", "AKIDnobody"),
    (lambda f: f.pop("q-signature"), "AccessDenied", "q-signature"),
    (lambda f: f.pop("policy"), "AccessDenied", "policy"),
    (lambda f: f.update({"q-key-time": "1000;2000"}), "RequestTimeTooSkewed", "q-key-time"),
    (lambda f: f.update({"q-sign-algorithm": "md5"}), "AccessDenied", "sha1"),
])
def test_bad_signatures_are_refused_and_store_nothing(emulator, cos_client, bucket, tamper,
                                                      code, needle):
    fields = dict(signed(policy()))
    tamper(fields)
    response = post(emulator, bucket, [("key", "nope")] + list(fields.items()))
    status, got, message = error(response)
    assert (status, got) == (403, code)
    assert needle in message
    assert keys(cos_client, bucket) == []


def test_a_signature_by_another_secret_key_does_not_match(emulator, cos_client, bucket):
    response = post(emulator, bucket, [("key", "k")] + signed(policy(), secret_key="wrong"))
    assert error(response)[:2] == (403, "SignatureDoesNotMatch")


# ---------------------------------------------------------------------- the policy
def test_expired_policy_is_access_denied(emulator, cos_client, bucket):
    response = post(emulator, bucket, [("key", "late")] + signed(policy(expires_in=-60)))
    status, code, message = error(response)
    assert (status, code) == (403, "AccessDenied") and "expired" in message
    assert keys(cos_client, bucket) == []


def test_key_outside_the_starts_with_condition_is_refused(emulator, cos_client, bucket):
    doc = policy(["starts-with", "$key", "uploads/"])
    response = post(emulator, bucket, [("key", "elsewhere/${filename}")] + signed(doc),
                    file=("a.jpg", b"x", "image/jpeg"))
    status, code, message = error(response)
    assert (status, code) == (403, "AccessDenied")
    assert '"$key"' in message and "elsewhere/a.jpg" in message
    assert keys(cos_client, bucket) == []


@pytest.mark.parametrize("condition,fields,needle", [
    ({"bucket": "other-1250000000"}, [], "other-1250000000"),
    (["eq", "$key", "exact"], [], "exact"),
    (["eq", "$Content-Type", "image/png"], [("Content-Type", "image/jpeg")], "image/jpeg"),
    ({"x-cos-meta-owner": "bob"}, [], "x-cos-meta-owner"),         # field missing
    ({"q-ak": "AKIDsomeoneelse"}, [], "AKIDsomeoneelse"),
    ({"q-sign-time": "1;2"}, [], "q-sign-time"),
])
def test_failed_conditions_name_themselves(emulator, cos_client, bucket, condition, fields,
                                           needle):
    response = post(emulator, bucket, [("key", "k")] + fields + signed(policy(condition)))
    status, code, message = error(response)
    assert (status, code) == (403, "AccessDenied")
    assert needle in message
    assert keys(cos_client, bucket) == []


def test_q_sign_time_condition_matches_the_key_time(emulator, bucket):
    now = int(time.time())
    key_time = f"{now - 5};{now + 600}"
    response = post(emulator, bucket, [("key", "timed")] + signed(
        policy({"q-sign-time": key_time}), key_time=key_time))
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("size,status,code", [
    (9, 400, "EntityTooSmall"), (10, 204, None), (20, 204, None), (21, 400, "EntityTooLarge"),
])
def test_content_length_range(emulator, cos_client, bucket, size, status, code):
    response = post(emulator, bucket, [("key", "ranged")] + signed(
        policy(["content-length-range", 10, 20])), file=("f", b"r" * size, "text/plain"))
    assert response.status_code == status, response.text
    if code:
        assert error(response)[1] == code
        assert "content-length-range" in error(response)[2]
        assert keys(cos_client, bucket) == []
        assert tmp_files(emulator) == []
    else:
        assert read(cos_client, bucket, "ranged") == b"r" * size


@pytest.mark.parametrize("policy_field,needle", [
    ("not base64!", "base64"),
    (base64.b64encode(b"{not json").decode(), "JSON"),
    (base64.b64encode(b'{"conditions": []}').decode(), "expiration"),
    (base64.b64encode(b'{"expiration": "tomorrow", "conditions": []}').decode(), "ISO 8601"),
    (base64.b64encode(json.dumps(policy(["in", "$key", ["a"]])).encode()).decode(), "'in'"),
    (base64.b64encode(json.dumps(policy({"a": "1", "b": "2"})).encode()).decode(),
     "exactly one"),
])
def test_invalid_policy_documents(emulator, bucket, policy_field, needle):
    try:
        text = base64.b64decode(policy_field, validate=True)
    except ValueError:
        text = b""
    fields = dict(signed({}))
    # sign the exact bytes under test, so only the document itself is wrong
    key_time = fields["q-key-time"]
    sign_key = hmac.new(SECRET_KEY.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    fields["q-signature"] = hmac.new(sign_key.encode(), hashlib.sha1(text).hexdigest().encode(),
                                     hashlib.sha1).hexdigest()
    fields["policy"] = policy_field
    response = post(emulator, bucket, [("key", "k")] + list(fields.items()))
    status, code, message = error(response)
    assert (status, code) == (400, "InvalidPolicyDocument")
    assert needle in message


# ---------------------------------------------------------------------- malformed forms
def test_missing_file_is_refused(emulator, bucket):
    response = post(emulator, bucket, [("key", "k")] + signed(policy()), file=None)
    status, code, message = error(response)
    assert (status, code) == (400, "InvalidArgument") and "file" in message


def test_missing_key_is_refused(emulator, bucket):
    response = post(emulator, bucket, signed(policy()))
    status, code, message = error(response)
    assert (status, code) == (400, "InvalidArgument") and "key" in message


def test_file_before_the_key_field_is_refused(emulator, cos_client, bucket):
    response = post(emulator, bucket, [], after=[("key", "late-key")] + signed(policy()))
    status, code, message = error(response)
    assert (status, code) == (400, "InvalidArgument") and "key" in message
    assert keys(cos_client, bucket) == []


def test_a_field_after_the_file_is_refused_and_nothing_is_stored(emulator, cos_client, bucket):
    response = post(emulator, bucket, [("key", "k")] + signed(policy()),
                    after=[("x-cos-meta-late", "1")])
    status, code, message = error(response)
    assert (status, code) == (400, "MalformedPOSTRequest") and "x-cos-meta-late" in message
    assert keys(cos_client, bucket) == []
    assert tmp_files(emulator) == []


def test_duplicate_field_and_bad_md5(emulator, cos_client, bucket):
    twice = post(emulator, bucket, [("key", "k"), ("KEY", "k2")] + signed(policy()))
    assert error(twice)[:2] == (400, "InvalidArgument") and "more than once" in error(twice)[2]
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    bad = post(emulator, bucket, [("key", "k"), ("Content-MD5", wrong_md5)] + signed(policy()))
    assert error(bad)[:2] == (400, "BadDigest")
    assert keys(cos_client, bucket) == []


def test_broken_multipart_body_is_malformed(emulator, bucket):
    response = requests.post(f"{emulator.endpoint}/", data=b"this is not a form",
                             headers={"Host": host(bucket),
                                      "Content-Type": "multipart/form-data; boundary=XYZ"})
    status, code, _ = error(response)
    assert (status, code) == (400, "MalformedPOSTRequest")


def test_a_form_content_type_does_not_skip_the_header_signature_of_other_posts(
        emulator, cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="keep", Body=b"x")
    body = (b"<Delete><Object><Key>keep</Key></Object></Delete>")
    for query in ("?delete", "?delete&x=1"):
        response = requests.post(f"{emulator.endpoint}/{query}", data=body,
                                 headers={"Host": host(bucket),
                                          "Content-Type": "multipart/form-data; boundary=b"})
        assert error(response)[:2] == (403, "AccessDenied")
    assert keys(cos_client, bucket) == ["keep"]


def test_unknown_bucket_is_no_such_bucket(emulator):
    response = post(emulator, "ghost-1250000000", [("key", "k")] + signed(policy()))
    assert error(response)[:2] == (404, "NoSuchBucket")


# ---------------------------------------------------------------------- the size cap
BIG = 8 * 1024 * 1024


def test_large_file_over_the_cap_is_refused_by_its_declared_length(emulator_factory,
                                                                     client_for):
    running = emulator_factory(max_body_bytes=1024 * 1024)
    client = client_for(running)
    client.create_bucket(Bucket="capped-1250000000")
    response = post(running, "capped-1250000000", [("key", "big")] + signed(policy()),
                    file=("big.bin", os.urandom(BIG), "application/octet-stream"))
    status, code, _ = error(response)
    assert (status, code) == (400, "EntityTooLarge")
    assert keys(client, "capped-1250000000") == []


def test_large_streamed_file_over_the_cap_is_refused_while_streaming(emulator_factory,
                                                                      client_for):
    running = emulator_factory(max_body_bytes=1024 * 1024)
    client = client_for(running)
    client.create_bucket(Bucket="capped-1250000000")
    body, content_type = encode_multipart_formdata(
        [("key", "streamed")] + signed(policy())
        + [("file", ("big.bin", os.urandom(BIG), "application/octet-stream"))])

    def chunks():  # no Content-Length: the cap can only be enforced on the bytes themselves
        for start in range(0, len(body), 256 * 1024):
            yield body[start:start + 256 * 1024]

    response = requests.post(f"{running.endpoint}/", data=chunks(),
                             headers={"Host": host("capped-1250000000"),
                                      "Content-Type": content_type})
    status, code, message = error(response)
    assert (status, code) == (400, "EntityTooLarge") and str(1024 * 1024) in message
    assert keys(client, "capped-1250000000") == []
    assert tmp_files(running) == []
    # a file under the cap still goes through the same streamed path
    ok = post(running, "capped-1250000000", [("key", "fits")] + signed(policy()),
              file=("fits.bin", b"f" * (512 * 1024), "application/octet-stream"))
    assert ok.status_code == 204, ok.text
