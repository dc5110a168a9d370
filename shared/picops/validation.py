"""Checking a parsed config document and building the :class:`~picops.model.Config`. Pure.

:func:`validate_document` either returns a valid :class:`~picops.model.Config`
or raises :class:`~picops.errors.ConfigError` holding *every* problem, each
placed like ``routes[2].rules[0].rule: unknown imageMogr2 parameter
'thumbnial'``: unknown fields, types, bucket names, duplicate routes, fileid
templates, rule strings (the one grammar parser, :func:`picops.grammar.parse`),
loop safety and the reserved manifest prefix (:mod:`picops.loopsafety`), and the
ownership proof: no two source keys share an output (:mod:`picops.ownership`).

The document comes from the YAML file or its JSON sidecar (:mod:`picops.config`
reads both); this module never reads a file.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import loopsafety, ownership, routing
from .cos_keys import MAX_KEY_BYTES
from .describe import describe_value as _kind
from .errors import ConfigError, GrammarError, Problem
from .grammar import parse
from .model import (DEFAULT_MANIFEST_PREFIX, Config, ManifestSettings, Route, RuleSpec,
                    is_bucket_name)
from .templates import template_problems

_TOP_FIELDS = ("routes", "manifests")
_ROUTE_FIELDS = ("prefix", "suffixes", "bucket", "pic_info", "rules")
_RULE_FIELDS = ("fileid", "rule", "bucket")
_MANIFEST_FIELDS = ("enabled", "prefix")


def validate_document(doc: Any, source: str = "") -> Config:
    """Validate an already parsed config document (YAML's or the sidecar's).

    Raises:
        ConfigError: the document does not describe a valid config.
    """
    problems: List[Problem] = []
    config = Config(routes=_routes(doc, problems), source=source,
                    manifests=_manifests(doc, problems))
    # The loop proof runs on whatever parts were valid, so a file with a typo in
    # one route still gets its loop problems reported in the same pass.
    problems.extend(loopsafety.check_config(config))
    problems.extend(loopsafety.check_manifests(config))
    problems.extend(ownership.check_config(config))
    problems.extend(header_size_problems(config))
    if problems:
        raise ConfigError(problems, source)
    return config


def bucket_problem(value: Any) -> Optional[str]:
    """Why ``value`` is not a ``name-appid`` bucket name, or None."""
    if not isinstance(value, str):
        return f"expected a bucket name (name-appid), got {_kind(value)}"
    if not is_bucket_name(value):
        return (f"{value!r} is not a bucket name of the form name-appid "
                "(lower-case letters, digits and '-', then '-' and the numeric APPID, "
                "e.g. derived-1250000000)")
    return None


def header_size_problems(config: Config) -> List[Problem]:
    """Every route whose rules can make a ``Pic-Operations`` header over the limit
    (:mod:`picops.header_limits`), estimated with output keys of ``MAX_KEY_BYTES``
    ASCII bytes, the longest a route can produce (a key of non-ASCII characters
    travels escaped and can be longer still: the function checks each call again).
    The calls are the function's (:func:`picops.routing.in_calls`)."""
    problems: List[Problem] = []
    longest = "k" * MAX_KEY_BYTES
    for route in config.routes:
        outputs = [routing.Output(r.index, r.bucket or "", longest, r.rule)
                   for r in route.rules]
        for batch in routing.in_calls(outputs):
            call = routing.pic_operations(batch, "", route.pic_info)
            why = routing.call_size_problem(batch, routing.pic_operations_header(call))
            if why is not None:
                problems.append(Problem(f"{route.where}.rules", f"with output keys of "
                                        f"{MAX_KEY_BYTES} bytes, {why}"))
    return problems


# --- building the model -----------------------------------------------------------------

def _routes(doc: Any, problems: List[Problem]) -> Tuple[Route, ...]:
    if doc is None:
        problems.append(Problem("", "empty config: expected a mapping with 'routes'"))
        return ()
    if not isinstance(doc, dict):
        problems.append(Problem("", f"expected a mapping with 'routes', got {_kind(doc)}"))
        return ()
    _unknown_fields(doc, _TOP_FIELDS, "", problems)
    if "routes" not in doc:
        problems.append(Problem("routes", "missing"))
        return ()
    raw_routes = doc["routes"]
    if not isinstance(raw_routes, list):
        problems.append(Problem("routes", f"expected a list of routes, got {_kind(raw_routes)}"))
        return ()
    if not raw_routes:
        problems.append(Problem("routes", "empty: no object would be processed"))
    routes = []
    for i, raw in enumerate(raw_routes):
        route = _route(raw, i, problems)
        if route is not None:
            routes.append(route)
    _duplicate_routes(routes, problems)
    return tuple(routes)


def _manifests(doc: Any, problems: List[Problem]) -> ManifestSettings:
    if not isinstance(doc, dict) or "manifests" not in doc:
        return ManifestSettings()
    raw = doc["manifests"]
    if not isinstance(raw, dict):
        problems.append(Problem("manifests", f"expected a mapping with enabled and/or prefix, "
                                f"got {_kind(raw)}"))
        return ManifestSettings()
    _unknown_fields(raw, _MANIFEST_FIELDS, "manifests", problems)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(Problem("manifests.enabled", f"expected true or false, "
                                f"got {_kind(enabled)}"))
        enabled = True
    prefix = raw.get("prefix", DEFAULT_MANIFEST_PREFIX)
    why = _manifest_prefix_problem(prefix)
    if why:
        problems.append(Problem("manifests.prefix", why))
        prefix = DEFAULT_MANIFEST_PREFIX
    return ManifestSettings(enabled=enabled, prefix=prefix)


def _manifest_prefix_problem(prefix: Any) -> Optional[str]:
    if not isinstance(prefix, str):
        return f"expected a string such as {DEFAULT_MANIFEST_PREFIX!r}, got {_kind(prefix)}"
    if not prefix.endswith("/"):
        # A folder: "<prefix><source key>.json" must not run into the source key.
        return f"{prefix!r} must end with '/' (a folder of its own, e.g. " \
               f"{DEFAULT_MANIFEST_PREFIX!r})"
    if prefix.startswith("/"):
        return f"{prefix!r} starts with '/': object keys never do"
    if any(seg in ("", ".", "..") for seg in prefix[:-1].split("/")):
        return f"{prefix!r} has an empty, '.' or '..' segment"
    return None


def _route(raw: Any, i: int, problems: List[Problem]) -> Optional[Route]:
    at = f"routes[{i}]"
    if not isinstance(raw, dict):
        problems.append(Problem(at, f"expected a mapping, got {_kind(raw)}"))
        return None
    _unknown_fields(raw, _ROUTE_FIELDS, at, problems)

    prefix = _text(raw, "prefix", at, problems, missing="missing (use \"\" to match every key)")
    if prefix is not None and prefix.startswith("/"):
        problems.append(Problem(f"{at}.prefix", f"{prefix!r} starts with '/': object keys "
                                "never do (write 'uploads/', not '/uploads/')"))

    before = len(problems)
    suffixes = _suffixes(raw.get("suffixes"), "suffixes" in raw, f"{at}.suffixes", problems)
    suffixes_ok = len(problems) == before

    _check_bucket(raw, at, problems)
    bucket = raw.get("bucket")
    bucket = bucket if isinstance(bucket, str) else None

    pic_info = raw.get("pic_info", False)
    if not isinstance(pic_info, bool):
        problems.append(Problem(f"{at}.pic_info", f"expected true or false, got {_kind(pic_info)}"))
        pic_info = False

    rules = _rules(raw, at, bucket, problems)
    # A route whose own matching fields are valid is kept (with its valid rules)
    # even when other fields are not, so duplicate and loop checks still see it;
    # a config with any problem is never returned, so nothing runs on it.
    if prefix is None or not suffixes_ok:
        return None
    return Route(prefix=prefix, suffixes=suffixes, bucket=bucket, pic_info=pic_info,
                 rules=rules, index=i)


def _suffixes(value: Any, present: bool, at: str,
              problems: List[Problem]) -> Optional[Tuple[str, ...]]:
    if not present or value is None:
        return None
    if not isinstance(value, list) or not value:
        problems.append(Problem(at, f"expected a non-empty list of suffixes such as "
                                f"[.jpg, .png], got {_kind(value)}"))
        return None
    out: List[str] = []
    for j, s in enumerate(value):
        if not isinstance(s, str) or not s:
            problems.append(Problem(f"{at}[{j}]", f"expected a non-empty string, got {_kind(s)}"))
        elif s.lower() not in out:
            out.append(s.lower())
    return tuple(out)


def _rules(raw: dict, at: str, route_bucket: Optional[str],
           problems: List[Problem]) -> Tuple[RuleSpec, ...]:
    if "rules" not in raw:
        problems.append(Problem(f"{at}.rules", "missing"))
        return ()
    value = raw["rules"]
    if not isinstance(value, list) or not value:
        problems.append(Problem(f"{at}.rules", f"expected a non-empty list of rules, "
                                f"got {_kind(value)}"))
        return ()
    rules: List[RuleSpec] = []
    seen: Dict[Tuple[Optional[str], str], int] = {}
    for j, r in enumerate(value):
        spec = _rule(r, f"{at}.rules[{j}]", j, route_bucket, problems)
        if spec is None:
            continue
        target = (spec.bucket, spec.fileid)
        if target in seen:
            problems.append(Problem(f"{at}.rules[{j}].fileid", f"{spec.fileid!r} is already the "
                                    f"output of {at}.rules[{seen[target]}] in the same bucket"))
        seen.setdefault(target, j)
        rules.append(spec)
    return tuple(rules)


def _rule(raw: Any, at: str, j: int, route_bucket: Optional[str],
          problems: List[Problem]) -> Optional[RuleSpec]:
    if not isinstance(raw, dict):
        problems.append(Problem(at, f"expected a mapping with fileid and rule, got {_kind(raw)}"))
        return None
    before = len(problems)
    _unknown_fields(raw, _RULE_FIELDS, at, problems)

    fileid = _text(raw, "fileid", at, problems)
    if fileid is not None:
        problems.extend(Problem(f"{at}.fileid", m) for m in template_problems(fileid))

    text = _text(raw, "rule", at, problems)
    parsed = None
    if text is not None:
        # The parser also enforces CI's stage limit (CI_MAX_STAGES).
        try:
            parsed = parse(text)
        except GrammarError as e:
            problems.append(Problem(f"{at}.rule", e.message))

    _check_bucket(raw, at, problems)
    if len(problems) > before or parsed is None:
        return None
    bucket = raw.get("bucket")
    return RuleSpec(fileid=fileid, rule=text, parsed=parsed,
                    bucket=bucket if bucket is not None else route_bucket, index=j)


def _text(raw: dict, name: str, at: str, problems: List[Problem],
          missing: str = "missing") -> Optional[str]:
    """The required string field ``name`` of ``raw``, or None (and a problem)."""
    if name not in raw:
        problems.append(Problem(f"{at}.{name}", missing))
        return None
    value = raw[name]
    if not isinstance(value, str):
        problems.append(Problem(f"{at}.{name}", f"expected a string, got {_kind(value)}"))
        return None
    return value


def _check_bucket(raw: dict, at: str, problems: List[Problem]) -> None:
    """A problem when ``raw`` has a ``bucket`` that is not a bucket name (null included)."""
    if "bucket" in raw:
        why = bucket_problem(raw["bucket"])
        if why:
            problems.append(Problem(f"{at}.bucket", why))


def _duplicate_routes(routes: List[Route], problems: List[Problem]) -> None:
    # Longest prefix wins, so only routes with the same prefix can tie; they tie
    # when some key ends with a suffix of both (".jpg" and "_raw.jpg" do).
    for b_pos, b in enumerate(routes):
        for a in routes[:b_pos]:
            if a.prefix != b.prefix:
                continue
            shared = _suffix_overlap(a.suffixes, b.suffixes)
            if shared is not None:
                problems.append(Problem(f"{b.where}.prefix", (
                    f"duplicate route: prefix {b.prefix!r} is also {a.where}'s, and a key "
                    f"{shared} would match both")))
                break


def _suffix_overlap(a: Optional[Tuple[str, ...]],
                    b: Optional[Tuple[str, ...]]) -> Optional[str]:
    """A description of a key both suffix sets accept, or None when disjoint."""
    if a is None or b is None:
        only = a or b
        return f"ending in {only[0]!r}" if only else "of any name"
    for x in a:
        for y in b:
            if x.endswith(y) or y.endswith(x):
                return f"ending in {max(x, y, key=len)!r}"
    return None


def _unknown_fields(d: dict, known: Tuple[str, ...], at: str, problems: List[Problem]) -> None:
    for k in d:
        if k not in known:
            where = f"{at}.{k}" if at else str(k)
            problems.append(Problem(where, f"unknown field {str(k)!r} (expected one of: "
                                    f"{', '.join(known)})"))
