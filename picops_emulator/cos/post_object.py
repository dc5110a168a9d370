"""POST Object: the browser form upload (``POST /`` on a bucket, multipart/form-data).

Contract (COS "POST Object"; facts from its API page, decisions marked UNCONFIRMED):
- The form is read with aiohttp's streaming multipart reader. Every field comes BEFORE the
  ``file`` part (COS requires ``file`` last): fields are read whole (each at most
  :data:`FIELD_LIMIT` bytes, all together at most :data:`FIELDS_LIMIT`), the ``file`` part
  is streamed into the store like a PUT body (size cap ``max_body_bytes``, MD5/CRC64 while
  streaming, atomic commit). Field names are case-insensitive; a field given twice is
  ``InvalidArgument``; a field AFTER ``file`` is ``MalformedPOSTRequest`` naming it
  (UNCONFIRMED: COS may ignore it; refusing is louder) and nothing is stored.
- ``key`` is required; every ``${filename}`` in it becomes the uploaded file's name
  (before the policy is checked, as COS documents). Content-Type, Cache-Control,
  Content-Disposition, Content-Encoding, Content-Language, Expires, ``x-cos-meta-*`` and
  ``x-cos-storage-class`` fields are stored as a PUT stores the same headers. The object's
  content type is the ``Content-Type`` FIELD, never the file part's own type (COS ignores
  what the browser sends there); without the field it is application/octet-stream.
  ``Content-MD5`` is checked (``InvalidDigest``/``BadDigest``). ACL, SSE and
  traffic-limit fields are accepted with no effect, as for PUT; other unknown fields too
  (a form's submit button has a name). ``Pic-Operations`` is ``NotImplemented``.
- With auth on (the default): the signature fields (``q-sign-algorithm``, ``q-ak``,
  ``q-key-time``, ``q-signature``) and ``policy`` are required (``AccessDenied``); the
  signature is checked by :func:`.auth.verify_form`; the policy (base64 JSON) must
  decode (``InvalidPolicyDocument``), its ``expiration`` (ISO 8601, required) must not
  have passed and every condition must hold (``AccessDenied`` naming the condition):
  ``{"field": "v"}`` and ``["eq", "$field", "v"]`` (exact), ``["starts-with", "$field",
  "prefix"]``, ``["content-length-range", min, max]`` (on the file's size:
  ``EntityTooLarge``/``EntityTooSmall``). ``bucket`` is the request's bucket, ``key`` the
  final key; a condition on a field the form lacks fails. ``q-sign-time`` is matched
  against the form's ``q-sign-time`` field, else its ``q-key-time`` (COS's form carries
  only the latter; UNCONFIRMED). A policy without q-* conditions is accepted, and fields no
  condition names are not refused (COS only recommends covering them). With auth off none
  of this is checked: any form is accepted.
- Success: ``success_action_redirect`` -> 303 to that URL with ``bucket``, ``key`` and
  ``etag`` appended to its query; else ``success_action_status`` 204 (default) or 200 with
  an empty body, or 201 with a ``PostResponse`` XML (Location, Bucket, Key, ETag;
  UNCONFIRMED for COS, it is S3's document). Any other status value is ``InvalidArgument``
  (UNCONFIRMED: S3 falls back to 204). Headers: ``ETag``, ``Location``
  (``http://<bucket>.cos.<region>.myqcloud.com/<percent-encoded key>``),
  ``x-cos-hash-crc64ecma``, ``x-cos-request-id``.
- The commit emits ``cos:ObjectCreated:Post``, so triggers fire as for PUT.
- A POST on a bucket whose body is NOT multipart/form-data is ``NotImplemented``: no other
  COS API is a bare ``POST /``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Dict, Optional, Tuple
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web
from multidict import CIMultiDict

from .. import cosxml as xml
from ..errors import EmulatorError
from ..naming import check_key
from ..storage.files import PendingWrite
from . import auth
from ..requestjson import loads_shallow
from .call import Call
from .common import (CHUNK, attrs_from_headers, check_md5, check_stored_value, discard,
                     expected_md5, within_idle, write_chunks, write_headers)

EVENT_NAME = "cos:ObjectCreated:Post"
FIELD_LIMIT = 64 * 1024           # one form field's value
FIELDS_LIMIT = 1024 * 1024        # every field before `file`, together
SUCCESS_STATUSES = ("200", "201", "204")
FILENAME = "${filename}"

# aiohttp's multipart reader reports a broken body with these
_READER_ERRORS = (ValueError, RuntimeError, AssertionError, UnicodeDecodeError)


# ---------------------------------------------------------------------- the policy
@dataclass(frozen=True)
class Condition:
    op: str          # "eq" | "starts-with" | "content-length-range"
    field: str       # lower-case form field name ("" for content-length-range)
    value: Any       # str for eq/starts-with, (min, max) for content-length-range
    text: str        # the condition as written, for messages


@dataclass(frozen=True)
class Policy:
    expiration: datetime
    conditions: Tuple[Condition, ...]


def _invalid(message: str) -> EmulatorError:
    return EmulatorError("InvalidPolicyDocument", f"Invalid Policy: {message}")


def decode_policy_text(value: str) -> bytes:
    """The JSON bytes a base64 ``policy`` field carries (what the signature covers)."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("the policy field is not base64") from None


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _invalid(f"{where} must be a string, not {json.dumps(value)}")
    return str(value)


def _length(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not str(value).isdigit():
        raise _invalid(f"{where} must be a non-negative integer, not {json.dumps(value)}")
    return int(value)


def _condition(item: Any) -> Condition:
    text = json.dumps(item, ensure_ascii=False)
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid(f"condition {text} must name exactly one field")
        ((name, value),) = item.items()
        return Condition("eq", str(name).lower(), _text(value, f"condition {text}"), text)
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid(f"condition {text} is neither {{\"field\": \"value\"}} nor "
                       "[\"operator\", ...]")
    op = item[0].lower()
    if op == "content-length-range":
        if len(item) != 3:
            raise _invalid(f"condition {text} must be [\"content-length-range\", min, max]")
        low, high = _length(item[1], f"{text} min"), _length(item[2], f"{text} max")
        if low > high:
            raise _invalid(f"condition {text}: min is greater than max")
        return Condition(op, "", (low, high), text)
    if op in ("eq", "starts-with"):
        if len(item) != 3 or not isinstance(item[1], str) or not item[1].startswith("$"):
            raise _invalid(f"condition {text} must be [\"{op}\", \"$field\", \"value\"]")
        return Condition(op, item[1][1:].lower(), _text(item[2], f"condition {text}"), text)
    raise _invalid(f"condition {text}: operator {item[0]!r} is not eq, starts-with or "
                   "content-length-range")


def _expiration(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _invalid("the policy needs an \"expiration\" string (ISO 8601, UTC)")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"expiration {value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_policy(policy_text: bytes) -> Policy:
    try:
        doc = loads_shallow(policy_text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(f"the decoded policy is not UTF-8 JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _invalid("the policy must be a JSON object with expiration and conditions")
    conditions = doc.get("conditions", [])
    if not isinstance(conditions, list):
        raise _invalid("\"conditions\" must be a list")
    return Policy(_expiration(doc.get("expiration")),
                  tuple(_condition(c) for c in conditions))


def check_policy(policy: Policy, values: Dict[str, str], now: float) -> Tuple[int, int]:
    """Enforce expiration and the field conditions; returns the allowed file size range.

    ``values`` are the form fields by lower-case name, with ``bucket`` and ``key`` already
    set to the request's bucket and the final key.
    """
    if policy.expiration.timestamp() < now:
        server_time = datetime.fromtimestamp(int(now), timezone.utc).isoformat()
        raise EmulatorError("AccessDenied", "Invalid according to Policy: Policy expired at "
                                            f"{policy.expiration.isoformat()} (server time "
                                            f"{server_time})")
    low, high = 0, None
    for cond in policy.conditions:
        if cond.op == "content-length-range":
            low = max(low, cond.value[0])
            high = cond.value[1] if high is None else min(high, cond.value[1])
            continue
        name = cond.field
        actual = values.get(name)
        if actual is None and name == "q-sign-time":
            actual = values.get("q-key-time")
        if actual is None:
            raise EmulatorError("AccessDenied", f"Invalid according to Policy: condition "
                                                f"{cond.text} names form field {name!r}, which "
                                                "the form does not carry")
        ok = actual == cond.value if cond.op == "eq" else actual.startswith(cond.value)
        if not ok:
            raise EmulatorError("AccessDenied", f"Invalid according to Policy: Policy "
                                                f"Condition failed: {cond.text} (the form's "
                                                f"{name} is {actual!r})")
    return low, (high if high is not None else -1)


# ---------------------------------------------------------------------- the form
@dataclass
class Upload:
    """What the fields before ``file`` decided."""

    key: str
    attrs: Any
    md5: Optional[bytes]
    size_range: Tuple[int, int]   # (min, max); max -1: no policy limit
    status: int
    redirect: Optional[str]


async def _next_part(reader, idle: float) -> Optional[BodyPartReader]:
    try:
        part = await within_idle(idle, reader.next())
    except _READER_ERRORS as exc:
        raise EmulatorError("MalformedPOSTRequest", f"the body is not well-formed "
                                                    f"multipart/form-data: {exc}") from None
    if part is not None and not isinstance(part, BodyPartReader):
        raise EmulatorError("MalformedPOSTRequest", "a nested multipart part is not a form "
                                                    "field")
    return part


async def _field_value(part: BodyPartReader, name: str, budget: int, idle: float) -> str:
    data = bytearray()
    limit = min(FIELD_LIMIT, budget)
    try:
        while True:
            chunk = await within_idle(idle, part.read_chunk(CHUNK))
            if not chunk:
                break
            data += chunk
            if len(data) > limit:
                raise EmulatorError("EntityTooLarge",
                                    f"form field {name!r} is over {limit} bytes (each field "
                                    f"may have {FIELD_LIMIT}, all fields before file "
                                    f"{FIELDS_LIMIT})")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EmulatorError("MalformedPOSTRequest",
                            f"form field {name!r} is not UTF-8 text") from None
    except _READER_ERRORS as exc:
        raise EmulatorError("MalformedPOSTRequest", f"form field {name!r} could not be "
                                                    f"read: {exc}") from None


async def read_fields(reader, idle: float) -> Tuple[Dict[str, str], CIMultiDict,
                                                   BodyPartReader]:
    """Every field before ``file``: (by lower-case name, as sent) and the file part."""
    values: Dict[str, str] = {}
    as_sent: CIMultiDict = CIMultiDict()
    budget = FIELDS_LIMIT
    while True:
        part = await _next_part(reader, idle)
        if part is None:
            raise EmulatorError("InvalidArgument", "the POST Object form has no file field "
                                                   "(it must be the last field of the form)")
        name = (part.name or "").strip()
        if not name:
            raise EmulatorError("MalformedPOSTRequest", "a form part has no name in its "
                                                        "Content-Disposition")
        if name.lower() == "file":
            return values, as_sent, part
        if name.lower() in values:
            raise EmulatorError("InvalidArgument", f"form field {name!r} appears more than "
                                                   "once")
        value = await _field_value(part, name, budget, idle)
        budget -= len(value.encode("utf-8"))
        values[name.lower()] = value
        as_sent[name] = value


def _authorise(call: Call, values: Dict[str, str], key: str) -> Tuple[int, int]:
    """The signature and the policy (auth on only); returns the allowed size range."""
    if "policy" not in values:
        raise EmulatorError("AccessDenied", "the POST Object form has no policy field "
                                            "(anonymous uploads are not allowed)")
    policy_text = decode_policy_text(values["policy"])
    now = time.time()
    settings = call.settings
    auth.verify_form(values, policy_text, settings.credentials(), now,
                     settings.clock_skew_seconds)
    policy = parse_policy(policy_text)
    checked = dict(values, bucket=call.bucket, key=key)
    return check_policy(policy, checked, now)


def prepare(call: Call, values: Dict[str, str], as_sent: CIMultiDict,
            filename: Optional[str]) -> Upload:
    if "key" not in values:
        raise EmulatorError("InvalidArgument", "the POST Object form has no key field before "
                                               "its file field")
    if "pic-operations" in values:
        raise EmulatorError("NotImplemented", "Pic-Operations in a POST Object form is not "
                                              "supported by the picops emulator; use PUT "
                                              "Object or image_process")
    key = values["key"]
    if FILENAME in key:
        if not filename:
            raise EmulatorError("InvalidArgument", f"key {key!r} uses {FILENAME} but the file "
                                                   "part has no filename")
        key = key.replace(FILENAME, filename)
    check_key(key)
    size_range = _authorise(call, values, key) if call.settings.auth else (0, -1)
    redirect = values.get("success_action_redirect") or None
    if redirect is not None:  # it becomes the Location header of the answer
        check_stored_value("form field success_action_redirect", redirect)
    status_text = values.get("success_action_status", "204").strip()
    if status_text not in SUCCESS_STATUSES:
        raise EmulatorError("InvalidArgument", f"form field success_action_status "
                                               f"{status_text!r} is not 200, 201 or 204")
    return Upload(key=key, attrs=attrs_from_headers(as_sent, key), md5=expected_md5(as_sent),
                  size_range=size_range, status=303 if redirect else int(status_text),
                  redirect=redirect)


async def file_chunks(part: BodyPartReader, size_range: Tuple[int, int],
                      idle: float) -> AsyncIterator[bytes]:
    """The file part's bytes, refused past the policy's maximum or short of its minimum."""
    low, high = size_range
    size = 0
    while True:
        try:
            chunk = await within_idle(idle, part.read_chunk(CHUNK))
        except _READER_ERRORS as exc:
            raise EmulatorError("MalformedPOSTRequest", f"the file part could not be "
                                                        f"read: {exc}") from None
        if not chunk:
            break
        size += len(chunk)
        if high >= 0 and size > high:
            raise EmulatorError("EntityTooLarge", f"the file is over {high} bytes, the "
                                                  "maximum of the policy's "
                                                  "content-length-range")
        yield chunk  # the emulator's own cap: EntityTooLarge when it is written
    if size < low:
        raise EmulatorError("EntityTooSmall", f"the file is {size} bytes, under "
                                              f"the minimum {low} of the policy's "
                                              "content-length-range")


def _location(call: Call, key: str) -> str:
    return "http://" + call.location(xml.url_encode(key))


def respond(call: Call, upload: Upload, meta) -> web.Response:
    location = _location(call, upload.key)
    headers = write_headers(meta)
    if upload.redirect:
        joiner = "&" if "?" in upload.redirect else "?"
        target = upload.redirect + joiner + urlencode(
            {"bucket": call.bucket, "key": upload.key, "etag": meta.quoted_etag})
        headers["Location"] = target
        return web.Response(status=303, headers=headers)
    headers["Location"] = location
    if upload.status == 201:
        body = xml.document("PostResponse", [
            ("Location", location), ("Bucket", call.bucket), ("Key", upload.key),
            ("ETag", meta.quoted_etag),
        ])
        response = xml.xml_response(body, status=201)
        response.headers.update(headers)
        return response
    return web.Response(status=upload.status, headers=headers)


# ---------------------------------------------------------------------- the handler
async def post_object(call: Call) -> web.StreamResponse:
    request = call.request
    if not auth.is_form_upload(request.method, True, call.headers):
        raise EmulatorError("NotImplemented", "POST on a bucket is supported only as POST "
                                              "Object, a multipart/form-data form upload; "
                                              "this body is "
                                              f"{call.headers.get('Content-Type', 'untyped')!r}")
    cap = call.settings.max_body_bytes
    declared = request.content_length
    if declared is not None and declared > cap + FIELDS_LIMIT:
        raise EmulatorError("EntityTooLarge", f"Content-Length {declared} exceeds the "
                                              f"emulator's cap of {cap} bytes (max_body_bytes) "
                                              "plus the form fields' allowance")
    try:
        reader = await request.multipart()
    except _READER_ERRORS as exc:
        raise EmulatorError("MalformedPOSTRequest", f"the body is not multipart/form-data: "
                                                    f"{exc}") from None
    idle = call.settings.idle_timeout_seconds
    values, as_sent, file_part = await read_fields(reader, idle)
    upload = prepare(call, values, as_sent, file_part.filename)
    pending = await call.blocking(call.store.begin_write, call.bucket, upload.key, cap,
                                  undo=PendingWrite.abort)
    await write_chunks(call, pending, file_chunks(file_part, upload.size_range, idle))
    try:
        trailing = await _next_part(reader, idle)
        if trailing is not None:
            raise EmulatorError("MalformedPOSTRequest", f"form field {trailing.name!r} comes "
                                                        "after the file field, which must be "
                                                        "the last field of the form")
        check_md5(upload.md5, pending.md5_digest, "the file field")
    except BaseException:
        await discard(call, pending)
        raise
    meta = await call.blocking(call.store.commit, pending, call.bucket, upload.key,
                               upload.attrs, origin=call.origin(EVENT_NAME))
    return respond(call, upload, meta)


__all__ = ["post_object", "parse_policy", "check_policy", "decode_policy_text", "Policy",
           "Condition", "EVENT_NAME", "FIELD_LIMIT", "FIELDS_LIMIT"]
