"""Per-source manifests: what picops wrote for one source object. Pure: no I/O.

A manifest records, for one source object, its bucket, key and ETag, a hash of
the rules of the route that processed it, and every output that was written
(bucket, key, ETag, format, pixel size, byte size). It is stored as a small
JSON object in the SOURCE bucket at :func:`manifest_key` (under a reserved
prefix, default ``_picops/manifests/``) and answers three questions without
any database:

* Is this delivery a duplicate? :func:`is_current`: same source ETag and same
  :func:`rules_hash` as the manifest -> nothing to do, no CI call.
* What must go when the source is deleted? Exactly ``Manifest.outputs``.
* What must go when the source is overwritten or the rules change?
  :func:`removed_outputs`: the old outputs the new plan no longer produces.

The format is documented in docs/manifest-format.md and versioned
(:data:`MANIFEST_VERSION`). :func:`loads` refuses a version it does not know
and anything malformed with a :class:`ManifestError` naming the manifest, so a
bad manifest never leads to a deletion.

Decisions (documented in docs/manifest-format.md):

* ``complete`` is false for a manifest written after a record failed part-way:
  it lists the outputs that may exist (old ones not replaced plus new ones
  written), so a later deletion still finds them, but it is never "current",
  so the next delivery processes the source again.
* :func:`rules_hash` is order-independent: reordering rules changes no output,
  so it must not make a backfill redo a whole bucket.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple)

from .cos_keys import MAX_KEY_BYTES, key_bytes
from .describe import describe_value, expected_type
from .errors import ManifestError
from .model import DEFAULT_MANIFEST_PREFIX, Route

#: The version :func:`dumps` writes and the only one :func:`loads` reads.
MANIFEST_VERSION = 1
#: The ``type`` field of every manifest: tells a manifest from any other JSON object.
MANIFEST_TYPE = "picops-manifest"
#: Every manifest key ends with this (the config check relies on it).
MANIFEST_SUFFIX = ".json"
#: The folder, under the prefix, of hashed manifest keys (see :func:`manifest_key`).
HASHED_FOLDER = "_sha256/"
#: Bumped whenever :func:`rules_hash` changes what it hashes or how.
RULES_HASH_SCHEME = 1


@dataclass(frozen=True)
class ManifestOutput:
    """One derivative written for the source.

    ``etag`` and ``format`` are "" when CI did not report them; ``width``,
    ``height`` (pixels) and ``size`` (bytes) are None then.
    """

    bucket: str
    key: str
    etag: str
    format: str
    width: Optional[int]
    height: Optional[int]
    size: Optional[int]

    @classmethod
    def from_result(cls, out: Mapping[str, Any]) -> "ManifestOutput":
        """From one entry of a handler result's ``outputs`` (bucket, key, etag, ...)."""
        return cls(bucket=str(out["bucket"]), key=str(out["key"]), etag=out.get("etag") or "",
                   format=out.get("format") or "", width=_opt_int(out.get("width")),
                   height=_opt_int(out.get("height")), size=_opt_int(out.get("size")))

    def to_dict(self) -> Dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "etag": self.etag,
                "format": self.format, "width": self.width, "height": self.height,
                "size": self.size}


@dataclass(frozen=True)
class Manifest:
    """One source object's record; see the module docstring and docs/manifest-format.md."""

    version: int
    source_bucket: str
    source_key: str
    source_etag: str
    rules_hash: str
    route_prefix: str
    outputs: Tuple[ManifestOutput, ...]
    created: str
    complete: bool = True


def manifest_key(source_key: str, prefix: str = DEFAULT_MANIFEST_PREFIX) -> str:
    """The key of ``source_key``'s manifest: ``prefix + source_key + ".json"``.

    When that would exceed COS's key limit, ``prefix + "_sha256/" + <sha256 of
    the source key's UTF-8 bytes> + ".json"`` instead (the manifest itself still
    names the source key, and :func:`loads` callers check it).
    """
    key = prefix + source_key + MANIFEST_SUFFIX
    if key_bytes(key) <= MAX_KEY_BYTES:  # else the hashed form, which always fits
        return key
    digest = hashlib.sha256(source_key.encode("utf-8", "surrogatepass")).hexdigest()
    return prefix + HASHED_FOLDER + digest + MANIFEST_SUFFIX


def under_manifest_prefix(key: str, prefix: str = DEFAULT_MANIFEST_PREFIX) -> bool:
    """Is ``key`` under the manifest prefix? The whole prefix is reserved for picops:
    nothing there is ever processed, whether it is a manifest or not."""
    return key.startswith(prefix)


#: ``id(route)`` -> ``(route, digest)``. A config's routes are immutable and few: each is
#: hashed once per warm container, not once per record. Keyed by identity, not by the
#: route: ``hash()`` of a Route walks its rules' whole parsed trees (tuples do not keep
#: their hash), which cost as much as the digest itself, so an ``lru_cache`` saved nothing.
#: The entry holds the route, so its id cannot be reused while cached; bounded (cleared
#: when full) so a long-lived process that reloads configs cannot grow it.
_DIGESTS: Dict[int, Tuple["Route", str]] = {}
_DIGESTS_MAX = 256


def rules_hash(route: "Route") -> str:
    """A stable hex SHA-256 of what the route's rules produce (computed once per route
    object, :data:`_DIGESTS`).

    Hashed: each rule's fileid template, its canonical rule text (the grammar's
    printing, so spellings the parser reads alike hash alike), its target bucket
    (None = the source bucket), and the route's ``pic_info``; rules sorted, so
    their order does not matter. Canonical JSON (sorted keys, ASCII, no spaces)
    keeps it identical across processes and Python versions; the scheme number
    is hashed too, so changing this function changes every hash.
    """
    cached = _DIGESTS.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    entries = sorted(({"bucket": r.bucket, "fileid": r.fileid, "rule": str(r.parsed)}
                      for r in route.rules),
                     key=lambda e: (e["bucket"] or "", e["fileid"], e["rule"]))
    doc = {"scheme": RULES_HASH_SCHEME, "pic_info": bool(route.pic_info), "rules": entries}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    if len(_DIGESTS) >= _DIGESTS_MAX:
        _DIGESTS.clear()
    _DIGESTS[id(route)] = (route, digest)
    return digest


def build(source_bucket: str, source_key: str, source_etag: str, rules_hash: str,
          route_prefix: str, outputs: Iterable[ManifestOutput], created: str,
          complete: bool = True) -> Manifest:
    """A current-version manifest; outputs de-duplicated by (bucket, key), last one wins."""
    by_place: Dict[Tuple[str, str], ManifestOutput] = {}
    for o in outputs:
        by_place.pop((o.bucket, o.key), None)
        by_place[(o.bucket, o.key)] = o
    return Manifest(version=MANIFEST_VERSION, source_bucket=source_bucket, source_key=source_key,
                    source_etag=source_etag, rules_hash=rules_hash, route_prefix=route_prefix,
                    outputs=tuple(by_place.values()), created=created, complete=complete)


def utc_timestamp(seconds: Optional[float] = None) -> str:
    """``seconds`` since the epoch (default: now) as ``2024-05-01T12:00:00Z``."""
    t = time.gmtime(time.time() if seconds is None else seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def dumps(m: Manifest) -> bytes:
    """The manifest as ASCII JSON bytes (non-ASCII keys as ``\\u`` escapes, so even a
    key holding a lone surrogate can be written)."""
    doc = {
        "type": MANIFEST_TYPE,
        "version": m.version,
        "source": {"bucket": m.source_bucket, "key": m.source_key, "etag": m.source_etag},
        "rules_hash": m.rules_hash,
        "route_prefix": m.route_prefix,
        "complete": m.complete,
        "created": m.created,
        "outputs": [o.to_dict() for o in m.outputs],
    }
    return json.dumps(doc, ensure_ascii=True, indent=1).encode("ascii")


def loads(data: bytes, where: str = "") -> Manifest:
    """Parse manifest bytes; ``where`` (``bucket/key``) goes in every error message.

    Unknown fields are ignored (a reader of version 1 reads any version-1
    manifest); a missing or mistyped known field, or another version, is not.

    Raises:
        ManifestError: not JSON, not a picops manifest, another version, or a
            field missing or of the wrong type.
    """
    at = f"manifest {where}" if where else "manifest"
    try:
        doc = json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    except (UnicodeDecodeError, ValueError) as e:
        raise ManifestError(f"{at} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("type") != MANIFEST_TYPE:
        raise ManifestError(f"{at} is not a picops manifest (expected a JSON object with "
                            f"\"type\": \"{MANIFEST_TYPE}\")")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ManifestError(f"{at}: 'version' must be {expected_type(int)}, "
                            f"got {describe_value(version)}")
    if version != MANIFEST_VERSION:
        newer = " (written by a newer picops: upgrade this one)" if version > MANIFEST_VERSION \
            else ""
        raise ManifestError(f"{at}: version {version} is not supported; this picops reads "
                            f"version {MANIFEST_VERSION}{newer}")
    source = _field(doc, "source", dict, at)
    outputs_raw = _field(doc, "outputs", list, at)
    outputs = tuple(_output(o, f"{at}: outputs[{i}]") for i, o in enumerate(outputs_raw))
    return Manifest(
        version=version,
        source_bucket=_text(source, "bucket", f"{at}: source", empty=False),
        source_key=_text(source, "key", f"{at}: source", empty=False),
        source_etag=_text(source, "etag", f"{at}: source"),
        rules_hash=_text(doc, "rules_hash", at, empty=False),
        route_prefix=_text(doc, "route_prefix", at),
        outputs=outputs,
        created=_text(doc, "created", at),
        complete=_field(doc, "complete", bool, at))


def is_current(m: Optional[Manifest], source_etag: str, rules_hash: str) -> bool:
    """Does ``m`` already answer a delivery of this source version under these rules?

    False for no manifest, an incomplete one, or an unknown ETag ("" never matches:
    without an ETag a duplicate cannot be told from an overwrite).
    """
    return (m is not None and m.complete and bool(source_etag)
            and m.source_etag == source_etag and m.rules_hash == rules_hash)


def removed_outputs(old: Manifest,
                    new_outputs: Iterable[Tuple[str, str]]) -> List[ManifestOutput]:
    """The outputs of ``old`` that are not among ``new_outputs`` ((bucket, key) pairs),
    in ``old``'s order."""
    keep = set(new_outputs)
    return [o for o in old.outputs if (o.bucket, o.key) not in keep]


def merged_outputs(old: Optional[Manifest],
                   new: Sequence[ManifestOutput]) -> List[ManifestOutput]:
    """Old outputs not rewritten, then the new ones: everything that may exist after a
    partly failed run (what an incomplete manifest lists)."""
    placed = {(o.bucket, o.key) for o in new}
    kept = [o for o in old.outputs if (o.bucket, o.key) not in placed] if old else []
    return kept + list(new)


def deletion_problems(m: Manifest, source_bucket: str, source_key: str,
                      prefix: str) -> List[str]:
    """Why deleting ``m``'s outputs for this source would be wrong; [] when it is safe.

    A manifest must belong to the source it was found for, and never lists the
    source itself or anything under the manifest prefix of the source bucket:
    a manifest that does is corrupt or forged, and nothing is deleted for it.
    """
    problems = []
    if (m.source_bucket, m.source_key) != (source_bucket, source_key):
        problems.append(f"it belongs to {m.source_bucket}/{m.source_key}, not "
                        f"{source_bucket}/{source_key}")
    for i, o in enumerate(m.outputs):
        if o.bucket != source_bucket:
            continue
        if o.key == source_key:
            problems.append(f"outputs[{i}] is the source object itself")
        elif under_manifest_prefix(o.key, prefix):
            problems.append(f"outputs[{i}] ({o.key!r}) is under the manifest prefix {prefix!r}")
    return problems


# --- field readers ---------------------------------------------------------------------

def _field(d: dict, name: str, kind: type, at: str) -> Any:
    if name not in d:
        raise ManifestError(f"{at}: '{name}' is missing")
    value = d[name]
    if not isinstance(value, kind):
        raise ManifestError(f"{at}: '{name}' must be {expected_type(kind)}, "
                            f"got {describe_value(value)}")
    return value


def _text(d: dict, name: str, at: str, empty: bool = True) -> str:
    value = _field(d, name, str, at)
    if not empty and not value:
        raise ManifestError(f"{at}: '{name}' must not be empty")
    return value


def _output(raw: Any, at: str) -> ManifestOutput:
    if not isinstance(raw, dict):
        raise ManifestError(f"{at} must be {expected_type(dict)}, got {describe_value(raw)}")
    bucket = _text(raw, "bucket", at, empty=False)
    key = _text(raw, "key", at, empty=False)
    if key.startswith("/"):
        raise ManifestError(f"{at}: 'key' {key!r} starts with '/': object keys never do")
    numbers = {}
    for name in ("width", "height", "size"):
        if name not in raw:
            raise ManifestError(f"{at}: '{name}' is missing")
        value = raw[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise ManifestError(f"{at}: '{name}' must be a whole number >= 0 or null, "
                                f"got {describe_value(value)}")
        numbers[name] = value
    return ManifestOutput(bucket=bucket, key=key, etag=_text(raw, "etag", at),
                          format=_text(raw, "format", at), **numbers)


def _opt_int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


__all__ = ["DEFAULT_MANIFEST_PREFIX", "MANIFEST_SUFFIX", "MANIFEST_VERSION", "Manifest",
           "ManifestError", "ManifestOutput", "build", "deletion_problems", "dumps",
           "is_current", "under_manifest_prefix", "loads", "manifest_key", "merged_outputs",
           "removed_outputs", "rules_hash", "utc_timestamp"]
