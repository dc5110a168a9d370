"""Output format names: what the grammar may ask for and what the engine can write.

Pure tables, no libvips. Output formats are reported lower-case (``jpg``, ``png``, ...), as
CI's ``ProcessResults/Object/Format`` does; input codecs are upper-case (``sniff.py``).

Decisions (reference §5.5; UNCONFIRMED points noted):

* ``jpeg`` and ``yjpeg`` (Tencent's optimised JPEG, still a JPEG file) are written as ``jpg``;
  ``heic`` is the same request as ``heif``.
* ``heif``/``heic`` output is refused with a clear 400: the bundled libvips (pyvips-binary)
  decodes HEVC but has no HEVC encoder, and an AV1-coded file (really AVIF) labelled HEIF would
  be a wrong file. The same goes for a HEIF (HEVC) source with no ``/format/``: its default
  output would be HEIF. Ask for ``avif`` (or ``jpg``) instead. A HEIF file whose image is
  AV1-coded is an AVIF source (``sniff.py``), so its default output is AVIF.
* ``tpg`` (Tencent's proprietary codec), ``apng`` and ``psd`` have no encoder here: refused.
* ``bmp`` is written with Pillow (libvips has no BMP saver), 24-bit, alpha flattened on white.
* Animation survives only into ``gif`` and ``webp`` (CI: animated formats interconvert among
  GIF/WebP/TPG); every other output gets the first frame.
* Alpha survives into ``png``, ``webp``, ``gif`` (1-bit), ``avif`` and ``tiff``; ``jpg`` and
  ``bmp`` are flattened on white.
"""

from typing import Optional

# Grammar spelling -> canonical output format.
_ALIASES = {"jpeg": "jpg", "yjpeg": "jpg", "heic": "heif"}

WRITABLE = frozenset({"jpg", "png", "webp", "gif", "avif", "bmp", "tiff"})
ANIMATED = frozenset({"gif", "webp"})
LOSSY = frozenset({"jpg", "webp", "avif", "heif"})
NO_ALPHA = frozenset({"jpg", "bmp"})
HIGH_BIT_DEPTH = frozenset({"png", "tiff"})  # keep 16-bit samples; everything else gets 8

_REFUSED = {
    "heif": "cannot be written by the picops emulator: its libvips has no HEVC encoder "
            "(use format/avif or format/jpg)",
    "tpg": "cannot be written by the picops emulator: TPG is Tencent's proprietary codec",
    "apng": "cannot be written by the picops emulator: its libvips has no APNG encoder",
    "psd": "cannot be written by the picops emulator: it has no PSD encoder",
}

# Input codec -> the output format used when a rule does not say /format/.
SOURCE_DEFAULT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif",
                  "HEIF": "heif", "BMP": "bmp", "TIFF": "tiff"}


def canonical(fmt: str) -> str:
    fmt = fmt.lower()
    return _ALIASES.get(fmt, fmt)


def refusal(fmt: str) -> Optional[str]:
    """Why ``fmt`` cannot be written, or None when it can."""
    fmt = canonical(fmt)
    if fmt in WRITABLE:
        return None
    return _REFUSED.get(fmt, "is not an output format the picops emulator can write")


__all__ = ["WRITABLE", "ANIMATED", "LOSSY", "NO_ALPHA", "HIGH_BIT_DEPTH", "SOURCE_DEFAULT",
           "canonical", "refusal"]
