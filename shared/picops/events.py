"""The events the function reads -> typed records. Pure: no I/O.

Two kinds: COS trigger events (``Records``) and page events (backfill fanned
out over SCF: ``picops backfill --fan-out`` builds them with
:func:`page_event`, the handler reads them with :func:`parse_page_event`; the
wire format is defined here, once).

Contract (COS events):

* :func:`split_records` checks the outer shape (a non-empty ``Records`` list)
  and :func:`parse_record` turns one entry into a :class:`CosRecord`, so the
  handler keeps the good records of an event whose other records are
  malformed. Both raise :class:`~picops.errors.EventError` naming the
  offending field, e.g. ``Records[1].cos.cosObject.key: missing``.
* The uploader's ``Authorization`` header travels in every real event
  (``event.requestParameters.requestHeaders``). It is never copied into a record,
  and :func:`mask_event` is the only way an event may be shown in a log.

The object key is decoded in exactly one place, :func:`parse_record`:

    bucket = cosBucket.name + "-" + cosBucket.appid
    key    = cosObject.key without its "/<appid>/<name>/" prefix, used as it arrives

UNCONFIRMED (reference cos-ci-scf.md §1.3, §7): whether COS percent-encodes
non-ASCII or space characters in ``cosObject.key``. The one real dump seen holds
the raw key in ``key`` and the percent-encoded form in ``url``, so we take
``key`` literally and never ``unquote``/``unquote_plus`` it: decoding would turn a
literal ``+`` into a space and a literal ``%41`` into ``A``, i.e. a different
object. Should COS turn out to encode keys, change :func:`object_key` only.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, NamedTuple, Optional, Tuple

from .redact import MASK, mask_secrets  # noqa: F401 - MASK is part of this API

from . import regions
from .describe import clip, describe_value, json_type
from .errors import EventError
from .etags import unquote_etag
from .headers import header
from .model import is_bucket_name

#: User metadata headers start with this.
USER_META_PREFIX = "x-cos-meta-"


class CosRecord(NamedTuple):
    """One object event, ready for routing.

    ``bucket`` is the SDK form ``name-appid``; ``key`` the raw object key; ``etag``
    the object's ETag without quotes ("" when the event has none); ``index`` the
    record's position in ``Records``; ``user_meta`` the object's ``x-cos-meta-*``
    entries of ``cosObject.meta`` (names lower-cased), None when the event has no
    ``meta`` at all (then the object's metadata is unknown, not empty).
    """

    bucket: str
    key: str
    size: int
    etag: str
    region: str
    event_name: str
    index: int
    user_meta: Optional[Dict[str, str]] = None

    @property
    def kind(self) -> Optional[str]:
        """:data:`CREATED`, :data:`REMOVED`, :data:`RESTORED`, or None (not understood)."""
        return event_kind(self.event_name)

    @property
    def is_created(self) -> bool:
        """True for any ``cos:ObjectCreated:*`` event (Put, Post, Copy, multipart...)."""
        return self.kind == CREATED

    @property
    def is_removed(self) -> bool:
        """True for any ``cos:ObjectRemove:*`` event (Delete, DeleteMarkerCreated)."""
        return self.kind == REMOVED


#: The event families, as :func:`event_kind` names them.
CREATED, REMOVED, RESTORED = "created", "removed", "restored"
_FAMILIES = {"objectcreated": CREATED, "objectremove": REMOVED, "objectrestore": RESTORED}


def event_kind(event_name: str) -> Optional[str]:
    """The family of a COS ``eventName``, matched tolerantly; None when not understood.

    ``cos:<Family>:<Type>`` with spaces around the parts and any letter case
    accepted: Tencent's own SCF CLI delete template says ``"cos: ObjectRemove:Delete"``
    (with a space), real events ``"cos:ObjectRemove:Delete"``. Anything else (another
    source, another family, a missing type) is None, and the handler logs it at
    WARNING with the name instead of skipping it quietly.
    """
    parts = [p.strip() for p in event_name.split(":")]
    if len(parts) != 3 or parts[0].lower() != "cos" or not parts[2]:
        return None
    return _FAMILIES.get(parts[1].lower())


def split_records(event: Any) -> list:
    """The raw ``Records`` list of an event, checked only for its outer shape.

    Raises:
        EventError: ``event`` is not a dict holding a non-empty ``Records`` list.
    """
    if not isinstance(event, dict):
        raise EventError(f"expected a JSON object, got {json_type(event)}", "event")
    if "Records" not in event:
        raise EventError("missing: not a COS trigger event", "Records")
    records = event["Records"]
    if not isinstance(records, list):
        raise EventError(f"expected a list, got {json_type(records)}", "Records")
    if not records:
        raise EventError("empty list: no object to handle", "Records")
    return records


def parse_record(raw: Any, index: int, default_region: str = "") -> CosRecord:
    """One entry of ``Records`` as a :class:`CosRecord`.

    Raises:
        EventError: a required field is missing or has the wrong type; ``where``
            is its path, e.g. ``Records[0].cos.cosBucket.appid``.
    """
    at = f"Records[{index}]"
    record = _dict(raw, at)
    cos = _dict(_get(record, "cos", at), f"{at}.cos")
    bucket_info = _dict(_get(cos, "cosBucket", f"{at}.cos"), f"{at}.cos.cosBucket")
    obj = _dict(_get(cos, "cosObject", f"{at}.cos"), f"{at}.cos.cosObject")
    event_info = _dict(_get(record, "event", at), f"{at}.event")

    name = _str(_get(bucket_info, "name", f"{at}.cos.cosBucket"), f"{at}.cos.cosBucket.name")
    appid = _str(_get(bucket_info, "appid", f"{at}.cos.cosBucket"),
                 f"{at}.cos.cosBucket.appid")
    if not name:
        raise EventError("empty bucket name", f"{at}.cos.cosBucket.name")
    if not appid.isdigit() or not appid.isascii():
        raise EventError(f"expected the numeric APPID, got {appid!r}",
                         f"{at}.cos.cosBucket.appid")

    key = object_key(_str(_get(obj, "key", f"{at}.cos.cosObject"), f"{at}.cos.cosObject.key"),
                     appid, name, f"{at}.cos.cosObject.key")
    size = _size(_get(obj, "size", f"{at}.cos.cosObject"), f"{at}.cos.cosObject.size")
    # ``meta`` is absent from the documented sample and present in real events; the
    # ETag is informational, so a missing or odd one is not an error.
    etag = unquote_etag(header(obj.get("meta"), "etag"))
    event_name = _str(_get(event_info, "eventName", f"{at}.event"), f"{at}.event.eventName")
    region = _region(bucket_info, default_region, f"{at}.cos.cosBucket")
    return CosRecord(bucket=f"{name}-{appid}", key=key, size=size, etag=etag, region=region,
                     event_name=event_name, index=index, user_meta=_user_meta(obj.get("meta")))


def object_key(event_key: str, appid: str, name: str, where: str = "cosObject.key") -> str:
    """The object key inside ``cosObject.key`` (``/<appid>/<name>/<key>``), not decoded.

    Raises:
        EventError: the value does not start with ``/<appid>/<name>/`` or names
            no object after it.
    """
    head = f"/{appid}/{name}/"
    if not event_key.startswith(head):
        raise EventError(f"expected '{head}<object key>', got {clip(event_key)!r}", where)
    key = event_key[len(head):]
    if not key:
        raise EventError(f"no object key after '{head}'", where)
    return key


def mask_event(value: Any) -> Any:
    """A copy of ``value`` with every secret-bearing entry masked: ``Authorization``,
    ``x-cos-security-token`` and the other names of :func:`picops.redact.is_secret_name`,
    any case, at any depth; below :data:`picops.redact.MAX_DEPTH` levels the rest is
    replaced by a marker. Never raises (a deeply nested event cannot make it recurse).

    The only form in which an event, or part of one, may reach a log line.
    """
    return mask_secrets(value)


# --- field readers ---------------------------------------------------------------------

def _get(d: dict, name: str, at: str) -> Any:
    if name not in d:
        raise EventError("missing", f"{at}.{name}")
    return d[name]


def _dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise EventError(f"expected an object, got {json_type(value)}", where)
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"expected a string, got {json_type(value)}", where)
    return value


def _size(value: Any, where: str) -> int:
    # bool is an int subclass; a JSON true is not a size.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)  # tolerate producers that stringify numbers
    raise EventError(f"expected a byte count, got {describe_value(value)}", where)


def _user_meta(meta: Any) -> Optional[Dict[str, str]]:
    # Real events list the object's user metadata in ``meta`` (reference §1.3).
    if not isinstance(meta, dict):
        return None
    return {k.lower(): v for k, v in meta.items()
            if isinstance(k, str) and k.lower().startswith(USER_META_PREFIX)
            and isinstance(v, str)}


def _region(bucket_info: dict, default_region: str, at: str) -> str:
    # Real events carry the long id (ap-shanghai) in cosRegion and s3Region next
    # to a short code (sh) in region; the SCF CLI's templates only the short code.
    # The SDK needs the long one: a known code is mapped (picops.regions). COS
    # triggers only bind same-region buckets, so the function's region is a safe
    # fallback for a code the table lacks.
    for name in ("cosRegion", "s3Region"):
        value = bucket_info.get(name)
        if isinstance(value, str) and value:
            return value
    code = bucket_info.get("region")
    mapped = regions.region_of_code(code.strip().lower()) if isinstance(code, str) else None
    if mapped:
        return mapped
    if default_region:
        return default_region
    raise EventError(f"no cosRegion/s3Region, short code {code!r} is not one picops knows, "
                     "and no TENCENTCLOUD_REGION to fall back on", f"{at}.region")


# --- page events ----------------------------------------------------------------------
#
# Page events (backfill fanned out over SCF)::
#
#     {"picops_backfill": {"version": 1, "bucket": "b-1250000000",
#                          "region": "ap-guangzhou",          # optional: function's region
#                          "keys": [{"key": "uploads/a.jpg", "size": 123,
#                                    "etag": "9a0364b9e99bb480dd25e1f0284c8555"}, ...]}}
#
# ``etag`` (quotes allowed, as COS listings give them) may be omitted, which
# disables the up-to-date check.

#: The top-level field of a page event, its version, and the event_name its lines carry.
PAGE_EVENT_FIELD = "picops_backfill"
PAGE_EVENT_VERSION = 1
PAGE_EVENT_NAME = "picops:backfill"


class PageKey(NamedTuple):
    key: str
    etag: str
    size: int


class PageEvent(NamedTuple):
    """A page of keys to process in one invocation (shape: above)."""

    bucket: str
    region: str
    keys: Tuple[PageKey, ...]


def page_event(bucket: str, region: str, keys: Iterable[Tuple[str, str, int]]) -> Dict[str, Any]:
    """The page event for ``(key, etag, size)`` triples, as the handler reads it."""
    return {PAGE_EVENT_FIELD: {
        "version": PAGE_EVENT_VERSION, "bucket": bucket, "region": region,
        "keys": [{"key": k, "etag": e, "size": n} for k, e, n in keys]}}


def is_page_event(event: Any) -> bool:
    """Is ``event`` a page event (``{"picops_backfill": {...}}``)?"""
    return isinstance(event, dict) and PAGE_EVENT_FIELD in event


def parse_page_event(event: Any, default_region: str = "") -> PageEvent:
    """The page in a page event.

    Raises:
        EventError: a field is missing or malformed; ``where`` names it, e.g.
            ``picops_backfill.keys[3].size``.
    """
    at = PAGE_EVENT_FIELD
    body = event.get(at) if isinstance(event, dict) else None
    if not isinstance(body, dict):
        raise EventError(f"expected an object, got {json_type(body)}", at)
    version = body.get("version")
    if version != PAGE_EVENT_VERSION or isinstance(version, bool):
        raise EventError(f"version {version!r} is not supported; this function reads "
                         f"version {PAGE_EVENT_VERSION}", f"{at}.version")
    bucket = body.get("bucket")
    if not isinstance(bucket, str) or not is_bucket_name(bucket):
        raise EventError(f"expected a bucket name such as b-1250000000, got {bucket!r}",
                         f"{at}.bucket")
    region = body.get("region", default_region) or default_region
    if not isinstance(region, str) or not region:
        raise EventError("missing, and no TENCENTCLOUD_REGION to fall back on",
                         f"{at}.region")
    keys = body.get("keys")
    if not isinstance(keys, list):
        raise EventError(f"expected a list, got {json_type(keys)}", f"{at}.keys")
    if not keys:
        raise EventError("empty list: no object to handle", f"{at}.keys")
    return PageEvent(bucket=bucket, region=region,
                     keys=tuple(_page_key(k, f"{at}.keys[{i}]") for i, k in enumerate(keys)))


def _page_key(raw: Any, at: str) -> PageKey:
    if not isinstance(raw, dict):
        raise EventError(f"expected an object, got {json_type(raw)}", at)
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise EventError(f"expected a non-empty object key, got {key!r}", f"{at}.key")
    etag = raw.get("etag", "")
    if not isinstance(etag, str):
        raise EventError(f"expected a string, got {json_type(etag)}", f"{at}.etag")
    size = raw.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise EventError(f"expected a byte count, got {size!r}", f"{at}.size")
    return PageKey(key=key, etag=unquote_etag(etag), size=size)


