"""COS's rules for bucket names and object keys: the one place they are checked.

Contract: :func:`check_bucket_name` and :func:`check_key` return their argument or raise
:class:`~picops_emulator.errors.EmulatorError` naming what is wrong. Every path that names a
bucket or writes a key goes through them: the server at the door (every request), the COS
operations (PUT, POST Object, copy source, multipart), the store on every write (so a CI
output, which no request names, follows the same rule) and the emulator settings (buckets
to create). A key refused here can never be stored, so nothing can be listed that cannot be
read or deleted. To change a key rule, change :func:`check_key` (and its tests) only.

Which characters a key may hold and how long it may be is COS's key rule in
:mod:`picops.cos_keys`, the one the function checks its output keys with (decision and
reasons there): the two can never disagree.
"""

from __future__ import annotations

import re

from picops.cos_keys import MAX_KEY_BYTES, bad_character, key_bytes

from .errors import EmulatorError

# COS "Object Overview": a key must not start with "/" or "\\" (its length and characters:
# picops.cos_keys).
_FORBIDDEN_LEADING = ("/", "\\")

# "<name>-<appid>": lower-case letters, digits and '-', appid all digits. COS allows a
# name of at most 50 characters with the "-appid" suffix included in a 60-char bound; we
# enforce the shape and a generous total length (UNCONFIRMED exact bound).
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?-[0-9]{1,20}$")


def check_bucket_name(bucket: str) -> str:
    if not _BUCKET.match(bucket):
        raise EmulatorError(
            "InvalidBucketName",
            f"bucket {bucket!r} is not of the form <name>-<appid> (name: lower-case letters, "
            "digits and '-', not starting or ending with '-'; appid: digits)")
    return bucket


def check_key(key: str) -> str:
    if key == "":
        raise EmulatorError("InvalidArgument", "the object key must not be empty")
    size = key_bytes(key)
    if size > MAX_KEY_BYTES:
        raise EmulatorError("KeyTooLong", f"the object key is {size} bytes in UTF-8; COS "
                                          f"allows at most {MAX_KEY_BYTES}")
    if key.startswith(_FORBIDDEN_LEADING):
        raise EmulatorError("InvalidArgument", f"the object key {key[:100]!r} starts with "
                                               f"{key[0]!r}, which COS does not allow")
    bad = bad_character(key)
    if bad is not None:
        at, what = bad
        raise EmulatorError("InvalidArgument",
                            f"the object key {key[:200]!r} contains {what} at position {at}; "
                            "keys must not contain control characters (U+0000..U+001F, "
                            "U+007F), lone surrogates or U+FFFE/U+FFFF")
    return key


def merge_segments(path: str) -> str:
    """A request path's key as COS resolves it: empty and ``.`` segments merged away.

    ``a//b/./c`` -> ``a/b/c``, ``//x`` -> ``x``, ``dir/./`` -> ``dir/`` (a trailing slash
    survives: folder markers), ``///`` and ``/./`` -> ``""`` (the bucket itself). ``..`` is
    kept as a key segment (COS stores ``abc/../`` as written; the Node SDK's suite PUTs and
    GETs it back).
    """
    parts = path.split("/")
    kept = [p for p in parts if p not in ("", ".")]
    if not kept:
        return ""
    return "/".join(kept) + ("/" if parts[-1] in ("", ".") else "")


__all__ = ["check_bucket_name", "check_key", "merge_segments", "MAX_KEY_BYTES"]
