"""Estimate a JPEG's encoder quality (1..100) from its quantisation tables.

Reads the DQT segments straight from the bytes (a small marker walker, no decoding) and
inverts the IJG quality scaling: for each candidate Q the standard Annex K tables are scaled
the way libjpeg does (``scale = 5000/Q`` below 50, ``200 - 2Q`` from 50) and the Q whose
tables are closest to the file's (sum of absolute differences, luminance plus chrominance when
present) wins; ties go to the higher Q. Files written by an IJG-style encoder with standard
tables come back exact; other encoders get the nearest IJG equivalent, which is what tools
such as ImageMagick's ``%Q`` report too.
"""

from typing import Dict, List, Optional

from .jpegscan import header_segments

# JPEG Annex K example tables, in natural (row-major) order.
_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)
_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32


def _zigzag() -> List[int]:
    """Natural-order index of each zig-zag position (the order DQT stores values in)."""
    order = []
    for s in range(15):
        cells = [(y, s - y) for y in range(8) if 0 <= s - y < 8]
        # Even anti-diagonals run bottom-left -> top-right, odd ones the other way.
        if s % 2 == 0:
            cells.reverse()
        order.extend(y * 8 + x for y, x in cells)
    return order


_ZIGZAG = _zigzag()


def _scaled(base, q: int) -> List[int]:
    s = 5000 // q if q < 50 else 200 - 2 * q
    return [min(255, max(1, (v * s + 50) // 100)) for v in base]


_CANDIDATES = {q: (_scaled(_LUMA, q), _scaled(_CHROMA, q)) for q in range(1, 101)}


def read_quant_tables(data: bytes) -> Dict[int, List[int]]:
    """The quantisation tables of a JPEG by table id, in natural order; {} if none found.

    Walks the marker segments from SOI up to the first SOS (where entropy-coded data starts)
    and never raises on malformed input: it stops at the first thing it cannot read.
    """
    tables: Dict[int, List[int]] = {}
    for marker, _, body in header_segments(data):
        if marker == 0xDB:
            _parse_dqt(body, tables)
    return tables


def _parse_dqt(seg: bytes, tables: Dict[int, List[int]]) -> None:
    i = 0
    while i < len(seg):
        precision, table_id = seg[i] >> 4, seg[i] & 0x0F
        width = 2 if precision else 1
        body = seg[i + 1:i + 1 + 64 * width]
        if len(body) < 64 * width:
            return
        if width == 1:
            zz = list(body)
        else:
            zz = [(body[k] << 8) | body[k + 1] for k in range(0, 128, 2)]
        natural = [0] * 64
        for k, v in enumerate(zz):
            natural[_ZIGZAG[k]] = v
        tables[table_id] = natural
        i += 1 + 64 * width


def estimate_quality(data: bytes) -> Optional[int]:
    """The IJG quality (1..100) closest to the file's quantisation tables, None if it has none."""
    tables = read_quant_tables(data)
    if not tables:
        return None
    luma = tables.get(0) or next(iter(tables.values()))
    chroma = tables.get(1)
    best_q, best_err = None, None
    for q in range(100, 0, -1):  # high to low, so a tie keeps the higher Q
        ref_luma, ref_chroma = _CANDIDATES[q]
        err = sum(abs(a - b) for a, b in zip(luma, ref_luma))
        if chroma is not None:
            err += sum(abs(a - b) for a, b in zip(chroma, ref_chroma))
        if best_err is None or err < best_err:
            best_q, best_err = q, err
    return best_q


__all__ = ["read_quant_tables", "estimate_quality"]
