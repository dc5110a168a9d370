"""An upload's COS calls: the bytes go up with the first ``Pic-Operations`` call.

Used by :mod:`picops.upload`; ``client`` is a cos-python-sdk-v5 ``CosS3Client``.

* :func:`put_and_process`: one ``PUT`` carrying ``Pic-Operations`` (the SDK's
  ``ci_put_object``), for bodies up to the caller's multipart threshold.
* :func:`multipart_and_process`: Initiate Multipart Upload (with the object's
  metadata), Upload Part for each part, then Complete Multipart Upload carrying
  ``Pic-Operations``: COS processes the assembled object before answering, and
  the answer is ``CompleteMultipartUploadResult`` plus ``OriginalInfo`` and
  ``ProcessResults`` (see README, decisions).

Both retry transient failures with :func:`picops.ci_client.retrying` (the
function's backoff, attempts and deadline) and return a
:class:`~picops.ci_client.CallResult` plus the stored object's ETag.

Retrying is safe at every step: a PUT is sent again whole (the body is reopened);
a part is sent again; a Complete that failed transiently is sent again, unless the
object already holds the assembled upload (its ETag is the one the parts make),
in which case only the processing is asked again, as ``ci_image_process`` on the
stored object (the same rules give the same outputs). A multipart upload that
does not complete is aborted, so no parts are left behind.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from typing import IO, Any, Callable, Dict, Iterable, List, NamedTuple, Optional

from .ci_client import SDK_ERRORS, CallResult, call_result, capped_timeout, retrying
from .errors import PicopsError
from .manifest_store import head_object
from .etags import unquote_etag
from .routing import pic_operations_header

Clock = Callable[[], float]


class Uploaded(NamedTuple):
    """What the first call of an upload did: CI's results, and the object's ETag."""

    call: CallResult
    etag: str


def put_and_process(client: Any, bucket: str, key: str, open_body: Callable[[], IO[bytes]],
                    md5_hex: str, payload: dict, metadata: Dict[str, str], deadline: float, *,
                    clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                    jitter: Callable[[], float] = random.random) -> Uploaded:
    """PUT the body (``open_body()`` gives it from its start, once per attempt) with
    ``Content-MD5``, ``metadata`` and ``payload`` as ``Pic-Operations``.

    Raises:
        CloudError / TransientCloudError: as :func:`picops.ci_client.process`; an upload
            whose body differs from ``md5_hex`` is refused by COS (``BadDigest``).
    """
    header = pic_operations_header(payload)
    content_md5 = base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")

    def send(attempt: int) -> Any:
        with open_body() as body:
            return client.ci_put_object(Bucket=bucket, Key=key, Body=body, PicOperations=header,
                                        ContentMD5=content_md5, Metadata=metadata)

    (headers, data), attempts = retrying(client, send, f"the upload of {key!r}", deadline,
                                         clock=clock, sleep=sleep, jitter=jitter)
    return Uploaded(call_result(key, payload, headers, data, attempts), md5_hex)


def multipart_and_process(client: Any, bucket: str, key: str,
                          read_part: Callable[[int, int], bytes], size: int, part_size: int,
                          payload: dict, metadata: Dict[str, str], deadline: float, *,
                          clock: Clock = time.monotonic,
                          sleep: Callable[[float], None] = time.sleep,
                          jitter: Callable[[], float] = random.random) -> Uploaded:
    """Upload ``size`` bytes in parts of ``part_size`` (``read_part(offset, n)`` gives
    each), then complete with ``payload`` as ``Pic-Operations``.

    Raises:
        CloudError / TransientCloudError: as :func:`picops.ci_client.process`; the
            multipart upload is aborted first unless it completed.
    """
    retry = {"clock": clock, "sleep": sleep, "jitter": jitter}
    header = pic_operations_header(payload)
    created, _ = retrying(client, lambda _: client.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata=metadata), f"starting the upload of {key!r}",
        deadline, **retry)
    upload_id = created["UploadId"]
    try:
        digests: List[bytes] = []
        parts = []
        for number, offset in enumerate(range(0, size, part_size), 1):
            data = read_part(offset, min(part_size, size - offset))
            digest = hashlib.md5(data).digest()
            digests.append(digest)
            sent, _ = retrying(client, lambda _, n=number, d=data, m=digest: client.upload_part(
                Bucket=bucket, Key=key, Body=d, PartNumber=n, UploadId=upload_id,
                ContentMD5=base64.b64encode(m).decode("ascii")),
                f"part {number} of {key!r}", deadline, **retry)
            parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        assembled = multipart_etag(digests)

        def send(attempt: int) -> Any:
            if attempt > 1 and stored_etag(client, bucket, key) == assembled:
                # Completed by an earlier attempt whose processing failed: process only.
                return client.ci_image_process(Bucket=bucket, Key=key, PicOperations=header)
            done = client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Part": parts},
                PicOperations=header)
            return done, done  # the SDK merges the answer's headers and body in one dict

        (headers, data), attempts = retrying(client, send, f"completing the upload of {key!r}",
                                             deadline, **retry)
    except BaseException:
        _abort(client, bucket, key, upload_id)
        raise
    # Complete's own ETag when it answered; the assembled one when only processing was asked.
    etag = unquote_etag(data.get("ETag")) if isinstance(data, dict) else None
    return Uploaded(call_result(key, payload, headers, data, attempts), etag or assembled)


def multipart_etag(part_digests: Iterable[bytes]) -> str:
    """The ETag COS gives an object assembled from parts with these MD5 digests:
    the MD5 of the digests one after the other, ``-``, the number of parts."""
    digests = list(part_digests)
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def stored_etag(client: Any, bucket: str, key: str) -> Optional[str]:
    """The object's unquoted ETag, None when it is absent or cannot be read."""
    try:
        headers = head_object(client, bucket, key)
    except PicopsError:
        return None
    return unquote_etag(headers.get("ETag")) if headers is not None else None


def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    # Best effort: the upload may have completed (then it is gone) or COS may be down
    # (then its lifecycle rules, or a later abort, clean up the parts).
    with capped_timeout(client, 5.0):
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except SDK_ERRORS:
            pass


__all__ = ["Uploaded", "multipart_and_process", "multipart_etag", "put_and_process",
           "stored_etag"]
