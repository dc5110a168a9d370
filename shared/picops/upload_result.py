"""CI's UploadResult, as the SDK hands it back, made regular. Pure.

What ``ci_image_process`` returns as ``data`` (reference cos-ci-scf.md §4.3,
§4.4): ``ProcessResults.Object`` is a dict for one rule and a list for several;
``ProcessResults`` is None when empty; every leaf is a string; ETags keep their
quotes; ``OriginalInfo`` may be absent. :func:`normalize_upload_result` turns
that into plain lists and dicts with ints and unquoted ETags, and
:func:`match_outputs` pairs the objects CI reports with the keys that were
sent, so a 200 that silently lacks an output is caught.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from .etags import unquote_etag

#: Object fields copied into an output record: (CI name, our name, is a number).
_OBJECT_FIELDS = (("Key", "key", False), ("Location", "location", False),
                  ("Format", "format", False), ("Width", "width", True),
                  ("Height", "height", True), ("Size", "size", True),
                  ("Quality", "quality", True), ("ETag", "etag", False))
#: Optional Object fields kept when CI sends them.
_OBJECT_EXTRAS = (("FrameCount", "frame_count", True), ("Md5", "md5", False))
_IMAGE_INFO_FIELDS = (("Format", "format", False), ("Width", "width", True),
                      ("Height", "height", True), ("Quality", "quality", True),
                      ("Ave", "ave", False), ("Orientation", "orientation", True),
                      ("FrameCount", "frame_count", True))


def normalize_upload_result(data: Any) -> Tuple[Optional[Dict[str, Any]], List[Dict[str, Any]]]:
    """``(original, objects)`` from the SDK's ``data`` dict.

    ``original`` is the source's ImageInfo (format, width, height, quality, ave,
    orientation[, frame_count]) or None; ``objects`` one dict per ``<Object>`` in
    CI's order, with the keys of ``_OBJECT_FIELDS`` (missing ones None).
    """
    if not isinstance(data, dict):
        return None, []
    original = None
    info = data.get("OriginalInfo")
    if isinstance(info, dict) and isinstance(info.get("ImageInfo"), dict):
        original = _pick(info["ImageInfo"], _IMAGE_INFO_FIELDS, keep_missing=False)
    results = data.get("ProcessResults")
    raw = results.get("Object") if isinstance(results, dict) else None
    if raw is None:
        items: List[Any] = []
    elif isinstance(raw, list):
        items = raw
    else:
        items = [raw]
    objects = []
    for item in items:
        if not isinstance(item, dict):
            continue
        obj = _pick(item, _OBJECT_FIELDS, keep_missing=True)
        obj.update(_pick(item, _OBJECT_EXTRAS, keep_missing=False))
        if obj["key"] is not None:
            obj["key"] = obj["key"].lstrip("/")  # a Key is reported without its "/"
        objects.append(obj)
    return original, objects


def match_outputs(sent_keys: Sequence[str],
                  objects: Sequence[Dict[str, Any]]) -> Tuple[List[Optional[Dict[str, Any]]],
                                                              List[str]]:
    """Pair each sent key with the object CI reported for it.

    Returns ``(matched, missing)``: ``matched[i]`` is the object for
    ``sent_keys[i]`` or None, and ``missing`` lists the keys with none. Keys are
    matched exactly; each object answers one sent key at most.
    """
    unused = list(objects)
    matched: List[Optional[Dict[str, Any]]] = []
    missing: List[str] = []
    for key in sent_keys:
        hit = next((o for o in unused if o.get("key") == key), None)
        if hit is None:
            missing.append(key)
        else:
            unused.remove(hit)
        matched.append(hit)
    return matched, missing


def to_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                f = float(value)  # "100.0" from a lenient server
            except ValueError:
                return None
            return int(f) if f.is_integer() else None
    return None


def _pick(src: Dict[str, Any], fields, keep_missing: bool) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for ci_name, name, numeric in fields:
        if ci_name not in src:
            if keep_missing:
                out[name] = None
            continue
        value = src[ci_name]
        if numeric:
            value = to_int(value)
        elif ci_name == "ETag":
            value = unquote_etag(value) if isinstance(value, str) else None
        elif value is not None and not isinstance(value, str):
            value = str(value)
        out[name] = value
    return out
