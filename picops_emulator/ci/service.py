"""The emulator's CI backend: persistent image processing and image styles.

Implements :class:`picops_emulator.ci.seam.CiBackend`. For
``ci_image_process`` (``POST /<key>?image_process``), ``ci_put_object``
(``PUT`` with ``Pic-Operations``) and Complete Multipart Upload carrying
``Pic-Operations`` (``complete_multipart_upload(..., PicOperations=...)``):

0. admit the request under CI's request-rate ceiling (:mod:`.ratelimit`, per account =
   the bucket's APPID, ``qps`` per second, 100 by default as CI documents, 0 = none);
   over it, answer 503 ``SlowDown`` naming the limit before any other work (for ``put``
   and ``complete_multipart`` the upload itself was already stored by the server; only
   its processing is refused);
1. validate the header (:mod:`.pic_operations`; every rule parsed by the one
   grammar parser, fileids resolved by ``picops.routing``), check target buckets
   and expand ``style/<name>`` stages from the bucket's styles;
2. wait for admission (:mod:`.work`: a bounded number of requests hold source bytes at
   once), check the source's stored size against CI's input limit (before reading it),
   then run every rule on the imaging engine in an image slot (:mod:`.work`: a pool sized
   to the cores, a share per request, a deadline per request, cancelled when the client
   goes away);
3. only when every rule succeeded, store the outputs like any object (each
   commit fires its own ObjectChanged, one generation after the source) and
   answer the ``UploadResult`` XML; for a multipart upload, the
   ``CompleteMultipartUploadResult`` (Location, Bucket, Key, ETag, as without
   processing) followed by the same ``OriginalInfo`` and ``ProcessResults``.

All-or-nothing is a decision (CI's behaviour on a partly failing request is not
documented): a failing rule fails the request with that rule's error and
writes nothing, so no half-finished set of derivatives is ever left behind.

Styles (``ci_put_image_style`` / ``ci_get_image_style`` /
``ci_delete_image_style``) live in one bucket document, ``styles``:
``{name: rule body}``; a body is validated by the grammar when it is added.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple

from aiohttp import web
from picops.constants import CI_MAX_STAGES
from picops.errors import GrammarError
from picops.grammar import Rule, parse

from .. import imaging
from ..cosxml import child_text, children, document, xml_response
from ..cosxml import parse as parse_xml
from ..errors import ERRORS, EmulatorError
from ..naming import check_key
from ..imaging.limits import check_input_bytes
from ..imaging.watermark_fetch import Fetch, bucket_fetcher
from ..storage import ObjectMeta
from .pic_operations import PicOperations, PicOperationsError, RuleRequest, parse_pic_operations
from .ratelimit import DEFAULT_QPS, RequestCeiling
from .seam import CiContext
from .upload_result import ProcessedObject, build_upload_result, location
from .work import ImageWork

log = logging.getLogger("picops_emulator.ci")

STYLES_DOC = "styles"
CONTENT_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "bmp": "image/bmp", "avif": "image/avif", "heif": "image/heif",
    "heic": "image/heic", "tiff": "image/tiff",
}


def _pool_size() -> int:
    return max(1, os.cpu_count() or 1)


def _read_if_exists(store, bucket: str, key: str) -> Optional[bytes]:
    """watermark/1's object reader: the bytes, or None when there is no such object."""
    try:
        return store.read_bytes(bucket, key)
    except EmulatorError as exc:
        if exc.code == "NoSuchKey":
            return None
        raise


class CiService:
    """The backend object the server calls for every CI request."""

    #: What this backend answers; the server refuses the rest (501) before storing anything,
    #: so a Complete Multipart Upload carrying Pic-Operations never commits half a job.
    operations = frozenset({"image_process", "put", "complete_multipart", "style"})
    #: What counts against the request-rate ceiling: persistent processing, not styles.
    rate_limited = frozenset({"image_process", "put", "complete_multipart"})

    def __init__(self, limits: Optional[imaging.Limits] = None,
                 workers: Optional[int] = None, *, qps: float = DEFAULT_QPS,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits or imaging.DEFAULT_LIMITS
        self.ceiling = RequestCeiling(qps, clock=clock)
        self.work = ImageWork(self.limits, workers or _pool_size())

    def close(self) -> None:
        self.work.close()

    async def handle(self, ctx: CiContext) -> web.StreamResponse:
        if ctx.operation in self.rate_limited:
            self._admit(ctx)
        if ctx.operation == "style":
            return await self._style(ctx)
        if ctx.operation in self.rate_limited:
            return await self._process(ctx)
        raise EmulatorError("NotImplemented",
                            f"Pic-Operations on {ctx.operation} is not supported by the picops "
                            f"emulator; use ci_image_process after the upload")

    def _admit(self, ctx: CiContext) -> None:
        """Raise SlowDown when the bucket's account is over the request-rate ceiling."""
        # A bucket is "<name>-<appid>" and CI's limit is per account: the APPID names it.
        account = ctx.bucket.rsplit("-", 1)[-1]
        if not self.ceiling.admit(account):
            raise EmulatorError("SlowDown", f"CI persistent processing ({ctx.operation} on "
                                            f"{ctx.bucket}/{ctx.key}) is over the request "
                                            f"rate of account {account}: the limit is "
                                            f"{self.ceiling.describe()} (-60949); retry "
                                            f"with backoff")

    # ------------------------------------------------------------------ processing
    async def _run(self, fn, *args):
        """A blocking store call, off the event loop (image work goes through ``work``)."""
        return await self.work.io_call(fn, *args)

    async def _process(self, ctx: CiContext) -> web.StreamResponse:
        store = ctx.store
        if ctx.stored is None:  # a missing source is NoSuchKey, whatever the header says
            await self._run(store.require_object, ctx.bucket, ctx.key)
        try:
            ops = parse_pic_operations(ctx.pic_operations, ctx.bucket, ctx.key)
        except PicOperationsError as exc:
            raise EmulatorError("InvalidPicOperations", exc.message) from None
        except GrammarError as exc:
            raise EmulatorError("InvalidArgument", exc.message) from None
        rules = [await self._resolve_styles(ctx, r) for r in ops.rules]
        for r in rules:  # every output key checked before any work, so none is half-written
            try:
                check_key(r.output_key)
            except EmulatorError as exc:
                raise EmulatorError(exc.code, f"Pic-Operations.rules[{r.index}].fileid "
                                              f"{r.fileid!r}: {exc.message}") from None
        for r in rules:
            if not await self._run(store.bucket_exists, r.bucket):
                raise EmulatorError("NoSuchBucket", f"Pic-Operations.rules[{r.index}].bucket: "
                                                    f"bucket {r.bucket!r} does not exist")

        try:
            async with self.work.request(ctx.request) as work:
                return await self._process_admitted(ctx, ops, rules, work)
        except imaging.ProcessingCancelled as exc:
            raise self._as_emulator_error(None, exc) from None

    async def _process_admitted(self, ctx: CiContext, ops: PicOperations,
                                rules: List[RuleRequest], work) -> web.StreamResponse:
        store = ctx.store
        source, data = await self._run(self._read_source, store, ctx.bucket, ctx.key)
        info = None
        if ops.is_pic_info:
            try:
                info = await work.run(self._probe, data)
            except imaging.ImagingError as exc:
                raise self._as_emulator_error(None, exc) from None
        # watermark/1 reads its image from the source's own bucket only (CI's rule).
        home = await self._run(store.get_bucket, ctx.bucket)
        fetch = bucket_fetcher(ctx.bucket, partial(_read_if_exists, store, ctx.bucket),
                               region=home.region)
        outputs = await asyncio.gather(*(work.run(self._execute, r, data, fetch)
                                         for r in rules),
                                       return_exceptions=True)
        for rule, out in zip(rules, outputs):
            if isinstance(out, BaseException):
                raise self._as_emulator_error(rule, out)
        if work.cancelled.is_set():  # the client left after the last rule: store nothing
            raise self._as_emulator_error(None, imaging.ProcessingCancelled(
                "the client went away before the outputs were stored"))

        objects: List[ProcessedObject] = []
        for rule, out in zip(rules, outputs):
            meta = await self._run(self._store_output, ctx, rule, out, source.generation)
            objects.append(ProcessedObject(
                bucket=rule.bucket, key=rule.output_key, format=out.format, width=out.width,
                height=out.height, size=out.size, quality=out.quality, etag=meta.etag,
                frame_count=out.frame_count))
        # When an output overwrote the source itself, CI reports the new ETag.
        current = await self._run(store.head_object, ctx.bucket, ctx.key)
        etag = current.etag if current is not None else source.etag
        if ctx.operation == "complete_multipart":
            # The multipart answer keeps what Complete says without processing (the SDK
            # requires its ETag: the completed upload's), then adds CI's results.
            assert ctx.stored is not None
            body = build_upload_result(
                bucket=ctx.bucket, region=ctx.region, key=ctx.key, etag=etag, image_info=info,
                objects=objects, root="CompleteMultipartUploadResult",
                lead=[("Location", location(ctx.bucket, ctx.region, ctx.key)),
                      ("Bucket", ctx.bucket), ("Key", ctx.key),
                      ("ETag", ctx.stored.quoted_etag)])
            response = xml_response(body)
            response.headers["x-cos-hash-crc64ecma"] = ctx.stored.crc64
            return response
        body = build_upload_result(bucket=ctx.bucket, region=ctx.region, key=ctx.key, etag=etag,
                                   image_info=info, objects=objects)
        return xml_response(body)

    def _read_source(self, store, bucket: str, key: str) -> Tuple[ObjectMeta, bytes]:
        """The source's metadata and body, of one and the same version.

        CI limits the file size, so an object over it is refused from its stored size,
        before a byte of it is read (a multi-GB object must not be pulled into memory
        just to be refused).
        """
        meta, body = store.open_object(bucket, key)
        with body:
            try:
                check_input_bytes(meta.size, self.limits)
            except imaging.ImagingError as exc:
                raise self._as_emulator_error(None, exc) from None
            return meta, body.read()

    def _probe(self, data: bytes, deadline: imaging.Deadline) -> imaging.ImageInfo:
        return imaging.probe(data, limits=self.limits, deadline=deadline)

    def _execute(self, rule: RuleRequest, data: bytes, fetch: Optional[Fetch],
                 deadline: imaging.Deadline):
        return imaging.execute(rule.rule, data, limits=self.limits, fetch=fetch,
                               deadline=deadline)

    def _store_output(self, ctx: CiContext, rule: RuleRequest, out, generation: int):
        return ctx.store.put_bytes(
            rule.bucket, rule.output_key, out.data,
            content_type=CONTENT_TYPES.get(out.format, "application/octet-stream"),
            generation=generation + 1, event_name="cos:ObjectCreated:Put", region=ctx.region,
            request_id=ctx.request_id)

    @staticmethod
    def _as_emulator_error(rule: Optional[RuleRequest], exc: BaseException) -> EmulatorError:
        where = f"Pic-Operations.rules[{rule.index}] ({rule.rule_text}): " if rule else ""
        if isinstance(exc, EmulatorError):
            return exc
        if isinstance(exc, imaging.ImagingError):
            code = exc.code if exc.code in ERRORS else "InvalidArgument"
            if isinstance(exc, imaging.ProcessingCancelled):
                log.info("CI processing stopped: %s%s", where, exc.message)
            hint = ""
            if isinstance(exc, (imaging.ProcessingLimitExceeded, imaging.ProcessingTimeout)):
                # a ceiling of this emulator, not of CI: say how a run raises it
                hint = f"; picops emulator --limit {exc.limit}=<value> raises it"
            return EmulatorError(code, where + exc.message + hint)
        log.error("CI processing crashed: %s%r", where, exc, exc_info=exc)
        return EmulatorError("InternalError", where + f"{type(exc).__name__}: {exc}")

    async def _resolve_styles(self, ctx: CiContext, rule: RuleRequest) -> RuleRequest:
        if not any(s.interface == "style" for s in rule.rule.stages):
            return rule
        styles: Dict[str, str] = await self._run(ctx.store.get_bucket_doc, ctx.bucket,
                                                 STYLES_DOC) or {}
        stages = []
        for stage in rule.rule.stages:
            if stage.interface != "style":
                stages.append(stage)
                continue
            body = styles.get(stage.style)
            if body is None:
                raise EmulatorError("NoSuchStyle", f"Pic-Operations.rules[{rule.index}].rule: "
                                                   f"style {stage.style!r} does not exist in "
                                                   f"bucket {ctx.bucket} (-60967)")
            stages.extend(parse(body).stages)
        if len(stages) > CI_MAX_STAGES:
            raise EmulatorError("InvalidArgument", f"Pic-Operations.rules[{rule.index}].rule: "
                                                   f"{len(stages)} stages once styles are "
                                                   f"expanded; CI allows at most {CI_MAX_STAGES}")
        return replace(rule, rule=Rule(stages=tuple(stages)))

    # ------------------------------------------------------------------ styles
    async def _style(self, ctx: CiContext) -> web.StreamResponse:
        body = ctx.body
        store = ctx.store
        styles: Dict[str, str] = await self._run(store.get_bucket_doc, ctx.bucket,
                                                 STYLES_DOC) or {}
        if ctx.method == "PUT":
            root = parse_xml(body, "AddStyle")
            name, rule_body = child_text(root, "StyleName"), child_text(root, "StyleBody")
            if not name or not rule_body:
                raise EmulatorError("InvalidArgument", "AddStyle needs StyleName and StyleBody")
            try:
                parse(rule_body)
            except GrammarError as exc:
                raise EmulatorError("InvalidArgument", f"StyleBody: {exc.message}") from None
            if name not in styles and len(styles) >= 100:
                raise EmulatorError("InvalidArgument", "a bucket holds at most 100 styles "
                                                       "(-60957)")
            styles[name] = rule_body
            await self._run(store.put_bucket_doc, ctx.bucket, STYLES_DOC, styles)
            return web.Response(status=200)
        if ctx.method == "GET":
            wanted = child_text(parse_xml(body, "GetStyle"), "StyleName") if body else None
            if wanted and wanted not in styles:
                raise EmulatorError("NoSuchStyle", f"style {wanted!r} does not exist")
            rows = [("StyleRule", [("StyleName", n), ("StyleBody", b)])
                    for n, b in sorted(styles.items()) if not wanted or n == wanted]
            return xml_response(document("StyleList", rows))
        if ctx.method == "DELETE":
            root = parse_xml(body, "DeleteStyle")
            names = [n.text or "" for n in children(root, "StyleName")]
            missing = [n for n in names if n not in styles]
            if missing:
                raise EmulatorError("NoSuchStyle", f"style {missing[0]!r} does not exist")
            for n in names:
                styles.pop(n)
            await self._run(store.put_bucket_doc, ctx.bucket, STYLES_DOC, styles)
            return web.Response(status=204)
        raise EmulatorError("MethodNotAllowed", f"{ctx.method} is not allowed on ?style")


__all__ = ["CiService", "PicOperations"]
