"""Build the COS trigger event and the SCF context exactly as SCF delivers them.

The shape follows real 2022 event dumps (reference cos-ci-scf.md §1.2), not the
older doc sample: the specific ``eventName`` (``cos:ObjectCreated:Put``), the
raw key in ``cosObject.key`` as ``/<appid>/<name>/<key>``, the percent-encoded
key in ``cosObject.url``, ``cosRegion``/``s3Region`` beside the short region,
``ETag`` (quoted) and ``x-cos-storage-class`` in ``meta``, and the service's own
misspelling ``"unkown"`` for ``cosNotificationId``.

Nothing emulator-specific goes into the event or the context (the trigger
generation used by the loop guard travels beside them, in the dispatcher's
records), so a handler cannot tell them from real ones.

Decisions on UNCONFIRMED points:

* ``url`` encodes every byte except unreserved characters and ``/`` (the real
  dump shows ``!`` as ``%21``); ``key`` is always raw, whatever it contains.
* Short region codes come from ``picops.regions`` (the function reads them
  with the same table). A region without one is given in its long form.
* ``x-cos-storage-class`` is spelled as the real dump spells it (``Standard``),
  other classes in the same style (``Standard_IA``, ``Archive`` ...).
* Delete events (``cos:ObjectRemove:*``) carry in ``meta`` exactly what the
  SCF CLI's delete template shows: ``x-cos-request-id`` and an empty
  ``Content-Type``, no ``ETag``, no storage class, no user metadata (the object
  is gone). Created events carry what real dumps show (ETag quoted, storage
  class, user ``x-cos-meta-*``).
* ``Authorization`` in ``requestParameters`` is a placeholder in the COS
  signature format, never the uploader's real signature.
* The context's ``environment`` holds the function's variables plus
  ``SCF_NAMESPACE`` as a JSON string, and ``environ`` the same as ``K=V;...``.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import quote

from picops import regions
from picops_emulator.notifications import ObjectChanged

SCHEMA_VERSION = "1.0"
EVENT_VERSION = "1.0"
EVENT_SOURCE = "qcs::cos"
NOTIFICATION_ID = "unkown"  # sic: what the service sends
REMOVE_PREFIX = "cos:ObjectRemove:"
DEFAULT_NAMESPACE = "default"
DEFAULT_QUALIFIER = "$DEFAULT"   # what a trigger is bound to (eventQueue's last part)
FUNCTION_VERSION = "$LATEST"     # what context.function_version says
PLACEHOLDER_UIN = "100000000001"

SHORT_REGIONS: Dict[str, str] = regions.CODE_OF

STORAGE_CLASS_SPELLING: Dict[str, str] = {
    "STANDARD": "Standard",
    "STANDARD_IA": "Standard_IA",
    "ARCHIVE": "Archive",
    "DEEP_ARCHIVE": "Deep_Archive",
    "INTELLIGENT_TIERING": "Intelligent_Tiering",
    "MAZ_STANDARD": "Maz_Standard",
    "MAZ_STANDARD_IA": "Maz_Standard_IA",
}


def split_bucket(bucket: str) -> Tuple[str, str]:
    """``"uploads-1250000000"`` -> ``("uploads", "1250000000")``."""
    name, sep, appid = bucket.rpartition("-")
    if not sep or not appid.isdigit():
        return bucket, ""
    return name, appid


def short_region(region: str) -> str:
    return SHORT_REGIONS.get(region, region)


def object_url(bucket: str, region: str, key: str) -> str:
    return f"http://{bucket}.cos.{region}.myqcloud.com/{quote(key, safe='/')}"


def placeholder_authorization(now: int) -> str:
    """A string in the COS signature format that signs nothing (see module doc)."""
    window = f"{now - 60};{now + 3600}"
    return ("q-sign-algorithm=sha1&q-ak=AKIDpicopsEmulatorPlaceholder"
            f"&q-sign-time={window}&q-key-time={window}"
            "&q-header-list=host&q-url-param-list=&q-signature=" + "0" * 40)


def event_queue(region: str, appid: str, function_name: str,
                namespace: str = DEFAULT_NAMESPACE, qualifier: str = DEFAULT_QUALIFIER) -> str:
    return f"qcs:0:scf:{region}:appid/{appid}:{namespace}.{function_name}.{qualifier}"


def _meta(change: ObjectChanged) -> Dict[str, str]:
    if change.event_name.startswith(REMOVE_PREFIX):
        meta = {"Content-Type": ""}
        if change.request_id:
            meta["x-cos-request-id"] = change.request_id
        return meta
    meta: Dict[str, str] = {"Content-Type": change.content_type or ""}
    if change.etag:
        meta["ETag"] = f'"{change.etag.strip(chr(34))}"'
    if change.request_id:
        meta["x-cos-request-id"] = change.request_id
    if change.storage_class:
        cls = change.storage_class.upper()
        meta["x-cos-storage-class"] = STORAGE_CLASS_SPELLING.get(cls, change.storage_class)
    for name, value in change.meta.items():
        header = name if name.lower().startswith("x-cos-meta-") else f"x-cos-meta-{name}"
        meta[header] = value
    return meta


def build_cos_event(change: ObjectChanged, *, function_name: str, function_region: str,
                    bucket_region: Optional[str] = None, namespace: str = DEFAULT_NAMESPACE,
                    qualifier: str = DEFAULT_QUALIFIER, now: Optional[int] = None,
                    reqid: Optional[int] = None) -> dict:
    """The event SCF hands to ``main_handler`` for one committed change.

    ``bucket_region`` is the bucket's home region (the trigger's); it defaults
    to the region the uploader addressed.
    """
    now = int(time.time()) if now is None else int(now)
    region = bucket_region or change.region
    name, appid = split_bucket(change.bucket)
    return {"Records": [{
        "cos": {
            "cosSchemaVersion": SCHEMA_VERSION,
            "cosObject": {
                "url": object_url(change.bucket, region, change.key),
                "meta": _meta(change),
                "vid": "",
                "key": f"/{appid}/{name}/{change.key}",
                "size": int(change.size),
            },
            "cosBucket": {
                "appid": appid,
                "name": name,
                "region": short_region(region),
                "cosRegion": region,
                "s3Region": region,
            },
            "cosNotificationId": NOTIFICATION_ID,
        },
        "event": {
            "eventName": change.event_name,
            "eventVersion": EVENT_VERSION,
            "eventTime": now,
            "eventSource": EVENT_SOURCE,
            "eventQueue": event_queue(function_region, appid, function_name, namespace,
                                      qualifier),
            "reqid": random.randint(100_000_000, 999_999_999) if reqid is None else reqid,
            "requestParameters": {
                "requestSourceIP": change.source_ip,
                "requestHeaders": {"Authorization": placeholder_authorization(now)},
            },
            "reservedInfo": "",
        },
    }]}


def build_context(*, function_name: str, region: str, appid: str, memory_mb: int,
                  timeout_s: float, environment: Mapping[str, str],
                  namespace: str = DEFAULT_NAMESPACE, uin: str = PLACEHOLDER_UIN,
                  request_id: Optional[str] = None) -> dict:
    """The ``context`` dict of one SCF invocation (§2.2)."""
    env = dict(environment)
    env["SCF_NAMESPACE"] = namespace
    return {
        "memory_limit_in_mb": int(memory_mb),
        "time_limit_in_ms": int(round(float(timeout_s) * 1000)),
        "request_id": request_id or str(uuid.uuid4()),
        "environment": json.dumps(env, separators=(",", ":"), ensure_ascii=False),
        "environ": ";".join(f"{k}={v}" for k, v in env.items()),
        "function_version": FUNCTION_VERSION,
        "function_name": function_name,
        "namespace": namespace,
        "tencentcloud_region": region,
        "tencentcloud_appid": appid,
        "tencentcloud_uin": uin,
    }


__all__ = ["build_cos_event", "build_context", "object_url", "short_region", "split_bucket",
           "event_queue", "placeholder_authorization", "SHORT_REGIONS"]
