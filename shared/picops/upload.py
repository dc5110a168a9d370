"""Processing on upload: send a file to COS with its route's rules, get the derivatives back.

The function processes an object after it is stored (``ci_image_process``). An
application that uploads users' images itself can instead send the route's
rules with the upload (``ci_put_object``): the derivatives exist when the call
returns, errors reach the uploader at once, and no function invocation is paid
for. Same config, same routes, same outputs, same manifest as the function::

    from picops.config import load_config
    from picops.upload import upload

    result = upload(load_config("picops.yaml"), client, "uploads-1250000000",
                    "uploads/cat.jpg", "cat.jpg")          # a path, or bytes
    result.outputs      # as in the function's outcome line: key, bucket, format, ...

Contract of :meth:`Uploader.upload` (and :func:`upload`):

* Keys the function would skip are not uploaded: the outcome is ``skipped`` with
  the function's reason (``folder_marker``, ``empty_object``, ``manifest_object``,
  ``loop_guard``, ``no_route``).
* Refused before anything is sent, like the function refuses them: an output key
  the rules cannot write (``InvalidOutputKey``) or that loop safety refuses
  (``LoopRefused``), a manifest that cannot be read or trusted (``InvalidManifest``).
* The first call carries the bytes and the first batch of at most 5 rules as
  ``Pic-Operations``: a ``PUT`` up to ``multipart_threshold`` bytes, above it a
  multipart upload whose Complete carries them (:mod:`picops.upload_transfer`).
  The other batches go as ``ci_image_process`` on the stored object. Transient
  failures are retried with the function's backoff within ``timeout`` seconds.
* The object carries the processed-on-upload mark (:mod:`picops.mark`), so the
  trigger that fires for it skips it (``processed_on_upload``) without a CI call.
* Success: the function's own last step (:func:`picops.create.process_until_settled`:
  one HEAD of the object, then outputs an older manifest lists, then the manifest,
  written with the stored object's ETag; an object another client overwrote
  meanwhile is processed again for its current ETag, one deleted meanwhile loses its
  outputs, as in the function),
  and the outcome is ``processed`` with the fields of the
  function's outcome line (``outputs``, ``original`` when ``pic_info``,
  ``ci_request_id``, ``manifest`` ...), ``event_name`` ``picops:upload``.
* Failure (a rule CI refuses, a call that kept failing, a manifest that could not
  be written): the upload fails whole. What it wrote is deleted again: its
  outputs, and the object itself while it still holds this upload's bytes (a
  failed upload never leaves a marked object whose derivatives do not exist);
  no manifest is written. The outcome is ``failed`` with the CI error (what the
  rollback deleted is its ``deleted``), and :func:`upload` raises that error
  (from :mod:`picops.errors`: a ``CloudError`` with CI's ``code``, ``status`` and
  ``retryable``), the outcome as its ``outcome`` attribute.

The outcome is the function's :class:`~picops.outcome.RecordOutcome`
(``to_line()`` gives the line); it is also logged when a ``logger`` is given.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import time
from typing import IO, Any, Callable, Dict, List, Optional, Union

from . import ci_client, mark, routing, upload_transfer
from .constants import CALL_TIMEOUT_S
from .create import Source, process_until_settled, send_calls
from .errors import PicopsError
from .handler import log_outcome
from .logs import JsonLogger
from .manifest import ManifestOutput, manifest_key, rules_hash
from .manifest_store import DeleteResult, delete_outputs, read_trusted_manifest
from .model import Config
from .outcome import Outcome, RecordOutcome, SkipReason
from .services import Services

#: Bodies above this many bytes go as a multipart upload (Complete carries the rules).
DEFAULT_MULTIPART_THRESHOLD = 16 * 1024 * 1024
#: Part size of a multipart upload; COS wants every part but the last >= 1 MiB.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 1024 * 1024
#: Seconds one upload may take in all (calls, retries, manifest), like a function timeout.
DEFAULT_TIMEOUT_S = 120.0
#: The ``event_name`` of an upload's outcome line.
UPLOAD_EVENT_NAME = "picops:upload"
#: Bytes read at a time when hashing a file.
_CHUNK = 1024 * 1024

Body = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


class _Source:
    """The bytes to upload: in memory or in a file, read again for each attempt."""

    def __init__(self, body: Body):
        if isinstance(body, (bytes, bytearray, memoryview)):
            self._data: Optional[bytes] = bytes(body)
            self._path = None
            self.size = len(self._data)
            self.md5 = hashlib.md5(self._data).hexdigest()
        else:
            self._data, self._path = None, os.fspath(body)
            digest = hashlib.md5()
            with open(self._path, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(chunk)
                self.size = f.tell()
            self.md5 = digest.hexdigest()

    def open(self) -> IO[bytes]:
        if self._data is not None:
            return io.BytesIO(self._data)
        return open(self._path, "rb")

    def read(self, offset: int, n: int) -> bytes:
        if self._data is not None:
            return self._data[offset:offset + n]
        with open(self._path, "rb") as f:
            f.seek(offset)
            return f.read(n)


class Uploader:
    """Uploads with processing, for one config and one SDK client. Like the SDK's
    client, one Uploader per thread."""

    def __init__(self, config: Config, client: Any, *, logger: Optional[JsonLogger] = None,
                 multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
                 part_size: int = DEFAULT_PART_SIZE,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 wall: Callable[[], float] = time.time):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size {part_size} is below COS's minimum of "
                             f"{MIN_PART_SIZE} bytes")
        self.config = config
        self.client = client
        self.log = logger
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.services = Services(config, {}, client_factory=lambda env, region: client,
                                 clock=clock, sleep=sleep, jitter=jitter, wall=wall)

    def upload(self, bucket: str, key: str, body: Body, *,
               timeout: float = DEFAULT_TIMEOUT_S) -> RecordOutcome:
        """Upload ``body`` (bytes, or a file's path) as ``key`` of ``bucket``, processed by
        its route's rules; its outcome (see the module docstring), logged when the
        Uploader has a logger. Never raises for the upload's own failures (they are the
        outcome); raises OSError when a file cannot be read."""
        svc = self.services
        t0 = svc.clock()
        deadline = t0 + timeout
        data = _Source(body)
        head: Dict[str, Any] = {"bucket": bucket, "key": key, "event_name": UPLOAD_EVENT_NAME,
                                "size": data.size}
        reason = routing.skip_reason(self.config, bucket, key, data.size)
        if reason is not None:
            route = routing.match(self.config, key) if reason != SkipReason.NO_ROUTE else None
            return self._done(t0, RecordOutcome(Outcome.SKIPPED, reason=reason,
                                                route=route.prefix if route else None, **head))
        plan = routing.plan(self.config, bucket, key)
        outcome = RecordOutcome(Outcome.PROCESSED, route=plan.route.prefix, outputs=[], **head)
        if plan.rejected:  # refused before a byte is sent
            outcome.fail(plan.refusals())
            return self._done(t0, outcome)
        digest = rules_hash(plan.route)
        settings = self.config.manifests
        old = None
        if settings.enabled:
            outcome.manifest = manifest_key(key, settings.prefix)
            try:
                old = read_trusted_manifest(self.client, bucket, key, settings.prefix,
                                            timeout=svc.io_timeout(deadline))
            except PicopsError as e:
                outcome.fail([e])
                return self._done(t0, outcome)
        uploaded: List[upload_transfer.Uploaded] = []

        def first() -> ci_client.CallResult:
            done = self._send(bucket, key, data, plan.calls[0],
                              mark.metadata(digest, bucket, key), deadline)
            uploaded.append(done)
            return done.call

        source = Source(bucket, key, "", "")
        send_calls(svc, source, plan, deadline, outcome, first=first)
        source.etag = uploaded[0].etag if uploaded else self._etag_if_stored(data)
        outcome.source_etag = source.etag
        if outcome.outcome == Outcome.PROCESSED and settings.enabled:
            # As the function does: the manifest names this upload's ETag only if the
            # object still has it after the calls (another client may have overwritten
            # or deleted it meanwhile; picops.create, "Races").
            process_until_settled(svc, source, plan, digest, old, outcome, deadline,
                                  sent=True)
        if outcome.outcome == Outcome.FAILED:
            outcome.deleted = self._roll_back(bucket, key, source.etag, outcome.outputs)
            outcome.outputs = []
        return self._done(t0, outcome)

    # --- steps ---------------------------------------------------------------------------

    def _send(self, bucket: str, key: str, data: _Source, payload: dict,
              metadata: Dict[str, str], deadline: float) -> upload_transfer.Uploaded:
        svc = self.services
        retry = {"clock": svc.clock, "sleep": svc.sleep, "jitter": svc.jitter}
        if data.size > self.multipart_threshold:
            return upload_transfer.multipart_and_process(
                self.client, bucket, key, data.read, data.size, self.part_size, payload,
                metadata, deadline, **retry)
        return upload_transfer.put_and_process(self.client, bucket, key, data.open, data.md5,
                                               payload, metadata, deadline, **retry)

    def _etag_if_stored(self, data: _Source) -> str:
        """The ETag this upload's object has if it was stored although its first call
        failed (COS stores the bytes before it processes them)."""
        if data.size > self.multipart_threshold:
            return upload_transfer.multipart_etag(
                hashlib.md5(data.read(offset, self.part_size)).digest()
                for offset in range(0, data.size, self.part_size))
        return data.md5

    def _roll_back(self, bucket: str, key: str, etag: str,
                   outputs: List[Dict[str, Any]]) -> List[DeleteResult]:
        """Delete what a failed upload wrote: its outputs, then the object while it holds
        this upload (never a later upload of the same key)."""
        # Past the deadline too: leaving a marked object without derivatives is worse.
        written = [ManifestOutput.from_result(o) for o in outputs]
        if upload_transfer.stored_etag(self.client, bucket, key) == etag:
            written.append(ManifestOutput(bucket, key, etag, "", None, None, None))
        return delete_outputs(self.client, written, timeout=CALL_TIMEOUT_S)

    def _done(self, t0: float, outcome: RecordOutcome) -> RecordOutcome:
        outcome.duration_ms = round((self.services.clock() - t0) * 1000.0, 1)
        if self.log is not None:
            log_outcome(self.log, outcome)
        return outcome


def upload(config: Config, client: Any, bucket: str, key: str, body: Body, *,
           timeout: float = DEFAULT_TIMEOUT_S, logger: Optional[JsonLogger] = None,
           multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
           part_size: int = DEFAULT_PART_SIZE) -> RecordOutcome:
    """Upload with processing (see the module docstring); the outcome when it was
    processed or skipped.

    Raises:
        PicopsError: it failed: the outcome's first error (a rule CI refused: a
            ``CloudError`` with CI's code, e.g. ``InvalidImageFormat``; retryable ones
            first), with the failed outcome as its ``outcome`` attribute.
    """
    outcome = Uploader(config, client, logger=logger, multipart_threshold=multipart_threshold,
                       part_size=part_size).upload(bucket, key, body, timeout=timeout)
    error = outcome.error
    if error is not None:
        error.outcome = outcome  # type: ignore[attr-defined]
        raise error
    return outcome


__all__ = ["Body", "DEFAULT_MULTIPART_THRESHOLD", "DEFAULT_PART_SIZE", "DEFAULT_TIMEOUT_S",
           "UPLOAD_EVENT_NAME", "Uploader", "upload"]
