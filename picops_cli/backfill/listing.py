"""Listing a bucket for backfill: every object under a prefix, in key order, page by page.

Contract:

* :func:`list_pages` yields one :class:`Page` per GET Bucket (List Objects v1) call,
  following the listing marker until COS says the listing is complete. Keys come back
  exactly as stored: the request asks for ``encoding-type=url`` and every key (and the
  next marker) is percent-decoded here with :func:`urllib.parse.unquote`, never
  ``unquote_plus`` (a literal ``+`` in a key must stay a ``+``).
* ``start_after`` resumes a listing: COS returns keys strictly after the marker.
* ``exclude`` leaves a prefix's keys out and jumps the marker over them (the manifest
  prefix: a processed bucket holds one manifest per source, and listing them would
  double the listing for nothing).
* ETags are returned without their quotes; sizes as ints.
* A failed listing call raises :class:`~picops.errors.CloudError` (or
  :class:`~picops.errors.TransientCloudError`) naming the bucket and the marker.
* A truncated page that does not move the marker forward raises
  :class:`~picops.errors.CloudError` (``InvalidResponse``) instead of looping forever.

The client is a ``qcloud_cos.CosS3Client`` (or anything with its ``list_objects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Tuple
from urllib.parse import unquote

from picops.ci_client import classify
from picops.errors import CloudError
from picops.etags import unquote_etag

#: COS returns at most this many keys per listing call.
MAX_KEYS = 1000


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class Page:
    objects: Tuple[ListedObject, ...]
    #: Where the next page starts (exclusive); "" when this was the last page.
    next_marker: str


def list_pages(client: Any, bucket: str, prefix: str = "", start_after: str = "",
               page_size: int = MAX_KEYS, exclude: Optional[str] = None) -> Iterator[Page]:
    """Every object of ``bucket`` under ``prefix`` after ``start_after``, one page at a time.

    ``exclude``: a prefix whose keys are left out and, once the listing reaches them,
    jumped over (the marker moves to :func:`past`): how backfill avoids listing one
    manifest per source.
    """
    marker = start_after
    if exclude and marker.startswith(exclude):
        marker = past(exclude)
    while True:
        try:
            data = client.list_objects(Bucket=bucket, Prefix=prefix, Marker=marker,
                                       MaxKeys=page_size, EncodingType="url")
        except Exception as e:
            try:
                err = classify(e)
            except TypeError:
                raise e from None  # not an SDK error: a bug, let it show
            raise type(err)(f"cannot list bucket {bucket} (prefix {prefix!r}, after "
                            f"{marker!r}): {err.message}", code=err.code, status=err.status,
                            request_id=err.request_id) from None
        listed = [_object(item) for item in _contents(data)]
        truncated = str(data.get("IsTruncated", "false")).lower() == "true"
        next_marker = ""
        if truncated:
            # COS sends NextMarker on a truncated listing; S3-style servers may send it only
            # with a delimiter, and then the last key is the marker.
            raw = data.get("NextMarker")
            next_marker = unquote(raw) if raw else (listed[-1].key if listed else "")
            if next_marker and exclude and any(o.key.startswith(exclude) for o in listed):
                next_marker = max(next_marker, past(exclude))
            if not next_marker or next_marker <= marker:
                raise CloudError(f"listing of {bucket} did not advance past {marker!r}: the "
                              "server reported a truncated page without a new marker",
                              code="InvalidResponse", status=200)
        objects = tuple(o for o in listed if not (exclude and o.key.startswith(exclude)))
        yield Page(objects=objects, next_marker=next_marker)
        if not truncated:
            return
        marker = next_marker


def past(prefix: str) -> str:
    """A marker after every key starting with ``prefix``.

    Listings are in UTF-8 byte order (code point order) and list the keys after the
    marker; U+10FFFF is the greatest code point, so only a key continuing the prefix
    with two or more of it could sort after this marker.
    """
    return prefix + "\U0010ffff"


def _contents(data: Any) -> List[dict]:
    contents = data.get("Contents") if isinstance(data, dict) else None
    if contents is None:
        return []
    if isinstance(contents, dict):  # a single object without format_dict
        return [contents]
    return list(contents)


def _object(item: dict) -> ListedObject:
    size = item.get("Size", 0)
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = 0
    return ListedObject(key=unquote(item.get("Key", "")),
                        etag=unquote_etag(item.get("ETag")), size=size)
