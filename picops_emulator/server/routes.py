"""The routing table: (method, level, subresource) -> operation name.

Contract:
- ``level`` is ``service`` (no bucket), ``bucket`` (no key) or ``object``. The subresource
  is the query parameter that selects a COS API (``uploads``, ``uploadId``, ``partNumber`` +
  ``uploadId``, ``delete``, ``image_process``, ``style``), or None.
- :func:`resolve` returns the operation name for a supported combination, and is LOUD for
  everything else: a subresource COS has but the emulator does not model -> ``NotImplemented``
  naming it; a method/subresource pair that makes no sense -> ``MethodNotAllowed``; on a
  write, a query parameter the chosen operation does not understand (:data:`PARAMS`) ->
  ``NotImplemented`` naming it (it is never silently ignored); a read (:data:`READ_METHODS`)
  ignores the parameters it does not use, as COS does. ``style`` (any method, any level)
  and ``image_process`` go to the CI backend (operation ``"ci"``), which reads whatever
  parameters it wants.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

from ..cos.auth import SIGN_FIELDS, SIGN_PARAM
from ..cos.call import Route
from ..errors import EmulatorError

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS")
PART = "partNumber&uploadId"

ROUTES: Dict[Tuple[str, str, Optional[str]], str] = {
    ("GET", SERVICE, None): "list_buckets",
    ("PUT", BUCKET, None): "create_bucket",
    ("HEAD", BUCKET, None): "head_bucket",
    ("DELETE", BUCKET, None): "delete_bucket",
    ("GET", BUCKET, None): "list_objects",
    ("GET", BUCKET, "uploads"): "list_multipart_uploads",
    ("GET", BUCKET, "versions"): "list_object_versions",
    ("GET", BUCKET, "location"): "get_bucket_location",
    ("POST", BUCKET, "delete"): "delete_objects",
    ("POST", BUCKET, None): "post_object",          # browser form upload (multipart/form-data)
    ("PUT", OBJECT, None): "put_object",            # also copy (x-cos-copy-source) and CI
    ("GET", OBJECT, None): "get_object",
    ("HEAD", OBJECT, None): "head_object",
    ("DELETE", OBJECT, None): "delete_object",
    ("POST", OBJECT, "uploads"): "initiate_multipart",
    ("PUT", OBJECT, PART): "upload_part",
    ("POST", OBJECT, "uploadId"): "complete_multipart",
    ("DELETE", OBJECT, "uploadId"): "abort_multipart",
    ("GET", OBJECT, "uploadId"): "list_parts",
    ("POST", OBJECT, "image_process"): "ci",
}

_SELECTORS = frozenset({"uploads", "uploadId", "partNumber", "delete", "image_process",
                        "style", "versions", "location"})

# COS subresources that exist but are not modelled: answered NotImplemented by name.
_UNMODELLED = frozenset({
    "acl", "cors", "lifecycle", "policy", "tagging", "versioning", "versionId",
    "website", "logging", "referer", "domain", "domaincertificate", "origin",
    "inventory", "inventory-configuration", "replication", "restore", "select", "select-type",
    "append", "position", "encryption", "intelligenttiering", "object-lock", "retention",
    "accelerate", "notification", "torrent", "ci-process", "imageInfo", "imageAve", "exif",
    "rename", "symlink", "response-control", "meta",
})

# CI processing on download names its processing in a parameter: ?imageMogr2/thumbnail/200x
_CI_ON_DOWNLOAD = re.compile(r"^(?:imageMogr2|imageView2|watermark|imageslim|style)/")
_SIGNATURE = frozenset(SIGN_FIELDS) | {SIGN_PARAM, "x-cos-security-token"}
# Non-selector parameters each WRITE operation understands (GET and HEAD ignore the ones
# they do not use, as COS does: see resolve; their handlers read what they use).
PARAMS: Dict[str, FrozenSet[str]] = {
    "put_object": frozenset({"x-cos-traffic-limit"}),
    "upload_part": frozenset({"x-cos-traffic-limit"}),
}
#: The methods whose unknown query parameters are ignored rather than refused.
READ_METHODS = frozenset({"GET", "HEAD"})


def level_of(bucket: Optional[str], key: Optional[str]) -> str:
    if bucket is None:
        return SERVICE
    return BUCKET if key is None else OBJECT


def _describe(level: str, sub: Optional[str]) -> str:
    return f"a {level}" + (f" with ?{sub}" if sub else "")


def resolve(method: str, level: str, query_names: Iterable[str]) -> Route:
    names = [n for n in query_names if n not in _SIGNATURE]
    if method not in METHODS:
        raise EmulatorError("MethodNotAllowed", f"HTTP method {method} is not supported")
    for name in names:
        if name in _UNMODELLED:
            raise EmulatorError("NotImplemented", f"the ?{name} subresource ({method} on "
                                                  f"{_describe(level, None)}) is not "
                                                  "supported by the picops emulator")
        if _CI_ON_DOWNLOAD.match(name):  # e.g. ?imageMogr2/thumbnail/… : CI on download
            raise EmulatorError("NotImplemented", f"image processing on download (?{name}) is "
                                                  "not supported by the picops emulator; use "
                                                  "persistent processing (Pic-Operations)")
    if method == "OPTIONS":
        raise EmulatorError("NotImplemented", "OPTIONS (CORS preflight) is not supported by "
                                              "the picops emulator")
    selectors = {n for n in names if n in _SELECTORS}
    if "style" in selectors:
        return Route("ci", "style")
    sub: Optional[str]
    if selectors == {"partNumber", "uploadId"}:
        sub = PART
    elif len(selectors) <= 1:
        sub = next(iter(selectors), None)
    else:
        raise EmulatorError("InvalidRequest", "conflicting subresources in one request: " +
                            ", ".join(sorted(selectors)))
    operation = ROUTES.get((method, level, sub))
    if operation is None:
        raise EmulatorError("MethodNotAllowed", f"{method} is not allowed on "
                                                f"{_describe(level, sub)}")
    # COS ignores the query parameters a read does not use (a cache-buster ``?v=2``, a
    # presigned URL's extra ``Params``): GET and HEAD never fail on one. A write with a
    # parameter the emulator does not know stays loud (it may ask for a feature not modelled).
    if operation != "ci" and method not in READ_METHODS:
        allowed = PARAMS.get(operation, frozenset())
        for name in names:
            if name not in _SELECTORS and name not in allowed:
                raise EmulatorError("NotImplemented",
                                    f"query parameter {name!r} is not supported by the picops "
                                    f"emulator for {operation}")
    return Route(operation, sub)


__all__ = ["resolve", "level_of", "Route", "ROUTES", "PARAMS", "READ_METHODS", "SERVICE",
           "BUCKET", "OBJECT"]
