"""Tell lossy from lossless WebP and estimate a lossy WebP's encoder quality (0..100).

Walks the RIFF chunks (one level into ANMF animation frames) to find the first ``VP8 ``
(lossy) or ``VP8L`` (lossless) bitstream. For a lossy key frame it reads the frame header's
quantiser indices with a small boolean decoder (RFC 6386 §7, §9.3, §9.6): the mean of the
per-segment quantisers when segmentation sets them, else the base ``y_ac_qi``.

That index is mapped back to a quality by inverting libwebp's quality -> quantiser curve
(``c = Q/100``; ``linear = 2c/3`` below 0.75 else ``2c - 1``; ``q = 127 * (1 - linear^(1/3))``)
without the per-segment spatial-noise modulation, which depends on the picture. The result is
an estimate, typically within a few points of the quality the encoder was given; the CI
documentation does not say how CI estimates WebP quality (UNCONFIRMED), so this is ours.
"""

import struct
from typing import List, Optional, Tuple


def find_bitstream(data: bytes) -> Tuple[Optional[str], Optional[bytes]]:
    """("VP8 " | "VP8L", payload) of the first image bitstream, or (None, None)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None, None
    return _walk(data, 12, len(data), depth=0)


def _walk(data: bytes, pos: int, end: int, depth: int):
    while pos + 8 <= end:
        fourcc = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        body = pos + 8
        if body + size > end:
            size = end - body  # truncated file: look at what is there
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc.decode("ascii"), data[body:body + size]
        if fourcc == b"ANMF" and depth == 0 and size > 16:
            found = _walk(data, body + 16, body + size, depth + 1)
            if found[0]:
                return found
        pos = body + size + (size & 1)  # chunks are padded to an even size
    return None, None


def is_lossless(data: bytes) -> bool:
    kind, _ = find_bitstream(data)
    return kind == "VP8L"


class _BoolDecoder:
    """The VP8 boolean entropy decoder; reads zeros past the end instead of failing."""

    def __init__(self, buf: bytes):
        self.buf = buf
        self.pos = 2
        self.value = (self._byte(0) << 8) | self._byte(1)
        self.range = 255
        self.bit_count = 0

    def _byte(self, i: int) -> int:
        return self.buf[i] if i < len(self.buf) else 0

    def bool(self, prob: int = 128) -> int:
        split = 1 + (((self.range - 1) * prob) >> 8)
        big_split = split << 8
        if self.value >= big_split:
            bit = 1
            self.range -= split
            self.value -= big_split
        else:
            bit = 0
            self.range = split
        while self.range < 128:
            self.value <<= 1
            self.range <<= 1
            self.bit_count += 1
            if self.bit_count == 8:
                self.bit_count = 0
                self.value |= self._byte(self.pos)
                self.pos += 1
        return bit

    def literal(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bool()
        return v

    def signed(self, n: int) -> int:
        v = self.literal(n)
        return -v if self.bool() else v

    def optional_signed(self, n: int) -> Optional[int]:
        return self.signed(n) if self.bool() else None


def quantiser_index(vp8: bytes) -> Optional[float]:
    """Mean luma AC quantiser index (0..127) of a VP8 key frame, None if not readable."""
    if len(vp8) < 11 or vp8[0] & 1:  # bit 0 set = inter frame: no full header to read
        return None
    if vp8[3:6] != b"\x9d\x01\x2a":
        return None
    d = _BoolDecoder(vp8[10:])
    d.literal(2)  # colour space, clamping type
    segment_q: List[Optional[int]] = []
    absolute = False
    if d.bool():  # segmentation enabled
        update_map = d.bool()
        if d.bool():  # update segment feature data
            absolute = bool(d.bool())
            segment_q = [d.optional_signed(7) for _ in range(4)]
            for _ in range(4):
                d.optional_signed(6)  # loop-filter strength per segment
        if update_map:
            for _ in range(3):
                if d.bool():
                    d.literal(8)
    d.literal(1 + 6 + 3)  # filter type, loop filter level, sharpness
    if d.bool():  # loop filter deltas enabled
        if d.bool():
            for _ in range(8):
                d.optional_signed(6)
    d.literal(2)  # log2 of the number of DCT partitions
    base = d.literal(7)
    values = [q for q in segment_q if q is not None]
    if not values:
        return float(base)
    if absolute:
        qs = [min(127, max(0, q)) for q in values]
    else:
        qs = [min(127, max(0, base + q)) for q in values]
    return sum(qs) / len(qs)


def quality_from_index(q: float) -> int:
    """Invert libwebp's quality -> quantiser mapping (without spatial-noise shaping)."""
    v = max(0.0, min(1.0, 1.0 - q / 127.0))
    linear = v ** 3
    c = linear * 1.5 if linear < 0.5 else (linear + 1.0) / 2.0
    return max(0, min(100, int(c * 100 + 0.5)))


def estimate_quality(data: bytes) -> Optional[int]:
    """100 for lossless WebP, an estimate for lossy, None when no bitstream is found."""
    kind, payload = find_bitstream(data)
    if kind == "VP8L":
        return 100
    if kind == "VP8 " and payload is not None:
        q = quantiser_index(payload)
        return None if q is None else quality_from_index(q)
    return None


__all__ = ["find_bitstream", "is_lossless", "quantiser_index", "quality_from_index",
           "estimate_quality"]
