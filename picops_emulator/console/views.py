"""What the console shows, as plain JSON-ready dicts: buckets, folders, a source beside
its derivatives, invocations, dead letters.

Everything is read through the emulator's own layers: the store (buckets, objects,
bodies), the trigger dispatcher's invocation records, the dead-letter file, and the
function's routes config with ``picops``' own routing and manifest code (so the console
names the same rule and the same manifest the function does). Nothing here writes.

Pixel facts (format, width, height, quality) come from the stored bytes, read by the
emulator's engine (``imaging.probe``, with its limits and deadline), cached per ETag.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from picops import manifest as manifests
from picops import routing
from picops.errors import PicopsError

from ..imaging.errors import ImagingError
from ..imaging.libvips import pyvips
from ..imaging.limits import DEFAULT_LIMITS, Limits
from ..imaging.probe import probe
from ..errors import EmulatorError
from ..storage import ObjectMeta, Store
from ..triggers import records as rec
from ..triggers.readable import parse_json_line, record_results

#: Objects larger than this are not read to find their pixel size.
MAX_PROBE_BYTES = 64 * 1024 * 1024
#: Lines of function output sent per attempt (the rest is counted, not sent).
MAX_LOG_LINES = 2000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".heif",
                  ".bmp", ".tif", ".tiff")


def iso(epoch: Optional[float]) -> Optional[str]:
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def looks_like_image(meta: ObjectMeta) -> bool:
    return meta.content_type.startswith("image/") or meta.key.lower().endswith(IMAGE_SUFFIXES)


class PixelFacts:
    """``(bucket, key, etag) -> {format, width, height, quality, frames}`` or an error, cached."""

    def __init__(self, store: Store, keep: int = 4096, limits: Limits = DEFAULT_LIMITS):
        self._store = store
        self._limits = limits
        self._keep = keep
        self._cache: "OrderedDict[Tuple[str, str, str], Dict[str, Any]]" = OrderedDict()
        self._lock = threading.Lock()

    def of(self, meta: ObjectMeta) -> Dict[str, Any]:
        place = (meta.bucket, meta.key, meta.etag)
        with self._lock:
            if place in self._cache:
                self._cache.move_to_end(place)
                return self._cache[place]
        facts = self._read(meta)
        with self._lock:
            self._cache[place] = facts
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        return facts

    def _read(self, meta: ObjectMeta) -> Dict[str, Any]:
        if meta.size > MAX_PROBE_BYTES:
            return {"error": f"not read: larger than {MAX_PROBE_BYTES // (1024 * 1024)} MB"}
        try:
            info = probe(self._store.read_bytes(meta.bucket, meta.key), limits=self._limits)
        except ImagingError as exc:
            return {"error": exc.message}
        except (EmulatorError, OSError, pyvips.Error) as exc:
            return {"error": f"could not be read: {exc}"}
        return {"format": info.format.lower(), "width": info.width, "height": info.height,
                "quality": info.quality, "frames": info.frame_count}


# --- buckets and folders ------------------------------------------------------------------

def buckets(store: Store) -> List[Dict[str, Any]]:
    out = []
    for info in store.list_buckets():
        page = store.list_objects(info.name, max_keys=1001)
        count = f"{len(page.contents)}+" if page.truncated else str(len(page.contents))
        out.append({"name": info.name, "region": info.region, "created": iso(info.created),
                    "objects": count})
    return out


def folder(store: Store, bucket: str, prefix: str, marker: str = "",
           is_source: Optional[Callable[[ObjectMeta], bool]] = None,
           page_size: int = 500) -> Dict[str, Any]:
    """One folder of ``bucket``: its sub-folders and objects (size, type, ETag, time)."""
    page = store.list_objects(bucket, prefix=prefix, delimiter="/", marker=marker,
                              max_keys=page_size)
    objects = []
    for meta in page.contents:
        objects.append({
            "key": meta.key, "name": meta.key[len(prefix):], "size": meta.size,
            "content_type": meta.content_type, "etag": meta.etag,
            "last_modified": iso(meta.last_modified), "image": looks_like_image(meta),
            "source": bool(is_source(meta)) if is_source is not None else False,
        })
    return {"bucket": bucket, "prefix": prefix,
            "folders": [{"prefix": p, "name": p[len(prefix):]} for p in page.common_prefixes],
            "objects": objects, "truncated": page.truncated, "next_marker": page.next_marker}


# --- a source beside its derivatives ------------------------------------------------------

def source_view(store: Store, facts: PixelFacts, config, bucket: str, key: str
                ) -> Dict[str, Any]:
    """The original and every derivative its manifest lists, with the rule of each.

    ``config`` is the function's current routes config (None when it is unknown). The
    rule is the current config's rule for that output; when the manifest was made with
    other rules (its rules hash differs), that is said instead of guessing.
    """
    meta = store.require_object(bucket, key)
    original = _object_card(meta, facts.of(meta) if looks_like_image(meta) else {})
    prefix = (config.manifests.prefix if config is not None
              else manifests.DEFAULT_MANIFEST_PREFIX)
    manifest_key = manifests.manifest_key(key, prefix)
    view: Dict[str, Any] = {"original": original, "manifest": None, "derivatives": [],
                            "notes": []}
    route = routing.match(config, key) if config is not None else None
    planned: Dict[Tuple[str, str], Tuple[int, str]] = {}
    if route is not None:
        view["route"] = {"index": route.index, "prefix": route.prefix}
        try:
            plan = routing.plan(config, bucket, key)
        except PicopsError:
            plan = None
        for out in (plan.outputs if plan is not None else ()):
            planned[(out.bucket, out.key)] = (out.rule_index, out.rule)
    try:
        raw = store.read_bytes(bucket, manifest_key)
    except EmulatorError:
        view["notes"].append("no manifest yet: the function has not processed this object "
                             "(or it failed, or manifests are off)")
        return view
    try:
        found = manifests.loads(raw, f"{bucket}/{manifest_key}")
    except PicopsError as exc:
        view["notes"].append(f"the manifest {manifest_key} cannot be read: {exc.message}")
        return view
    current_rules = (route is not None and route.prefix == found.route_prefix
                     and manifests.rules_hash(route) == found.rules_hash)
    view["manifest"] = {"key": manifest_key, "created": found.created,
                        "complete": found.complete, "source_etag": found.source_etag,
                        "up_to_date": current_rules and found.source_etag == meta.etag,
                        "rules_current": current_rules}
    if not current_rules:
        view["notes"].append("the manifest was written with other rules than the config now "
                             "has: the next upload or backfill of this object replaces them")
    for out in found.outputs:
        card: Dict[str, Any] = {"bucket": out.bucket, "key": out.key, "format": out.format,
                                "width": out.width, "height": out.height, "size": out.size,
                                "etag": out.etag, "exists": False}
        place = planned.get((out.bucket, out.key)) if current_rules else None
        card["rule"] = place[1] if place else None
        card["rule_index"] = place[0] if place else None
        if route is not None and place is not None:
            card["rule_place"] = f"routes[{route.index}].rules[{place[0]}]"
        stored = _head(store, out.bucket, out.key)
        if stored is not None:
            card.update(_object_card(stored, facts.of(stored)))
        view["derivatives"].append(card)
    return view


def _head(store: Store, bucket: str, key: str) -> Optional[ObjectMeta]:
    try:
        return store.head_object(bucket, key)
    except EmulatorError:
        return None


def _object_card(meta: ObjectMeta, pixels: Dict[str, Any]) -> Dict[str, Any]:
    card = {"bucket": meta.bucket, "key": meta.key, "size": meta.size, "etag": meta.etag,
            "content_type": meta.content_type, "last_modified": iso(meta.last_modified),
            "exists": True}
    for name in ("format", "width", "height", "quality", "frames"):
        if name in pixels:
            card[name] = pixels[name]
    if "error" in pixels:
        card["pixel_error"] = pixels["error"]
    return card


# --- invocations --------------------------------------------------------------------------

def invocation_summary(record: rec.InvocationRecord) -> Dict[str, Any]:
    last = record.attempts[-1] if record.attempts else None
    results = record_results(last) if last is not None else []
    return {
        "request_id": record.request_id, "bucket": record.bucket, "key": record.key,
        "event_name": record.event_name, "trigger": record.trigger_index,
        "generation": record.generation, "created": iso(record.created),
        "outcome": record.outcome, "attempts": len(record.attempts),
        "retries": max(0, len(record.attempts) - 1),
        "duration_ms": int(round(last.duration_s * 1000)) if last is not None else None,
        "cold_start": bool(last.cold_start) if last is not None else False,
        "results": [_result_line(r) for r in results],
        "error": _failure(last.failure) if last is not None and not last.ok else None,
    }


def invocation_detail(record: rec.InvocationRecord) -> Dict[str, Any]:
    view = invocation_summary(record)
    view["event"] = record.event
    view["context"] = {k: v for k, v in record.context.items() if k != "environment"}
    view["attempt_list"] = [{
        "number": a.number, "started": iso(a.started), "ok": a.ok,
        "duration_ms": int(round(a.duration_s * 1000)), "cold_start": a.cold_start,
        "error": _failure(a.failure) if not a.ok else None,
        "results": [_result_line(r) for r in record_results(a)],
        "logs": [readable_log_line(line) for line in a.logs[:MAX_LOG_LINES]],
        "logs_not_shown": max(0, len(a.logs) - MAX_LOG_LINES),
    } for a in record.attempts]
    return view


def readable_log_line(line: str) -> str:
    """A function log line for people: JSON re-printed with its non-ASCII as characters."""
    doc = parse_json_line(line)
    if doc is None:
        return line
    return json.dumps(doc, ensure_ascii=False, default=str)


def _failure(failure) -> Optional[Dict[str, Any]]:
    if failure is None:
        return {"kind": "unknown", "message": "the attempt failed without a reason"}
    return {"kind": failure.kind, "message": failure.message, "type": failure.error_type}


def _result_line(result: Dict[str, Any]) -> Dict[str, Any]:
    """One record's outcome, reduced to what the console shows."""
    out = {"key": result.get("key"), "bucket": result.get("bucket"),
           "outcome": result.get("outcome"), "reason": result.get("reason"),
           "route": result.get("route"), "duration_ms": result.get("duration_ms"),
           "action": result.get("action")}
    err = result.get("error")
    if isinstance(err, dict):
        out["error"] = {"code": err.get("code"), "message": err.get("message"),
                        "status": err.get("status")}
    outputs = result.get("outputs")
    if isinstance(outputs, list):
        out["outputs"] = [{name: o.get(name) for name in
                           ("bucket", "key", "format", "width", "height", "size", "quality")}
                          for o in outputs if isinstance(o, dict)]
    return out


# --- dead letters -------------------------------------------------------------------------

def dead_letter_entries(entries: Iterable[Dict[str, Any]],
                        replays: Dict[int, List[str]]) -> List[Dict[str, Any]]:
    """The dead-letter file's entries, newest first, each with its line ``index``."""
    out = []
    for index, entry in enumerate(entries):
        body = entry.get("Body") if isinstance(entry.get("Body"), dict) else {}
        out.append({
            "index": index, "request_id": entry.get("RequestId"), "time": entry.get("Time"),
            "bucket": entry.get("Bucket"), "key": entry.get("Key"),
            "event_name": entry.get("EventName"), "error_code": entry.get("ErrorCode"),
            "error_message": entry.get("ErrorMessage"), "attempts": entry.get("Attempts"),
            "retry_num": body.get("RetryNum"), "function": body.get("FunctionName"),
            "replays": list(replays.get(index, ())),
        })
    out.reverse()
    return out


def replay_arguments(entry: Dict[str, Any]) -> Dict[str, Any]:
    """The event and the delivery facts to deliver a dead-letter entry again.

    Raises ValueError naming what is missing when the entry cannot be replayed.
    """
    body = entry.get("Body")
    if not isinstance(body, dict) or not isinstance(body.get("ClientContext"), str):
        raise ValueError("the entry has no Body.ClientContext (the event) to deliver")
    try:
        event = json.loads(body["ClientContext"])
    except ValueError as exc:
        raise ValueError(f"Body.ClientContext is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError("Body.ClientContext is not a JSON object")
    for name in ("Bucket", "Key", "EventName"):
        if not isinstance(entry.get(name), str):
            raise ValueError(f"the entry has no {name}")
    return {"event": event, "bucket": entry["Bucket"], "key": entry["Key"],
            "event_name": entry["EventName"], "trigger_index": int(entry.get("Trigger") or 0),
            "generation": int(entry.get("Generation") or 0)}


__all__ = ["PixelFacts", "buckets", "folder", "source_view", "invocation_summary",
           "invocation_detail", "dead_letter_entries", "replay_arguments", "iso"]
