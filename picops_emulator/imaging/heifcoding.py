"""Which codec codes a HEIF container's primary image: ``av1``, ``hevc`` or unknown (pure).

HEIF is a container; AVIF is HEIF with AV1-coded images. A file's ``ftyp`` brands usually
say which (``avif`` vs ``heic``), but a plain ``mif1`` file may hold either, and libvips'
``heif-compression`` field is derived from the brand too (measured with libvips 8.18: an AV1
file branded ``mif1`` is reported as ``hevc``). So the engine reads the answer where the file
states it: the item type of the primary item (``meta/pitm`` names it, ``meta/iinf/infe``
types it: ``av01`` or ``hvc1``/``hev1``). A derived primary item (a ``grid`` of tiles, an
``iovl`` overlay) is coded like its tiles: then the one coded item type the file holds, if
there is exactly one, decides.

Only box headers and a few integers are read, every length is checked against its parent,
and anything malformed or unexpected answers None, so the caller falls back to the brands.
"""

from typing import Dict, Iterator, Optional, Tuple

_CODINGS = {b"av01": "av1", b"hvc1": "hevc", b"hev1": "hevc"}
_MAX_BOXES = 4096  # per level: plenty for any real file, a bound for crafted ones


def heif_coding(data: bytes) -> Optional[str]:
    """``"av1"`` or ``"hevc"`` for the primary image of the ISO-BMFF file ``data``, else None."""
    try:
        meta = _find(data, 0, len(data), b"meta")
        if meta is None:
            return None
        start, end = meta[0] + 4, meta[1]  # meta is a full box: skip version and flags
        primary = _primary_item(data, start, end)
        types = _item_types(data, start, end)
    except (IndexError, ValueError):
        return None
    if primary is not None and types.get(primary) in _CODINGS:
        return _CODINGS[types[primary]]
    coded = {_CODINGS[t] for t in types.values() if t in _CODINGS}
    return coded.pop() if len(coded) == 1 else None


def _boxes(data: bytes, start: int, end: int) -> Iterator[Tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``."""
    pos, count = start, 0
    while pos + 8 <= end:
        count += 1
        if count > _MAX_BOXES:
            raise ValueError("too many boxes")
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        header = 8
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
            header = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError("box outside its parent")
        yield kind, pos + header, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes) -> Optional[Tuple[int, int]]:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _primary_item(data: bytes, start: int, end: int) -> Optional[int]:
    pitm = _find(data, start, end, b"pitm")
    if pitm is None:
        return None
    s = pitm[0]
    width = 2 if data[s] == 0 else 4  # version 0: 16-bit item IDs
    return int.from_bytes(data[s + 4:s + 4 + width], "big")


def _item_types(data: bytes, start: int, end: int) -> Dict[int, bytes]:
    iinf = _find(data, start, end, b"iinf")
    if iinf is None:
        return {}
    s, e = iinf
    count_width = 2 if data[s] == 0 else 4
    types = {}
    for kind, fs, fe in _boxes(data, s + 4 + count_width, e):
        version = data[fs]
        if kind != b"infe" or version < 2:  # versions 0 and 1 carry no item type
            continue
        id_width = 2 if version == 2 else 4
        item = int.from_bytes(data[fs + 4:fs + 4 + id_width], "big")
        at = fs + 4 + id_width + 2  # after item_ID and item_protection_index
        if at + 4 > fe:
            raise ValueError("truncated infe")
        types[item] = bytes(data[at:at + 4])
    return types


__all__ = ["heif_coding"]
