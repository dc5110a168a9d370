"""The emulator's image engine on libvips: bytes in, bytes out; no HTTP, no storage.

Public API::

    probe(data, *, limits=DEFAULT_LIMITS) -> ImageInfo     # OriginalInfo/ImageInfo facts
    execute(rule, data, *, limits=DEFAULT_LIMITS) -> Output # run a parsed CI rule

``rule`` is a :class:`picops.grammar.ast.Rule` (from ``picops.grammar.parse``), with bucket
styles already replaced by their rules. Failures raise the typed errors of ``errors.py``, each
with a CI ``code`` (no HTTP status: the server's error table maps codes to statuses) and a
message naming what was wrong; the CI layer turns them into the emulator's errors. The
engine is thread-safe and meant to run off the event loop (``loop.run_in_executor``).

Module map: ``source`` (safe open: ``sniff``/``heifcoding`` identify the codec, header-only
limits, lazy decode), ``canvas`` (working state), ``ops/`` (one module per operation family,
registered by interface and param), ``geometry`` and ``quality`` (pure arithmetic),
``formats`` and ``encode`` (output side), ``jpegquant``/``webpquant`` (quality estimation),
``watermark_fetch`` (where watermark/1 images come from), ``limits``, ``libvips`` (safe
settings).
"""

from .errors import (ImageResolutionExceed, ImageTooLarge, ImagingError, ImagingInternalError,
                     InvalidArgument, InvalidImageFormat, UnsupportedOperation)
from .limits import DEFAULT_LIMITS, Limits
from .pipeline import Output, execute
from .probe import ImageInfo, probe

__all__ = [
    "probe", "execute", "ImageInfo", "Output", "Limits", "DEFAULT_LIMITS",
    "ImagingError", "InvalidImageFormat", "ImageTooLarge", "ImageResolutionExceed",
    "InvalidArgument", "UnsupportedOperation", "ImagingInternalError",
]
