"""Typed errors of the image engine, each carrying what the CI layer needs to answer.

Every error has a CI-style ``code`` (the ``<Code>`` of the XML error body) and, where
the CI documentation gives one, the CI numeric error number ``ci_errno``, which is also
written into the message so that a user who only sees ``<Message>`` can look it up. The
engine never speaks HTTP and carries no status: the CI layer turns these into the
emulator's errors by code, and the server's edge maps a code to its status in the one
table (``picops_emulator.errors.ERRORS``; the statuses below are what that table says).

    ImagingError                    (a PicopsError)
    ├── InvalidImageFormat          400  corrupt, truncated, empty, non-image, unsupported input
    ├── ImageTooLarge               400  input larger than the byte limit (32 MB)
    ├── ImageResolutionExceed       400  input/output sides, pixels or frames over the limits
    ├── InvalidArgument             400  valid grammar, but the value cannot apply to this image
    │   └── UnsupportedOperation    400  valid grammar the emulator does not execute (yet)
    ├── ProcessingLimitExceeded          over one of the emulator's own ceilings (memory
    │                                    estimate, JPEG scans), refused before the work
    ├── ProcessingTimeout                the request's deadline passed; the work was stopped
    ├── ProcessingCancelled              the caller cancelled (its client went away)
    └── ImagingInternalError        500  libvips failed on an input that decodes cleanly (a bug)

The three ``Processing*`` errors carry no status: the CI layer's edge maps their codes.
"""

from typing import Optional

from picops.errors import PicopsError

# CI numeric error numbers (reference cos-ci-scf.md §4.5).
ERRNO_INVALID_PARAMETER = -60998
ERRNO_TOO_LARGE = -60996
ERRNO_INVALID_FORMAT = -62999
ERRNO_OUTPUT_SIDE = -442      # download-side "image size over limit (<= 9 999 px)"
ERRNO_RESOLUTION = -447       # download-side "resolution / frame limit"


class ImagingError(PicopsError):
    """Base of the image engine's errors."""

    code = "InternalError"
    ci_errno: Optional[int] = None

    def __init__(self, message: str, ci_errno: Optional[int] = None):
        if ci_errno is not None:
            self.ci_errno = ci_errno
        if self.ci_errno is not None:
            message = f"{message} (CI error {self.ci_errno})"
        super().__init__(message)

    def to_dict(self) -> dict:
        d = super().to_dict()
        if self.ci_errno is not None:
            d["ci_errno"] = self.ci_errno
        return d


class InvalidImageFormat(ImagingError):
    """The input is not an image the engine can decode: empty, truncated, corrupt or unknown."""

    code = "InvalidImageFormat"
    ci_errno = ERRNO_INVALID_FORMAT


class ImageTooLarge(ImagingError):
    """The input is larger than the byte limit for processing."""

    code = "ImageTooLarge"
    ci_errno = ERRNO_TOO_LARGE


class ImageResolutionExceed(ImagingError):
    """A side, the pixel count or the frame count of the input or output is over a limit."""

    code = "ImageResolutionExceed"
    ci_errno = ERRNO_RESOLUTION


class InvalidArgument(ImagingError):
    """A parameter the grammar accepts whose value cannot apply to this image."""

    code = "InvalidArgument"
    ci_errno = ERRNO_INVALID_PARAMETER


class UnsupportedOperation(InvalidArgument):
    """An operation or value CI accepts that the emulator does not execute.

    Raised instead of producing a wrong image or silently skipping the operation.
    ``operation`` names it the way a rule writes it, e.g. ``imageMogr2/blur``.
    """

    def __init__(self, operation: str, reason: str = "is not supported by the picops emulator yet"):
        self.operation = operation
        super().__init__(f"{operation} {reason}")


class ProcessingLimitExceeded(ImagingError):
    """The job would go over one of the emulator's per-request ceilings (``limits.py``).

    Raised from an estimate made from headers and parameters, before the work it refuses.
    ``limit`` names the :class:`~.limits.Limits` field, so a caller can say what to raise.
    """

    code = "ProcessingLimitExceeded"

    def __init__(self, message: str, limit: str):
        self.limit = limit
        super().__init__(f"{message} (the emulator's limit {limit})")


class ProcessingTimeout(ImagingError):
    """The request's image work ran past its deadline (``limits.max_request_seconds``) and
    was stopped. Not retryable: the same input and rule would take as long again."""

    code = "ProcessingTimeout"
    limit = "max_request_seconds"  # the Limits field that was reached (as ProcessingLimitExceeded)


class ProcessingCancelled(ImagingError):
    """The caller cancelled the work (the HTTP client went away); nobody reads the answer."""

    code = "RequestCancelled"


class ImagingInternalError(ImagingError):
    """libvips failed although the input decodes cleanly: a bug in the engine, not in the input."""

    code = "InternalError"


__all__ = [
    "ImagingError", "InvalidImageFormat", "ImageTooLarge", "ImageResolutionExceed",
    "InvalidArgument", "UnsupportedOperation", "ProcessingLimitExceeded", "ProcessingTimeout",
    "ProcessingCancelled", "ImagingInternalError", "ERRNO_INVALID_PARAMETER", "ERRNO_TOO_LARGE",
    "ERRNO_INVALID_FORMAT", "ERRNO_OUTPUT_SIDE", "ERRNO_RESOLUTION",
]
