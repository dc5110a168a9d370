"""Verifying the COS request signature (``q-sign-algorithm=sha1&…``), as cos_auth.py makes it.

Contract: :func:`verify` raises :class:`EmulatorError` or returns the verified SecretId.
The recipe (reference §4.7; ground truth: the SDK's ``CosS3Auth``):

1. The signature comes from the ``Authorization`` header or, for presigned URLs, from the
   ``q-*`` query parameters, or from one ``sign=`` parameter carrying the whole
   Authorization value (a link form COS accepts; its older v4 form is checked by
   :func:`verify_legacy`). None of these: ``AccessDenied``. Unparseable: ``AccessDenied``.
   Fields are taken exactly as sent: ``q-ak=AKIDtest `` is not ``AKIDtest``.
2. ``q-ak`` must be a known SecretId (``InvalidAccessKeyId``). ``q-sign-time`` ``t0;t1``
   must contain "now" (``RequestTimeTooSkewed``): ``skew`` seconds are forgiven before
   ``t0`` (a client clock ahead of ours), none after ``t1`` (an expired signature is
   refused).
3. Using the lists the CLIENT declared (``q-header-list``, ``q-url-param-list``), rebuild
   ``HttpString = method\\n/<decoded key>\\n<params>\\n<headers>\\n`` where each name is
   lower-cased and each name and value is UTF-8 percent-encoded keeping only ``-_.~``,
   pairs sorted and joined with ``&``. Header values are the received ones (aiohttp hands
   them over decoded as UTF-8 with surrogateescape, which re-encodes to the exact bytes).
4. ``StringToSign = "sha1\\n" + q-sign-time + "\\n" + sha1hex(HttpString) + "\\n"``;
   ``SignKey = hmac_sha1(SecretKey, q-key-time)`` (hex); expected signature =
   ``hmac_sha1(SignKey, StringToSign)``, compared in constant time. A signed ``host`` is
   also tried without its ``:port``, because a client connecting to ``127.0.0.1:PORT``
   signs the bare hostname. The path is ``Target.sign_path`` (path-style requests sign the
   bucket too). Mismatch: ``SignatureDoesNotMatch`` whose message carries the expected
   StringToSign and HttpString to help debugging a client, with the value of every
   secret-bearing header or parameter (``picops.redact.is_secret_name``, the function's own
   test) replaced by ``<redacted>``:
   a message is logged and copied into outcome lines, and must never carry a credential.

Any ``x-cos-security-token`` is accepted with the valid key pair (there is no STS here).

POST Object (``POST /`` on a bucket with a ``multipart/form-data`` body, see
``cos.post_object``) is signed in its FORM, not its headers: :func:`verify` lets it through
(:func:`is_form_upload`) and the handler calls :func:`verify_form` once it has read the form
fields. Recipe (COS "POST Object", signature protection; checked against the published
example's intermediate values): ``SignKey = hmac_sha1(SecretKey, q-key-time)`` (hex);
``StringToSign = sha1hex(policy JSON text)`` — the bytes the base64 ``policy`` field decodes
to, not the base64 text; ``q-signature = hmac_sha1(SignKey, StringToSign)`` (hex).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, unquote_plus

from picops.redact import is_secret_name

from ..errors import EmulatorError

FORM_SIGN_FIELDS = ("q-sign-algorithm", "q-ak", "q-key-time", "q-signature")
SIGN_FIELDS = ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list",
               "q-url-param-list", "q-signature")
# A link may carry the whole Authorization value URL-encoded in one parameter, as
# ``?sign=...`` (the Node SDK's getObjectUrl does when its authorization is not in q-* form).
SIGN_PARAM = "sign"
REDACTED = "<redacted>"
_TIME = re.compile(r"^(\d+);(\d+)$")
_PORT = re.compile(r"^(?P<host>.+?):\d+$")


def _enc(value: str) -> str:
    return quote(value.encode("utf-8", "surrogateescape"), safe="-_.~")


def parse_authorization(value: str) -> Dict[str, str]:
    """The ``name=value`` fields of an Authorization value, taken exactly as sent: COS refuses
    ``q-ak=AKIDtest `` (a SecretId with a space is not the SecretId), so nothing is stripped."""
    fields: Dict[str, str] = {}
    for piece in value.split("&"):
        name, sep, val = piece.partition("=")
        if sep:
            fields[name] = val
    return fields


def signature_fields(headers: Mapping[str, str],
                     query: Sequence[Tuple[str, str]]) -> Dict[str, str]:
    auth = headers.get("Authorization")
    if auth is not None:
        if not auth.strip():
            raise EmulatorError("AccessDenied", "the Authorization header is empty (anonymous "
                                                "requests are not allowed)")
        return parse_authorization(auth)
    from_query = {name: value for name, value in query if name in SIGN_FIELDS}
    if from_query:
        return from_query
    for name, value in query:
        if name == SIGN_PARAM:  # ?sign=<the URL-encoded Authorization value>
            return parse_authorization(value)
    raise EmulatorError("AccessDenied", "the request carries no Authorization header and no "
                                        "signature in its query string (q-sign-* or sign=)")


def legacy_sign(headers: Mapping[str, str], query: Sequence[Tuple[str, str]]) -> Optional[str]:
    """The value of a ``?sign=`` link in COS's older (v4) form, or None for any other request.

    That form (the Node SDK's ``getV4Auth``) is base64(HMAC-SHA1(SecretKey, plain) + plain)
    with plain = ``a=<appid>&b=<bucket name>&k=<SecretId>&t=<now>&e=<expiry>&r=<random>&f=<path>``;
    it has no ``q-signature``. :func:`verify_legacy` checks it.
    """
    if headers.get("Authorization") is not None:
        return None
    if any(name in SIGN_FIELDS for name, _ in query):
        return None
    value = next((v for n, v in query if n == SIGN_PARAM), None)
    return value if value is not None and "q-signature" not in value else None


def verify_legacy(value: str, bucket: Optional[str], credentials: Mapping[str, str],
                  now: float) -> str:
    """Verify a v4 ``sign`` (:func:`legacy_sign`) for ``bucket``; returns the SecretId.

    Checked: the HMAC under the SecretKey of ``k``, the expiry ``e`` (> now), and that ``a``
    and ``b`` name the request's bucket; a v4 sign names one bucket, so it never authorises
    a request that names none (the service: GET / listing every bucket). The ``f`` path is
    not bound (COS's once-only signatures put the key there, reusable ones leave it empty;
    both are accepted).
    """
    try:
        raw = base64.b64decode(value, validate=True)
        plain = raw[20:].decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise EmulatorError("AccessDenied", "the sign parameter is neither q-sign-* fields nor "
                                            "a base64 v4 signature") from None
    fields = dict(piece.partition("=")[::2] for piece in plain.split("&"))
    secret_key = credentials.get(fields.get("k", ""))
    if secret_key is None:
        raise EmulatorError("InvalidAccessKeyId", f"sign: SecretId {fields.get('k', '')!r} is "
                                                  "not known to this emulator")
    expected = hmac.new(secret_key.encode("utf-8"), plain.encode("utf-8"), hashlib.sha1).digest()
    if not hmac.compare_digest(expected, raw[:20]):
        raise EmulatorError("SignatureDoesNotMatch", f"the v4 sign does not match its text "
                                                     f"{plain!r}")
    expiry = fields.get("e", "")
    if not expiry.isdigit() or int(expiry) < now:
        raise EmulatorError("AccessDenied", f"the v4 sign expired (e={expiry!r}, server time "
                                            f"{int(now)})")
    signed_bucket = f"{fields.get('b', '')}-{fields.get('a', '')}"
    if bucket is None:
        raise EmulatorError("AccessDenied", f"the v4 sign is for bucket {signed_bucket!r}; "
                                            "it does not authorise a request naming no bucket")
    if signed_bucket != bucket:
        raise EmulatorError("AccessDenied", f"the v4 sign is for bucket {signed_bucket!r}, not "
                                            f"{bucket!r}")
    return fields["k"]


def _canonical(pairs: List[Tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def http_string(method: str, sign_path: str, params: List[Tuple[str, str]],
                headers: List[Tuple[str, str]]) -> str:
    return f"{method.lower()}\n{sign_path}\n{_canonical(params)}\n{_canonical(headers)}\n"


def string_to_sign(sign_time: str, http: str) -> str:
    digest = hashlib.sha1(http.encode("utf-8", "surrogateescape")).hexdigest()
    return f"sha1\n{sign_time}\n{digest}\n"


def sign(secret_key: str, key_time: str, to_sign: str) -> str:
    sign_key = hmac.new(secret_key.encode("utf-8"), key_time.encode("utf-8"),
                        hashlib.sha1).hexdigest()
    return hmac.new(sign_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).hexdigest()


def _declared(fields: Mapping[str, str], name: str) -> List[str]:
    return [n for n in fields.get(name, "").split(";") if n]


def is_form_upload(method: str, bucket_level: bool, headers: Mapping[str, str]) -> bool:
    """A POST Object: a POST on a bucket with a multipart/form-data body (signed in the form)."""
    content_type = headers.get("Content-Type", "").strip().lower()
    return method == "POST" and bucket_level and content_type.startswith(
        "multipart/form-data")


def _window(name: str, value: str) -> Tuple[int, int]:
    window = _TIME.match(value)
    if not window:
        raise EmulatorError("AccessDenied", f"{name} {value!r} must be '<start>;<end>' in Unix "
                                            "seconds")
    return int(window.group(1)), int(window.group(2))


def _check_window(name: str, value: str, now: float, skew: float) -> None:
    """``now`` must lie in the window; ``skew`` forgives a client clock ahead of the server
    at the start, never an expired signature at the end (no grace after ``end``)."""
    start, end = _window(name, value)
    if now > end:
        raise EmulatorError("RequestTimeTooSkewed",
                            f"{name} {start};{end} expired at {end}, before the server time "
                            f"{int(now)}")
    if now < start - skew:
        raise EmulatorError("RequestTimeTooSkewed",
                            f"{name} {start};{end} does not contain the server time "
                            f"{int(now)} (allowed skew {int(skew)} s)")


def _secret_key(fields: Mapping[str, str], credentials: Mapping[str, str], where: str) -> str:
    """The SecretKey of a sha1 signature's ``q-ak``; ``where`` prefixes the field names."""
    if fields["q-sign-algorithm"].lower() != "sha1":
        raise EmulatorError("AccessDenied", f"{where}q-sign-algorithm "
                                            f"{fields['q-sign-algorithm']!r} is not supported "
                                            "(only sha1)")
    secret_key = credentials.get(fields["q-ak"])
    if secret_key is None:
        raise EmulatorError("InvalidAccessKeyId", f"{where}q-ak: SecretId {fields['q-ak']!r} is "
                                                  "not known to this emulator")
    return secret_key


def verify_form(fields: Mapping[str, str], policy_text: bytes,
                credentials: Mapping[str, str], now: float, skew: float) -> str:
    """Check a POST Object form's signature; returns the verified SecretId.

    ``fields`` are the form fields by lower-case name; ``policy_text`` is the decoded policy
    (the JSON bytes the base64 ``policy`` field carries).
    """
    missing = [f for f in FORM_SIGN_FIELDS if not fields.get(f)]
    if missing:
        raise EmulatorError("AccessDenied", "the POST Object form lacks the signature field(s) "
                                            f"{', '.join(missing)} (anonymous uploads are not "
                                            "allowed)")
    secret_key = _secret_key(fields, credentials, "form field ")
    _check_window("form field q-key-time", fields["q-key-time"], now, skew)
    to_sign = hashlib.sha1(policy_text).hexdigest()
    expected = sign(secret_key, fields["q-key-time"], to_sign)
    provided = fields["q-signature"].lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode("ascii"), provided):
        raise EmulatorError(
            "SignatureDoesNotMatch",
            "The POST Object form's q-signature does not match the one we calculated from its "
            f"policy. StringToSign (sha1 of the decoded policy): {to_sign!r}; q-key-time: "
            f"{fields['q-key-time']!r}")
    return fields["q-ak"]


def _signed_params(fields: Mapping[str, str],
                   query: Sequence[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """The declared ``q-url-param-list`` names with the received values (matched encoded)."""
    received: Dict[str, str] = {}
    for name, value in query:
        received.setdefault(_enc(name).lower(), _enc(value))
    return [(n, received.get(n, "")) for n in _declared(fields, "q-url-param-list")]


def _signed_header_sets(fields: Mapping[str, str],
                        headers: Mapping[str, str]) -> List[List[Tuple[str, str]]]:
    """The declared ``q-header-list`` headers as received; one set per ``host`` variant.

    A signed ``host`` is also tried without its ``:port`` (a client connecting to
    ``127.0.0.1:PORT`` signs the bare hostname).
    """
    names = _declared(fields, "q-header-list")
    base = [(n, _enc(headers.get(n, ""))) for n in names if n != "host"]
    if "host" not in names:
        return [base]
    host = headers.get("Host", "")
    hosts = [host]
    m = _PORT.match(host)
    if m and not host.endswith("]"):
        hosts.append(m.group("host"))
    return [base + [("host", _enc(h))] for h in hosts]


def verify(method: str, sign_path: str, bucket_level: bool, headers: Mapping[str, str],
           query: Sequence[Tuple[str, str]], credentials: Mapping[str, str], now: float,
           skew: float) -> str:
    """Verify a request's header or query signature; returns the verified SecretId.

    A POST Object (:func:`is_form_upload`, with no query string: POST Object has none, and
    ``POST /?delete`` must not slip through with a form content type) returns ``""``
    unchecked here: its handler verifies the form with :func:`verify_form`.
    """
    if not query and is_form_upload(method, bucket_level, headers):
        return ""
    fields = signature_fields(headers, query)
    missing = [f for f in ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time",
                           "q-signature") if not fields.get(f)]
    if missing:
        raise EmulatorError("AccessDenied", f"the signature lacks {', '.join(missing)}")
    secret_key = _secret_key(fields, credentials, "")
    _window("q-key-time", fields["q-key-time"])
    _check_window("q-sign-time", fields["q-sign-time"], now, skew)

    params = _signed_params(fields, query)
    provided = fields["q-signature"].lower().encode("utf-8", "surrogateescape")
    header_sets = _signed_header_sets(fields, headers)
    for signed_headers in header_sets:
        http = http_string(method, sign_path, params, signed_headers)
        expected = sign(secret_key, fields["q-key-time"],
                        string_to_sign(fields["q-sign-time"], http))
        if hmac.compare_digest(expected.encode("ascii"), provided):
            return fields["q-ak"]
    http = http_string(method, sign_path, params, header_sets[0])
    shown = http_string(method, sign_path, _redacted(params), _redacted(header_sets[0]))
    raise EmulatorError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        f"StringToSign: {string_to_sign(fields['q-sign-time'], http)!r}; HttpString "
        f"(FormatString, secret values redacted): {shown!r}")


def _redacted(pairs: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    return [(n, REDACTED if is_secret_name(n) else v) for n, v in pairs]


def redact_target(raw_target: str) -> str:
    """``raw_target`` (path and query as received) with secret query values redacted."""
    path, sep, query = raw_target.partition("?")
    if not sep:
        return raw_target
    pieces = []
    for piece in query.split("&"):
        name, eq, _ = piece.partition("=")
        secret = is_secret_name(unquote_plus(name, errors="replace"))
        pieces.append(f"{name}={REDACTED}" if eq and secret else piece)
    return path + "?" + "&".join(pieces)


__all__ = ["verify", "verify_form", "is_form_upload", "redact_target",
           "parse_authorization", "http_string", "string_to_sign", "sign", "SIGN_FIELDS",
           "legacy_sign", "verify_legacy", "SIGN_PARAM",
           "FORM_SIGN_FIELDS"]
