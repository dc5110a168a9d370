"""Read a JPEG's structure without decoding it: frame header, first scan, scan count.

Two hostile kinds of JPEG decode cheaply in bytes and expensively in work, and libjpeg (as
libvips drives it) accepts both:

* **Repeated scans.** A progressive JPEG may hold thousands of scans, each a few bytes of
  entropy data, and the decoder walks the whole coefficient buffer once per scan. The scan
  count is counted here, so it can be capped before decoding (``limits.max_jpeg_scans``).
* **A lying frame header.** A header claiming 30000x8000 over a few bytes of entropy data
  decodes, with only a warning libvips does not treat as truncation, to a grey image of
  the claimed size. Every block of the first scan costs at least one Huffman code (a
  progressive DC scan) or two (a sequential scan: the DC difference and at least one AC
  code, if only EOB), so the bytes after the first scan's header must hold at least that
  many bits: :func:`scan_problem` says when they cannot.

The walk reads the marker segments from SOI up to the first SOS (where entropy-coded data
starts); scans are counted as ``FF DA`` byte pairs from there on, which is exact because in
entropy-coded data a ``FF`` byte is always followed by ``00`` (stuffing) or a marker. Only
multi-scan files are counted (progressive, or a first scan without every component):
libjpeg decodes a single-scan file from its first scan and never reads another.
Never raises on malformed input: what it cannot read is reported as missing.
"""

import re
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

SOS, EOI = 0xDA, 0xD9
_SOF_SEQUENTIAL = {0xC0, 0xC1}            # baseline, extended sequential (Huffman)
_SOF_PROGRESSIVE = {0xC2}                 # progressive (Huffman)
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}  # lossless, arith.
_STANDALONE = {0x01, 0xD8} | set(range(0xD0, 0xD8))  # markers without a length field
_SOS_PATTERN = re.compile(b"\xff\xda")  # re counts ~3x faster than bytes.count here


@dataclass(frozen=True)
class Component:
    ident: int
    h: int          # horizontal sampling factor
    v: int          # vertical sampling factor


@dataclass(frozen=True)
class JpegLayout:
    """What the headers say, up to and including the first scan header."""

    sof: int                       # the SOFn marker byte (0xC0, 0xC2, ...)
    width: int
    height: int
    components: Tuple[Component, ...]
    first_scan: Tuple[int, ...]    # component ids of the first scan
    first_ss: int                  # spectral start of the first scan (0: it holds DC)
    entropy_start: int             # offset of the first scan's entropy-coded data
    scans: int                     # SOS markers from the first one on

    @property
    def progressive(self) -> bool:
        return self.sof in _SOF_PROGRESSIVE

    @property
    def huffman(self) -> bool:
        return self.sof in _SOF_SEQUENTIAL or self.sof in _SOF_PROGRESSIVE

    def blocks(self, ids: Optional[Tuple[int, ...]] = None) -> int:
        """8x8 blocks of the components ``ids`` (all by default), without MCU padding."""
        hmax = max(c.h for c in self.components)
        vmax = max(c.v for c in self.components)
        total = 0
        for c in self.components:
            if ids is not None and c.ident not in ids:
                continue
            cw = -(-self.width * c.h // hmax)
            ch = -(-self.height * c.v // vmax)
            total += -(-cw // 8) * -(-ch // 8)
        return total

    def coefficient_bytes(self) -> int:
        """Memory libjpeg holds for the whole-image coefficient buffer of a multi-scan file
        (progressive, or sequential with several scans): 64 16-bit values per block, MCU
        padding included."""
        hmax = max(c.h for c in self.components)
        vmax = max(c.v for c in self.components)
        mcus = -(-self.width // (8 * hmax)) * -(-self.height // (8 * vmax))
        return mcus * sum(c.h * c.v for c in self.components) * 64 * 2


def header_segments(data: bytes) -> Iterator[Tuple[int, int, bytes]]:
    """(marker, offset, body) of each marker segment from SOI up to and including the first
    SOS (its body is the scan header); stops quietly at EOI or at what it cannot read."""
    if data[:2] != b"\xff\xd8":
        return
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == EOI:
            return
        length = (data[pos + 2] << 8) | data[pos + 3]
        end = pos + 2 + length
        if length < 2 or end > n:
            return
        yield marker, pos, data[pos + 4:end]
        if marker == SOS:
            return
        pos = end


def read_layout(data: bytes) -> Optional[JpegLayout]:
    """The frame and first-scan facts, or None when the headers do not reach a scan."""
    sof = None
    for marker, pos, body in header_segments(data):
        if marker in _SOF_SEQUENTIAL | _SOF_PROGRESSIVE | _SOF_OTHER and len(body) >= 6:
            count = body[5]
            raw = body[6:6 + 3 * count]
            if len(raw) < 3 * count or count == 0:
                return None
            comps = tuple(Component(raw[i], max(raw[i + 1] >> 4, 1), max(raw[i + 1] & 15, 1))
                          for i in range(0, 3 * count, 3))
            sof = (marker, (body[3] << 8) | body[4], (body[1] << 8) | body[2], comps)
        elif marker == SOS:
            if sof is None or not body:
                return None
            ids = tuple(body[1 + 2 * i] for i in range(body[0]) if 1 + 2 * i < len(body))
            ss = body[1 + 2 * body[0]] if 1 + 2 * body[0] < len(body) else 0
            start = pos + 4 + len(body)
            multi = sof[0] in _SOF_PROGRESSIVE or len(set(ids)) < len(sof[3])
            # A single-scan file (all components in its first scan, not progressive) is
            # decoded from that scan alone; counting is a pass over the file, so skip it.
            scans = 1 + sum(1 for _ in _SOS_PATTERN.finditer(data, start)) if multi else 1
            return JpegLayout(sof=sof[0], width=sof[1], height=sof[2], components=sof[3],
                              first_scan=ids, first_ss=ss, entropy_start=start,
                              scans=scans)
    return None


def scan_problem(layout: JpegLayout, size: int) -> Optional[str]:
    """Why the bytes after the first scan header cannot hold that scan, or None.

    Only Huffman-coded files whose first scan holds DC coefficients have a floor (an
    arithmetic coder can spend almost nothing on a flat image, and so can a progressive AC
    scan, in EOB runs; a progressive file must start with a DC scan anyway).
    """
    if not layout.huffman or layout.first_ss != 0:
        return None
    blocks = layout.blocks(layout.first_scan)
    bits = blocks * (1 if layout.progressive else 2)
    need = -(-bits // 8)
    have = size - layout.entropy_start
    if have >= need:
        return None
    return (f"the JPEG is truncated or its header lies: it claims {layout.width}x"
            f"{layout.height}, whose first scan ({blocks} blocks) needs at least {need} bytes "
            f"of image data, but only {max(have, 0)} bytes follow the scan header")


__all__ = ["Component", "JpegLayout", "header_segments", "read_layout", "scan_problem"]
