"""GET Bucket (List Objects, v1), GET Bucket ?versions, and the parameter rules all COS
listings share.

Contract:
- Parameters: ``prefix``, ``delimiter``, ``marker``, ``max-keys`` (default 1000, capped at
  1000; not a non-negative integer -> ``InvalidArgument``), ``encoding-type`` (only ``url``).
- Response ``ListBucketResult`` in COS's element order: Name, EncodingType, Prefix, Marker,
  MaxKeys, Delimiter, IsTruncated (lower-case ``true``/``false``), NextMarker (when
  truncated), CommonPrefixes*, Contents* (Key, LastModified, ETag quoted, Size, Owner,
  StorageClass). With ``encoding-type=url``, Key, Prefix, Marker, NextMarker and
  CommonPrefixes/Prefix are percent-encoded (``%``, ``+``, space, non-ASCII included),
  which is what the SDK (always sending ``encoding-type=url``) undoes with ``unquote``.
- ``GET /?versions`` (List Object Versions): buckets here are never versioned, and COS lists
  the objects of an unversioned bucket as one version each, ``VersionId`` ``null`` and
  ``IsLatest`` ``true``. Parameters ``prefix``, ``delimiter``, ``key-marker``, ``max-keys``,
  ``encoding-type``; ``version-id-marker`` is accepted (every version id is ``null``).
  Response ``ListVersionsResult`` (Name, EncodingType, Prefix, KeyMarker, VersionIdMarker,
  MaxKeys, Delimiter, IsTruncated, NextKeyMarker/NextVersionIdMarker, CommonPrefixes*,
  Version*).
"""

from __future__ import annotations

from typing import Callable, Mapping

from aiohttp import web

from .. import cosxml as xml
from ..errors import EmulatorError
from .call import Call
from .common import iso_date

MAX_KEYS = 1000


def int_param(query: Mapping[str, str], name: str, default: int, cap: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EmulatorError("InvalidArgument", f"{name} {raw!r} is not an integer") from None
    if value < 0:
        raise EmulatorError("InvalidArgument", f"{name} {value} must not be negative")
    return min(value, cap)


def encoder(query: Mapping[str, str]) -> Callable[[str], str]:
    kind = query.get("encoding-type", "")
    if kind == "":
        return lambda s: s
    if kind.lower() != "url":
        raise EmulatorError("InvalidArgument", f"encoding-type {kind!r} is not supported "
                                               "(only 'url')")
    return xml.url_encode


def owner(appid: str) -> list:
    return [("ID", appid), ("DisplayName", appid)]


async def list_objects(call: Call) -> web.StreamResponse:
    q = call.query
    enc = encoder(q)
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    max_keys = int_param(q, "max-keys", MAX_KEYS, MAX_KEYS)
    page = call.store.list_objects(call.bucket, prefix, delimiter, marker, max_keys)
    children: list = [("Name", call.bucket)]
    if "encoding-type" in q and q["encoding-type"]:
        children.append(("EncodingType", "url"))
    children += [("Prefix", enc(prefix)), ("Marker", enc(marker)), ("MaxKeys", max_keys)]
    if delimiter:
        children.append(("Delimiter", delimiter))
    children.append(("IsTruncated", page.truncated))
    if page.truncated:
        children.append(("NextMarker", enc(page.next_marker)))
    for common in page.common_prefixes:
        children.append(("CommonPrefixes", [("Prefix", enc(common))]))
    for meta in page.contents:
        children.append(("Contents", [
            ("Key", enc(meta.key)), ("LastModified", iso_date(meta.last_modified)),
            ("ETag", meta.quoted_etag), ("Size", meta.size), ("Owner", owner(call.appid)),
            ("StorageClass", meta.storage_class),
        ]))
    return xml.xml_response(xml.document("ListBucketResult", children))


async def list_object_versions(call: Call) -> web.StreamResponse:
    q = call.query
    enc = encoder(q)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    max_keys = int_param(q, "max-keys", MAX_KEYS, MAX_KEYS)
    page = call.store.list_objects(call.bucket, prefix, delimiter, key_marker, max_keys)
    children: list = [("Name", call.bucket)]
    if q.get("encoding-type"):
        children.append(("EncodingType", "url"))
    children += [("Prefix", enc(prefix)), ("KeyMarker", enc(key_marker)),
                 ("VersionIdMarker", q.get("version-id-marker", "")), ("MaxKeys", max_keys)]
    if delimiter:
        children.append(("Delimiter", delimiter))
    children.append(("IsTruncated", page.truncated))
    if page.truncated:
        children += [("NextKeyMarker", enc(page.next_marker)), ("NextVersionIdMarker", "null")]
    for common in page.common_prefixes:
        children.append(("CommonPrefixes", [("Prefix", enc(common))]))
    for meta in page.contents:
        children.append(("Version", [
            ("Key", enc(meta.key)), ("VersionId", "null"), ("IsLatest", True),
            ("LastModified", iso_date(meta.last_modified)), ("ETag", meta.quoted_etag),
            ("Size", meta.size), ("StorageClass", meta.storage_class),
            ("Owner", owner(call.appid)),
        ]))
    return xml.xml_response(xml.document("ListVersionsResult", children))


__all__ = ["list_objects", "list_object_versions", "int_param", "encoder", "owner",
           "MAX_KEYS"]
