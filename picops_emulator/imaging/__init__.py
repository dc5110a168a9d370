"""The emulator's image engine on libvips: bytes in, bytes out; no HTTP, no storage.

Public API::

    probe(data, *, limits=DEFAULT_LIMITS, deadline=None) -> ImageInfo   # OriginalInfo facts
    execute(rule, data, *, limits=DEFAULT_LIMITS, fetch=None, deadline=None) -> Output

``rule`` is a :class:`picops.grammar.ast.Rule` (from ``picops.grammar.parse``), with bucket
styles already replaced by their rules. Failures raise the typed errors of ``errors.py``, each
with a CI ``code`` (no HTTP status: the server's error table maps codes to statuses) and a
message naming what was wrong; the CI layer turns them into the emulator's errors. The
engine is thread-safe and meant to run off the event loop (``loop.run_in_executor``).

Module map: ``source`` (safe open: ``sniff``/``heifcoding`` identify the codec, header-only
limits, ``gifscan``/``jpegscan``/``tiffscan`` structure checks, lazy decode), ``canvas``
(working state), ``ops/`` (one module per operation family, registered by interface and
param), ``geometry`` and ``quality`` (pure arithmetic), ``formats`` and ``encode`` (output
side), ``jpegquant``/``webpquant`` (quality estimation), ``watermark_fetch`` (where
watermark/1 images come from), ``limits`` (CI's limits and the emulator's ceilings),
``cost`` and ``budget`` (memory estimates, deadline, cancel), ``libvips`` (safe settings).

Hostile input: every job (one ``execute`` or ``probe``) has a memory ceiling its decoders and
in-memory copies are reserved from *before* they are made, and a ``Deadline`` (shared by a
request's jobs, and its cancel switch) checked between steps and inside libvips.
"""

from .budget import Deadline
from .errors import (ImageResolutionExceed, ImageTooLarge, ImagingError, ImagingInternalError,
                     InvalidArgument, InvalidImageFormat, ProcessingCancelled,
                     ProcessingLimitExceeded, ProcessingTimeout, UnsupportedOperation)
from .limits import DEFAULT_LIMITS, Limits
from .pipeline import Output, execute
from .probe import ImageInfo, probe

__all__ = [
    "probe", "execute", "ImageInfo", "Output", "Limits", "DEFAULT_LIMITS",
    "ImagingError", "InvalidImageFormat", "ImageTooLarge", "ImageResolutionExceed",
    "InvalidArgument", "UnsupportedOperation", "ImagingInternalError",
    "ProcessingLimitExceeded", "ProcessingTimeout", "ProcessingCancelled", "Deadline",
]
