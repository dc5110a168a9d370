"""COS trigger events -> typed records. Pure: no I/O.

Contract:

* :func:`parse_event` turns an SCF COS-trigger event into one :class:`CosRecord`
  per entry of ``Records`` (every entry, not just the first), or raises
  :class:`~picops.errors.EventError` naming the offending field, e.g.
  ``Records[1].cos.cosObject.key: missing``.
* :func:`split_records` and :func:`parse_record` are the two halves of it, for a
  caller (the handler) that wants to keep the good records of an event whose
  other records are malformed.
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

from typing import Any, List, NamedTuple

from .redact import MASK, mask_secrets  # noqa: F401 - MASK is part of this API

from .constants import EVENT_CREATED_PREFIX
from .errors import EventError



class CosRecord(NamedTuple):
    """One object event, ready for routing.

    ``bucket`` is the SDK form ``name-appid``; ``key`` the raw object key; ``etag``
    the object's ETag without quotes ("" when the event has none); ``index`` the
    record's position in ``Records``.
    """

    bucket: str
    key: str
    size: int
    etag: str
    region: str
    event_name: str
    index: int

    @property
    def is_created(self) -> bool:
        """True for any ``cos:ObjectCreated:*`` event (Put, Post, Copy, multipart...)."""
        return self.event_name.startswith(EVENT_CREATED_PREFIX)


def parse_event(event: Any, default_region: str = "") -> List[CosRecord]:
    """Every record of a COS trigger event, in order.

    ``default_region`` (the function's ``TENCENTCLOUD_REGION``) is used when a
    record carries neither ``cosRegion`` nor ``s3Region``.

    Raises:
        EventError: the event or one of its records is not COS-shaped; the
            message names the field.
    """
    return [parse_record(raw, i, default_region) for i, raw in enumerate(split_records(event))]


def split_records(event: Any) -> list:
    """The raw ``Records`` list of an event, checked only for its outer shape.

    Raises:
        EventError: ``event`` is not a dict holding a non-empty ``Records`` list.
    """
    if not isinstance(event, dict):
        raise EventError(f"expected a JSON object, got {_type_name(event)}", "event")
    if "Records" not in event:
        raise EventError("missing: not a COS trigger event", "Records")
    records = event["Records"]
    if not isinstance(records, list):
        raise EventError(f"expected a list, got {_type_name(records)}", "Records")
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
    etag = _etag(obj.get("meta"))
    event_name = _str(_get(event_info, "eventName", f"{at}.event"), f"{at}.event.eventName")
    region = _region(bucket_info, default_region, f"{at}.cos.cosBucket")
    return CosRecord(bucket=f"{name}-{appid}", key=key, size=size, etag=etag, region=region,
                     event_name=event_name, index=index)


def object_key(event_key: str, appid: str, name: str, where: str = "cosObject.key") -> str:
    """The object key inside ``cosObject.key`` (``/<appid>/<name>/<key>``), not decoded.

    Raises:
        EventError: the value does not start with ``/<appid>/<name>/`` or names
            no object after it.
    """
    head = f"/{appid}/{name}/"
    if not event_key.startswith(head):
        raise EventError(f"expected '{head}<object key>', got {_clip(event_key)!r}", where)
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
        raise EventError(f"expected an object, got {_type_name(value)}", where)
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"expected a string, got {_type_name(value)}", where)
    return value


def _size(value: Any, where: str) -> int:
    # bool is an int subclass; a JSON true is not a size.
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and value.isdigit() and value.isascii():
        size = int(value)  # tolerate producers that stringify numbers
    else:
        raise EventError(f"expected a byte count, got {_clip(repr(value))}", where)
    if size < 0:
        raise EventError(f"expected a byte count, got {size}", where)
    return size


def _etag(meta: Any) -> str:
    # ``meta`` is absent from the documented sample and present in real events;
    # the ETag is informational, so a missing or odd one is not an error.
    if not isinstance(meta, dict):
        return ""
    for k, v in meta.items():
        if isinstance(k, str) and k.lower() == "etag" and isinstance(v, str):
            return v.strip().strip('"')
    return ""


def _region(bucket_info: dict, default_region: str, at: str) -> str:
    # Real events carry the long id (ap-shanghai) in cosRegion and s3Region next
    # to a short code (sh) in region; the SDK needs the long one. COS triggers
    # only bind same-region buckets, so the function's region is a safe fallback.
    for name in ("cosRegion", "s3Region"):
        value = bucket_info.get(name)
        if isinstance(value, str) and value:
            return value
    if default_region:
        return default_region
    raise EventError("missing, and no s3Region nor TENCENTCLOUD_REGION to fall back on",
                     f"{at}.cosRegion")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."

