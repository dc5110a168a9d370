"""Check a GIF's block structure is complete, without decoding any pixels.

libvips' GIF loader is lenient: a GIF cut off mid-file loads as the frames that happened to
be complete, with no error even with ``fail_on="truncated"``. CI treats a truncated file as
an invalid image, so GIF inputs are walked block by block here first (header, logical screen,
colour tables, extensions, image descriptors and their data sub-blocks) and must reach the
trailer byte (0x3B). Bytes after the trailer are ignored, as decoders do.
"""

from typing import Optional


def gif_problem(data: bytes) -> Optional[str]:
    """What is structurally wrong with the GIF, or None when it is complete."""
    n = len(data)
    if n < 13:
        return "GIF is shorter than its 13-byte header"
    flags = data[10]
    pos = 13
    if flags & 0x80:  # global colour table
        pos += 3 * (2 << (flags & 0x07))
    frames = 0
    while pos < n:
        block = data[pos]
        if block == 0x3B:
            return None if frames else "GIF has no image"
        if block == 0x21:  # extension: label, then data sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor (10 bytes), optional local table, LZW data
            if pos + 10 > n:
                break
            local = data[pos + 9]
            pos += 10
            if local & 0x80:
                pos += 3 * (2 << (local & 0x07))
            pos = _skip_sub_blocks(data, pos + 1)  # + 1: LZW minimum code size
            frames += 1
        else:
            return f"GIF has an unknown block 0x{block:02x} at byte {pos}"
        if pos < 0:
            break
    return "GIF is truncated (its data ends before the trailer)"


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """Position after a sub-block chain (ended by a 0 length), or -1 if the data runs out."""
    n = len(data)
    while pos < n:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
    return -1


__all__ = ["gif_problem"]
