"""Pieces every COS handler family shares: request bodies, object headers, dates, conditions.

Contract:
- :func:`receive_body` streams the request body into a new PendingWrite: the declared
  ``Content-Length`` is checked against the cap BEFORE anything is read (``EntityTooLarge``),
  a body with neither Content-Length nor chunked encoding is ``MissingContentLength``, a short
  body is refused, ``Content-MD5`` is checked (:func:`expected_md5` / :func:`check_md5`:
  ``InvalidDigest`` / ``BadDigest``), and any failure removes the temp file.
- Body bytes touch the disk only on the server's thread pool (:func:`write_chunks`, and
  GET's reads): the event loop moves bytes between sockets and the pool, so one slow disk
  holds a worker thread, never every connection. One chunk at a time per request: the next
  one is read from the client only once the last is written, so memory stays bounded.
- :func:`attrs_from_headers` picks what COS stores from a PUT / initiate / copy-Replaced
  request: Content-Type (when none is sent: the key's extension's, else
  application/octet-stream), ``x-cos-meta-*`` (names
  lower-cased, ≤ 2 KB in total), Cache-Control, Content-Disposition, Content-Encoding,
  Content-Language, Expires and ``x-cos-storage-class``.
- :func:`object_headers` is how GET/HEAD spell them back, exactly as COS does
  (``ETag`` quoted, ``Last-Modified`` RFC 1123, ``Accept-Ranges``, ``x-cos-hash-crc64ecma``;
  ``x-cos-storage-class`` only for non-STANDARD objects, as COS documents for HEAD Object).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import mimetypes
import re
import time
from typing import AsyncIterator, Awaitable, Callable, Dict, Mapping, Optional, TypeVar

from picops.etags import unquote_etag

from ..errors import EmulatorError
from ..storage.files import PendingWrite
from ..storage.meta import DEFAULT_CONTENT_TYPE, STANDARD, SYSTEM_HEADERS, ObjectAttrs, ObjectMeta
from .call import Call
from .throttle import Throttle, traffic_limit

CHUNK = 256 * 1024
T = TypeVar("T")
_UNSENDABLE = re.compile(r"[\r\n\x00]")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")  # RFC 9110 token, lower-cased
MAX_META_BYTES = 2048
STORAGE_CLASSES = frozenset({
    "STANDARD", "STANDARD_IA", "ARCHIVE", "DEEP_ARCHIVE", "INTELLIGENT_TIERING",
    "MAZ_STANDARD", "MAZ_STANDARD_IA", "MAZ_INTELLIGENT_TIERING", "MAZ_ARCHIVE",
})


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def iso_date(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int(ts % 1 * 1000)


def parse_http_date(value: str) -> Optional[float]:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------- bodies
async def within_idle(seconds: float, step: Awaitable[T],
                      stalled: str = "the client sent no request body data") -> T:
    """Await one read of a request body (or one write of a response body);
    ``RequestTimeout`` saying ``stalled`` if it makes no progress for ``seconds``.

    Every read of a body goes through here, so a stalled client gives up its socket and its
    temp file after ``settings.idle_timeout_seconds`` (the server then closes the
    connection; see ``server.app``); so does every write of a GET body, so a client that
    stops reading gives up its socket and the open object.
    """
    try:
        async with asyncio.timeout(seconds):
            return await step
    except TimeoutError:
        raise EmulatorError("RequestTimeout", f"{stalled} for {seconds:g} s") from None


async def _chunks(call: Call):
    content, idle = call.request.content, call.settings.idle_timeout_seconds
    while True:
        chunk = await within_idle(idle, content.read(CHUNK))
        if not chunk:
            return
        yield chunk


def check_body_headers(call: Call, max_bytes: int) -> None:
    request = call.request
    length = request.content_length
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if length is None and not chunked:
        raise EmulatorError("MissingContentLength",
                            f"{request.method} needs a Content-Length header (or a chunked body)")
    if length is not None and length > max_bytes:
        raise EmulatorError("EntityTooLarge",
                            f"Content-Length {length} exceeds the emulator's cap of {max_bytes} "
                            "bytes (max_body_bytes)")


async def write_chunks(call: Call, pending: PendingWrite,
                       chunks: AsyncIterator[bytes]) -> None:
    """Write every chunk of ``chunks`` into ``pending`` on the thread pool, one at a time;
    on any failure the pending write is removed (see the module contract)."""
    try:
        async for chunk in chunks:
            await call.blocking(pending.write, chunk)  # EntityTooLarge past its cap
    except BaseException:
        await discard(call, pending)
        raise


async def discard(call: Call, pending: PendingWrite) -> None:
    """Remove a pending write's temp file (on the thread pool)."""
    await call.blocking(pending.abort)


async def receive_body(call: Call, begin: Callable[[], PendingWrite],
                       md5: Optional[bytes], received: str = "the body") -> PendingWrite:
    """A new pending write (``begin()``, run on the thread pool) holding the request's body,
    paced to its ``x-cos-traffic-limit`` and checked against its length and ``md5``
    (:func:`expected_md5`); on any failure nothing is left of it."""
    throttle = Throttle(traffic_limit(call.headers, call.query))  # refused before a temp file
    pending = await call.blocking(begin, undo=PendingWrite.abort)

    async def paced() -> AsyncIterator[bytes]:
        async for chunk in _chunks(call):
            yield chunk  # written before the next is read: then the pacing
            await throttle.moved_bytes(len(chunk))

    await write_chunks(call, pending, paced())
    try:
        declared = call.request.content_length
        if declared is not None and pending.size != declared:
            raise EmulatorError("InvalidRequest", f"the body ended after {pending.size} of "
                                                  f"{declared} declared bytes")
        check_md5(md5, pending.md5_digest, received)
    except EmulatorError:
        await discard(call, pending)
        raise
    return pending


async def read_small_body(call: Call, limit: int, what: str) -> bytes:
    """A whole XML-sized body, refusing anything over ``limit`` bytes."""
    request = call.request
    if request.content_length is not None and request.content_length > limit:
        raise EmulatorError("EntityTooLarge", f"the {what} body is {request.content_length} "
                                              f"bytes; at most {limit} are accepted")
    data = bytearray()
    async for chunk in _chunks(call):
        data += chunk
        if len(data) > limit:
            raise EmulatorError("EntityTooLarge", f"the {what} body exceeds {limit} bytes")
    return bytes(data)


def expected_md5(headers: Mapping[str, str]) -> Optional[bytes]:
    value = headers.get("Content-MD5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (ValueError, TypeError):
        raise EmulatorError("InvalidDigest", f"Content-MD5 {value!r} is not base64") from None
    if len(digest) != 16:
        raise EmulatorError("InvalidDigest", f"Content-MD5 {value!r} does not decode to the "
                                             "16 bytes of an MD5 digest")
    return digest


def check_md5(expected: Optional[bytes], actual: bytes, received: str = "the body") -> None:
    if expected is not None and expected != actual:
        raise EmulatorError("BadDigest",
                            f"Content-MD5 {base64.b64encode(expected).decode()} does not match "
                            f"{received} (MD5 {base64.b64encode(actual).decode()})")


# ---------------------------------------------------------------------- attributes / headers
def check_stored_value(name: str, value: str) -> str:
    """A value stored to be sent back as a header later: no CR, LF or NUL in it.

    HTTP headers cannot carry them, so an object stored with one could never be read back
    (GET/HEAD would fail building their headers): refused at the door instead. Headers
    cannot bring them in, but POST Object form fields can.
    """
    bad = _UNSENDABLE.search(value)
    if bad:
        raise EmulatorError("InvalidArgument",
                            f"{name}: the value {value[:200]!r} contains "
                            f"U+{ord(bad.group()):04X} at position {bad.start()}; a stored "
                            "header value must not contain CR, LF or NUL")
    return value


# COS stores the type of the key's extension when a PUT, POST or multipart upload sends none
# (Tencent's Node SDK suite: "1.zip" -> application/zip, "1.txt" -> text/plain, "1" ->
# application/octet-stream). Its table is not published (UNCONFIRMED beyond those): the
# emulator uses Python's built-in table (never the machine's mime.types, so the answer does
# not depend on the machine) with the registered types it lacks or still spells the obsolete
# way, below; a compressed file is stored as what it is (gzip), not as what it unpacks to.
_TYPES = mimetypes.MimeTypes()
EXTRA_TYPES = {
    ".md": "text/markdown", ".markdown": "text/markdown",      # RFC 7763
    ".js": "text/javascript", ".mjs": "text/javascript",       # RFC 9239
    ".yaml": "application/yaml", ".yml": "application/yaml",   # RFC 9512
    ".ics": "text/calendar",                                   # RFC 5545
}
for _extension, _kind in EXTRA_TYPES.items():
    _TYPES.add_type(_kind, _extension)


def content_type_for(key: Optional[str], sent: Optional[str]) -> str:
    """The Content-Type stored for ``key``: the one sent; else the extension's (case
    ignored; see ``EXTRA_TYPES``); else ``application/octet-stream``."""
    if sent and sent.strip():
        return sent
    if not key:
        return DEFAULT_CONTENT_TYPE
    guessed, encoding = _TYPES.guess_type(key, strict=False)
    if encoding is not None:  # "x.tar.gz" holds gzip bytes, not a tar: the outer type
        guessed = "application/gzip" if encoding == "gzip" else None   # RFC 6713
    return guessed or DEFAULT_CONTENT_TYPE


def attrs_from_headers(headers: Mapping[str, str], key: Optional[str] = None) -> ObjectAttrs:
    """What COS stores from these headers (or POST Object fields); see the module contract.

    An empty header value (``Cache-Control: ``) is not stored (COS neither keeps nor echoes
    one); ``key`` gives the Content-Type when none is sent (:func:`content_type_for`).
    """
    meta: Dict[str, str] = {}
    for name, value in headers.items():
        lname = name.lower()
        if lname.startswith("x-cos-meta-") and len(lname) > len("x-cos-meta-") and value.strip():
            if not _TOKEN.match(lname):
                raise EmulatorError("InvalidArgument", f"metadata name {name!r} is not an "
                                                       "HTTP header name (token characters "
                                                       "only)")
            meta[lname] = check_stored_value(name, value)
    meta_size = sum(len(k.encode()) + len(v.encode("utf-8", "surrogateescape"))
                    for k, v in meta.items())
    if meta_size > MAX_META_BYTES:
        raise EmulatorError("MetadataTooLarge", f"x-cos-meta-* headers total {meta_size} bytes; "
                                                f"COS allows {MAX_META_BYTES}")
    system = {h: check_stored_value(h, headers[h]) for h in SYSTEM_HEADERS
              if headers.get(h, "").strip()}
    storage_class = headers.get("x-cos-storage-class", STANDARD).strip().upper() or STANDARD
    if storage_class not in STORAGE_CLASSES:
        raise EmulatorError("InvalidArgument", f"x-cos-storage-class {storage_class!r} is not "
                                               "a COS storage class")
    content_type = check_stored_value("Content-Type",
                                      content_type_for(key, headers.get("Content-Type")))
    return ObjectAttrs(content_type=content_type,
                       meta=meta, headers=system, storage_class=storage_class)


def object_headers(meta: ObjectMeta) -> Dict[str, str]:
    headers = {
        "Content-Type": meta.content_type,
        "ETag": meta.quoted_etag,
        "Last-Modified": http_date(meta.last_modified),
        "Accept-Ranges": "bytes",
        "x-cos-hash-crc64ecma": meta.crc64,
    }
    headers.update(meta.attrs.headers)
    headers.update(meta.meta)
    if meta.storage_class != STANDARD:
        headers["x-cos-storage-class"] = meta.storage_class
    return headers


def write_headers(meta: ObjectMeta) -> Dict[str, str]:
    """Headers of a successful PUT / upload part."""
    return {"ETag": meta.quoted_etag, "x-cos-hash-crc64ecma": meta.crc64}


# ---------------------------------------------------------------------- conditions
def _etag_matches(header: str, etag: str) -> bool:
    wanted = [unquote_etag(t.strip().removeprefix("W/")) for t in header.split(",")]
    return "*" in wanted or etag in wanted


def check_conditions(meta: ObjectMeta, headers: Mapping[str, str], *,
                     prefix: str = "", copy: bool = False) -> None:
    """If-Match / If-None-Match / If-(Un)Modified-Since, GET-style (304/412).

    With ``copy=True`` the ``x-cos-copy-source-If-*`` headers are read and every failure is
    412, as for PUT Object - Copy.
    """
    def get(name: str) -> Optional[str]:
        return headers.get(prefix + name)

    if_match = get("If-Match")
    if if_match is not None and not _etag_matches(if_match, meta.etag):
        raise EmulatorError("PreconditionFailed", f"{prefix}If-Match {if_match!r} does not match "
                                                  f"ETag {meta.quoted_etag}")
    if_unmod = get("If-Unmodified-Since")
    if if_match is None and if_unmod is not None:
        ts = parse_http_date(if_unmod)
        if ts is not None and int(meta.last_modified) > ts:
            raise EmulatorError("PreconditionFailed",
                                f"the object was modified after {prefix}If-Unmodified-Since "
                                f"{if_unmod!r}")
    not_modified = "PreconditionFailed" if copy else "NotModified"
    if_none = get("If-None-Match")
    if if_none is not None and _etag_matches(if_none, meta.etag):
        raise EmulatorError(not_modified, f"{prefix}If-None-Match {if_none!r} matches ETag "
                                          f"{meta.quoted_etag}")
    if_mod = get("If-Modified-Since")
    if if_none is None and if_mod is not None:
        ts = parse_http_date(if_mod)
        if ts is not None and int(meta.last_modified) <= ts:
            raise EmulatorError(not_modified, f"the object was not modified since "
                                              f"{prefix}If-Modified-Since {if_mod!r}")


__all__ = ["within_idle", "check_stored_value", "receive_body", "write_chunks", "discard",
           "check_body_headers",
           "read_small_body", "expected_md5", "check_md5", "attrs_from_headers",
           "object_headers", "write_headers",
           "check_conditions", "http_date", "iso_date", "parse_http_date", "CHUNK"]
