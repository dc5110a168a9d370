"""The source of a copy (PUT Object - Copy, Upload Part - Copy): header, region, byte range.

Contract:
- :func:`parse_copy_source` reads ``x-cos-copy-source: <bucket>.cos.<region>.myqcloud.com/<key>``
  (an ``http(s)://`` prefix is tolerated) into a :class:`~.target.Target`; the key is decoded
  and merged as a request path is. A ``?versionId`` is ``NotImplemented`` (no versions here).
- :func:`open_copy_source` finds the object: the bucket must exist IN THE REGION THE HEADER
  NAMES (as for requests, :func:`~.target.check_region`), then the key (``NoSuchKey``).
  The caller closes the returned file.
- :func:`copy_range` reads ``x-cos-copy-source-range: bytes=first-last`` (both bounds, as COS
  requires) into ``(offset, length)``; absent: the whole object. A malformed range is
  ``InvalidArgument``, one outside the source ``InvalidRange``.
- :func:`copy_into` streams ``length`` bytes from ``offset`` of the source into a pending
  write (thread-pool code: it blocks).
"""

from __future__ import annotations

import re
from typing import BinaryIO, Optional, Tuple

from ..errors import EmulatorError
from ..naming import check_key
from ..storage import ObjectMeta
from ..storage.files import PendingWrite
from .call import Call
from .target import Target, check_region, parse_target

HEADER = "x-cos-copy-source"
RANGE_HEADER = "x-cos-copy-source-range"
_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")
_CHUNK = 1 << 20


def parse_copy_source(value: str, default_region: str) -> Target:
    raw = value.strip()
    for scheme in ("http://", "https://"):
        if raw.lower().startswith(scheme):
            raw = raw[len(scheme):]
    host, slash, raw_key = raw.partition("/")
    if not slash or not raw_key:
        raise EmulatorError("InvalidArgument", f"{HEADER} {value!r} is not "
                                               "<bucket>.cos.<region>.myqcloud.com/<key>")
    raw_key, _, query = raw_key.partition("?")
    if query:
        raise EmulatorError("NotImplemented", f"{HEADER} with ?{query} (object versions) is "
                                              "not supported by the picops emulator")
    target = parse_target(host, "/" + raw_key, default_region)
    if not target.service or target.bucket is None:
        raise EmulatorError("InvalidArgument", f"{HEADER} host {host!r} is not "
                                               "<bucket>.cos.<region>.myqcloud.com")
    if target.key is None:
        raise EmulatorError("InvalidArgument", f"{HEADER} {value!r} names no object key")
    check_key(target.key)
    return target


def open_copy_source(call: Call) -> Tuple[Target, ObjectMeta, BinaryIO]:
    source = parse_copy_source(call.headers[HEADER], call.region)
    assert source.bucket is not None and source.key is not None
    check_region(call.store.get_bucket(source.bucket), source)
    meta, fh = call.store.open_object(source.bucket, source.key)
    return source, meta, fh


def copy_range(value: Optional[str], size: int) -> Tuple[int, int]:
    if value is None:
        return 0, size
    m = _RANGE.match(value.strip())
    if not m:
        raise EmulatorError("InvalidArgument", f"{RANGE_HEADER} {value!r} is not "
                                               "bytes=<first>-<last>")
    first, last = int(m.group(1)), int(m.group(2))
    if first > last or last >= size:
        raise EmulatorError("InvalidRange", f"{RANGE_HEADER} {value!r} is outside the source's "
                                            f"{size} bytes",
                            headers={"Content-Range": f"bytes */{size}"})
    return first, last - first + 1


def copy_into(pending: PendingWrite, src: BinaryIO, offset: int, length: int) -> None:
    try:
        src.seek(offset)
        remaining = length
        while remaining > 0:
            chunk = src.read(min(_CHUNK, remaining))
            if not chunk:
                raise EmulatorError("InternalError", "the copy source ended early")
            pending.write(chunk)
            remaining -= len(chunk)
    except BaseException:
        pending.abort()
        raise


__all__ = ["parse_copy_source", "open_copy_source", "copy_range", "copy_into", "HEADER",
           "RANGE_HEADER"]
