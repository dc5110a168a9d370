"""JSON from a request, parsed with a bound on its nesting (Pic-Operations, a POST Object
policy).

Contract: :func:`loads_shallow` is ``json.loads`` that first measures the nesting
(:func:`json_depth`, a scan that parses nothing) and raises ValueError naming the depth when
it is over :data:`MAX_JSON_DEPTH`, so a hostile document is a clear 400 at its caller, never
the RecursionError (a 500) that ``json.loads`` raises on deep nesting. Used by the COS
operations and the CI layer alike, so it sits below both (``cos/post_object``,
``ci/pic_operations``); it imports nothing of the emulator.
"""

import json

#: How deep a JSON document from a request may nest. A valid Pic-Operations needs 3 levels;
#: a deeper one is refused before ``json.loads`` (whose recursion would fail with a 500).
MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (strings skipped; no parsing)."""
    depth = peak = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            peak = max(peak, depth)
        elif ch in "]}":
            depth -= 1
    return peak


def loads_shallow(text: str) -> object:
    """``json.loads`` for request data; ValueError (naming the depth) past the bound."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are "
                         "accepted")
    return json.loads(text)


__all__ = ["MAX_JSON_DEPTH", "json_depth", "loads_shallow"]
