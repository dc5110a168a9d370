"""Identify an input's codec from its leading bytes and boxes (pure, no libvips).

The engine trusts these magic numbers, not file names or Content-Type, and uses the answer to
pick exactly one decoder, so content libvips could otherwise detect (SVG, CSV, matrix, VIPS)
is refused as an unsupported format.

Codec names are CI's upper-case ``ImageInfo/Format`` spellings: JPEG, PNG, GIF, WEBP, AVIF,
HEIF, BMP, TIFF. AVIF vs HEIF goes by the coding of the primary image when the file states
it (``heifcoding.py``: ``av1`` -> AVIF, ``hevc`` -> HEIF), else by the ISO-BMFF brands.
Decided (CI's answer for an AV1 image in a ``mif1``-branded HEIF file is UNCONFIRMED): such a
file is AVIF, in what is reported and in its default output format, because that is what
its pixels are and what the engine can write back.

BigTIFF (``II+\0`` / ``MM\0+``: TIFF with 64-bit offsets, made for files over 4 GB) is not
accepted: CI documents TIFF among its input formats but never BigTIFF, and its input limit
(32 MB) is far below what a classic TIFF addresses, so no input CI takes needs it. Decided
(UNCONFIRMED for CI), the stricter way: :func:`refusal` names it, so the error says what the
file is and what to do, and ``tiffscan`` reads classic TIFF only.
"""

from typing import Optional

from .heifcoding import heif_coding

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
                b"mif1", b"msf1"}
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")       # classic TIFF, little / big endian
BIGTIFF_MAGIC = (b"II+\x00", b"MM\x00+")    # BigTIFF (refused: module doc)
# BITMAPCOREHEADER .. BITMAPV5HEADER sizes; anything else after "BM" is not a BMP.
_BMP_DIB_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff(data: bytes) -> Optional[str]:
    """The codec of ``data`` (see module doc), or None when it is none we accept."""
    head = data[:32]
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _isobmff(data)
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in \
            _BMP_DIB_SIZES:
        return "BMP"
    if head[:4] in TIFF_MAGIC:
        return "TIFF"
    return None


def refusal(data: bytes) -> Optional[str]:
    """Why ``data`` is refused when it is a format recognised and refused on purpose (see
    the module doc), or None (then it is simply no image format the engine reads)."""
    if data[:4] in BIGTIFF_MAGIC:
        return ("input is a BigTIFF (a TIFF with 64-bit offsets, for files over 4 GB), which "
                "CI does not document as an input format: save it as a classic TIFF "
                "(libvips: tiffsave without bigtiff; libtiff: tiffcp without -8)")
    return None


def _isobmff(data: bytes) -> Optional[str]:
    size = int.from_bytes(data[0:4], "big")
    box = data[8:min(max(size, 16), 256)]
    brands = {box[0:4]} | {box[i:i + 4] for i in range(8, len(box) - 3, 4)}
    if not brands & (_AVIF_BRANDS | _HEIF_BRANDS):
        return None  # another ISO-BMFF file (MP4, ...)
    coding = heif_coding(data)
    if coding is not None:
        return "AVIF" if coding == "av1" else "HEIF"
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return None


__all__ = ["sniff", "refusal", "TIFF_MAGIC", "BIGTIFF_MAGIC"]
