"""Multipart upload over HTTP: initiate, upload part, complete, abort, list parts, list uploads.

Contract (what ``upload_file`` / ``download_file`` and the SDK's resume logic need):
- ``POST /<key>?uploads`` -> ``InitiateMultipartUploadResult`` (Bucket, Key, UploadId); the
  object attributes (Content-Type, x-cos-meta-*, …) are taken from this request.
- ``PUT /<key>?partNumber=N&uploadId=U`` streams a part (cap, Content-MD5) -> ``ETag``.
- ``POST /<key>?uploadId=U`` with ``CompleteMultipartUpload`` -> ``CompleteMultipartUploadResult``
  (Location, Bucket, Key, ETag = md5-of-part-md5s ``-N``); emits
  ``cos:ObjectCreated:CompleteMultipartUpload``; with ``Pic-Operations`` the CI backend answers.
- ``DELETE /<key>?uploadId=U`` -> 204. ``GET /<key>?uploadId=U`` -> ``ListPartsResult``
  (part-number-marker, max-parts ≤ 1000, ETags quoted, IsTruncated lower-case).
- ``GET /?uploads`` -> ``ListMultipartUploadsResult`` (prefix, delimiter, key-marker,
  upload-id-marker, max-uploads ≤ 1000; uploads of one key in initiation order, so the
  SDK's "last one is the newest" resume rule holds). ``UploadId`` is spelled as the SDK reads it.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, List, Sequence, Tuple

from aiohttp import web

from .. import cosxml as xml
from ..ci import seam
from ..errors import EmulatorError
from ..storage import UploadInfo
from ..storage.multipart import check_part_number
from . import copysource
from .call import Call
from .common import (
    attrs_from_headers,
    check_body_headers,
    check_conditions,
    expected_md5,
    iso_date,
    read_small_body,
    receive_body,
)
from .listing import encoder, int_param, owner

MAX_COMPLETE_BODY = 4 * 1024 * 1024


async def initiate_multipart(call: Call) -> web.StreamResponse:
    attrs = attrs_from_headers(call.headers, call.key)
    info = await call.blocking(call.store.multipart.initiate, call.bucket, call.key, attrs)
    return xml.xml_response(xml.document("InitiateMultipartUploadResult", [
        ("Bucket", call.bucket), ("Key", call.key), ("UploadId", info.upload_id)]))


def _part_number(call: Call) -> int:
    raw = call.query.get("partNumber", "")
    try:
        number = int(raw)
    except ValueError:
        raise EmulatorError("InvalidArgument", f"partNumber {raw!r} is not an integer") from None
    return check_part_number(number)


async def upload_part(call: Call) -> web.StreamResponse:
    if copysource.HEADER in call.headers:
        return await upload_part_copy(call)
    number = _part_number(call)
    upload_id = call.query["uploadId"]
    md5 = expected_md5(call.headers)
    check_body_headers(call, call.settings.max_body_bytes)
    pending = await receive_body(call, functools.partial(
        call.store.multipart.begin_part, call.bucket, upload_id, call.key,
        call.settings.max_body_bytes), md5, f"part {number}")
    part = await call.blocking(call.store.multipart.commit_part, pending, call.bucket,
                               upload_id, call.key, number)
    return web.Response(status=200, headers={"ETag": f'"{part.etag}"'})


async def upload_part_copy(call: Call) -> web.StreamResponse:
    """Upload Part - Copy: the part's bytes come from ``x-cos-copy-source`` (optionally the
    ``x-cos-copy-source-range``), under the ``x-cos-copy-source-If-*`` conditions; answers
    ``CopyPartResult`` (ETag, LastModified), as COS does."""
    number = _part_number(call)
    upload_id = call.query["uploadId"]
    _, src_meta, src_file = await call.blocking(copysource.open_copy_source, call)
    try:
        check_conditions(src_meta, call.headers, prefix="x-cos-copy-source-", copy=True)
        offset, length = copysource.copy_range(call.headers.get(copysource.RANGE_HEADER),
                                               src_meta.size)
        if length > call.settings.max_body_bytes:
            raise EmulatorError("EntityTooLarge", f"a copied part of {length} bytes exceeds the "
                                                  f"part limit of {call.settings.max_body_bytes}")
        part = await call.blocking(_copy_part, call, upload_id, number, src_file, offset,
                                   length)
    finally:
        src_file.close()
    return xml.xml_response(xml.document("CopyPartResult", [
        ("ETag", f'"{part.etag}"'), ("LastModified", iso_date(part.last_modified))]))


def _copy_part(call: Call, upload_id: str, number: int, src_file, offset: int,
               length: int):
    """Thread-pool code: the part's temp file, the copy into it, and its commit."""
    multipart = call.store.multipart
    pending = multipart.begin_part(call.bucket, upload_id, call.key,
                                   call.settings.max_body_bytes)
    copysource.copy_into(pending, src_file, offset, length)
    return multipart.commit_part(pending, call.bucket, upload_id, call.key, number)


def _requested_parts(body: bytes) -> List[Tuple[int, str]]:
    root = xml.parse(body, "CompleteMultipartUpload")
    parts = []
    for el in xml.children(root, "Part"):
        number, etag = xml.child_text(el, "PartNumber"), xml.child_text(el, "ETag")
        if number is None or etag is None:
            raise EmulatorError("MalformedXML", "every <Part> needs <PartNumber> and <ETag>")
        try:
            parts.append((int(number), etag))
        except ValueError:
            raise EmulatorError("MalformedXML",
                                f"PartNumber {number!r} is not an integer") from None
    return parts


async def complete_multipart(call: Call) -> web.StreamResponse:
    upload_id = call.query["uploadId"]
    with_ci = "Pic-Operations" in call.headers
    if with_ci:
        seam.require_backend(call.settings.ci_backend, "complete_multipart")
    body = await read_small_body(call, MAX_COMPLETE_BODY, "CompleteMultipartUpload")
    requested = _requested_parts(body)
    meta = await call.blocking(call.store.multipart.complete, call.bucket, upload_id, call.key,
                               requested, call.origin("cos:ObjectCreated:CompleteMultipartUpload"))
    if with_ci:
        return await seam.call_backend(call.settings.ci_backend,
                                       call.ci_context("complete_multipart", meta))
    response = xml.xml_response(xml.document("CompleteMultipartUploadResult", [
        ("Location", call.location()), ("Bucket", call.bucket), ("Key", call.key),
        ("ETag", meta.quoted_etag)]))
    response.headers["x-cos-hash-crc64ecma"] = meta.crc64
    return response


async def abort_multipart(call: Call) -> web.StreamResponse:
    await call.blocking(call.store.multipart.abort, call.bucket, call.query["uploadId"],
                        call.key)
    return web.Response(status=204)


async def list_parts(call: Call) -> web.StreamResponse:
    q = call.query
    enc = encoder(q)
    upload_id = q["uploadId"]
    marker = int_param(q, "part-number-marker", 0, 10 ** 9)
    max_parts = int_param(q, "max-parts", 1000, 1000)
    info = await call.blocking(call.store.multipart.get, call.bucket, upload_id, call.key)
    parts = [p for p in await call.blocking(call.store.multipart.list_parts, call.bucket,
                                            upload_id, call.key)
             if p.number > marker]
    page, truncated = parts[:max_parts], len(parts) > max_parts
    children: list = [("Bucket", call.bucket)]
    if q.get("encoding-type"):
        children.append(("EncodingType", "url"))
    children += [
        ("Key", enc(call.key)), ("UploadId", upload_id),
        ("Initiator", owner(call.appid)), ("Owner", owner(call.appid)),
        ("PartNumberMarker", marker), ("StorageClass", info.attrs.storage_class),
        ("NextPartNumberMarker", page[-1].number if page else marker),
        ("MaxParts", max_parts), ("IsTruncated", truncated),
    ]
    for p in page:
        children.append(("Part", [("PartNumber", p.number),
                                  ("LastModified", iso_date(p.last_modified)),
                                  ("ETag", f'"{p.etag}"'), ("Size", p.size)]))
    return xml.xml_response(xml.document("ListPartsResult", children))


Entry = Tuple[str, Any]  # ("upload", UploadInfo) | ("prefix", common prefix)


def _after_markers(uploads: Sequence[UploadInfo], key_marker: str,
                   id_marker: str) -> Iterator[UploadInfo]:
    """The uploads listed after ``key-marker`` / ``upload-id-marker`` (both optional).

    With a key marker alone, uploads of that key are skipped; with both, those up to and
    including the marked upload id are.
    """
    passed_id_marker = not id_marker
    for up in uploads:
        if key_marker:
            if up.key < key_marker:
                continue
            if up.key == key_marker:
                if not passed_id_marker:
                    passed_id_marker = up.upload_id == id_marker
                    continue
                if not id_marker:
                    continue
        yield up


def page_uploads(uploads: Sequence[UploadInfo], prefix: str, delimiter: str, key_marker: str,
                 id_marker: str, max_uploads: int) -> Tuple[List[Entry], bool]:
    """One page of a listing: entries in key order (common prefixes rolled up), truncated?"""
    entries: List[Entry] = []
    seen_prefixes = set()
    for up in _after_markers([u for u in uploads if u.key.startswith(prefix)], key_marker,
                             id_marker):
        entry: Entry = ("upload", up)
        if delimiter:
            cut = up.key.find(delimiter, len(prefix))
            if cut >= 0:
                common = up.key[:cut + len(delimiter)]
                if common in seen_prefixes:
                    continue
                seen_prefixes.add(common)
                entry = ("prefix", common)
        if len(entries) >= max_uploads:
            return entries, True
        entries.append(entry)
    return entries, False


async def list_multipart_uploads(call: Call) -> web.StreamResponse:
    q = call.query
    enc = encoder(q)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    max_uploads = int_param(q, "max-uploads", 1000, 1000)
    uploads = await call.blocking(call.store.multipart.list_uploads, call.bucket)
    entries, truncated = page_uploads(uploads, prefix, delimiter, key_marker, id_marker,
                                      max_uploads)

    children: list = [("Bucket", call.bucket)]
    if q.get("encoding-type"):
        children.append(("EncodingType", "url"))
    children += [("KeyMarker", enc(key_marker)), ("UploadIdMarker", id_marker)]
    if truncated and entries:
        kind, last = entries[-1]
        children += [("NextKeyMarker", enc(last.key if kind == "upload" else last)),
                     ("NextUploadIdMarker", last.upload_id if kind == "upload" else "")]
    children += [("MaxUploads", max_uploads), ("IsTruncated", truncated),
                 ("Prefix", enc(prefix))]
    if delimiter:
        children.append(("Delimiter", delimiter))
    for kind, value in entries:
        if kind == "prefix":
            children.append(("CommonPrefixes", [("Prefix", enc(value))]))
        else:
            children.append(("Upload", _upload_entry(call, value, enc)))
    return xml.xml_response(xml.document("ListMultipartUploadsResult", children))


def _upload_entry(call: Call, up: UploadInfo, enc) -> list:
    return [("Key", enc(up.key)), ("UploadId", up.upload_id),
            ("StorageClass", up.attrs.storage_class),
            ("Initiator", owner(call.appid)), ("Owner", owner(call.appid)),
            ("Initiated", iso_date(up.initiated))]


__all__ = ["initiate_multipart", "upload_part", "complete_multipart", "abort_multipart",
           "list_parts", "list_multipart_uploads"]
