"""Which bucket, key, query and region a request names (parsed once, at the edge).

The server's edge calls it for every request; the COS operations for ``x-cos-copy-source``.

Contract:
- :func:`parse_target` reads the ``Host`` header and the RAW request target once.
  Virtual-host style ``<name>-<appid>.cos.<region>.myqcloud.com`` (also ``.pic.`` for the CI
  style API and ``.ci.``, and the newer ``tencentcos.cn`` suffix; any region) gives the
  bucket and the region; anything else (IP, ``localhost``, single-label or other hosts) is
  path style ``/<bucket>/<key>`` in the emulator's default region.
- The key is percent-decoded EXACTLY ONCE with ``unquote`` (UTF-8, strict) — never
  ``unquote_plus``: a ``+`` stays a ``+``, ``%2B`` becomes ``+``, ``%20`` a space. Nothing
  else is normalised: ``./``, ``../``, ``\\``, ``//`` and trailing ``/`` are part of the key.
  ``key is None`` means a bucket-level (or, with no bucket, service-level) request.
- The signature of a virtual-host request covers ``"/" + key`` (the Host names the bucket);
  that of a path-style request covers the whole path, ``"/<bucket>/<key>"`` (``"/<bucket>"``
  at bucket level), so a signature made for one bucket cannot open another. No SDK sends
  path style, so this is a local decision (UNCONFIRMED for COS).
- :func:`parse_query` splits the raw query string as form encoding (``+`` = space, what
  ``requests`` sends), keeping names exactly (``uploadId`` ≠ ``uploadid``) and blank values
  (``?uploads`` → ``{"uploads": ""}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote, unquote_plus

from ..errors import EmulatorError

_VHOST = re.compile(
    r"^(?P<bucket>[^.]+)\.(?P<service>cos|pic|ci)\.(?P<region>[a-z0-9-]+)"
    r"\.(?:myqcloud\.com|tencentcos\.cn)\.?(?::(?P<port>\d+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    bucket: Optional[str]     # "name-appid"; None for service-level requests (GET /)
    key: Optional[str]        # decoded key; None for bucket-level requests
    region: str
    service: str              # "cos" | "pic" | "ci" for virtual-host style, "" for path style
    host: str                 # the Host header as received

    @property
    def sign_path(self) -> str:
        """The path the COS signature covers (decoded): see the module contract."""
        path = "/" + self.key if self.key is not None else "/"
        if self.service or self.bucket is None:
            return path
        return "/" + self.bucket + (path if self.key is not None else "")

    @property
    def bucket_level(self) -> bool:
        """A request on a bucket itself (no key): where POST Object is sent."""
        return self.bucket is not None and self.key is None

    def resource(self) -> str:
        """The ``Resource`` of an error: ``<bucket>.cos.<region>.myqcloud.com/<key>``."""
        if self.bucket is None:
            return f"service.cos.myqcloud.com/{self.key or ''}"
        return f"{self.bucket}.cos.{self.region}.myqcloud.com/{self.key or ''}"


def _decode(raw: str, what: str) -> str:
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EmulatorError("InvalidURI", f"the {what} is not valid UTF-8 after "
                                          f"percent-decoding: {raw!r}") from None


def split_raw_target(raw_target: str) -> Tuple[str, str]:
    """``/path?query`` -> (raw path, raw query)."""
    path, _, query = raw_target.partition("?")
    return path, query


def parse_target(host: str, raw_path: str, default_region: str) -> Target:
    if not raw_path.startswith("/"):
        raise EmulatorError("InvalidURI", f"the request target must start with '/': "
                                          f"{raw_path[:100]!r}")
    m = _VHOST.match(host.strip())
    if m:
        bucket = m.group("bucket").lower()
        rest = raw_path[1:]
        key = _decode(rest, "object key") if rest else None
        return Target(bucket=bucket, key=key, region=m.group("region").lower(),
                      service=m.group("service").lower(), host=host)
    # path style: /<bucket>[/<key>]
    rest = raw_path[1:]
    if not rest:
        return Target(bucket=None, key=None, region=default_region, service="", host=host)
    raw_bucket, slash, raw_key = rest.partition("/")
    bucket = _decode(raw_bucket, "bucket name")
    key = _decode(raw_key, "object key") if slash and raw_key else None
    return Target(bucket=bucket, key=key, region=default_region, service="", host=host)


def parse_query(raw_query: str) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    """(first value per exact name, every (name, value) pair in order)."""
    pairs: List[Tuple[str, str]] = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        try:
            pairs.append((unquote_plus(name, errors="strict"),
                          unquote_plus(value, errors="strict")))
        except UnicodeDecodeError:
            raise EmulatorError("InvalidArgument",
                                f"query parameter {piece[:100]!r} is not valid UTF-8") from None
    first: Dict[str, str] = {}
    for name, value in pairs:
        first.setdefault(name, value)
    return first, pairs


__all__ = ["Target", "parse_target", "parse_query", "split_raw_target"]
