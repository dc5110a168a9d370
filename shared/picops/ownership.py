"""Ownership of derivatives: every output (bucket + key) belongs to exactly one source key.

Pure: no I/O. Two jobs.

**The proof** (:func:`check_config`, run by config validation): no two different
source keys that the config accepts resolve to the same output, within a rule
(the rule's output must determine its source key) and across every pair of rules
that can write to the same bucket, whatever their routes. A rule's output is a
function of its source key's fields (``{dir}``, ``{name}``, ``{stem}``,
``{ext}``, ``{key}``); the proof shows that the key can be read back from the
output, and that two different rules' outputs cannot be the same string:

* the folder: the output's path segments are the template's segments, where a
  segment that is exactly ``{dir}`` (or the source folder of a relative fileid,
  or the folder part of a whole-segment ``{key}``) stands for any number of
  segments and every other segment renders exactly one, never empty; so the
  source folder is what is left once the fixed segments are counted off;
* the name: a segment holding ``{name}`` (or ``{key}``) with only fixed text
  around it; or ``{stem}`` and ``{ext}`` both readable (each alone in its segment
  with fixed text, or together with a separator holding a character no possible
  extension has: ``.`` always qualifies) and names that always have a dot (every
  suffix of the route has one), so that the name is ``stem.ext``;
* two different rules (same bucket, or a rule writing to "the source bucket",
  which may be any bucket) are disjoint when their fixed beginnings or their fixed
  endings differ (neither is a prefix, resp. suffix, of the other); rules with the
  same normalised template are one injective function over both routes.

Anything else is refused, conservatively, naming the rule or the pair of rules
and, when a small search over keys the routes accept finds one, an example pair
of keys with their shared output.

**The guard** for deleting (:func:`owned_outputs`): the outputs the current
config produces for a source key, the only ones deletion sync and overwrites may
remove. A manifest is a file an uploader could write; the config is not.
"""

from __future__ import annotations

from itertools import combinations, product
from typing import Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from .errors import Problem
from .templates import Slot, parse_template

#: The folder placeholder, and the other ones, as parsed slots.
_DIR, _KEY, _NAME, _STEM, _EXT = (Slot(n) for n in ("dir", "key", "name", "stem", "ext"))

Part = object  # a literal str or a Slot
Segment = Tuple[Part, ...]


class RuleRef(NamedTuple):
    """A rule of the config, with what the proof needs of its route."""

    where: str                      # routes[i].rules[j]
    fileid: str
    bucket: Optional[str]           # None: the source bucket
    prefix: str
    suffixes: Optional[Tuple[str, ...]]
    route_index: int
    rule_index: int


def check_config(config) -> List[Problem]:
    """Problems for rules whose outputs two different source keys could share."""
    refs = [RuleRef(f"{route.where}.rules[{rule.index}]", rule.fileid, rule.bucket,
                    route.prefix, route.suffixes, route.index, rule.index)
            for route in config.routes for rule in route.rules]
    problems: List[Problem] = []
    shapes: Dict[str, Optional[Tuple[Segment, ...]]] = {}
    for ref in refs:
        try:
            shapes[ref.where] = _normalised(ref.fileid)
        except ValueError:
            shapes[ref.where] = None  # an invalid template: reported by its own check
    for ref in refs:
        shape = shapes[ref.where]
        if shape is None:
            continue
        why = _not_injective(shape, ref.suffixes)
        if why:
            problems.append(Problem(ref.where, _message(config, [ref], why)))
    for a, b in combinations(refs, 2):
        sa, sb = shapes[a.where], shapes[b.where]
        if sa is None or sb is None or not _same_bucket_possible(a.bucket, b.bucket):
            continue
        if sa == sb:
            if a.route_index == b.route_index:
                if a.fileid == b.fileid:
                    continue  # validation's duplicate-fileid check reports it
                problems.append(Problem(b.where, _message(
                    config, [a, b], f"it writes the same output as {a.where} for every "
                    "source key")))
            else:  # one function over both routes: injective on their union?
                why = _not_injective(sa, _union_suffixes(a.suffixes, b.suffixes))
                if why:
                    problems.append(Problem(b.where, _message(
                        config, [a, b], f"it shares its fileid with {a.where}, and {why}")))
            continue
        if _disjoint(sa, sb):
            continue
        problems.append(Problem(b.where, _message(
            config, [a, b], f"picops cannot prove that it and {a.where} ({a.fileid!r}) never "
            "write the same key: give each rule a fixed beginning or ending of its own "
            "(a folder, or a suffix such as _400.webp)")))
    return problems


def owned_outputs(config, bucket: str, key: str) -> Set[Tuple[str, str]]:
    """Every (bucket, key) the current config writes for source ``bucket``/``key``:
    the only outputs deletion sync and overwrites may delete for it."""
    from .routing import plan  # late: routing imports loop safety, which is imported here

    p = plan(config, bucket, key)
    return set() if p is None else {(o.bucket, o.key) for o in p.outputs}


# --- the shape of a rule's output --------------------------------------------------------

def _normalised(fileid: str) -> Tuple[Segment, ...]:
    """The output's segments from the bucket root: a relative fileid gets the source
    folder in front, a whole-segment ``{key}`` becomes ``{dir}`` / ``{name}``."""
    template = parse_template(fileid)
    segments: List[Segment] = [] if template.absolute else [(_DIR,)]
    for seg in template.segments:
        seg = tuple(p for p in seg if p != "")
        if seg == (_KEY,):
            segments.extend([(_DIR,), (_NAME,)])
        else:
            segments.append(seg)
    return tuple(segments)


def _not_injective(shape: Tuple[Segment, ...],
                   suffixes: Optional[Tuple[str, ...]]) -> Optional[str]:
    """None when the source key can always be read back from the output, else why not."""
    slots = [p for seg in shape for p in seg if isinstance(p, Slot)]
    if slots == [_KEY]:
        return None  # fixed text around the whole key
    for seg in shape:
        if _KEY in seg or (_DIR in seg and seg != (_DIR,)):
            return ("{key} or {dir} shares a path segment with other text, so the source "
                    "folder cannot be told apart from it; give it a segment of its own "
                    "(/thumbs/{dir}/{name}_400.webp)")
    dir_segments = [seg for seg in shape if seg == (_DIR,)]
    if not dir_segments:
        return ("the output does not carry the source folder ({dir}, {key} or a relative "
                "fileid), so the same name in two folders shares it")
    if len(dir_segments) > 1:
        return "{dir} appears more than once; picops proves outputs with one folder slot"
    others = [seg for seg in shape if seg != (_DIR,)]
    ext_chars = _ext_chars(suffixes)
    for seg in others:
        if not _never_empty(seg, ext_chars):
            return (f"segment {_show(seg)!r} can render empty and disappear, so the source "
                    "folder cannot be counted off; put fixed text in it")
    readable: Set[Slot] = set()
    for seg in others:
        readable |= _readable(seg, ext_chars)
    if _NAME in readable:
        return None
    if _STEM in readable and _EXT in readable:
        if _names_have_dots(suffixes):
            return None
        return ("{stem} and {ext} only give back the name when every name has an extension: "
                "list the route's suffixes (each with its dot) or use {name}")
    if any(_STEM in seg and _EXT in seg for seg in others):
        return ("{stem} and {ext} share a segment without a separator that no extension can "
                "hold ('.' always works; another character only when the route's suffixes "
                "rule it out), so picops cannot tell where one ends and the other starts")
    missing = "the extension ({ext})" if _STEM in readable else "the name ({name})"
    return (f"the output drops {missing}, so sources differing only there share it (suffixes "
            "match any case: x.jpg and x.JPG too); use {name}, or {stem} and {ext} apart, "
            "e.g. /thumbs/{dir}/{stem}_{ext}.webp")


def _readable(seg: Segment, ext_chars: Optional[str]) -> Set[Slot]:
    """The slots whose values can be read back from this segment's rendering alone."""
    slots = [p for p in seg if isinstance(p, Slot)]
    if len(slots) == 1:
        return {slots[0]}
    if len(slots) == 2 and set(slots) == {_STEM, _EXT}:
        first, second = (i for i, p in enumerate(seg) if isinstance(p, Slot))
        between = "".join(p for p in seg[first + 1:second] if isinstance(p, str))
        if any(c in "./" or (ext_chars is not None and c.lower() not in ext_chars)
               for c in between):
            return {_STEM, _EXT}
    return set()


def _never_empty(seg: Segment, ext_chars: Optional[str]) -> bool:
    for p in seg:
        if isinstance(p, str) and p:
            return True
        if p in (_NAME, _KEY) or (p == _EXT and ext_chars is not None):
            return True
    return False


def _ext_chars(suffixes: Optional[Tuple[str, ...]]) -> Optional[str]:
    """Every character an extension can hold (lower case), when the suffixes fix it;
    None when any extension is possible."""
    if not suffixes or any("." not in s or s.endswith(".") for s in suffixes):
        return None
    return "".join(sorted({c.lower() for s in suffixes for c in s.rsplit(".", 1)[1]}))


def _names_have_dots(suffixes: Optional[Tuple[str, ...]]) -> bool:
    return bool(suffixes) and all("." in s and not s.endswith(".") for s in suffixes)


def _union_suffixes(a, b):
    return None if a is None or b is None else tuple(a) + tuple(b)


def _same_bucket_possible(a: Optional[str], b: Optional[str]) -> bool:
    return a is None or b is None or a == b


# --- two rules --------------------------------------------------------------------------

def _disjoint(a: Tuple[Segment, ...], b: Tuple[Segment, ...]) -> bool:
    ha, hb = _head(a), _head(b)
    if not (ha.startswith(hb) or hb.startswith(ha)):
        return True
    ta, tb = _tail(a), _tail(b)
    return not (ta.endswith(tb) or tb.endswith(ta))


def _head(shape: Tuple[Segment, ...]) -> str:
    """The fixed text every output of this shape starts with."""
    text = ""
    for seg in shape:
        for p in seg:
            if isinstance(p, Slot):
                return text
            text += p
        text += "/"
    return text


def _tail(shape: Tuple[Segment, ...]) -> str:
    """The fixed text every output of this shape ends with."""
    text = ""
    for seg in reversed(shape):
        for p in reversed(seg):
            if isinstance(p, Slot):
                return text
            text = p + text
        text = "/" + text
    return text


def _show(seg: Segment) -> str:
    return "".join(str(p) for p in seg)


# --- examples for the messages ----------------------------------------------------------

def _message(config, refs: Sequence[RuleRef], why: str) -> str:
    first = refs[0]
    text = f"output {refs[-1].fileid!r}: {why}"
    pair = _example(config, refs)
    if pair:
        (k1, r1), (k2, r2), out = pair
        if r1 == r2:
            text += f"; e.g. {k1!r} and {k2!r} both write {out!r}"
        else:
            text += f"; e.g. {k1!r} ({r1}) and {k2!r} ({r2}) both write {out!r}"
    elif len(refs) == 1:
        text += f" (route prefix {first.prefix!r})"
    return text


def _example(config, refs: Sequence[RuleRef]):
    """Two different accepted keys whose outputs under ``refs`` coincide, if a small
    search finds them: ((key, where), (key, where), output)."""
    from .routing import OutputKeyError, match, output_key

    seen: Dict[str, Tuple[str, str]] = {}
    for ref in refs:
        for key in _candidate_keys(ref.prefix, ref.suffixes):
            route = match(config, key)
            if route is None or route.index != ref.route_index:
                continue
            try:
                out = output_key(ref.fileid, key)
            except (OutputKeyError, ValueError):
                continue
            if out in seen and seen[out][0] != key:
                return seen[out], (key, ref.where), out
            seen.setdefault(out, (key, ref.where))
    return None


def _candidate_keys(prefix: str, suffixes: Optional[Tuple[str, ...]]) -> List[str]:
    ends = list(suffixes or (".jpg", ".png", ""))
    ends = ends + [e.upper() for e in ends if e.upper() != e]
    folders = ["", "a/", "ab/", "a/b/"]
    stems = ["x", "ax", "bx", "x_jpg", "x.jpg", "a/x"]
    keys = []
    for folder, stem, end in product(folders, stems, ends):
        keys.append(prefix + folder + stem + end)
    return keys


__all__ = ["check_config", "owned_outputs", "RuleRef"]
