"""Check that a TIFF's first image is all there, without decoding any pixels.

libvips (libtiff) is lenient where CI is not: a TIFF cut in half, or one whose header claims
30000x8000 over a few bytes of strip data, loads as a partly blank image of the claimed size.
The first image file directory (IFD) is read here instead (classic TIFF, either byte order;
BigTIFF never gets here: ``sniff`` refuses it, and a header that is not classic TIFF is a
problem here too) and its strips or tiles are checked:

* enough of them for the claimed size (``ceil(height / RowsPerStrip)`` strips, times the
  samples per pixel when planes are separate; one tile per grid cell);
* every one inside the file (offset + byte count <= file size): a cut file fails here;
* together at least as many bytes as the claimed pixels can be compressed into: exactly the
  raw size uncompressed, and at most 64:1 (PackBits: 2 bytes per run of 128), 1032:1
  (Deflate, zlib's ceiling) or 2048:1 (LZW, whose 12-bit table caps a run near 1300:1)
  otherwise. Codecs with no such ceiling (JPEG, CCITT, ...) get the first two checks only.

It also gives the decoded size of the largest strip or tile, which libtiff holds in memory
at once (``chunk_bytes``, used by the cost estimate). Never raises on malformed input.
"""

import struct
from dataclasses import dataclass
from typing import List, Optional

from .sniff import TIFF_MAGIC

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4}
_INT_FORMATS = {1: "B", 3: "H", 4: "I", 13: "I", 6: "b", 8: "h", 9: "i"}
WIDTH, HEIGHT, BITS, COMPRESSION, PHOTOMETRIC, SAMPLES, ROWS = 256, 257, 258, 259, 262, 277, 278
YCBCR = 6  # photometric: chroma may be subsampled, so raw sizes are not width x samples
STRIP_OFFSETS, STRIP_COUNTS, PLANAR = 273, 279, 284
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_COUNTS = 322, 323, 324, 325
# Compression code -> the most a codec can shrink raw pixels (see the module doc).
_MAX_RATIO = {1: 1, 32773: 64, 8: 1032, 32946: 1032, 5: 2048}


@dataclass(frozen=True)
class TiffLayout:
    width: int
    height: int
    chunk_bytes: int          # decoded bytes of the largest strip or tile
    problem: Optional[str]    # what is missing or inconsistent; None when complete


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        if data[:4] not in TIFF_MAGIC:
            raise ValueError(f"its header {data[:4]!r} is not a classic TIFF's")
        self.order = "<" if data[:2] == b"II" else ">"

    def unpack(self, fmt: str, pos: int, count: int = 1):
        size = struct.calcsize(self.order + fmt) * count
        if pos < 0 or pos + size > len(self.data):
            raise ValueError(f"the file is truncated: it needs byte {pos + size} and has "
                             f"{len(self.data)} bytes")
        values = struct.unpack_from(f"{self.order}{count}{fmt}", self.data, pos)
        return values[0] if count == 1 else values

    def first_ifd(self) -> int:
        return self.unpack("I", 4)

    def entries(self, ifd: int) -> dict:
        count = self.unpack("H", ifd)
        tags = {}
        for i in range(min(count, 4096)):
            at = ifd + 2 + i * 12  # 12-byte entries: tag, type, count, value or offset
            tag, kind = self.unpack("H", at), self.unpack("H", at + 2)
            tags[tag] = (kind, self.unpack("I", at + 4), at + 8)
        return tags

    def values(self, entry, limit: int) -> List[int]:
        """Up to ``limit`` integer values of an IFD entry."""
        kind, count, field = entry
        fmt = _INT_FORMATS.get(kind)
        if fmt is None:
            raise ValueError(f"TIFF field type {kind} is not an integer type")
        count = min(count, limit)
        if count == 0:
            return []
        size = _TYPE_SIZES[kind] * entry[1]
        pos = field if size <= 4 else self.unpack("I", field)  # inline up to 4 bytes
        values = self.unpack(fmt, pos, count)
        return list(values) if count > 1 else [values]


def scan_tiff(data: bytes) -> TiffLayout:
    """The first image's layout and what is wrong with it (see the module doc)."""
    try:
        return _scan(_Reader(data), len(data))
    except (ValueError, struct.error) as e:
        return TiffLayout(0, 0, 0, f"the TIFF's first directory cannot be read: {e}")


def _scan(r: _Reader, size: int) -> TiffLayout:
    tags = r.entries(r.first_ifd())

    def one(tag: int, default: Optional[int] = None) -> int:
        if tag not in tags:
            if default is None:
                raise ValueError(f"the TIFF's first directory has no tag {tag}")
            return default
        found = r.values(tags[tag], 1)
        if not found:
            raise ValueError(f"tag {tag} of the TIFF's first directory is empty")
        return found[0]

    width, height = one(WIDTH), one(HEIGHT)
    samples = one(SAMPLES, 1)
    bits = max(r.values(tags[BITS], 16) if BITS in tags else [1])
    compression = one(COMPRESSION, 1)
    planes = samples if one(PLANAR, 1) == 2 else 1
    per_chunk = samples // planes or 1
    if TILE_WIDTH in tags:
        tw, th = one(TILE_WIDTH), one(TILE_LENGTH)
        if tw <= 0 or th <= 0:
            return TiffLayout(width, height, 0, f"the TIFF's tiles are {tw}x{th}")
        across, down = -(-width // tw), -(-height // th)
        expected = across * down * planes
        row_bytes = -(-tw * per_chunk * bits // 8)
        chunk_bytes = row_bytes * th
        raw_total = chunk_bytes * expected
        what, offsets_tag, counts_tag = "tiles", TILE_OFFSETS, TILE_COUNTS
    else:
        rows = min(one(ROWS, height) or height, height)
        expected = -(-height // rows) * planes
        row_bytes = -(-width * per_chunk * bits // 8)
        chunk_bytes = row_bytes * rows
        raw_total = row_bytes * height * planes
        what, offsets_tag, counts_tag = "strips", STRIP_OFFSETS, STRIP_COUNTS
    layout = (width, height, chunk_bytes)
    if offsets_tag not in tags:
        return TiffLayout(*layout, f"the TIFF's first image lists no {what}")
    offsets = r.values(tags[offsets_tag], expected)
    if counts_tag in tags:
        counts = r.values(tags[counts_tag], expected)
    elif compression == 1 and what == "strips":
        # Old writers omit StripByteCounts; libtiff then computes them, and so do we.
        counts = [row_bytes * min(rows, height - (i % (expected // planes)) * rows)
                  for i in range(len(offsets))]
    else:
        counts = [0] * len(offsets)  # unknown sizes: each strip must at least start inside
    if min(len(offsets), len(counts)) < expected:
        return TiffLayout(*layout, f"the TIFF's first image ({width}x{height}) needs "
                                   f"{expected} {what} but lists {min(len(offsets), len(counts))}")
    end, i = max((o + max(c, 1), i) for i, (o, c) in enumerate(zip(offsets, counts)))
    if end > size:
        return TiffLayout(*layout, f"the TIFF is truncated: {what[:-1]} {i} ends at byte {end}, "
                                   f"past the end of the file ({size} bytes)")
    ratio = None if one(PHOTOMETRIC, 2) == YCBCR else _MAX_RATIO.get(compression)
    if counts_tag not in tags:
        ratio = None
    stored = sum(counts)
    if ratio is not None and stored * ratio < raw_total:
        return TiffLayout(*layout, _lying(width, height, what, stored, raw_total, ratio))
    return TiffLayout(*layout, None)


def _lying(width: int, height: int, what: str, stored: int, raw: int, ratio: int) -> str:
    how = "uncompressed" if ratio == 1 else f"compressed at most {ratio}:1"
    return (f"the TIFF is truncated or its header lies: it claims {width}x{height} "
            f"({raw} bytes of pixels, {how}) but its {what} hold {stored} bytes")


__all__ = ["TiffLayout", "scan_tiff"]
