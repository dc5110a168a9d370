"""The emulator's one table of error codes, and the typed error every layer raises.

This module is the bottom of the emulator's layers (server -> cos -> ci, storage -> here):
it imports nothing of the emulator, and every layer may import it (as moto keeps a
service's exceptions in one module).

Contract:
- ``ERRORS`` maps a COS/CI error code to ``(HTTP status, default message)``. It is the only
  place a status is chosen for an error; nothing else hard-codes one. :func:`status_of` is
  the one way to read it, at the edges (``server.app`` for COS/CI answers, the console's
  JSON API); errors carry a code only (:class:`EmulatorError` has no status of its own, and
  neither do the image engine's errors, which know nothing of HTTP).
- Every layer (routing, auth, the COS handlers, the store, the CI backend) raises
  :class:`EmulatorError` with a code from the table; the server turns it into the XML body
  COS sends (``cosxml.error_body``). A code missing from the table is a programming error
  and fails loudly at construction.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

ERRORS: Dict[str, Tuple[int, str]] = {
    # 3xx/4xx on conditional requests (only NotModified has no body in practice)
    "NotModified": (304, "The object was not modified since the given condition."),
    # 400
    "InvalidArgument": (400, "Invalid argument."),
    "InvalidRequest": (400, "The request is not valid for this resource."),
    "InvalidBucketName": (400, "The specified bucket name is not valid."),
    "InvalidURI": (400, "The request URI could not be parsed."),
    "KeyTooLong": (400, "The object key is longer than 850 bytes."),
    "EntityTooLarge": (400, "The request body exceeds the maximum allowed size."),
    "EntityTooSmall": (400, "A part other than the last one is smaller than 1 MB."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found or their "
                         "ETag did not match."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order."),
    "MalformedXML": (400, "The XML you provided was not well-formed."),
    "RequestTimeout": (400, "Your socket connection to the server was not read from or "
                            "written to within the timeout period."),
    "MetadataTooLarge": (400, "User metadata exceeds the 2 KB limit."),
    # picops's own limit on a request header (picops.header_limits; UNCONFIRMED for COS)
    "RequestHeaderTooLarge": (400, "A request header is larger than the server accepts."),
    # POST Object (browser form upload)
    "MalformedPOSTRequest": (400, "The body of the POST request is not well-formed "
                                  "multipart/form-data."),
    "InvalidPolicyDocument": (400, "The policy of the POST Object form is not valid."),
    # CI (persistent image processing) codes, raised by the CI layer
    "InvalidPicOperations": (400, "The Pic-Operations header is not valid."),
    "InvalidImageFormat": (400, "The image format is not supported or the image is corrupt."),
    "InvalidImageSource": (400, "The image source is not valid."),
    "ImageTooLarge": (400, "The image is larger than the processing limit."),
    "ImageResolutionExceed": (400, "The image resolution exceeds the processing limit."),
    # The emulator's own per-request ceilings (imaging/limits.py; CI documents none): the
    # work is refused before it starts, or stopped at the deadline. Both 4xx: the same
    # input and rule would cost as much again, so a retry cannot help (decided).
    "ProcessingLimitExceeded": (400, "The image work would exceed the emulator's per-request "
                                     "ceiling."),
    "ProcessingTimeout": (400, "The image work exceeded the request's deadline."),
    # 403
    "AccessDenied": (403, "Access Denied."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                                   "signature you provided."),
    "InvalidAccessKeyId": (403, "The access key Id you provided does not exist."),
    "RequestTimeTooSkewed": (403, "The request time is outside the signature's valid window."),
    "NoProcessAuthority": (403, "No permission to process images in this bucket."),
    # 404
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, "The specified multipart upload does not exist."),
    "NoSuchStyle": (404, "The specified image style does not exist."),
    # 405 / 409 / 411 / 412 / 416
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "BucketAlreadyOwnedByYou": (409, "The bucket already exists and you own it."),
    "BucketAlreadyExists": (409, "The requested bucket name is not available."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "InvalidRange": (416, "The requested range is not satisfiable."),
    # The client closed the connection before the answer (nginx's 499); never delivered.
    "RequestCancelled": (499, "The client closed the request before it was answered."),
    # 5xx
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "NotImplemented": (501, "This operation is not implemented by the picops emulator."),
    "SlowDown": (503, "Please reduce your request rate."),
}


def status_of(code: str) -> int:
    """The HTTP status answered for ``code``; an unknown code is a 500 (a bug, not a 4xx)."""
    return ERRORS.get(code, ERRORS["InternalError"])[0]


class EmulatorError(Exception):
    """An error answered to the client as COS does: status from :data:`ERRORS`, XML body.

    ``message`` should name what was wrong and where (e.g. the parameter and its value);
    it defaults to the table's generic text. ``headers`` are extra response headers
    (e.g. ``Content-Range`` on a 416).
    """

    def __init__(self, code: str, message: Optional[str] = None, *,
                 headers: Optional[Dict[str, str]] = None):
        if code not in ERRORS:
            raise ValueError(f"error code {code!r} is not in the emulator's error table")
        default = ERRORS[code][1]
        super().__init__(f"{code}: {message or default}")
        self.code = code
        self.message = message or default
        self.headers: Dict[str, str] = dict(headers or {})


__all__ = ["ERRORS", "EmulatorError", "status_of"]
