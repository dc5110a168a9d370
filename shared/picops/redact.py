"""Secrets out of anything the function logs or returns: pure, no I/O.

Two tools, for two shapes of data:

* :func:`mask_secrets` copies a JSON-like value (an event, a log line's fields)
  with the value of every secret-bearing *entry* replaced by :data:`MASK`: a
  key named ``Authorization``, ``x-cos-security-token``, ``x-ci-security-token``,
  a session or security token, a secret key, a signature, a cookie (any case, any
  depth); :func:`is_secret_name` is the test, and the emulator's messages use it too.
* :func:`redact_text` rewrites a *message* the function did not write (a COS or
  CI error message, an SDK exception) so that the value after such a name, in
  any of the forms a header travels in text (``Name: v``, ``name=v`` inside a
  signed HttpString, ``"name": "v"``), and every ``q-signature=`` value, become
  :data:`MASK`. The emulator's ``SignatureDoesNotMatch`` once echoed the session
  token this way; real services may too.

Both are bounded: values nested deeper than :data:`MAX_DEPTH` are replaced by
:data:`TOO_DEEP` (so a hostile, deeply nested event can never raise
RecursionError while it is being logged), and they never raise on odd types.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Tuple

MASK = "***"
#: What stands for a value nested deeper than MAX_DEPTH.
TOO_DEEP = "[nested too deep]"
#: Real COS events are 6 levels deep; log lines a few more.
MAX_DEPTH = 32

#: Any name containing one of these (lower case, ``-`` and ``_`` removed) holds a secret:
#: x-cos-security-token, SessionToken, TENCENTCLOUD_SECRETKEY, q-signature...
_SECRET_PARTS = ("securitytoken", "sessiontoken", "secretkey", "signature")
#: The secret names (lower case, exact) that contain none of the parts above: also
#: ``cookie`` (a browser's session) and ``sign``, the query parameter a COS link carries
#: its whole Authorization value in (``?sign=...``). The emulator hides the same names from
#: its messages and access log: this is the one list.
SECRET_NAMES = frozenset({
    "authorization", "proxy-authorization", "x-cos-server-side-encryption-customer-key",
    "token", "cookie", "set-cookie", "sign",
})
#: Every name the patterns below match contains one of these (lower case): a text without
#: any of them has nothing to redact, and is returned without running the patterns (most
#: log strings: keys, rules, outcome words).
_HINTS = ("authorization", "token", "secret", "signature", "customer-key")

_NAME = (r"x-c(?:os|i)-security-token|x-cos-server-side-encryption-customer-key|"
         r"q-signature|[a-z0-9_-]*(?:security|session)[_-]?token|[a-z0-9_]*secret[_-]?key")
_SEP = r"(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?"


@functools.lru_cache(maxsize=None)
def _patterns() -> Tuple["re.Pattern", "re.Pattern"]:
    """(authorization, token) patterns, compiled on first use.

    Compiling them costs milliseconds that a cold start only pays when a log line
    needs redacting, so they are not compiled at import.
    """
    # name, then ": " / "=" / '": "' (quotes, escaped quotes and spaces optional), then the
    # value up to a separator. Authorization's value has spaces and '&' (COS's
    # "q-sign-algorithm=sha1&q-ak=...&q-signature=..."): it runs to the end of the line or
    # a quote.
    token = re.compile(r"(?<![a-z0-9_-])(?P<head>(?:" + _NAME + r")" + _SEP + r")"
                       r"(?P<value>[^\s\"'&,;<>\\]+)", re.IGNORECASE)
    auth = re.compile(r"(?<![a-z0-9_-])(?P<head>(?:proxy-)?authorization" + _SEP + r")"
                      r"(?P<value>[^\r\n\"'<>\\]+)", re.IGNORECASE)
    return auth, token


def is_secret_name(name: Any) -> bool:
    """True when an entry called ``name`` holds a secret (header, field or variable)."""
    if not isinstance(name, str):
        return False
    return _is_secret_str(name)


# Every log line passes each of its keys through here: the answers are cached (bounded:
# names are field and header names, a small set, and a hostile event cannot grow it).
@functools.lru_cache(maxsize=1024)
def _is_secret_str(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in SECRET_NAMES:
        return True
    squashed = lowered.replace("-", "").replace("_", "")
    return any(part in squashed for part in _SECRET_PARTS)


def redact_text(text: str) -> str:
    """``text`` with every secret value after a secret name masked (see the module doc)."""
    if not isinstance(text, str) or not text:
        return text
    lowered = text.lower()
    for hint in _HINTS:
        if hint in lowered:
            break
    else:
        return text
    auth, token = _patterns()
    text = auth.sub(_masked, text)
    return token.sub(_masked, text)


def _masked(match: "re.Match") -> str:
    return match.group("head") + MASK


def mask_secrets(value: Any, *, text: bool = False, depth: int = 0) -> Any:
    """A copy of ``value`` with secret-named entries masked at any depth up to MAX_DEPTH.

    ``text=True`` also passes every string through :func:`redact_text` (for log lines,
    whose strings may be messages the function did not write).
    """
    if isinstance(value, str):
        return redact_text(value) if text else value
    if depth >= MAX_DEPTH:
        return TOO_DEEP if isinstance(value, (dict, list, tuple)) else value
    if isinstance(value, dict):
        return {k: (MASK if is_secret_name(k) and v not in (None, "") else
                    _mask_item(v, text, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_item(v, text, depth + 1) for v in value]
    return value


def _mask_item(value: Any, text: bool, depth: int) -> Any:
    # Most entries of a log line are numbers, booleans and None: answered here without
    # another round of mask_secrets's checks (every log line goes through it).
    if value is None or value.__class__ in _PLAIN:
        return value
    return mask_secrets(value, text=text, depth=depth)


_PLAIN = (int, float, bool)


__all__ = ["MASK", "TOO_DEEP", "MAX_DEPTH", "SECRET_NAMES", "is_secret_name", "redact_text",
           "mask_secrets"]
