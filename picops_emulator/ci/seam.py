"""The seam between the COS operations and the CI (persistent image processing) layer.

The server owns HTTP, auth and routing, the COS layer the operations and storage; the CI
layer owns ``Pic-Operations``, rules and images. They meet here and nowhere else: this
module holds the contract (:class:`CiContext`, :class:`CiBackend`), the refusal of what no
backend handles (:func:`require_backend`) and the hand-over (:func:`call_backend`). The
COS layer builds the context (``cos.call.Call.ci_context``) and calls these two.

WHEN the server calls ``settings.ci_backend.handle(ctx)`` (``ctx.operation``):

- ``"image_process"``: ``POST /<key>?image_process`` (the SDK's ``ci_image_process``; the query
  arrives as ``image_process=``). Nothing has been read or written; the source object may or
  may not exist (raise ``NoSuchKey`` yourself; ``ctx.store.require_object`` does that).
- ``"put"``: ``PUT /<key>`` carrying a ``Pic-Operations`` header (``ci_put_object``). The body
  has ALREADY been stored like any PUT (Content-MD5 checked, size capped) and its
  ``cos:ObjectCreated:Put`` ObjectChanged emitted; ``ctx.stored`` is the committed
  :class:`~picops_emulator.storage.ObjectMeta`. Your response replaces the PUT's.
- ``"complete_multipart"``: ``POST /<key>?uploadId=…`` (Complete Multipart Upload) carrying
  ``Pic-Operations``. The object is committed (``ctx.stored``), its
  ``cos:ObjectCreated:CompleteMultipartUpload`` emitted. Answer with the
  ``CompleteMultipartUploadResult`` (Location, Bucket, Key, ETag) plus ``ProcessResults``, or
  raise ``EmulatorError("NotImplemented", …)``.
- ``"style"``: any request with the ``style`` subresource (``ci_put_image_style`` = ``PUT
  /?style`` with an ``<AddStyle>`` body, ``GET /?style`` with ``<GetStyle>``, ``DELETE /?style``
  with ``<DeleteStyle>``), on a ``<bucket>.pic.<region>.myqcloud.com`` host or, when the SDK
  is pointed at an IP, the ``.cos.`` host. ``ctx.key`` is None for bucket-level requests.
  The body has been read for you (``ctx.body``, at most :data:`MAX_STYLE_BODY` bytes, under
  the idle timeout of every body read): never read ``ctx.request`` yourself. Keep styles
  with ``ctx.store.put_bucket_doc(bucket, name, doc)`` / ``get_bucket_doc`` /
  ``delete_bucket_doc`` / ``list_bucket_docs``.

With ``ci_backend=None`` every one of these answers 501 ``NotImplemented`` naming the
operation, and a PUT/complete with ``Pic-Operations`` is refused BEFORE anything is stored.
A backend may declare ``operations`` (a set of the names above it handles); requests for
other operations are refused the same way, before anything is stored. Without that
attribute every operation is passed on.

WHAT the server guarantees before calling: the signature is verified (Pic-Operations is part
of it), the bucket named by the Host exists (``NoSuchBucket`` otherwise), ``ctx.key`` is the
exactly-once-decoded key, valid by ``picops_emulator.naming.check_key``. Output keys the
backend writes are checked by the store on write with the same function; check them all
before writing any (all-or-nothing). WHAT the backend must do:

- Return an ``aiohttp.web.StreamResponse`` (e.g. ``picops_emulator.cosxml.xml_response(
  picops_emulator.cosxml.document("UploadResult", [...]))``). ``x-cos-request-id`` and
  ``Server`` are added to it by the server; never return an empty 200 (the SDK parses it).
- Fail by raising ``EmulatorError(code, message)`` (:mod:`picops_emulator.errors`; the CI
  codes are in its table: InvalidPicOperations, InvalidImageFormat, ImageTooLarge,
  ImageResolutionExceed, NoSuchStyle, InvalidArgument …). The server renders the COS
  ``<Error>`` XML. Any other exception becomes a logged 500 ``InternalError``.
- Keep the loop free: decode/encode images with ``loop.run_in_executor``. The store is
  blocking and thread-safe: call it from the executor too.
- Write outputs with ``ctx.store.put_bytes(bucket, key, data, content_type, meta=None,
  generation=<source generation + 1>, event_name="cos:ObjectCreated:Put", region=ctx.region,
  request_id=ctx.request_id)``: that commits atomically and emits the output's ObjectChanged
  (after the upload's own, which was emitted before ``handle`` was called).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol

from aiohttp import web

from ..errors import EmulatorError
from ..storage import ObjectMeta, Store

#: The largest ``?style`` request body; the COS layer reads it (with the idle timeout every
#: body read has) before the hand-over, so the backend never reads the socket itself.
MAX_STYLE_BODY = 64 * 1024

DESCRIPTIONS = {
    "image_process": "CI persistent processing (POST ?image_process, ci_image_process)",
    "put": "CI processing on upload (PUT with Pic-Operations, ci_put_object)",
    "complete_multipart": "CI processing on Complete Multipart Upload (Pic-Operations)",
    "style": "CI image styles (?style)",
}


@dataclass(frozen=True)
class CiContext:
    operation: str               # "image_process" | "put" | "complete_multipart" | "style"
    bucket: str                  # "name-appid"
    key: Optional[str]           # decoded object key; None for bucket-level style requests
    region: str                  # from the Host header (emulator default for path style)
    method: str                  # "POST", "PUT", "GET", "DELETE"
    query: Mapping[str, str]     # decoded query, first value per exact name
    headers: Mapping[str, str]   # the request's headers (case-insensitive mapping)
    request_id: str              # the x-cos-request-id this response will carry
    store: Store
    request: web.Request         # the aiohttp request (read its body through ``body`` only)
    stored: Optional[ObjectMeta] = None  # the committed upload ("put", "complete_multipart")
    service: str = "cos"         # host style the request used: "cos", "pic", "ci" or "" (path)
    body: bytes = b""            # "style": the whole request body (at most MAX_STYLE_BODY)

    @property
    def pic_operations(self) -> Optional[str]:
        """The raw ``Pic-Operations`` header (JSON text), if any."""
        return self.headers.get("Pic-Operations")

    def location(self, key: str, bucket: Optional[str] = None) -> str:
        """``<bucket>.cos.<region>.myqcloud.com/<key>``: CI's ``Location`` (no scheme)."""
        return f"{bucket or self.bucket}.cos.{self.region}.myqcloud.com/{key}"


class CiBackend(Protocol):
    # Optional: ``operations: frozenset`` of the ctx.operation values handled (see above).

    async def handle(self, ctx: CiContext) -> web.StreamResponse:
        ...


def require_backend(backend: Optional[Any], operation: str) -> "CiBackend":
    """The backend for ``operation``, or 501 ``NotImplemented`` naming it.

    Called BEFORE a PUT/complete stores anything: without a backend, or with one whose
    ``operations`` do not include this one, nothing is committed.
    """
    if backend is None:
        raise EmulatorError("NotImplemented", f"{DESCRIPTIONS[operation]} needs the CI layer, "
                                              "and this emulator runs without a CI backend")
    supported = getattr(backend, "operations", None)
    if supported is not None and operation not in supported:
        raise EmulatorError("NotImplemented", f"{DESCRIPTIONS[operation]} is not supported by "
                                              "the picops emulator's CI layer")
    return backend


async def call_backend(backend: Optional[Any], ctx: CiContext) -> web.StreamResponse:
    """Hand ``ctx`` to the backend; a non-response answer is a programming error (500)."""
    chosen = require_backend(backend, ctx.operation)
    response = await chosen.handle(ctx)
    if not isinstance(response, web.StreamResponse):
        raise TypeError(f"CI backend {chosen!r} returned {type(response).__name__}, "
                        "not an aiohttp response")
    return response


__all__ = ["CiContext", "CiBackend", "require_backend", "call_backend", "DESCRIPTIONS",
           "MAX_STYLE_BODY"]
