"""Text from object keys, made safe to print on a terminal: one line, no control sequences.

Object keys are whatever an uploader chose: a key can hold ESC (``\\x1b[2J`` clears the
screen), CR (overwrites the line), newlines, C1 controls (``\\x9b`` is a one-byte CSI),
line and paragraph separators, or bidirectional overrides that reorder what is shown.
:func:`printable` shows each such character as an escape (``\\x1b``, ``\\u2028``) and a
backslash as ``\\\\``, so what is printed is unambiguous and always one line. Every key,
bucket, message or rule that came from outside and goes to a terminal passes through it.
"""

from __future__ import annotations

from typing import Dict

#: Characters a terminal acts on or that change how a line reads, besides C0, DEL and C1.
_FORMAT_CONTROLS = (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B, 0x202C, 0x202D,
                    0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF)


def _table() -> Dict[int, str]:
    table = {c: f"\\x{c:02x}" for c in list(range(0x20)) + list(range(0x7F, 0xA0))}
    table.update({c: f"\\u{c:04x}" for c in _FORMAT_CONTROLS})
    table[ord("\\")] = "\\\\"
    return table


_ESCAPES = _table()


def printable(text: object) -> str:
    """``str(text)`` with control and format characters escaped (see the module doc)."""
    return str(text).translate(_ESCAPES)


__all__ = ["printable"]
