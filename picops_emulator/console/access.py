"""Who may use the console: a loopback Host and the run's token, on every request.

The emulator listens on loopback only, but any web page the developer opens can make
the browser send requests to ``127.0.0.1``. Two checks close that door:

* **Host** must name the loopback (``127.0.0.1``, ``localhost``, ``[::1]``, any port).
  A DNS-rebinding page reaches us under its own name, so its requests are never
  treated as console requests (they go on to the COS edge, which wants a signature).
* **Token**: a random value made when the emulator starts and printed in its ready
  line. Every console request carries it: the page and its files in the ``token``
  query parameter, the JSON API in the ``X-Picops-Token`` header or that parameter,
  the replay POST in the header only (a cross-site form cannot set a header). It is
  compared in constant time. A POST whose ``Origin`` is not a loopback origin is
  refused as well.

Pure functions over header values; the aiohttp side is :mod:`.web`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Optional
from urllib.parse import urlsplit

PREFIX = "/_picops"
TOKEN_HEADER = "X-Picops-Token"
TOKEN_PARAM = "token"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_HOST = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>\d{1,5}))?$")


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_loopback_host(host: Optional[str]) -> bool:
    """Is the Host header value a loopback name (with any port)?"""
    m = _HOST.match((host or "").strip())
    if m is None:
        return False
    name = (m.group("v6") or m.group("name") or "").lower().rstrip(".")
    return name in _LOOPBACK_NAMES


def is_loopback_origin(origin: Optional[str]) -> bool:
    """An ``Origin`` header from a page served by the loopback (or none at all)."""
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(parts.netloc)


def token_matches(expected: str, given: Optional[str]) -> bool:
    if not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


__all__ = ["PREFIX", "TOKEN_HEADER", "TOKEN_PARAM", "new_token", "is_console_path",
           "is_loopback_host", "is_loopback_origin", "token_matches"]
