"""Secret values out of text and structures; bounded depth; nothing else touched."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from picops.logs import JsonLogger
from picops.redact import MASK, MAX_DEPTH, TOO_DEEP, is_secret_name, mask_secrets, redact_text

TOKEN = "tok-AbC123_xyz%3D"


@pytest.mark.parametrize("text, kept", [
    # the emulator's SignatureDoesNotMatch before issue 9: the signed headers in HttpString
    ("StringToSign: 'sha1\\n1;2\\nabc\\n'; HttpString (FormatString): 'put\\n/a.jpg\\n\\n"
     f"host=b.cos.ap-guangzhou.myqcloud.com&x-cos-security-token={TOKEN}\\n'",
     "host=b.cos.ap-guangzhou.myqcloud.com&x-cos-security-token=***\\n'"),
    (f"x-ci-security-token: {TOKEN}", "x-ci-security-token: ***"),
    (f'{{"X-Cos-Security-Token": "{TOKEN}", "Host": "h"}}',
     '{"X-Cos-Security-Token": "***", "Host": "h"}'),
    (f"{{'x-cos-security-token': '{TOKEN}'}}", "{'x-cos-security-token': '***'}"),
    (f'{{\\"x-cos-security-token\\": \\"{TOKEN}\\"}}', '{\\"x-cos-security-token\\": \\"***\\"}'),
    ("Authorization: q-sign-algorithm=sha1&q-ak=AKID&q-sign-time=1;2&q-key-time=1;2"
     "&q-header-list=host&q-url-param-list=&q-signature=0123abcd", "Authorization: ***"),
    ('"authorization": "Bearer abc def", "n": 1', '"authorization": "***", "n": 1'),
    ("GET /a?q-sign-algorithm=sha1&q-signature=0123abcd&x=1", "q-signature=***&x=1"),
    (f"TENCENTCLOUD_SESSIONTOKEN={TOKEN} rest", "TENCENTCLOUD_SESSIONTOKEN=*** rest"),
    (f"SessionToken={TOKEN}", "SessionToken=***"),
    (f"secret_key: {TOKEN}", "secret_key: ***"),
])
def test_secret_values_in_foreign_messages_are_masked(text, kept):
    out = redact_text(text)
    assert TOKEN not in out and "0123abcd" not in out and "Bearer" not in out
    assert kept in out


@pytest.mark.parametrize("text", [
    "InvalidImageFormat: input is not an image",
    "authorization failed for this request",
    "the session token expired; renew it",
    "key uploads/secret_key_photo.jpg not found",
])
def test_ordinary_messages_are_untouched(text):
    assert redact_text(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp"),
                                      blacklist_characters="\"'&,;<>\\ \t\r\n\x0b\x0c"
                                                           "\x1c\x1d\x1e\x1f\x85\xa0"),
               min_size=1).filter(lambda t: not t.isspace()))
def test_any_token_value_is_masked(value):
    for name in ("x-cos-security-token", "X-CI-SECURITY-TOKEN", "q-signature"):
        out = redact_text(f"a {name}={value} b")
        assert out == f"a {name}={MASK} b"


@pytest.mark.parametrize("name", [
    "Authorization", "authorization", "x-cos-security-token", "X-Ci-Security-Token",
    "x-cos-server-side-encryption-customer-key", "SessionToken", "session_token",
    "TENCENTCLOUD_SECRETKEY", "q-signature", "Proxy-Authorization",
    # every name the exact list held before it kept only what the parts do not cover
    "proxy-authorization", "securitytoken", "security-token", "security_token",
    "sessiontoken", "session-token", "secretkey", "secret-key", "secret_key",
    "tencentcloud_sessiontoken", "signature", "token", "Token",
    # the names the emulator hid with a list of its own before it asked this one
    "Cookie", "set-cookie", "sign", "x-ci-security-token",
])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["Host", "key", "x-cos-meta-author", "Content-MD5", 7, None])
def test_other_names(name):
    assert not is_secret_name(name)


def test_mask_secrets_masks_entries_at_any_depth_and_copies():
    value = {"Records": [{"event": {"requestParameters": {"requestHeaders": {
        "Authorization": "q-sign...", "x-cos-security-token": TOKEN, "Host": "h"}}}}]}
    masked = mask_secrets(value)
    headers = masked["Records"][0]["event"]["requestParameters"]["requestHeaders"]
    assert headers == {"Authorization": MASK, "x-cos-security-token": MASK, "Host": "h"}
    assert value["Records"][0]["event"]["requestParameters"]["requestHeaders"][
        "x-cos-security-token"] == TOKEN  # the original is untouched


def test_mask_secrets_is_bounded_in_depth_and_never_raises():
    deep = "bottom"
    for _ in range(200_000):
        deep = [deep]
    masked = mask_secrets({"x": deep})
    text = json.dumps(masked)
    assert TOO_DEEP in text and text.replace(TOO_DEEP, "").count("[") == MAX_DEPTH - 1


def test_log_lines_are_redacted_bounded_and_one_line_each():
    import io

    stream = io.StringIO()
    log = JsonLogger(stream, clock=lambda: 0.0)
    deep = "x"
    for _ in range(100_000):
        deep = {"a": deep}
    log.error("record failed", key="a\u2028b\u2029c\u0085d\x1ce",
              error={"message": f"HttpString: 'host=h&x-cos-security-token={TOKEN}\\n'"},
              headers={"x-cos-security-token": TOKEN}, deep=deep)
    text = stream.getvalue()
    assert len(text.splitlines()) == 1 and text.endswith("\n")
    assert "\\u2028" in text and "\\u2029" in text and "\\u0085" in text
    assert TOKEN not in text
    line = json.loads(text)
    assert line["key"] == "a\u2028b\u2029c\u0085d\x1ce"
    assert line["headers"] == {"x-cos-security-token": MASK}
