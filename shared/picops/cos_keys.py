"""COS's rule for object keys, as picops and its emulator both apply it (pure).

A key COS can store and serve is at most :data:`MAX_KEY_BYTES` bytes of UTF-8 and holds
no character that an HTTP header, a UTF-8 request path or an XML 1.0 listing cannot
carry: no ASCII control character (U+0000..U+001F, U+007F), no lone UTF-16 surrogate
(U+D800..U+DFFF, which a JSON ``\\ud800`` escape can name) and no noncharacter U+FFFE or
U+FFFF. The function checks every output key with it before calling CI
(:func:`picops.routing.output_key`); the emulator checks every write with it
(``picops_emulator.naming.check_key``). Each phrases its own message; the rule is here.

Decision (UNCONFIRMED for real COS, which documents only some control characters as
unsupported): refuse them all rather than store a key that could be listed but never read
or deleted. To change the rule, change this module and its tests only.
"""

import re
from typing import Optional, Tuple

#: COS "Object Overview": a key is at most 850 bytes once encoded in UTF-8.
MAX_KEY_BYTES = 850

_BAD = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def key_bytes(key: str) -> int:
    """The length of ``key`` in UTF-8 bytes (a lone surrogate counts its 3 bytes)."""
    return len(key.encode("utf-8", "surrogatepass"))


def bad_character(key: str) -> Optional[Tuple[int, str]]:
    """The first character a COS key must not hold: ``(position, description)``, or None.

    The description names the code point and its class, e.g. ``"the control character
    U+001B"`` or ``"U+D800 (a lone surrogate)"``.
    """
    found = _BAD.search(key)
    if found is None:
        return None
    code = ord(found.group())
    if code < 0x20 or code == 0x7F:
        what = f"the control character U+{code:04X}"
    elif 0xD800 <= code <= 0xDFFF:
        what = f"U+{code:04X} (a lone surrogate, which UTF-8 cannot carry)"
    else:
        what = f"U+{code:04X} (a noncharacter, which XML cannot carry)"
    return found.start(), what
