"""What real clients meet at COS and now meet here too (issue 11): signature forms, key and
header rules, types inferred from keys, throttled transfers, bucket location."""

import base64
import hashlib
import hmac
import os
import time
from urllib.parse import quote

import pytest
import requests

REGION = "ap-guangzhou"


def host_of(bucket):
    return f"{bucket}.cos.{REGION}.myqcloud.com"


def test_sign_parameter_carries_the_whole_authorization(emulator, client_for, cos_client,
                                                        bucket):
    cos_client.put_object(Bucket=bucket, Key="signed.txt", Body=b"by sign=")
    # signed for the bucket's own host name, as a client configured with its Region signs
    authorization = client_for(emulator, IP=None, Port=None).get_auth(
        Method="GET", Bucket=bucket, Key="signed.txt")
    url = f"{emulator.endpoint}/signed.txt?sign={quote(authorization, safe='')}&v=2"
    got = requests.get(url, headers={"Host": host_of(bucket)})
    assert (got.status_code, got.content) == (200, b"by sign=")
    tampered = authorization.replace("q-signature=", "q-signature=0")
    bad = requests.get(f"{emulator.endpoint}/signed.txt?sign={quote(tampered, safe='')}",
                       headers={"Host": host_of(bucket)})
    assert bad.status_code == 403


def _v4_sign(secret_id, secret_key, bucket, expiry):
    name, appid = bucket.rsplit("-", 1)
    plain = f"a={appid}&b={name}&k={secret_id}&t={int(time.time())}&e={expiry}&r=7&f="
    digest = hmac.new(secret_key.encode(), plain.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest + plain.encode()).decode()


def test_sign_parameter_in_the_older_v4_form(emulator, emulator_credentials, cos_client,
                                             make_bucket):
    bucket, other = make_bucket("vfour"), make_bucket("other")
    cos_client.put_object(Bucket=bucket, Key="old.txt", Body=b"v4")
    creds = emulator_credentials
    good = _v4_sign(creds["secret_id"], creds["secret_key"], bucket, int(time.time()) + 60)
    got = requests.get(f"{emulator.endpoint}/old.txt?sign={quote(good, safe='')}",
                       headers={"Host": host_of(bucket)})
    assert (got.status_code, got.content) == (200, b"v4")
    for sign, host, code in [
        (_v4_sign(creds["secret_id"], creds["secret_key"], bucket, int(time.time()) - 1),
         host_of(bucket), "AccessDenied"),                       # expired
        (_v4_sign(creds["secret_id"], "wrong", bucket, int(time.time()) + 60),
         host_of(bucket), "SignatureDoesNotMatch"),
        (good, host_of(other), "AccessDenied"),                  # signed for another bucket
    ]:
        refused = requests.get(f"{emulator.endpoint}/old.txt?sign={quote(sign, safe='')}",
                               headers={"Host": host})
        assert refused.status_code == 403
        assert f"<Code>{code}</Code>" in refused.text
    # a bucket's v4 sign does not list every bucket (the service names no bucket)
    service = requests.get(f"{emulator.endpoint}/?sign={quote(good, safe='')}")
    assert service.status_code == 403 and "<Code>AccessDenied</Code>" in service.text


def test_whitespace_in_the_secret_id_is_refused(emulator, client_for, cos_client, bucket):
    # the Python SDK refuses such a key itself; the Node SDK sends it, and COS refuses it
    authorization = client_for(emulator, IP=None, Port=None).get_auth(
        Method="GET", Bucket=bucket, Key="k")
    cos_client.put_object(Bucket=bucket, Key="k", Body=b"x")
    ok = requests.get(f"{emulator.endpoint}/k", headers={
        "Host": host_of(bucket), "Authorization": authorization})
    assert ok.status_code == 200
    for padded in (authorization.replace("&q-sign-time", " &q-sign-time"),
                   authorization.replace("q-ak=", "q-ak= ")):
        refused = requests.get(f"{emulator.endpoint}/k", headers={
            "Host": host_of(bucket), "Authorization": padded})
        assert refused.status_code == 403
        assert "<Code>InvalidAccessKeyId</Code>" in refused.text


@pytest.mark.parametrize("key,expected", [
    ("photo.jpg", "image/jpeg"), ("a/b/page.html", "text/html"), ("notes.txt", "text/plain"),
    ("bundle.zip", "application/zip"), ("no-extension", "application/octet-stream"),
    ("docs/README.md", "text/markdown"), ("app.JS", "text/javascript"),
    ("conf.yml", "application/yaml"), ("backup.tar.gz", "application/gzip"),
])
def test_content_type_inferred_from_the_key_when_none_is_sent(key, expected, emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("typed-1250000000",))
    put = requests.put(f"{running.endpoint}/{key}", data=b"body",
                       headers={"Host": host_of("typed-1250000000")})
    assert put.ok
    head = requests.head(f"{running.endpoint}/{key}",
                         headers={"Host": host_of("typed-1250000000")})
    assert head.headers["Content-Type"] == expected
    sent = requests.put(f"{running.endpoint}/{key}", data=b"body", headers={
        "Host": host_of("typed-1250000000"), "Content-Type": "text/csv"})
    assert sent.ok
    assert requests.head(f"{running.endpoint}/{key}", headers={
        "Host": host_of("typed-1250000000")}).headers["Content-Type"] == "text/csv"


def test_sdk_upload_of_a_file_gets_the_type_of_its_extension(cos_client, bucket, tmp_path):
    path = tmp_path / "cat.png"
    path.write_bytes(b"\x89PNG not really")
    with open(path, "rb") as fh:
        cos_client.put_object(Bucket=bucket, Key="uploads/cat.png", Body=fh)
    assert cos_client.head_object(Bucket=bucket, Key="uploads/cat.png")["Content-Type"] == \
        "image/png"


def test_empty_header_values_are_not_stored(emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("empty-1250000000",))
    host = {"Host": host_of("empty-1250000000")}
    assert requests.put(f"{running.endpoint}/k", data=b"x", headers=dict(
        host, **{"Cache-Control": "", "Content-Disposition": "", "x-cos-meta-blank": "",
                 "x-cos-meta-kept": "yes"})).ok
    head = requests.head(f"{running.endpoint}/k", headers=host)
    assert "Cache-Control" not in head.headers and "Content-Disposition" not in head.headers
    assert "x-cos-meta-blank" not in head.headers
    assert head.headers["x-cos-meta-kept"] == "yes"


def test_traffic_limit_paces_uploads_and_downloads(emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("slow-1250000000",))
    host = {"Host": host_of("slow-1250000000")}
    body = b"s" * (300 * 1024)
    started = time.monotonic()
    assert requests.put(f"{running.endpoint}/k", data=body, headers=dict(
        host, **{"x-cos-traffic-limit": "819200"})).ok        # 100 KB/s
    upload = time.monotonic() - started
    started = time.monotonic()
    got = requests.get(f"{running.endpoint}/k?x-cos-traffic-limit=819200", headers=host)
    download = time.monotonic() - started
    assert got.content == body
    # 300 KB at 100 KB/s: the first 256 KB chunk alone takes 2.5 s; unthrottled is instant
    assert upload >= 2.0 and download >= 2.0, (upload, download)
    for bad in ("100", "abc", str(900 * 1024 * 1024)):
        refused = requests.put(f"{running.endpoint}/k2", data=b"x", headers=dict(
            host, **{"x-cos-traffic-limit": bad}))
        assert refused.status_code == 400 and "x-cos-traffic-limit" in refused.text
    assert requests.get(f"{running.endpoint}/k2", headers=host).status_code == 404
    assert not [name for _, _, names in os.walk(running.data_dir) for name in names
                if name.startswith(".tmp")]  # refused before any temp file


def test_bucket_location(cos_client, bucket):
    assert cos_client.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION
