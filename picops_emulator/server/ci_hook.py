"""The seam between the COS server and the CI (persistent image processing) layer.

The server owns HTTP, auth, routing and storage; the CI layer owns ``Pic-Operations``,
rules and images. They meet here and nowhere else.

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
  Keep styles with ``ctx.store.put_bucket_doc(bucket, name, doc)`` / ``get_bucket_doc`` /
  ``delete_bucket_doc`` / ``list_bucket_docs``.

With ``ci_backend=None`` every one of these answers 501 ``NotImplemented`` naming the
operation, and a PUT/complete with ``Pic-Operations`` is refused BEFORE anything is stored.
A backend may declare ``operations`` (a set of the names above it handles); requests for
other operations are refused the same way, before anything is stored. Without that
attribute every operation is passed on.

WHAT the server guarantees before calling: the signature is verified (Pic-Operations is part
of it), the bucket named by the Host exists (``NoSuchBucket`` otherwise), ``ctx.key`` is the
exactly-once-decoded key. WHAT the backend must do:

- Return an ``aiohttp.web.StreamResponse`` (e.g. ``picops_emulator.server.xml.xml_response(
  picops_emulator.server.xml.document("UploadResult", [...]))``). ``x-cos-request-id`` and
  ``Server`` are added to it by the server; never return an empty 200 (the SDK parses it).
- Fail by raising ``EmulatorError(code, message)`` (:mod:`.errors`; the CI codes are in its
  table: InvalidPicOperations, InvalidImageFormat, ImageTooLarge, ImageResolutionExceed,
  NoSuchStyle, InvalidArgument …). The server renders the COS ``<Error>`` XML. Any other
  exception becomes a logged 500 ``InternalError``.
- Keep the loop free: decode/encode images with ``loop.run_in_executor``. The store is
  blocking and thread-safe: call it from the executor too.
- Write outputs with ``ctx.store.put_bytes(bucket, key, data, content_type, meta=None,
  generation=<source generation + 1>, event_name="cos:ObjectCreated:Put", region=ctx.region,
  request_id=ctx.request_id)``: that commits atomically and emits the output's ObjectChanged
  (after the upload's own, which was emitted before ``handle`` was called).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Protocol

from aiohttp import web

from ..storage import ObjectMeta, Store


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
    request: web.Request         # the aiohttp request (body still unread for style/process)
    stored: Optional[ObjectMeta] = None  # the committed upload ("put", "complete_multipart")
    service: str = "cos"         # host style the request used: "cos", "pic", "ci" or "" (path)

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


__all__ = ["CiContext", "CiBackend"]
