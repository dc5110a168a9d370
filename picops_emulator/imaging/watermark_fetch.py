"""Where ``watermark/1`` gets its image: the URL rule and a same-bucket fetcher.

The engine has no storage. ``execute(..., fetch=...)`` takes a :data:`Fetch`: a callable
that turns the watermark URL of a rule into the watermark's bytes, or raises an
:class:`~.errors.ImagingError` saying why not. The CI layer builds one per request with
:func:`bucket_fetcher`, giving it the source object's bucket and a way to read a key;
``picops preview`` builds one with :func:`directory_fetcher`, which reads a local folder.

Decided here (the reference, cos-ci-scf.md §5.9, gives the rule, not the mechanics):

* The *fetcher* enforces CI's rule that the watermark lives in the **same bucket** as the
  image being processed, because only the caller knows that bucket; the URL must be
  ``http://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>`` (not https, not a CDN or
  custom domain). When the caller knows the bucket's region, the URL's region must match.
* The key is the URL path without its leading ``/``, percent-decoded once (like COS does
  for a request path). A query string (a signed URL's ``q-sign-*`` parameters for a private
  object) is dropped: the emulator reads the object directly.
* Every refusal is InvalidArgument naming ``watermark/1/image``; a missing object carries
  CI's "failed to fetch image" number, -60987.
* :func:`directory_fetcher` (local previews, where there is no bucket): the URL must still
  have CI's form, but its bucket and region are not checked. The key is looked up under the
  folder, first as a path (``<dir>/<key>``), then by its last segment (``<dir>/<name>``), so
  a folder can mirror the bucket's layout or simply hold the watermark files. A candidate
  that resolves outside the folder (``..`` segments, a symbolic link out) is never read.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Union
from urllib.parse import unquote

from .errors import InvalidArgument

ERRNO_FETCH_FAILED = -60987
PARAM = "watermark/1/image"

#: Reads a watermark: the rule's URL in, the object's bytes out (or an ImagingError).
Fetch = Callable[[str], bytes]

_URL = re.compile(
    r"(?P<scheme>[A-Za-z]+)://(?P<bucket>[a-z0-9][a-z0-9-]*-[0-9]+)\.cos\."
    r"(?P<region>[a-z0-9-]+)\.myqcloud\.com(?::[0-9]+)?/(?P<path>[^?#]*)(?:[?#].*)?",
    re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class WatermarkUrl:
    """A watermark URL taken apart: bucket (``name-appid``), region and decoded key."""

    bucket: str
    region: str
    key: str


def parse_watermark_url(url: str) -> WatermarkUrl:
    """Take ``http://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>`` apart, or refuse it."""
    m = _URL.fullmatch(url.strip())
    if m is None:
        raise InvalidArgument(
            f"{PARAM}: {_show(url)} is not http://<bucket>-<appid>.cos.<region>.myqcloud.com/"
            f"<key> (CI reads watermarks only from a COS bucket's own domain)")
    if m.group("scheme").lower() != "http":
        raise InvalidArgument(
            f"{PARAM}: {_show(url)} uses {m.group('scheme')}://; CI requires http://")
    key = unquote(m.group("path"))
    if not key:
        raise InvalidArgument(f"{PARAM}: {_show(url)} names no object key")
    return WatermarkUrl(bucket=m.group("bucket").lower(), region=m.group("region").lower(),
                        key=key)


def bucket_fetcher(bucket: str, read: Callable[[str], Optional[bytes]], *,
                   region: Optional[str] = None) -> Fetch:
    """A :data:`Fetch` that reads watermarks from ``bucket`` only.

    ``read(key)`` returns the object's bytes, or None when there is no such object.
    """

    def fetch(url: str) -> bytes:
        where = parse_watermark_url(url)
        if where.bucket != bucket.lower():
            raise InvalidArgument(
                f"{PARAM}: the watermark {_show(url)} is in bucket {where.bucket!r}; CI only "
                f"uses watermarks from the processed image's own bucket {bucket!r}")
        if region and where.region != region.lower():
            raise InvalidArgument(
                f"{PARAM}: the watermark {_show(url)} names region {where.region!r}, but "
                f"bucket {bucket!r} is in {region!r}")
        data = read(where.key)
        if data is None:
            raise InvalidArgument(
                f"{PARAM}: failed to fetch the watermark: object {where.key!r} does not exist "
                f"in bucket {bucket!r}", ERRNO_FETCH_FAILED)
        return data

    return fetch


def directory_fetcher(root: Union[str, Path]) -> Fetch:
    """A :data:`Fetch` that reads watermarks from files under the folder ``root``.

    See the module doc for the lookup. A watermark found nowhere is an InvalidArgument that
    names the URL and every path looked at.
    """
    folder = Path(root)

    def fetch(url: str) -> bytes:
        key = parse_watermark_url(url).key
        looked: List[str] = []
        for relative in _candidates(key):
            path = folder / relative
            if not _inside(path, folder):
                looked.append(f"{path} (outside {folder}: not read)")
                continue
            looked.append(str(path))
            if not path.is_file():
                continue
            try:
                return path.read_bytes()
            except OSError as e:
                raise InvalidArgument(f"{PARAM}: cannot read the watermark {_show(url)} from "
                                      f"{path}: {e.strerror}", ERRNO_FETCH_FAILED) from None
        raise InvalidArgument(
            f"{PARAM}: failed to fetch the watermark {_show(url)}: no file for key {key!r} "
            f"under {folder} (looked for {' and '.join(looked)})", ERRNO_FETCH_FAILED)

    return fetch


def _candidates(key: str) -> List[str]:
    """The key as a path under the folder, then its last segment alone (when different)."""
    found = [key.lstrip("/")] if key.lstrip("/") else []
    name = key.rstrip("/").rsplit("/", 1)[-1]
    if name and name not in (".", "..") and name not in found:
        found.append(name)
    return found


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path``, symbolic links followed, lies within ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, or a symlink loop
        return False
    return True


def _show(url: str, limit: int = 120) -> str:
    return repr(url if len(url) <= limit else url[:limit] + "...")


__all__ = ["Fetch", "WatermarkUrl", "parse_watermark_url", "bucket_fetcher",
           "directory_fetcher", "ERRNO_FETCH_FAILED"]
