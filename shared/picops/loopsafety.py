"""Loop safety: no output may be picked up again as an input. Pure.

The failure this prevents is the most expensive one in the field (reference
landscape.md, pain point 1): a derivative lands where the trigger and a route
see it, the function runs on it, writes a derivative of the derivative, and so
on until someone notices the bill. Three layers, from the earliest:

1. :func:`check_config` (config validation, cold start and ``picops validate``):
   an output with no ``bucket`` goes to the source bucket, so no route may match
   any key the rule can ever produce.
2. :func:`check_watched` (``picops validate`` with serverless.yml): no enabled
   ObjectCreated trigger may match an output in the bucket it lands in (outputs
   to another bucket, and source-bucket outputs against the triggers there), and
   no output to another watched bucket may overwrite a manifest of a source there.
3. At run time, :func:`refuse_output` refuses to send an output whose target is
   the event's bucket and whose key a route matches, and :func:`is_derivative`
   lets the handler skip (reason ``loop_guard``) a key that this config could
   have produced, even when a trigger fired for it.

Manifests (:mod:`picops.manifest`) live in the source bucket under a reserved
prefix, as ``<prefix><source key>.json``. :func:`check_manifests` proves no
route can process one (and no route lives inside the prefix) and no output can
overwrite one; :func:`manifest_shape` is what ``picops validate`` checks every
serverless.yml trigger against (Created and Remove alike).

How the proof works. For a route (prefix P, suffixes S) and a fileid template,
:func:`output_shape` over-approximates the set of keys the rule can write, for
*every* source key the route accepts, as an :class:`OutputShape`: a ``lead``
every output starts with (template literals, plus what P fixes of ``{key}`` and
``{dir}``), the ``tails`` every output ends with (literals, plus what S fixes of
``{name}``, ``{stem}``, ``{ext}``, ``{key}``), or one ``exact`` key. A filter
(prefix P', suffixes S') can match an output only if P' is compatible with the
lead and some suffix in S' with a tail. This check is *conservative*: when the
shape leaves it open whether an output could match, the rule is rejected, and
the message says it could not be proven safe. A rejected safe config is a
nuisance fixed by a clearer template; an accepted unsafe one is a runaway bill.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .constants import EVENT_CREATED_PREFIX
from .errors import LoopRefusedError, Problem
from .manifest import MANIFEST_SUFFIX
from .templates import Slot, parse_template
from .model import Config, Route, RuleSpec

Suffixes = Optional[Tuple[str, ...]]


class OutputShape(NamedTuple):
    """What every key a rule can write looks like (over-approximated).

    ``lead``: every output starts with it. ``tails``: every output ends, compared
    lower-case, with one of them ("" = nothing known). ``exact``: when not None,
    the only output there is.
    """

    lead: str
    tails: Tuple[str, ...]
    exact: Optional[str] = None

    def could_match(self, prefix: str, suffixes: Suffixes) -> bool:
        """Could a filter (prefix, lower-case suffixes; None = any) match some output?"""
        if self.exact is not None:
            return self.exact.startswith(prefix) and (
                suffixes is None or self.exact.lower().endswith(suffixes))
        if not (self.lead.startswith(prefix) or prefix.startswith(self.lead)):
            return False
        if suffixes is None:
            return True
        return any(t.endswith(s) or s.endswith(t) for t in self.tails for s in suffixes)

    def admits(self, key: str) -> bool:
        """Is ``key`` within the shape (a necessary condition for being an output)?"""
        if self.exact is not None:
            return key == self.exact
        return key.startswith(self.lead) and key.lower().endswith(self.tails)

    def describe(self) -> str:
        if self.exact is not None:
            return f"its key is always {self.exact!r}"
        start = f"start with {self.lead!r}" if self.lead else "may start with anything"
        known = [t for t in self.tails if t]
        if len(known) == len(self.tails) and known:
            end = "end with " + " or ".join(repr(t) for t in known)
        else:
            end = "may end with anything"
        return f"its keys {start} and {end}"


# --- layer 1 and 2: proofs over the config ---------------------------------------------

def check_config(config: "Config") -> List[Problem]:
    """Problems for rules writing to the source bucket where some route could match.

    Each problem is placed at ``routes[i].rules[j]`` and names the routes that
    could pick the output up.
    """
    problems = []
    for route in config.routes:
        for rule in route.rules:
            if rule.bucket is not None:
                continue  # another bucket: check_watched, against the triggers there
            shape = output_shape(route.prefix, route.suffixes, rule.fileid)
            hits = [r for r in config.routes if shape.could_match(r.prefix, r.suffixes)]
            if hits:
                names = ", ".join(f"{r.where} (prefix {r.prefix!r}"
                                  f"{_suffix_note(r.suffixes)})" for r in hits)
                problems.append(Problem(f"{route.where}.rules[{rule.index}]", (
                    f"possible loop: output {rule.fileid!r} goes to the source bucket (no "
                    f"bucket given) and {shape.describe()}, so {names} could process it again; "
                    f"picops cannot prove it safe. Write outputs under a prefix no route "
                    f"matches, with a suffix the route excludes, or to another bucket")))
    return problems


def check_watched(config: "Config", triggers: Sequence) -> List[Problem]:
    """Problems for outputs that an enabled ObjectCreated trigger could fire on.

    ``triggers`` are :class:`picops.serverless.CosTrigger`. An output goes to
    its rule's bucket, or else to the source bucket: every bucket whose triggers
    can fire for a key of the route.
    """
    created = [t for t in triggers if t.enable and t.events.startswith(EVENT_CREATED_PREFIX)]
    problems = []
    for route in config.routes:
        sources = sorted({t.bucket for t in created if _trigger_reaches_route(t, route)})
        for rule in route.rules:
            shape = output_shape(route.prefix, route.suffixes, rule.fileid)
            targets = [rule.bucket] if rule.bucket is not None else sources
            for bucket in targets:
                for t in created:
                    if t.bucket != bucket:
                        continue
                    if shape.could_match(t.prefix, _trigger_suffixes(t)):
                        problems.append(Problem(f"{route.where}.rules[{rule.index}]", (
                            f"possible loop: output {rule.fileid!r} lands in bucket {bucket} "
                            f"and {shape.describe()}, so serverless.yml trigger "
                            f"inputs.events[{t.index}] (prefix {t.prefix!r}, suffix "
                            f"{t.suffix!r}) could fire on it; picops cannot prove it safe")))
    problems.extend(_manifests_of_watched(config, created))
    return problems


def _manifests_of_watched(config: "Config", created: Sequence) -> List[Problem]:
    # A bucket an ObjectCreated trigger watches holds the manifests of its sources, so a
    # rule of any route writing there explicitly may not produce a manifest key either
    # (check_manifests covers outputs to the rule's own source bucket).
    if not config.manifests.enabled:
        return []
    prefix = config.manifests.prefix
    watched = {t.bucket: t for t in reversed(created)}  # the first trigger of each bucket
    problems = []
    for route in config.routes:
        for rule in route.rules:
            t = watched.get(rule.bucket) if rule.bucket is not None else None
            out = _manifest_writer(route, rule, prefix) if t is not None else None
            if out is not None:
                problems.append(Problem(f"{route.where}.rules[{rule.index}]", (
                    f"output {rule.fileid!r} goes to bucket {rule.bucket}, whose uploads "
                    f"serverless.yml trigger inputs.events[{t.index}] sends to picops, and "
                    f"{out.describe()}, so it could overwrite the manifest of a source there "
                    f"('{prefix}<source key>{MANIFEST_SUFFIX}'); write outputs outside "
                    f"{prefix!r} there")))
    return problems


def _manifest_writer(route: Route, rule: RuleSpec, prefix: str) -> Optional[OutputShape]:
    """The shape of ``rule``'s outputs when one could be a manifest key under ``prefix``
    (``<prefix>...json``) in the bucket it lands in; else None."""
    out = output_shape(route.prefix, route.suffixes, rule.fileid)
    return out if out.could_match(prefix, (MANIFEST_SUFFIX,)) else None


def manifest_shape(prefix: str) -> OutputShape:
    """Every manifest key under ``prefix``: it starts with it and ends with ``.json``."""
    return OutputShape(lead=prefix, tails=(MANIFEST_SUFFIX,))


def check_manifests(config: "Config") -> List[Problem]:
    """Problems between the routes and the manifest prefix (none when manifests are off).

    A route may not live inside the prefix (it is reserved: the handler skips
    every key there), nor match any ``<prefix>...json`` key; a rule writing to
    the source bucket may not produce such a key (it could overwrite a manifest).
    """
    settings = config.manifests
    if not settings.enabled:
        return []
    prefix = settings.prefix
    shape = manifest_shape(prefix)
    problems = []
    for route in config.routes:
        if route.prefix.startswith(prefix):
            problems.append(Problem(f"{route.where}.prefix", (
                f"{route.prefix!r} is inside the manifest prefix {prefix!r} (manifests.prefix), "
                f"which is reserved for picops' manifests: nothing under it is ever processed")))
        elif shape.could_match(route.prefix, route.suffixes):
            problems.append(Problem(f"{route.where}.prefix", (
                f"this route (prefix {route.prefix!r}{_suffix_note(route.suffixes)}) could "
                f"process manifests: picops keeps one per source object as "
                f"'{prefix}<source key>{MANIFEST_SUFFIX}' in the source bucket. Give the route "
                f"a prefix outside {prefix!r} or suffixes that exclude {MANIFEST_SUFFIX!r}, or "
                f"move the manifests (manifests.prefix)")))
        for rule in route.rules:
            out = _manifest_writer(route, rule, prefix) if rule.bucket is None else None
            if out is not None:
                problems.append(Problem(f"{route.where}.rules[{rule.index}]", (
                    f"output {rule.fileid!r} goes to the source bucket and {out.describe()}, so "
                    f"it could overwrite a manifest ('{prefix}<source key>{MANIFEST_SUFFIX}'); "
                    f"write outputs outside {prefix!r} or to another bucket")))
    return problems


# --- layer 3: run-time guards -------------------------------------------------------------

def refuse_output(config: "Config", event_bucket: str, target_bucket: str, key: str) -> None:
    """Raise when an output would land where a route picks it up again.

    Raises:
        LoopRefusedError: ``target_bucket`` is the event's bucket and a route
            matches ``key``.
    """
    if target_bucket != event_bucket:
        return
    for route in config.routes:
        if route.matches(key):
            raise LoopRefusedError(
                f"output {key!r} would be written to the source bucket {event_bucket}, where "
                f"{route.where} (prefix {route.prefix!r}) would process it again; not sent")


def is_derivative(config: "Config", key: str, bucket: Optional[str] = None) -> bool:
    """Could ``key`` have been written by a rule of this config?

    With ``bucket`` (the event's bucket), rules writing to another named bucket
    are left out. A key is a derivative when it fits both the rule's
    :class:`OutputShape` and the template's path structure, so for a config
    that passed :func:`check_config`, no key a route matches in its source
    bucket is ever called a derivative.
    """
    for route in config.routes:
        for rule in route.rules:
            if bucket is not None and rule.bucket is not None and rule.bucket != bucket:
                continue
            if _derivative_test(route.prefix, route.suffixes, rule.fileid)(key):
                return True
    return False


# --- the shape of a rule's outputs -------------------------------------------------------

class _Field(NamedTuple):
    """What a route's (prefix, suffixes) fixes about one placeholder's value.

    ``lead``: the value starts with it. ``then_slash``: when the value is longer
    than ``lead`` the next character is ``/``. ``tails``: lower-case endings, one
    of which the value has (None = unknown). ``exact``: the value *is* one of the
    tails. ``may_be_empty``: some accepted key gives "".
    """

    lead: str = ""
    then_slash: bool = False
    tails: Optional[Tuple[str, ...]] = None
    exact: bool = False
    may_be_empty: bool = True


def _fields(prefix: str, suffixes: Suffixes) -> Dict[str, _Field]:
    # A source key is prefix + anything, ending (any case) with a suffix, and
    # never ending with "/" (folder markers are skipped before routing).
    cut = prefix.rfind("/")
    if cut >= 0:
        dir_field = _Field(lead=prefix[:cut], then_slash=True, may_be_empty=False)
    else:
        dir_field = _Field()
    fields = {
        "key": _Field(lead=prefix, tails=suffixes, may_be_empty=False),
        "dir": dir_field,
        "name": _Field(tails=None, may_be_empty=False),
        "stem": _Field(),
        "ext": _Field(),
    }
    if suffixes is None:
        return fields
    names, stems, exts = [], [], []
    names_exact = stems_exact = exts_ok = stems_ok = True
    stem_empty = ext_empty = False
    for s in suffixes:
        whole = "/" in s  # the name is then exactly the suffix's last segment
        n = s[s.rfind("/") + 1:]
        names.append(n)
        names_exact = names_exact and whole
        dot = n.rfind(".")
        if dot < 0:
            # "jpg": the name may or may not hold a dot before it; nothing known
            exts_ok = stems_ok = False
            continue
        exts.append(n[dot + 1:])
        ext_empty = ext_empty or dot == len(n) - 1
        stems.append(n[:dot])
        stems_exact = stems_exact and whole
        stem_empty = stem_empty or dot == 0
    # Any suffix ending in "/" names only folder markers, which never route.
    fields["name"] = _Field(tails=tuple(names) if all(names) else None,
                            exact=names_exact and all(names), may_be_empty=False)
    if exts_ok:
        fields["ext"] = _Field(tails=tuple(exts), exact=True, may_be_empty=ext_empty)
    if stems_ok:
        fields["stem"] = _Field(tails=tuple(stems), exact=stems_exact, may_be_empty=stem_empty)
    return fields


def _segments(fileid: str) -> Tuple[Tuple, ...]:
    """The template's segments as written to the bucket: a relative fileid is
    preceded by the source's folder, which behaves exactly like a ``{dir}``
    segment (it vanishes, with its ``/``, at the root)."""
    parsed = parse_template(fileid)
    if parsed.absolute:
        return parsed.segments
    return ((Slot("dir"),),) + parsed.segments


def _droppable(segment: Tuple, fields: Dict[str, _Field]) -> bool:
    return all(isinstance(p, Slot) and fields[p.name].may_be_empty for p in segment)


@lru_cache(maxsize=256)
def output_shape(prefix: str, suffixes: Suffixes, fileid: str) -> OutputShape:
    """The :class:`OutputShape` of rule ``fileid`` under route (``prefix``, ``suffixes``)."""
    fields = _fields(prefix, suffixes)
    segments = _segments(fileid)
    if all(isinstance(p, str) for seg in segments for p in seg):
        exact = "/".join("".join(seg) for seg in segments)
        return OutputShape(lead=exact, tails=(exact.lower(),), exact=exact)
    return OutputShape(lead=_lead(segments, fields), tails=_tails(segments, fields))


def _lead(segments: Tuple[Tuple, ...], fields: Dict[str, _Field]) -> str:
    acc = ""
    for i, segment in enumerate(segments):
        if _droppable(segment, fields):
            return acc  # the "/" after acc may vanish with this segment
        if i:
            acc += "/"
        for k, part in enumerate(segment):
            if isinstance(part, str):
                acc += part
                continue
            f = fields[part.name]
            if f.may_be_empty:
                return acc
            acc += f.lead
            # {dir} is its lead, or its lead + "/" + more: when the segment ends
            # here and a segment that never vanishes follows, a "/" comes next
            # either way (a following segment that may vanish takes its "/" along).
            if f.then_slash and k == len(segment) - 1 and \
                    not all(_droppable(s, fields) for s in segments[i + 1:]):
                acc += "/"
            return acc
    return acc


def _tails(segments: Tuple[Tuple, ...], fields: Dict[str, _Field]) -> Tuple[str, ...]:
    last = segments[-1]
    if _droppable(last, fields):
        return ("",)
    alts = {""}
    for part in reversed(last):
        if isinstance(part, str):
            alts = {part.lower() + a for a in alts}
            continue
        f = fields[part.name]
        if f.tails is None:
            break
        alts = {t + a for t in f.tails for a in alts}
        if not f.exact:
            break
    return tuple(sorted(alts))


@lru_cache(maxsize=256)
def _derivative_test(prefix: str, suffixes: Suffixes, fileid: str):
    """A predicate: is a key both within the rule's shape and of its path structure?"""
    shape = output_shape(prefix, suffixes, fileid)
    fields = _fields(prefix, suffixes)
    # Regex over key + "/": each segment followed by "/", droppable ones optional.
    pieces = []
    for segment in _segments(fileid):
        body = "".join(re.escape(p) if isinstance(p, str) else _slot_pattern(p.name, fields)
                       for p in segment)
        pieces.append(f"(?:{body}/)?" if _droppable(segment, fields) else f"{body}/")
    structure = re.compile("".join(pieces), re.DOTALL)

    def test(key: str) -> bool:
        return shape.admits(key) and structure.fullmatch(key + "/") is not None

    return test


def _slot_pattern(name: str, fields: Dict[str, _Field]) -> str:
    if name == "key":
        return re.escape(fields["key"].lead) + ".*"
    if name == "dir":
        f = fields["dir"]
        return (re.escape(f.lead) + "(?:/.*)?") if f.then_slash else ".*"
    return {"name": "[^/]+", "stem": "[^/]*", "ext": "[^/.]*"}[name]


# --- triggers -------------------------------------------------------------------------

def _trigger_suffixes(trigger) -> Suffixes:
    # COS filter suffix case sensitivity is UNCONFIRMED: compare lower-case, which
    # can only find more possible loops, never fewer.
    return (trigger.suffix.lower(),) if trigger.suffix else None


def _trigger_reaches_route(trigger, route: "Route") -> bool:
    """Can the trigger fire for some key the route accepts?"""
    if not (route.prefix.startswith(trigger.prefix) or trigger.prefix.startswith(route.prefix)):
        return False
    if not trigger.suffix or route.suffixes is None:
        return True
    t = trigger.suffix.lower()
    return any(s.endswith(t) or t.endswith(s) for s in route.suffixes)


def _suffix_note(suffixes: Suffixes) -> str:
    return "" if suffixes is None else ", suffixes " + " ".join(suffixes)


__all__ = ["OutputShape", "check_config", "check_manifests", "check_watched", "is_derivative",
           "manifest_shape", "output_shape", "refuse_output"]

