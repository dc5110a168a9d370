"""The emulator's HTTP edge under hostile or broken clients, over real HTTP (issue 9).

Stalled clients are timed out (headers and bodies) and leave no temp file; values HTTP
cannot carry back are refused at the door; keys with control characters are refused on
every path (PUT, GET, HEAD, DELETE, POST Object, copy, multipart, CI outputs) and every XML
answer stays well-formed; path-style signatures are bound to their bucket; an expired
signature gets no grace; XML bodies go through a hardened parser whatever their encoding;
JSON nested without bound is a 400; a signature mismatch never echoes a credential.

Signatures are made by the SDK's own signer (``get_auth`` / ``CosS3Auth``), never by the
emulator's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import socket
import time
import xml.etree.ElementTree as ET
from typing import List, Tuple

import pytest
import requests
from qcloud_cos import cos_auth
from qcloud_cos.cos_auth import CosS3Auth
from qcloud_cos.cos_exception import CosServiceError

from tests.integration.emulator.test_post_object import SECRET_ID, SECRET_KEY, policy, post, signed

OPEN_BUCKET = "edge-1250000000"
IDLE = 0.5


def error_of(response: requests.Response) -> Tuple[int, str, str]:
    root = ET.fromstring(response.content)  # must be well-formed XML
    return response.status_code, root.findtext("Code"), root.findtext("Message")


def tmp_files(running) -> List[str]:
    return [n for _, _, files in os.walk(running.data_dir) for n in files
            if n.startswith(".tmp")]


@pytest.fixture
def open_emulator(emulator_factory):
    """Auth off (raw sockets cannot sign), a short idle timeout, one bucket."""
    return emulator_factory(auth=False, secret_id="", secret_key="", idle_timeout_seconds=IDLE,
                            buckets_to_create=(OPEN_BUCKET,))


def raw_exchange(running, payload: bytes, wait: float = 10.0) -> bytes:
    """Send ``payload`` and then nothing; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", running.port), timeout=wait) as sock:
        sock.sendall(payload)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
    raise AssertionError(f"the server kept the stalled connection open for {wait} s; "
                         f"received {received[:200]!r}")


# ---------------------------------------------------------------------- timeouts
@pytest.mark.parametrize("payload", [b"", b"PUT /k HTTP/1.1\r\nHost: x", b"GET / HTTP/1.1\r\n"])
def test_a_connection_that_never_completes_its_head_is_closed(open_emulator, payload):
    started = time.monotonic()
    assert raw_exchange(open_emulator, payload) == b""
    assert time.monotonic() - started < 5


def test_a_stalled_put_body_times_out_and_leaves_no_temp_file(open_emulator):
    head = (f"PUT /{OPEN_BUCKET}/stalled HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Length: 100000\r\n\r\n").encode()
    answer = raw_exchange(open_emulator, head + b"x" * 1000)
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 400 " in status_line, answer[:300]
    body = rest.split(b"\r\n\r\n", 1)[1]
    assert ET.fromstring(body).findtext("Code") == "RequestTimeout"
    assert tmp_files(open_emulator) == []
    assert requests.get(f"{open_emulator.endpoint}/{OPEN_BUCKET}/stalled").status_code == 404


def test_a_stalled_post_object_form_times_out(open_emulator):
    boundary = "----picopsedge"
    fields = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nformed\r\n"
              f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
              "filename=\"a.bin\"\r\n\r\nsome bytes of the file").encode()
    head = (f"POST /{OPEN_BUCKET} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(fields) + 100000}\r\n\r\n").encode()
    answer = raw_exchange(open_emulator, head + fields)
    assert b" 400 " in answer.partition(b"\r\n")[0], answer[:300]
    assert b"RequestTimeout" in answer
    assert tmp_files(open_emulator) == []


def test_a_slow_but_live_upload_is_not_timed_out(emulator_factory):
    """The timeout is on silence, not on the whole body: 5 gaps of 0.6 s under a 2 s idle
    timeout take longer in total than the timeout."""
    running = emulator_factory(auth=False, secret_id="", secret_key="",
                               idle_timeout_seconds=2.0, buckets_to_create=(OPEN_BUCKET,))

    def trickle():
        for _ in range(5):
            yield b"y" * 10
            time.sleep(0.6)

    started = time.monotonic()
    response = requests.put(f"{running.endpoint}/{OPEN_BUCKET}/slow", data=trickle())
    assert response.status_code == 200, response.text
    assert time.monotonic() - started > 2.0
    assert requests.get(f"{running.endpoint}/{OPEN_BUCKET}/slow").content == b"y" * 50


def test_a_client_that_stops_reading_a_download_is_cut_off(open_emulator, caplog):
    size = 12 * 1024 * 1024  # far more than the socket buffers of both ends hold
    url = f"{open_emulator.endpoint}/{OPEN_BUCKET}/big"
    assert requests.put(url, data=b"z" * size).status_code == 200
    request = f"GET /{OPEN_BUCKET}/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with caplog.at_level(logging.INFO, logger="picops_emulator"):
        with socket.create_connection(("127.0.0.1", open_emulator.port), timeout=10) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.sendall(request)
            time.sleep(IDLE * 4)  # read nothing: the server's writes stall, then time out
            received = 0
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(1 << 20)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                received += len(chunk)
            else:
                raise AssertionError("the server kept the stalled download open")
    assert received < size
    assert "the client read nothing of the response" in caplog.text


# ---------------------------------------------------------------------- stored values
@pytest.mark.parametrize("name, value", [
    ("x-cos-meta-note", "one\r\nX-Injected: yes"),
    ("x-cos-meta-note", "line\nbreak"),
    ("Content-Type", "text/plain\r\nX-Injected: yes"),
    ("Cache-Control", "no-cache\rmore"),
    ("success_action_redirect", "http://example.invalid/\r\nX-Injected: yes"),
])
def test_form_values_with_line_breaks_are_refused_and_nothing_is_stored(
        emulator, cos_client, bucket, name, value):
    form = [("key", "crlf.txt"), (name, value)] + signed(policy())
    status, code, message = error_of(post(emulator, bucket, form))
    assert (status, code) == (400, "InvalidArgument")
    assert name in message and "CR, LF or NUL" in message
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None


def test_a_metadata_field_name_that_is_no_header_name_is_refused(emulator, cos_client, bucket):
    form = [("key", "meta.txt"), ("x-cos-meta-a b", "v")] + signed(policy())
    status, code, message = error_of(post(emulator, bucket, form))
    assert (status, code) == (400, "InvalidArgument") and "x-cos-meta-a b" in message
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None


# ---------------------------------------------------------------------- keys
CONTROL_KEYS = ["line\nbreak.jpg", "carriage\rreturn", "tab\there", "nul\x00byte", "del\x7f",
                "esc\x1b[31m"]


@pytest.mark.parametrize("key", CONTROL_KEYS)
def test_keys_with_control_characters_are_refused_on_every_path(cos_client, bucket, key):
    calls = {
        "put": lambda: cos_client.put_object(Bucket=bucket, Key=key, Body=b"x"),
        "get": lambda: cos_client.get_object(Bucket=bucket, Key=key),
        "delete": lambda: cos_client.delete_object(Bucket=bucket, Key=key),
        "initiate": lambda: cos_client.create_multipart_upload(Bucket=bucket, Key=key),
        "copy": lambda: cos_client.copy_object(
            Bucket=bucket, Key="copy-target",
            CopySource={"Bucket": bucket, "Key": key, "Region": "ap-guangzhou"}),
    }
    cos_client.put_object(Bucket=bucket, Key="copy-source", Body=b"x")
    for what, call in calls.items():
        with pytest.raises(CosServiceError) as err:
            call()
        assert err.value.get_status_code() == 400, what
        assert err.value.get_error_code() == "InvalidArgument", what
        assert "control character" in err.value.get_error_msg(), what
    with pytest.raises(CosServiceError) as err:  # HEAD: no body, the code in a header
        cos_client.head_object(Bucket=bucket, Key=key)
    assert err.value.get_status_code() == 400
    assert [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]] == \
        ["copy-source"]


def test_a_post_object_key_with_a_newline_is_refused(emulator, cos_client, bucket):
    form = [("key", "form\nkey.txt")] + signed(policy())
    status, code, message = error_of(post(emulator, bucket, form))
    assert (status, code) == (400, "InvalidArgument") and "control character" in message
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None


def test_every_error_and_listing_answer_stays_well_formed_xml(open_emulator):
    base = f"{open_emulator.endpoint}/{OPEN_BUCKET}"
    # a refused key is echoed in the error's Resource: still parseable XML
    status, code, _ = error_of(requests.get(f"{base}/bad%01key%0B"))
    assert (status, code) == (400, "InvalidArgument")
    # listing parameters are echoed into the listing
    requests.put(f"{base}/a", data=b"1")
    listing = requests.get(f"{base}?prefix=%01%08&marker=%0C&delimiter=%1F")
    assert listing.status_code == 200
    root = ET.fromstring(listing.content)
    assert root.findtext("{*}Prefix") or root.findtext("Prefix")
    uploads = requests.get(f"{base}?uploads&prefix=%02&key-marker=%03")
    assert uploads.status_code == 200
    ET.fromstring(uploads.content)


# ---------------------------------------------------------------------- signatures
def test_a_path_style_signature_is_bound_to_its_bucket(emulator, cos_client, make_bucket):
    mine, theirs = make_bucket("mine"), make_bucket("theirs")
    for bucket in (mine, theirs):
        cos_client.put_object(Bucket=bucket, Key="k", Body=bucket.encode())
    conf = cos_client._conf
    url = f"{emulator.endpoint}/{mine}/k"
    ok = requests.get(url, auth=CosS3Auth(conf, key=f"{mine}/k"))
    assert ok.status_code == 200 and ok.content == mine.encode()
    # the same Authorization on another bucket's path
    stolen = ok.request.headers["Authorization"]
    other = requests.get(f"{emulator.endpoint}/{theirs}/k", headers={"Authorization": stolen})
    assert error_of(other)[:2] == (403, "SignatureDoesNotMatch")
    # a signature over the key alone (no bucket) opens neither
    keyless = requests.get(url, auth=CosS3Auth(conf, key="k"))
    assert error_of(keyless)[:2] == (403, "SignatureDoesNotMatch")


def test_a_signature_expired_within_the_skew_window_is_refused(emulator, cos_client, bucket,
                                                               monkeypatch):
    class ExpiredAMinuteAgo:
        @staticmethod
        def time():
            return time.time() - 10000 - 60  # the SDK signs for 10000 s; skew is 900 s

    monkeypatch.setattr(cos_auth, "time", ExpiredAMinuteAgo)
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="late", Body=b"x")
    assert err.value.get_status_code() == 403
    assert err.value.get_error_code() == "RequestTimeTooSkewed"
    assert "expired" in err.value.get_error_msg()


def test_a_signature_starting_within_the_skew_window_is_accepted(emulator, cos_client, bucket,
                                                                 monkeypatch):
    class AMinuteAhead:
        @staticmethod
        def time():
            return time.time() + 60

    monkeypatch.setattr(cos_auth, "time", AMinuteAhead)
    cos_client.put_object(Bucket=bucket, Key="early", Body=b"x")


def test_an_expired_form_signature_is_refused(emulator, cos_client, bucket):
    now = int(time.time())
    form = [("key", "late.txt")] + signed(policy(), key_time=f"{now - 3600};{now - 60}")
    status, code, message = error_of(post(emulator, bucket, form))
    assert (status, code) == (403, "RequestTimeTooSkewed") and "expired" in message
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None


SECRET_TOKEN = "session-token-that-must-never-be-echoed"


def test_signature_mismatch_never_echoes_the_session_token(emulator, client_for, bucket,
                                                           caplog):
    bad = client_for(emulator, SecretKey="not-the-secret", Token=SECRET_TOKEN)
    with caplog.at_level(logging.INFO, logger="picops_emulator"):
        with pytest.raises(CosServiceError) as err:
            bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    message = err.value.get_error_msg()
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    assert "x-cos-security-token=<redacted>" in message and SECRET_TOKEN not in message
    assert SECRET_TOKEN not in caplog.text


def test_a_presigned_url_with_a_token_never_echoes_it(emulator, client_for, bucket, caplog,
                                                      emulator_credentials):
    client = client_for(emulator, Token=SECRET_TOKEN)
    client.put_object(Bucket=bucket, Key="shared.txt", Body=b"s")
    url = client.get_presigned_url(Bucket=bucket, Key="shared.txt", Method="GET",
                                   SignHost=False, Params={"x-cos-security-token": SECRET_TOKEN})
    assert SECRET_TOKEN in url
    headers = {"Host": f"{bucket}.cos.{emulator_credentials['region']}.myqcloud.com"}
    with caplog.at_level(logging.INFO, logger="picops_emulator"):
        assert requests.get(url, headers=headers).content == b"s"
        tampered = requests.get(url.replace("shared.txt", "other.txt"), headers=headers)
    status, code, message = error_of(tampered)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert SECRET_TOKEN not in message and SECRET_TOKEN not in tampered.text
    assert SECRET_TOKEN not in caplog.text
    assert "shared.txt" in caplog.text  # the access lines were captured, redacted


# ---------------------------------------------------------------------- XML bodies
def post_delete(emulator, cos_client, bucket: str, body: bytes) -> requests.Response:
    """``POST /?delete`` with ``body`` as is, signed by the SDK."""
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
               "Content-Type": "application/xml",
               "Host": f"{bucket}.cos.ap-guangzhou.myqcloud.com"}
    auth = cos_client.get_auth(Method="POST", Bucket=bucket, Key="/", Params={"delete": ""},
                               Headers=headers)
    return requests.post(f"{emulator.endpoint}/?delete", data=body,
                         headers=dict(headers, Authorization=auth))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("document", [
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Delete [<!ENTITY a "victim">]>'
    '<Delete><Object><Key>&a;</Key></Object></Delete>',
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Delete [<!ENTITY a "x">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key>'
    '</Object></Delete>',
    '<?xml version="1.0" encoding="{enc}"?><!DOCTYPE Delete SYSTEM "file:///etc/passwd">'
    '<Delete><Object><Key>k</Key></Object></Delete>',
])
def test_xml_bodies_with_a_dtd_are_refused_in_any_encoding(emulator, cos_client, bucket,
                                                           encoding, document):
    cos_client.put_object(Bucket=bucket, Key="victim", Body=b"v")
    body = document.format(enc=encoding.upper()).encode(encoding)
    response = post_delete(emulator, cos_client, bucket, body)
    status, code, message = error_of(response)
    assert (status, code) == (400, "MalformedXML"), message
    assert "DTD" in message
    assert [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]] == ["victim"]


@pytest.mark.parametrize("body", [
    '<?xml version="1.0" encoding="UTF-16-BE"?><!DOCTYPE Delete [<!ENTITY a "victim">]>'
    '<Delete><Object><Key>&a;</Key></Object></Delete>'.encode("utf-16-be"),
    b'<?xml version="1.0" encoding="no-such-encoding"?><Delete/>',
    b'<?xml version="1.0" encoding="Shift_JIS"?><Delete/>',
])
def test_an_xml_body_in_an_unreadable_encoding_is_malformed_not_a_500(emulator, cos_client,
                                                                     bucket, body):
    cos_client.put_object(Bucket=bucket, Key="victim", Body=b"v")
    status, code, message = error_of(post_delete(emulator, cos_client, bucket, body))
    assert (status, code) == (400, "MalformedXML") and "encoding" in message
    assert [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]] == ["victim"]


def test_a_utf16_xml_body_without_a_dtd_is_read(emulator, cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="gone", Body=b"v")
    body = ('<?xml version="1.0" encoding="UTF-16"?><Delete><Quiet>true</Quiet><Object>'
            '<Key>gone</Key></Object></Delete>').encode("utf-16")
    response = post_delete(emulator, cos_client, bucket, body)
    assert response.status_code == 200, response.text
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None


# ---------------------------------------------------------------------- JSON depth
def test_a_deeply_nested_policy_is_an_invalid_policy_document(emulator, cos_client, bucket):
    text = ('{"expiration": "2099-01-01T00:00:00.000Z", "conditions": '
            + "[" * 3000 + "]" * 3000 + "}")
    now = int(time.time())
    key_time = f"{now - 60};{now + 3600}"
    sign_key = hmac.new(SECRET_KEY.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    to_sign = hashlib.sha1(text.encode()).hexdigest()
    signature = hmac.new(sign_key.encode(), to_sign.encode(), hashlib.sha1).hexdigest()
    form = [("key", "deep.txt"), ("policy", base64.b64encode(text.encode()).decode()),
            ("q-sign-algorithm", "sha1"), ("q-ak", SECRET_ID), ("q-key-time", key_time),
            ("q-signature", signature)]
    status, code, message = error_of(post(emulator, bucket, form))
    assert (status, code) == (400, "InvalidPolicyDocument") and "nested 3001 levels" in message
    assert cos_client.list_objects(Bucket=bucket).get("Contents") is None
