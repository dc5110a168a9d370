"""Which bucket, key, query and region a request names (parsed once, at the edge).

The server's edge calls it for every request; the COS operations for ``x-cos-copy-source``.

Contract:
- :func:`parse_target` reads the ``Host`` header and the RAW request target once.
  Virtual-host style ``<name>-<appid>.cos.<region>.myqcloud.com`` (also ``.pic.`` for the CI
  style API and ``.ci.``, and the newer ``tencentcos.cn`` suffix; any region) gives the
  bucket and the region; anything else (IP, ``localhost``, single-label or other hosts) is
  path style ``/<bucket>/<key>`` in the emulator's default region.
- The key is percent-decoded EXACTLY ONCE with ``unquote`` (UTF-8, strict) — never
  ``unquote_plus``: a ``+`` stays a ``+``, ``%2B`` becomes ``+``, ``%20`` a space. Then, as
  COS does, empty and ``.`` segments are merged away (``naming.merge_segments``: ``a//b/./c``
  is the key ``a/b/c``; a path that merges to nothing, like ``///`` or ``/./``, names the
  bucket itself). ``..``, ``\\`` and a trailing ``/`` are part of the key.
  ``key is None`` means a bucket-level (or, with no bucket, service-level) request.
- The signature covers the path AS SENT (decoded, not merged), which is what the SDKs sign.
  That of a virtual-host request covers ``"/" + key`` (the Host names the bucket); that of a
  path-style request covers the whole path, ``"/<bucket>/<key>"`` (``"/<bucket>"`` at bucket
  level), so a signature made for one bucket cannot open another. No SDK sends path style,
  so this is a local decision (UNCONFIRMED for COS).
- An absolute-form request target (``GET http://<host>/<path>``, what an HTTP client sends
  to a proxy) is read as its authority and path (:func:`split_raw_target`): the emulator
  answers as the proxy and the server at once, so clients configured with ``HTTP_PROXY`` or
  the Node SDK's ``Proxy`` reach it with the real COS host names.
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
from ..naming import merge_segments
from ..storage import BucketInfo

_VHOST = re.compile(
    r"^(?P<bucket>[^.]+)\.(?P<service>cos|pic|ci)\.(?P<region>[a-z0-9-]+)"
    r"\.(?:myqcloud\.com|tencentcos\.cn)\.?(?::(?P<port>\d+))?$", re.IGNORECASE)


_SERVICE_HOST = re.compile(
    r"^(?:service\.cos\.myqcloud\.com|cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com)\.?"
    r"(?::\d+)?$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ABSOLUTE = re.compile(r"^https?://(?P<authority>[^/?#]+)(?P<rest>[/?].*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    bucket: Optional[str]     # "name-appid"; None for service-level requests (GET /)
    key: Optional[str]        # decoded key; None for bucket-level requests
    region: str
    service: str              # "cos" | "pic" | "ci" for virtual-host style, "" for path style
    host: str                 # the host the request named (Host header or absolute target)
    signed_key: Optional[str] = None  # the decoded path as sent, before merging segments

    @property
    def sign_path(self) -> str:
        """The path the COS signature covers (decoded, as sent): see the module contract."""
        sent = self.signed_key if self.signed_key is not None else self.key
        path = "/" + sent if sent is not None else "/"
        if self.service or self.bucket is None:
            return path
        return "/" + self.bucket + (path if sent is not None else "")

    @property
    def bucket_level(self) -> bool:
        """A request on a bucket itself (no key): where POST Object is sent."""
        return self.bucket is not None and self.key is None

    def resource(self) -> str:
        """The ``Resource`` of an error: ``<bucket>.cos.<region>.myqcloud.com/<key>``, control
        characters percent-encoded (XML cannot carry them, and the body must stay readable)."""
        key = _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", self.signed_key or self.key or "")
        if self.bucket is None:
            return f"service.cos.myqcloud.com/{key}"
        return f"{self.bucket}.cos.{self.region}.myqcloud.com/{key}"


def _decode(raw: str, what: str) -> str:
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EmulatorError("InvalidURI", f"the {what} is not valid UTF-8 after "
                                          f"percent-decoding: {raw!r}") from None


def split_raw_target(raw_target: str) -> Tuple[Optional[str], str, str]:
    """``/path?query`` -> (None, raw path, raw query); the absolute form
    ``http://host[:port]/path?query`` -> (host[:port], raw path, raw query)."""
    authority = None
    m = _ABSOLUTE.match(raw_target)
    if m:
        authority, raw_target = m.group("authority"), m.group("rest") or "/"
        if raw_target.startswith("?"):
            raw_target = "/" + raw_target
    path, _, query = raw_target.partition("?")
    return authority, path, query


def is_cos_host(host: str) -> bool:
    """``host`` (with or without a port) is a COS bucket or service host name."""
    host = host.strip()
    return bool(_VHOST.match(host) or _SERVICE_HOST.match(host))


def _key(raw: str) -> Tuple[Optional[str], Optional[str]]:
    """(merged key or None for "no key", the decoded key as sent)."""
    if not raw:
        return None, None
    sent = _decode(raw, "object key")
    return merge_segments(sent) or None, sent


def parse_target(host: str, raw_path: str, default_region: str) -> Target:
    if not raw_path.startswith("/"):
        raise EmulatorError("InvalidURI", f"the request target must start with '/': "
                                          f"{raw_path[:100]!r}")
    service_host = _SERVICE_HOST.match(host.strip())
    if service_host and raw_path == "/":  # GET Service, for every region or for one
        return Target(bucket=None, key=None, region=service_host.group("region") or "",
                      service="cos", host=host)
    m = _VHOST.match(host.strip())
    if m:
        key, sent = _key(raw_path[1:])
        return Target(bucket=m.group("bucket").lower(), key=key,
                      region=m.group("region").lower(), service=m.group("service").lower(),
                      host=host, signed_key=sent)
    # path style: /<bucket>[/<key>]
    rest = raw_path[1:]
    if not rest:
        return Target(bucket=None, key=None, region=default_region, service="", host=host)
    raw_bucket, _, raw_key = rest.partition("/")
    key, sent = _key(raw_key)
    return Target(bucket=_decode(raw_bucket, "bucket name"), key=key, region=default_region,
                  service="", host=host, signed_key=sent)


def check_region(bucket: BucketInfo, target: Target) -> None:
    """A bucket answers only under its own region's host name, as COS does (elsewhere the
    name does not resolve to it): a client configured with the wrong region fails here too.
    Path-style requests name no region, so they are not checked (an emulator convenience)."""
    if target.service and target.region != bucket.region:
        raise EmulatorError("NoSuchBucket", f"bucket {bucket.name} is in region "
                                            f"{bucket.region}, not {target.region} (the host "
                                            f"{target.host!r} names {target.region})")


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


__all__ = ["Target", "parse_target", "parse_query", "split_raw_target", "check_region",
           "is_cos_host"]
