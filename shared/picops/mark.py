"""The processed-on-upload mark: user metadata telling the function an upload is done. Pure.

An upload made with :mod:`picops.upload` sends its route's rules as
``Pic-Operations`` with the upload itself, so its derivatives exist when the
upload returns. COS still fires the upload trigger for it. To keep the function
from processing the same upload a second time, the upload carries, as user
metadata (stored with the object, atomically with its bytes)::

    x-cos-meta-picops-processed: 1.<rules hash>.<place>

* ``1`` is :data:`MARK_SCHEME`, bumped if the value's recipe ever changes;
* ``<rules hash>`` is :func:`picops.manifest.rules_hash` of the route the upload
  applied, so a rules change makes every older mark stale (processed again);
* ``<place>`` is the first 32 hex digits of the SHA-256 of ``bucket/key``
  (UTF-8), binding the mark to the object it was set on: a copy of a marked
  object to another key or bucket (COS copies user metadata by default) is not
  taken as processed.

:func:`state` reads a mark against the current config: ``current`` (skip the
object, reason ``processed_on_upload``), ``stale`` (processed with other rules:
process it again), ``foreign`` (set on another object, or not a mark this
picops writes: ignored) or ``absent``.

Decision: the mark never replaces the manifest; it only answers "was this
object processed on upload with these rules?" in the window between the
trigger firing and the upload's manifest being written, and without a GET.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from .headers import header

#: The user-metadata header carrying the mark (lower case, as COS stores names).
MARK_HEADER = "x-cos-meta-picops-processed"
#: The first field of every mark; bumped whenever the recipe changes.
MARK_SCHEME = "1"
#: Hex digits of the place digest kept in a mark.
PLACE_DIGITS = 32

CURRENT, STALE, FOREIGN, ABSENT = "current", "stale", "foreign", "absent"


def place(bucket: str, key: str) -> str:
    """The digest binding a mark to ``bucket/key``."""
    raw = f"{bucket}/{key}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:PLACE_DIGITS]


def make(rules_hash: str, bucket: str, key: str) -> str:
    """The mark an upload of ``key`` into ``bucket`` with rules ``rules_hash`` carries."""
    return f"{MARK_SCHEME}.{rules_hash}.{place(bucket, key)}"


def metadata(rules_hash: str, bucket: str, key: str) -> dict:
    """The SDK's ``Metadata`` argument setting the mark."""
    return {MARK_HEADER: make(rules_hash, bucket, key)}


def read(headers: Any) -> Optional[str]:
    """The mark among ``headers`` (an event's ``meta`` or a HEAD's headers, any case);
    None when there is none or ``headers`` is not a mapping."""
    value = header(headers, MARK_HEADER)
    return None if value is None else value.strip()


def state(value: Optional[str], rules_hash: str, bucket: str, key: str) -> str:
    """What mark ``value`` says about object ``key`` of ``bucket`` under ``rules_hash``."""
    if value is None:
        return ABSENT
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != MARK_SCHEME or parts[2] != place(bucket, key):
        return FOREIGN
    return CURRENT if parts[1] == rules_hash else STALE


def is_current(headers: Any, rules_hash: str, bucket: str, key: str) -> bool:
    """Do ``headers`` (an event's ``meta``, a HEAD's headers) carry the current mark of
    object ``key`` of ``bucket`` under ``rules_hash``?"""
    return state(read(headers), rules_hash, bucket, key) == CURRENT


__all__ = ["ABSENT", "CURRENT", "FOREIGN", "MARK_HEADER", "MARK_SCHEME", "STALE", "is_current",
           "make", "metadata", "place", "read", "state"]
