"""Every request's COS signature is checked, the way COS answers failures.

Signatures are always produced by the SDK's own signer (never by the emulator's code), so a
pass here means the emulator agrees with the client, not with itself.
"""

import time
import xml.etree.ElementTree as ET

import pytest
import requests
from qcloud_cos import cos_auth
from qcloud_cos.cos_exception import CosServiceError


def host_of(bucket, region):
    return f"{bucket}.cos.{region}.myqcloud.com"


def error_code(response):
    return ET.fromstring(response.content).findtext("Code")


def test_wrong_secret_key_is_signature_mismatch(emulator, client_for, bucket):
    bad = client_for(emulator, SecretKey="not-the-secret")
    with pytest.raises(CosServiceError) as err:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert err.value.get_status_code() == 403
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    # the message carries the expected string-to-sign as debugging help
    assert "StringToSign" in err.value.get_error_msg()
    assert err.value.get_request_id() not in ("", "Unknown")


def test_unknown_secret_id(emulator, client_for, bucket):
    stranger = client_for(emulator, SecretId="AKIDnobody")
    with pytest.raises(CosServiceError) as err:
        stranger.get_object(Bucket=bucket, Key="k")
    assert err.value.get_status_code() == 403
    assert err.value.get_error_code() == "InvalidAccessKeyId"


def test_missing_authorization_is_access_denied(emulator, bucket, emulator_credentials):
    response = requests.get(f"{emulator.endpoint}/k",
                            headers={"Host": host_of(bucket, emulator_credentials["region"])})
    assert response.status_code == 403
    assert error_code(response) == "AccessDenied"
    assert response.headers["x-cos-request-id"]


def test_expired_sign_time(emulator, cos_client, bucket, monkeypatch):
    class SixHoursAgo:
        @staticmethod
        def time():
            return time.time() - 6 * 3600  # the SDK signs for 10000 s: long expired by now

    # only the SDK's signer sees the old clock; the server keeps the real one
    monkeypatch.setattr(cos_auth, "time", SixHoursAgo)
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="late", Body=b"x")
    assert err.value.get_status_code() == 403
    assert err.value.get_error_code() == "RequestTimeTooSkewed"


def test_sign_time_in_the_future_is_refused(emulator, cos_client, bucket, monkeypatch):
    class Tomorrow:
        @staticmethod
        def time():
            return time.time() + 86400

    monkeypatch.setattr(cos_auth, "time", Tomorrow)
    with pytest.raises(CosServiceError) as err:
        cos_client.head_bucket(Bucket=bucket)
    assert err.value.get_status_code() == 403


def test_tampered_signed_header(emulator, cos_client, bucket, emulator_credentials):
    host = host_of(bucket, emulator_credentials["region"])
    signed = {"Host": host, "x-cos-meta-owner": "alice", "Content-Type": "text/plain"}
    auth = cos_client.get_auth(Method="PUT", Bucket=bucket, Key="doc.txt", Headers=signed)
    url = f"{emulator.endpoint}/doc.txt"

    ok = requests.put(url, data=b"hello", headers=dict(signed, Authorization=auth))
    assert ok.status_code == 200, ok.text

    forged = requests.put(url, data=b"hello",
                          headers=dict(signed, **{"x-cos-meta-owner": "mallory"},
                                       Authorization=auth))
    assert forged.status_code == 403
    assert error_code(forged) == "SignatureDoesNotMatch"


def test_signature_for_one_key_does_not_open_another(emulator, cos_client, bucket,
                                                     emulator_credentials):
    host = host_of(bucket, emulator_credentials["region"])
    cos_client.put_object(Bucket=bucket, Key="secret", Body=b"s")
    auth = cos_client.get_auth(Method="GET", Bucket=bucket, Key="public",
                               Headers={"Host": host})
    response = requests.get(f"{emulator.endpoint}/secret",
                            headers={"Host": host, "Authorization": auth})
    assert response.status_code == 403
    assert error_code(response) == "SignatureDoesNotMatch"


def test_security_token_with_valid_keys_is_accepted(emulator, client_for, bucket):
    temporary = client_for(emulator, Token="any-session-token")
    temporary.put_object(Bucket=bucket, Key="with-token", Body=b"t")
    got = temporary.get_object(Bucket=bucket, Key="with-token")
    assert got["Body"].get_raw_stream().read() == b"t"


def test_presigned_url(emulator, cos_client, bucket, emulator_credentials):
    cos_client.put_object(Bucket=bucket, Key="shared/中 文.txt", Body=b"presigned")
    # with IP-style config the bucket can only travel in the Host header, so the URL is
    # signed without host and the Host is added by the caller
    url = cos_client.get_presigned_url(Bucket=bucket, Key="shared/中 文.txt", Method="GET",
                                       SignHost=False)
    host = {"Host": host_of(bucket, emulator_credentials["region"])}
    assert "q-signature=" in url
    assert requests.get(url, headers=host).content == b"presigned"

    tampered = url.replace("q-signature=", "q-signature=0")
    response = requests.get(tampered, headers=host)
    assert response.status_code == 403
    assert error_code(response) == "SignatureDoesNotMatch"


def test_head_with_bad_signature_has_code_in_header_and_no_body(emulator, client_for, bucket):
    bad = client_for(emulator, SecretKey="wrong")
    with pytest.raises(CosServiceError) as err:
        bad.head_object(Bucket=bucket, Key="k")
    assert err.value.get_status_code() == 403
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    assert err.value.get_request_id() not in ("", "Unknown")


def test_auth_off_accepts_unsigned_requests(emulator_factory, client_for):
    running = emulator_factory(auth=False, secret_id="", secret_key="",
                               buckets_to_create=("open-1250000000",))
    response = requests.put(f"{running.endpoint}/k", data=b"unsigned",
                            headers={"Host": "open-1250000000.cos.ap-guangzhou.myqcloud.com"})
    assert response.status_code == 200, response.text
    # path style works too (IP host, no bucket in Host)
    got = requests.get(f"{running.endpoint}/open-1250000000/k")
    assert got.content == b"unsigned"
