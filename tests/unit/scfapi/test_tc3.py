"""TC3-HMAC-SHA256 verification against signatures made by the official SDK's signer."""

import datetime
import hashlib

import pytest
from tencentcloud.common.sign import Sign

from picops_emulator.scfapi.tc3 import ApiError, string_to_sign, verify

SID, KEY = "AKIDtc3test", "tc3-secret"
NOW = 1_765_000_000
BODY = b'{"FunctionName": "fn", "InvocationType": "Event"}'


def signed_headers(body=BODY, timestamp=NOW, key=KEY, sid=SID, service="scf", date=None):
    date = date or datetime.datetime.fromtimestamp(
        timestamp, datetime.timezone.utc).strftime("%Y-%m-%d")
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1:9000",
               "X-TC-Action": "Invoke", "X-TC-Timestamp": str(timestamp)}
    scope = f"{date}/{service}/tc3_request"
    to_sign = string_to_sign("POST", "/", "", headers, "content-type;host", body,
                             str(timestamp), scope)
    # the SDK's own HMAC chain signs it
    sig = Sign.sign_tc3(key, date, service, to_sign)
    headers["Authorization"] = (f"TC3-HMAC-SHA256 Credential={sid}/{date}/{service}/"
                                f"tc3_request, SignedHeaders=content-type;host, Signature={sig}")
    return headers


def check(headers, body=BODY, now=NOW):
    return verify("POST", "/", "", headers, body, "scf", {SID: KEY}, now)


def test_a_valid_signature_names_its_secret_id():
    assert check(signed_headers()) == SID


@pytest.mark.parametrize("headers, body, now, code", [
    (signed_headers(), BODY + b" ", NOW, "AuthFailure.SignatureFailure"),
    (signed_headers(key="other"), BODY, NOW, "AuthFailure.SignatureFailure"),
    (signed_headers(sid="AKIDunknown"), BODY, NOW, "AuthFailure.SecretIdNotFound"),
    (signed_headers(), BODY, NOW + 301, "AuthFailure.SignatureExpire"),
    (signed_headers(service="cvm"), BODY, NOW, "AuthFailure.InvalidAuthorization"),
    (signed_headers(date="2020-01-01"), BODY, NOW, "AuthFailure.InvalidAuthorization"),
    ({"X-TC-Timestamp": str(NOW)}, BODY, NOW, "AuthFailure.InvalidAuthorization"),
])
def test_each_refusal_has_its_api_error_code(headers, body, now, code):
    with pytest.raises(ApiError) as e:
        check(headers, body, now)
    assert e.value.code == code


def test_the_host_header_is_signed():
    headers = signed_headers()
    headers["Host"] = "elsewhere:9000"
    with pytest.raises(ApiError, match="SignatureFailure"):
        check(headers)


def test_string_to_sign_hashes_the_body():
    s = string_to_sign("POST", "/", "", {"content-type": "a", "host": "h"},
                       "content-type;host", b"x", "1", "d/scf/tc3_request")
    assert s.startswith("TC3-HMAC-SHA256\n1\nd/scf/tc3_request\n")
    assert hashlib.sha256(b"x").hexdigest() not in s  # hashed again inside the canonical hash
    # the body is part of what is signed: another body, another string to sign
    other = string_to_sign("POST", "/", "", {"content-type": "a", "host": "h"},
                           "content-type;host", b"y", "1", "d/scf/tc3_request")
    assert other != s


class _CountedHeaders(dict):
    """Request headers that count how often they are read whole."""

    walks = 0

    def items(self):
        type(self).walks += 1
        return super().items()


def test_verify_reads_the_headers_once():
    headers = _CountedHeaders(signed_headers())
    _CountedHeaders.walks = 0
    assert check(headers) == SID
    assert _CountedHeaders.walks == 1
