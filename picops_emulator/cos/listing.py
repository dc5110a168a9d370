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

from dataclasses import dataclass
from typing import Callable, Mapping

from aiohttp import web

from .. import cosxml as xml
from ..cosxml import Child
from ..errors import EmulatorError
from ..storage import ObjectMeta
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


@dataclass(frozen=True)
class _Flavour:
    """What tells one listing apart from the other; everything else is shared."""

    root: str                      # the document element
    marker_param: str              # the query parameter to start after
    markers: Callable[[Mapping[str, str], Callable[[str], str], str], list]  # echoed
    next_markers: Callable[[Callable[[str], str], str], list]                # when truncated
    entry: Callable[[ObjectMeta, Callable[[str], str], str], Child]          # one object


_OBJECTS = _Flavour(
    root="ListBucketResult", marker_param="marker",
    markers=lambda q, enc, marker: [("Marker", enc(marker))],
    next_markers=lambda enc, next_marker: [("NextMarker", enc(next_marker))],
    entry=lambda meta, enc, appid: ("Contents", [
        ("Key", enc(meta.key)), ("LastModified", iso_date(meta.last_modified)),
        ("ETag", meta.quoted_etag), ("Size", meta.size), ("Owner", owner(appid)),
        ("StorageClass", meta.storage_class),
    ]),
)

# buckets here are never versioned: one version per object, every version id "null"
_VERSIONS = _Flavour(
    root="ListVersionsResult", marker_param="key-marker",
    markers=lambda q, enc, marker: [("KeyMarker", enc(marker)),
                                    ("VersionIdMarker", q.get("version-id-marker", ""))],
    next_markers=lambda enc, next_marker: [("NextKeyMarker", enc(next_marker)),
                                           ("NextVersionIdMarker", "null")],
    entry=lambda meta, enc, appid: ("Version", [
        ("Key", enc(meta.key)), ("VersionId", "null"), ("IsLatest", True),
        ("LastModified", iso_date(meta.last_modified)), ("ETag", meta.quoted_etag),
        ("Size", meta.size), ("StorageClass", meta.storage_class),
        ("Owner", owner(appid)),
    ]),
)


def _listing(call: Call, flavour: _Flavour) -> web.StreamResponse:
    """One page of the bucket's keys in ``flavour``'s document (see the module contract)."""
    q = call.query
    enc = encoder(q)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    marker = q.get(flavour.marker_param, "")
    max_keys = int_param(q, "max-keys", MAX_KEYS, MAX_KEYS)
    page = call.store.list_objects(call.bucket, prefix, delimiter, marker, max_keys)
    children: list = [("Name", call.bucket)]
    if q.get("encoding-type"):
        children.append(("EncodingType", "url"))
    children.append(("Prefix", enc(prefix)))
    children += flavour.markers(q, enc, marker)
    children.append(("MaxKeys", max_keys))
    if delimiter:
        children.append(("Delimiter", delimiter))
    children.append(("IsTruncated", page.truncated))
    if page.truncated:
        children += flavour.next_markers(enc, page.next_marker)
    for common in page.common_prefixes:
        children.append(("CommonPrefixes", [("Prefix", enc(common))]))
    children += [flavour.entry(meta, enc, call.appid) for meta in page.contents]
    return xml.xml_response(xml.document(flavour.root, children))


async def list_objects(call: Call) -> web.StreamResponse:
    return _listing(call, _OBJECTS)


async def list_object_versions(call: Call) -> web.StreamResponse:
    return _listing(call, _VERSIONS)


__all__ = ["list_objects", "list_object_versions", "int_param", "encoder", "owner",
           "MAX_KEYS"]
