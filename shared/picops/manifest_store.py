"""Manifests and outputs in COS: read, write and delete them with the SDK client.

``client`` is a cos-python-sdk-v5 ``CosS3Client`` (from
:func:`picops.ci_client.make_cos_client`, or any equivalent). Every function
makes plain COS calls, one per object, and maps SDK failures to the typed
errors of :func:`picops.ci_client.classify` (``CloudError`` permanent,
``TransientCloudError`` retryable), with messages naming the object:

* :func:`read_manifest` -- one GET; None when there is no manifest (404);
  :class:`~picops.manifest.ManifestError` when there is one that cannot be read.
* :func:`read_trusted_manifest` -- the same, and refuses a manifest that is not
  the source's or lists what picops never deletes.
* :func:`write_manifest` / :func:`delete_manifest` -- one PUT / DELETE.
* :func:`delete_outputs` -- one DELETE per output, in order, one
  :class:`DeleteResult` each; an output that is already gone counts as deleted.
  With a ``budget`` (the seconds each DELETE may take, worked out again before
  each one), the outputs left when the budget says the time is up are not tried:
  their result is that error (``DeadlineExceeded``).
* :func:`object_exists` / :func:`head_object` -- one HEAD.

There are no retries here: a transient failure fails the record, and SCF runs
the event again; every step is safe to repeat. ``timeout`` (seconds) caps each
HTTP call when the client has picops' budget session, so manifest I/O never
outlasts the invocation.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence

import requests
from qcloud_cos.cos_exception import CosServiceError
from urllib3.exceptions import HTTPError as Urllib3Error

from .ci_client import SDK_ERRORS, capped_timeout, classify
from .errors import CloudError, ManifestError, PicopsError, TransientCloudError
from .etags import unquote_etag
from .headers import header
from .manifest import (Manifest, ManifestOutput, deletion_problems, dumps, loads,
                       manifest_key)

#: What manifests are stored as.
CONTENT_TYPE = "application/json"


class DeleteResult(NamedTuple):
    """One output's deletion: ``error`` is None when it is gone (now or before)."""

    output: ManifestOutput
    error: Optional[CloudError]

    @property
    def ok(self) -> bool:
        return self.error is None


def read_manifest(client: Any, bucket: str, source_key: str, prefix: str, *,
                  timeout: Optional[float] = None) -> Optional[Manifest]:
    """The manifest of ``source_key`` in ``bucket``, or None when there is none.

    Raises:
        ManifestError: the object exists but is not a valid manifest.
        CloudError / TransientCloudError: the GET failed (other than 404).
    """
    key = manifest_key(source_key, prefix)
    where = f"{bucket}/{key}"
    with capped_timeout(client, timeout):
        try:
            response = client.get_object(Bucket=bucket, Key=key)
            data = response["Body"].get_raw_stream().read()
        except SDK_ERRORS as e:
            if _not_found(e):
                return None
            raise _wrap(e, f"cannot read manifest {where}") from None
        except (requests.exceptions.RequestException, Urllib3Error, OSError) as e:
            raise TransientCloudError(f"cannot read manifest {where}: the body broke off ({e})",
                                   code="ReadFailed") from None
    return loads(data, where)


def read_trusted_manifest(client: Any, bucket: str, source_key: str, prefix: str, *,
                          timeout: Optional[float] = None) -> Optional[Manifest]:
    """:func:`read_manifest`, and the manifest checked to be safe to act on.

    Raises:
        ManifestError: unreadable, or not this source's, or listing an output
            picops never deletes (the source itself, anything under ``prefix``).
        CloudError / TransientCloudError: the GET failed.
    """
    manifest = read_manifest(client, bucket, source_key, prefix, timeout=timeout)
    if manifest is not None:
        problems = deletion_problems(manifest, bucket, source_key, prefix)
        if problems:
            raise ManifestError(f"manifest {bucket}/{manifest_key(source_key, prefix)} cannot "
                                f"be trusted: {'; '.join(problems)}; nothing was processed or "
                                f"deleted (fix or delete the manifest)")
    return manifest


def write_manifest(client: Any, bucket: str, manifest: Manifest, prefix: str, *,
                   timeout: Optional[float] = None) -> None:
    """Store ``manifest`` at its key in ``bucket`` (the source bucket), replacing any.

    Raises:
        CloudError / TransientCloudError: the PUT failed.
    """
    key = manifest_key(manifest.source_key, prefix)
    with capped_timeout(client, timeout):
        try:
            client.put_object(Bucket=bucket, Key=key, Body=dumps(manifest),
                              ContentType=CONTENT_TYPE)
        except SDK_ERRORS as e:
            raise _wrap(e, f"cannot write manifest {bucket}/{key}") from None


def delete_manifest(client: Any, bucket: str, source_key: str, prefix: str, *,
                    timeout: Optional[float] = None) -> None:
    """Delete the manifest of ``source_key``; one that is already gone is fine.

    Raises:
        CloudError / TransientCloudError: the DELETE failed.
    """
    key = manifest_key(source_key, prefix)
    error = _delete(client, bucket, key, timeout, what="manifest ")
    if error is not None:
        raise error


def delete_outputs(client: Any, outputs: Sequence[ManifestOutput], *,
                   timeout: Optional[float] = None,
                   budget: Optional[Callable[[], float]] = None) -> List[DeleteResult]:
    """Delete each output in order; one result per output.

    ``timeout`` caps every DELETE alike. ``budget``, when given instead, is called
    before each DELETE for the seconds that one may take (the time left shrinks as
    the deletes go); when it raises a :class:`CloudError` (``DeadlineExceeded``:
    the invocation's time is up), that output and every later one are not tried
    and carry that error as their result. Without a budget every output is tried.
    """
    results: List[DeleteResult] = []
    for i, o in enumerate(outputs):
        seconds = timeout
        if budget is not None:
            try:
                seconds = budget()
            except CloudError as e:
                results.extend(DeleteResult(rest, e) for rest in outputs[i:])
                break
        results.append(DeleteResult(o, _delete(client, o.bucket, o.key, seconds)))
    return results


def distinct_errors(results: Sequence[DeleteResult]) -> List[PicopsError]:
    """The errors of ``results``, each error object once (the outputs a budget ran out
    for share one ``DeadlineExceeded``)."""
    seen: List[PicopsError] = []
    for r in results:
        if r.error is not None and not any(r.error is e for e in seen):
            seen.append(r.error)
    return seen


def object_exists(client: Any, bucket: str, key: str, *,
                  timeout: Optional[float] = None) -> bool:
    """Does ``bucket`` hold ``key`` right now?

    Raises:
        CloudError / TransientCloudError: the HEAD failed (other than 404).
    """
    return head_object(client, bucket, key, timeout=timeout) is not None


def head_object(client: Any, bucket: str, key: str, *,
                timeout: Optional[float] = None) -> Optional[Dict[str, str]]:
    """The object's headers (user metadata included) from one HEAD; None when absent.

    Raises:
        CloudError / TransientCloudError: the HEAD failed (other than 404).
    """
    with capped_timeout(client, timeout):
        try:
            headers = client.head_object(Bucket=bucket, Key=key)
        except SDK_ERRORS as e:
            if _not_found(e):
                return None
            raise _wrap(e, f"cannot check {bucket}/{key}") from None
    return dict(headers) if isinstance(headers, dict) else {}


def etag_of(headers: Optional[Dict[str, str]], bucket: str, key: str) -> str:
    """The ETag (unquoted) in the answer of :func:`head_object` for ``bucket/key``.

    For a record without one (the SCF CLI's event templates carry no ``meta.ETag``):
    the manifest comparison needs it and a manifest never stores an empty one.

    Raises:
        CloudError: the object is gone (``NoSuchKey``, 404, permanent: deleted since
            the event), or the answer carried no ETag.
    """
    if headers is None:
        raise CloudError(f"cannot read the ETag of {bucket}/{key}: the object does not exist "
                         "(deleted since the event)", code="NoSuchKey", status=404)
    etag = unquote_etag(header(headers, "etag"))
    if not etag:
        raise CloudError(f"HEAD {bucket}/{key} answered without an ETag", code="MissingETag")
    return etag


# --- helpers ------------------------------------------------------------------------

def _not_found(exc: Exception) -> bool:
    return isinstance(exc, CosServiceError) and exc.get_status_code() == 404


def _delete(client: Any, bucket: str, key: str, timeout: Optional[float],
            what: str = "") -> Optional[CloudError]:
    with capped_timeout(client, timeout):
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except SDK_ERRORS as e:
            if _not_found(e):
                return None  # already gone: what we wanted
            return _wrap(e, f"cannot delete {what}{bucket}/{key}")
    return None


def _wrap(exc: Exception, what: str) -> CloudError:
    """The typed error for an SDK failure, its message led by what was being done."""
    err = classify(exc)
    return type(err)(f"{what}: {err.message}", code=err.code, status=err.status,
                     request_id=err.request_id)


__all__ = ["DeleteResult", "delete_manifest", "delete_outputs", "distinct_errors", "etag_of",
           "head_object",
           "object_exists",
           "read_manifest", "read_trusted_manifest", "write_manifest"]
