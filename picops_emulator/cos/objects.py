"""Object operations: PUT (and its Copy and Pic-Operations variants), GET, HEAD, DELETE.

Contract (COS semantics the SDK relies on):
- PUT streams the body to the store (cap, Content-MD5) and answers 200 with ``ETag`` (quoted
  MD5) and ``x-cos-hash-crc64ecma``; emits ``cos:ObjectCreated:Put``. With ``Pic-Operations``
  the committed upload is then handed to the CI backend (see :mod:`picops_emulator.ci.seam`).
- PUT with ``x-cos-copy-source: <bucket>.cos.<region>.myqcloud.com/<percent-encoded key>``
  copies (``x-cos-metadata-directive`` Copy: the source's attributes; Replaced: this request's)
  and answers ``CopyObjectResult`` (ETag, LastModified, CRC64); emits ``cos:ObjectCreated:Copy``.
  Copying an object onto itself needs ``Replaced`` (``InvalidRequest`` otherwise).
- GET/HEAD answer the stored headers; ``Range: bytes=a-b | a- | -n`` gives 206 with
  ``Content-Range``; an unsatisfiable range is 416 ``InvalidRange``; a multi-range request is
  answered with the whole object (200). ``response-*`` query parameters override headers.
- DELETE answers 204 whether or not the key existed; emits ``cos:ObjectRemove:Delete`` only
  when something was removed (UNCONFIRMED whether COS notifies deletes of absent keys).

``x-cos-traffic-limit`` (header, or query parameter of a presigned URL) paces the body of a
PUT, an upload part and a GET to that many bits per second (:mod:`.throttle`).

Decisions on what is not modelled (documented, not hidden): request headers for features the
emulator has no notion of — ACL (``x-cos-acl``, ``x-cos-grant-*``), tagging, server-side
encryption — are accepted and have no effect; objects of archive
storage classes are readable without a restore. POST Object (browser form upload, the
``cos:ObjectCreated:Post`` path) lives in :mod:`.post_object`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from typing import Dict, Optional, Tuple

from aiohttp import web

from .. import cosxml as xml
from ..ci import seam
from ..errors import EmulatorError
from .call import Call
from .common import (
    CHUNK,
    attrs_from_headers,
    check_body_headers,
    check_conditions,
    expected_md5,
    http_date,
    iso_date,
    object_headers,
    receive_body,
    within_idle,
    write_headers,
)
from .copysource import copy_into, open_copy_source
from .throttle import Throttle, traffic_limit

log = logging.getLogger("picops_emulator.server")

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


# ---------------------------------------------------------------------- PUT
async def put_object(call: Call) -> web.StreamResponse:
    if "x-cos-copy-source" in call.headers:
        if "Pic-Operations" in call.headers:
            raise EmulatorError("NotImplemented", "Pic-Operations on PUT Object - Copy is not "
                                                  "supported by the picops emulator")
        return await copy_object(call)
    with_ci = "Pic-Operations" in call.headers
    if with_ci:
        seam.require_backend(call.settings.ci_backend, "put")  # refuse before storing anything
    attrs = attrs_from_headers(call.headers, call.key)
    md5 = expected_md5(call.headers)
    check_body_headers(call, call.settings.max_body_bytes)
    pending = await receive_body(call, functools.partial(
        call.store.begin_write, call.bucket, call.key, call.settings.max_body_bytes), md5)
    meta = await call.blocking(call.store.commit, pending, call.bucket, call.key, attrs,
                               origin=call.origin("cos:ObjectCreated:Put"))
    if with_ci:
        return await seam.call_backend(call.settings.ci_backend, call.ci_context("put", meta))
    return web.Response(status=200, headers=write_headers(meta))


async def copy_object(call: Call) -> web.StreamResponse:
    source, src_meta, src_file = await call.blocking(open_copy_source, call)
    try:
        return await _copy(call, source, src_meta, src_file)
    finally:
        src_file.close()


async def _copy(call: Call, source, src_meta, src_file) -> web.StreamResponse:
    directive = call.headers.get("x-cos-metadata-directive", "Copy")
    if directive.lower() not in ("copy", "replaced"):
        raise EmulatorError("InvalidArgument", f"x-cos-metadata-directive {directive!r} must be "
                                               "Copy or Replaced")
    replace = directive.lower() == "replaced"
    if (source.bucket, source.key) == (call.bucket, call.key) and not replace:
        raise EmulatorError("InvalidRequest", "copying an object onto itself requires "
                                              "x-cos-metadata-directive: Replaced")
    check_conditions(src_meta, call.headers, prefix="x-cos-copy-source-", copy=True)
    if replace:
        attrs = attrs_from_headers(call.headers, call.key)
    else:
        attrs = src_meta.attrs
        if "x-cos-storage-class" in call.headers:  # a copy may change only the class
            wanted = attrs_from_headers(
                {"x-cos-storage-class": call.headers["x-cos-storage-class"]})
            attrs = dataclasses.replace(attrs, storage_class=wanted.storage_class)
    meta = await call.blocking(_copy_and_commit, call, src_file, src_meta.size, attrs,
                               call.origin("cos:ObjectCreated:Copy"))
    body = xml.document("CopyObjectResult", [
        ("ETag", meta.quoted_etag), ("CRC64", meta.crc64),
        ("LastModified", iso_date(meta.last_modified)),
    ])
    response = xml.xml_response(body)
    response.headers["x-cos-hash-crc64ecma"] = meta.crc64
    return response


def _copy_and_commit(call: Call, src_file, size: int, attrs, origin):
    pending = call.store.begin_write(call.bucket, call.key)
    copy_into(pending, src_file, 0, size)
    return call.store.commit(pending, call.bucket, call.key, attrs, origin=origin)


# ---------------------------------------------------------------------- GET / HEAD
def parse_range(value: Optional[str], size: int) -> Optional[Tuple[int, int]]:
    """(first, last) inclusive, or None for "the whole object"."""
    if value is None:
        return None
    m = _RANGE.match(value.strip().replace(" ", ""))
    if not m:
        return None  # not a single byte range (or a syntax COS ignores): whole object
    first_s, last_s = m.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix: the last n bytes
        n = int(last_s)
        if n == 0 or size == 0:
            raise _unsatisfiable(value, size)
        return max(0, size - n), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None
    if first >= size:
        raise _unsatisfiable(value, size)
    return first, min(last, size - 1)


def _unsatisfiable(value: str, size: int) -> EmulatorError:
    return EmulatorError("InvalidRange", f"Range {value!r} is outside the object's {size} bytes",
                         headers={"Content-Range": f"bytes */{size}"})


def _response_headers(call: Call, meta) -> Dict[str, str]:
    headers = object_headers(meta)
    for param, header in _OVERRIDES.items():
        if param in call.query:
            headers[header] = call.query[param]
    return headers


async def get_object(call: Call) -> web.StreamResponse:
    return await _read(call, with_body=True)


async def head_object(call: Call) -> web.StreamResponse:
    return await _read(call, with_body=False)


async def _read(call: Call, *, with_body: bool) -> web.StreamResponse:
    meta, fh = await call.blocking(call.store.open_object, call.bucket, call.key)
    try:
        try:
            check_conditions(meta, call.headers)
        except EmulatorError as exc:
            if exc.code == "NotModified":
                exc.headers.update({"ETag": meta.quoted_etag,
                                    "Last-Modified": http_date(meta.last_modified)})
            raise
        headers = _response_headers(call, meta)
        span = parse_range(call.headers.get("Range"), meta.size)
        status = 200
        first, length = 0, meta.size
        if span is not None:
            status = 206
            first, length = span[0], span[1] - span[0] + 1
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{meta.size}"
        headers["Content-Length"] = str(length)
        if not with_body:
            return web.Response(status=status, headers=headers)
        throttle = Throttle(traffic_limit(call.headers, call.query))
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(call.request)
        remaining = length
        idle = call.settings.idle_timeout_seconds
        try:
            while remaining > 0:
                chunk = await call.blocking(_read_at, fh, first + length - remaining,
                                            min(CHUNK, remaining))
                if not chunk:
                    break  # cannot happen for a committed body; never send garbage to fill
                # a reader that stops reading blocks the write: time it out like a body read
                await within_idle(idle, response.write(chunk),
                                  "the client read nothing of the response")
                remaining -= len(chunk)
                await throttle.moved_bytes(len(chunk))
            await response.write_eof()
        except ConnectionError:  # the reader hung up: nothing more to do
            log.info("GET %s/%s: client disconnected after %d of %d bytes", call.bucket,
                     call.key, length - remaining, length)
        except EmulatorError as exc:  # RequestTimeout: headers are sent, so just hang up
            log.info("GET %s/%s: %s after %d of %d bytes; connection closed", call.bucket,
                     call.key, exc.message, length - remaining, length)
            if call.request.transport is not None:
                call.request.transport.close()
        return response
    finally:
        fh.close()


def _read_at(fh, offset: int, size: int) -> bytes:
    """Thread-pool code: up to ``size`` bytes of ``fh`` from ``offset``."""
    fh.seek(offset)
    return fh.read(size)


# ---------------------------------------------------------------------- DELETE
async def delete_object(call: Call) -> web.StreamResponse:
    await call.blocking(call.store.delete_object, call.bucket, call.key,
                        origin=call.origin("cos:ObjectRemove:Delete"))
    return web.Response(status=204)


__all__ = ["put_object", "copy_object", "get_object", "head_object", "delete_object",
           "parse_range"]
