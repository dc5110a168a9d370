"""Text from outside made safe for one terminal line: the one escaper. Pure.

Object keys, bucket names, service messages and rules are whatever someone else chose. A
key can hold ESC (``\\x1b[2J`` clears the screen), CR (overwrites the line), newlines, C1
controls (``\\x9b`` is a one-byte CSI; U+0085 is a line break to many readers), the line
and paragraph separators U+2028 and U+2029, bidirectional overrides and other format
characters that reorder or hide what is shown (U+202E, U+2066..U+2069, the BOM), or a lone
surrogate (JSON events can carry one). :func:`is_unsafe` says which characters those are;
every place that shows outside text decides with it:

* :func:`printable` (the CLI's output, the emulator's readable log) shows each unsafe
  character as an escape (``\\x1b``, ``\\u2028``, ``\\U000e0001``) and a backslash as
  ``\\\\``, so what is printed is unambiguous and always one line;
* :func:`picops.logs.json_line` escapes the same characters JSON leaves raw, as JSON
  ``\\u`` escapes, so its lines stay valid JSON.

Anything else (CJK, accents, emoji) is shown as it is.
"""

import unicodedata

#: Unicode categories a terminal line must not show raw: format characters (bidirectional
#: controls, the BOM, zero-width ones), line and paragraph separators, lone surrogates.
_UNSAFE_CATEGORIES = ("Cf", "Zl", "Zp", "Cs")


def is_unsafe(ch: str) -> bool:
    """True when the character ``ch`` must not reach a terminal raw: C0, DEL, C1, or a
    format, separator or surrogate code point."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return True
    return code >= 0xA0 and unicodedata.category(ch) in _UNSAFE_CATEGORIES


def escape(ch: str) -> str:
    """The escape :func:`printable` shows ``ch`` as: ``\\xNN``, ``\\uNNNN`` or
    ``\\UNNNNNNNN`` by its code point."""
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object) -> str:
    """``str(text)`` on one line with nothing a terminal acts on: unsafe characters
    escaped, a backslash doubled (see the module doc)."""
    text = str(text)
    if text.isprintable() and "\\" not in text:  # the common case: nothing to escape
        return text
    return "".join("\\\\" if ch == "\\" else escape(ch) if is_unsafe(ch) else ch
                   for ch in text)


__all__ = ["escape", "is_unsafe", "printable"]
