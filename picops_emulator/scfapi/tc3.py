"""Tencent Cloud API 3.0 request signatures (TC3-HMAC-SHA256): verification. Pure.

What a client such as the official Tencent Cloud SDK sends (API 3.0 signature v3)::

    Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/<service>/tc3_request,
                   SignedHeaders=content-type;host, Signature=<hex>
    X-TC-Timestamp: <unix seconds>

The signature is HMAC-SHA256, keyed by the chain ``"TC3" + SecretKey`` -> date ->
service -> ``"tc3_request"``, over::

    TC3-HMAC-SHA256 \\n <timestamp> \\n <date>/<service>/tc3_request \\n hex(sha256(canonical))

where the canonical request is ``METHOD \\n URI \\n QUERY \\n`` the signed headers as
``name:value\\n`` (lower-case names, trimmed values) ``\\n`` their names joined by ``;``
``\\n hex(sha256(body))``. The credential date must be the UTC date of the timestamp,
and the timestamp within :data:`MAX_SKEW_S` of the server's clock.

:func:`verify` raises :class:`ApiError` with API 3.0's error codes
(``AuthFailure.SignatureFailure``, ``AuthFailure.SignatureExpire``,
``AuthFailure.SecretIdNotFound``, ``AuthFailure.InvalidAuthorization``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from typing import Dict, Mapping

ALGORITHM = "TC3-HMAC-SHA256"
#: API 3.0 refuses a request signed more than 5 minutes away from its clock.
MAX_SKEW_S = 300

_AUTH = re.compile(r"TC3-HMAC-SHA256 Credential=(?P<sid>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
                   r"(?P<service>[a-z0-9]+)/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
                   r"Signature=(?P<sig>[0-9a-f]{64})")


class ApiError(Exception):
    """An API 3.0 error: ``code`` such as ``AuthFailure.SignatureFailure``, and a message."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service),
                "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _lowered(headers: Mapping[str, str]) -> Dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def string_to_sign(method: str, uri: str, query: str, headers: Mapping[str, str],
                   signed: str, body: bytes, timestamp: str, scope: str) -> str:
    """The TC3 string to sign of a request; ``headers`` in any case."""
    return _string_to_sign(method, uri, query, _lowered(headers), signed, body, timestamp,
                           scope)


def _string_to_sign(method: str, uri: str, query: str, lower: Mapping[str, str],
                    signed: str, body: bytes, timestamp: str, scope: str) -> str:
    """:func:`string_to_sign` of headers already keyed by lower-case name."""
    names = signed.split(";")
    canonical_headers = "".join(f"{n}:{lower.get(n, '').strip()}\n" for n in names)
    canonical = "\n".join([method.upper(), uri, query, canonical_headers, signed,
                           hashlib.sha256(body).hexdigest()])
    return "\n".join([ALGORITHM, timestamp, scope,
                      hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def verify(method: str, uri: str, query: str, headers: Mapping[str, str], body: bytes,
           service: str, credentials: Mapping[str, str], now: float) -> str:
    """Check the request's TC3 signature; return the SecretId that signed it.

    ``credentials`` maps each valid SecretId to its SecretKey.

    Raises:
        ApiError: no or malformed Authorization, an unknown SecretId, a timestamp too
            far from ``now``, a credential scope of another date or service, or a
            signature that does not match.
    """
    lower = _lowered(headers)  # once: the checks below and the string to sign read it
    m = _AUTH.fullmatch(lower.get("authorization", "").strip())
    if m is None:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "the Authorization header is missing or not a TC3-HMAC-SHA256 "
                       "signature (Credential=.../tc3_request, SignedHeaders=..., Signature=...)")
    timestamp = lower.get("x-tc-timestamp", "")
    if not timestamp.isdigit():
        raise ApiError("MissingParameter", "X-TC-Timestamp is missing or not a number")
    if abs(int(timestamp) - now) > MAX_SKEW_S:
        raise ApiError("AuthFailure.SignatureExpire",
                       f"X-TC-Timestamp {timestamp} is more than {MAX_SKEW_S} s from the "
                       f"server's time {int(now)}")
    utc_date = datetime.datetime.fromtimestamp(int(timestamp),
                                               datetime.timezone.utc).strftime("%Y-%m-%d")
    if m.group("date") != utc_date or m.group("service") != service:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       f"credential scope {m.group('date')}/{m.group('service')} is not "
                       f"{utc_date}/{service}")
    signed = m.group("signed")
    if "host" not in signed.split(";") or "content-type" not in signed.split(";"):
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "SignedHeaders must include content-type and host")
    secret_id = m.group("sid")
    if secret_id not in credentials:
        raise ApiError("AuthFailure.SecretIdNotFound",
                       "the SecretId is not known to this emulator")
    scope = f"{m.group('date')}/{service}/tc3_request"
    expected = signature(credentials[secret_id], m.group("date"), service,
                         _string_to_sign(method, uri, query, lower, signed, body, timestamp,
                                         scope))
    if not hmac.compare_digest(expected, m.group("sig")):
        raise ApiError("AuthFailure.SignatureFailure",
                       "the request signature does not match (check the SecretKey, and that "
                       "the body and the signed headers were not changed)")
    return secret_id


__all__ = ["ALGORITHM", "ApiError", "MAX_SKEW_S", "signature", "string_to_sign", "verify"]
