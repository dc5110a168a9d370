"""The routes config: its model, how it is loaded, and every check it must pass.

The YAML shape is the public contract (README)::

    routes:
      - prefix: uploads/photos/          # required; "" matches every key
        suffixes: [.jpg, .jpeg, .png]    # optional; case-insensitive; absent = any
        bucket: derived-1250000000       # optional target of this route's rules
        pic_info: true                   # optional; sent as is_pic_info
        rules:                           # one CI rule per derivative; at least one
          - fileid: /thumbs/{dir}/{stem}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp
            bucket: covers-1250000000    # optional per-rule target bucket
    manifests:                           # optional; these are the defaults
      enabled: true                      # write a manifest per processed source
      prefix: _picops/manifests/         # where, in the source bucket (reserved)

:func:`parse_config` either returns a valid :class:`Config` or raises
:class:`~picops.errors.ConfigError` holding *every* problem, each placed like
``routes[2].rules[0].rule: unknown imageMogr2 parameter 'thumbnial'``: YAML
syntax (with line and column), unknown fields, types, bucket names, duplicate
routes, fileid templates, rule strings (the one grammar parser,
:func:`picops.grammar.parse`), loop safety and the reserved manifest prefix
(:mod:`picops.loopsafety`).
Parsing is pure; :func:`load_config` is the only function that reads a file.

The JSON sidecar (a cold-start shortcut, not a second config format)
--------------------------------------------------------------------
Importing PyYAML costs about a tenth of the COS SDK's own import time, paid on
every cold start of the function. So ``make package`` runs
:func:`build_sidecar` and ships ``picops.yaml.json`` beside ``picops.yaml``:
the parsed YAML document plus the SHA-256 of the exact YAML bytes it came
from. :func:`load_config` hashes the YAML file's bytes; when the sidecar's
hash matches, it takes the document from the sidecar (stdlib ``json``) and
never imports PyYAML. Otherwise (no sidecar, as when running from the
checkout; a YAML edited after packaging; an unreadable or foreign sidecar) it
parses the YAML exactly as before. Either way the same validation runs on the
same document, so the same problems are reported: the builder writes a
sidecar only for a YAML that parses without YAML-level problems and whose
document survives a JSON round trip unchanged (no dates, no non-string keys),
and refuses to package an invalid config at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from . import loopsafety
from .constants import DEFAULT_CONFIG_NAME, ENV_CONFIG
from .errors import ConfigError, GrammarError, Problem
from .grammar import Rule, parse
from .manifest import DEFAULT_MANIFEST_PREFIX
from .templates import template_problems

#: ``name-appid``: COS bucket names are lower-case letters, digits and inner
#: hyphens; the APPID is the account's number.
BUCKET_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+")

#: The sidecar of ``picops.yaml`` is ``picops.yaml.json``.
SIDECAR_SUFFIX = ".json"
#: Bumped whenever the sidecar's shape changes; another value means "no sidecar".
SIDECAR_FORMAT = 1

_TOP_FIELDS = ("routes", "manifests")
_ROUTE_FIELDS = ("prefix", "suffixes", "bucket", "pic_info", "rules")
_RULE_FIELDS = ("fileid", "rule", "bucket")
_MANIFEST_FIELDS = ("enabled", "prefix")


class RuleSpec(NamedTuple):
    """One derivative: write ``rule`` applied to the source to ``fileid``.

    ``bucket`` is the explicit target (the rule's own, else its route's), or
    None for "the source bucket".
    """

    fileid: str
    rule: str
    parsed: Rule
    bucket: Optional[str]
    index: int


class Route(NamedTuple):
    """Keys starting with ``prefix`` (and ending with one of ``suffixes``, compared
    lower-case; None = any suffix) get ``rules``. ``index`` is its place in the file."""

    prefix: str
    suffixes: Optional[Tuple[str, ...]]
    bucket: Optional[str]
    pic_info: bool
    rules: Tuple[RuleSpec, ...]
    index: int

    def matches(self, key: str) -> bool:
        if not key.startswith(self.prefix):
            return False
        return self.suffixes is None or key.lower().endswith(self.suffixes)

    @property
    def where(self) -> str:
        return f"routes[{self.index}]"


class ManifestSettings(NamedTuple):
    """``manifests:``: whether a manifest is kept per processed source, and under
    which prefix of the source bucket (reserved: no route or trigger may see it)."""

    enabled: bool = True
    prefix: str = DEFAULT_MANIFEST_PREFIX


class Config(NamedTuple):
    routes: Tuple[Route, ...]
    source: str = ""
    manifests: ManifestSettings = ManifestSettings()


def config_path(env: Mapping[str, str], default_dir: str) -> str:
    """``PICOPS_CONFIG`` if set, else ``picops.yaml`` in ``default_dir``.

    ``default_dir`` is the function's folder (where ``index.py`` is). A relative
    ``PICOPS_CONFIG`` is taken from there too, not from the current directory:
    SCF's working directory is not documented, and this way the same
    serverless.yml value works in the cloud, in the emulator and in tests.
    """
    path = env.get(ENV_CONFIG) or DEFAULT_CONFIG_NAME
    return os.path.join(default_dir, path)


def load_config(path: str) -> Config:
    """Read and validate the config file at ``path``.

    Uses the document in ``path + SIDECAR_SUFFIX`` instead of parsing the YAML
    when that sidecar was made from these very bytes (see the module docstring).

    Raises:
        ConfigError: the file cannot be read, or is invalid (every problem listed).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
        found, doc = _read_sidecar(path, hashlib.sha256(data).hexdigest())
        text = "" if found else _decode(data)
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError([Problem("", f"cannot read config file: {reason}")], path) from None
    if found:
        return validate_document(doc, source=path)
    return parse_config(text, source=path)


def build_sidecar(data: bytes, source: str = "") -> Optional[str]:
    """The sidecar text for the YAML file bytes ``data``, for ``make package``.

    Returns None when the document cannot be carried by JSON unchanged (the
    function then parses the YAML at cold start, which is merely slower).

    Raises:
        ConfigError: the config is invalid (every problem listed); nothing
            should be packaged with it.
        UnicodeDecodeError: ``data`` is not UTF-8.
    """
    problems: List[Problem] = []
    doc = load_yaml(_decode(data), problems)
    if problems:
        raise ConfigError(problems, source)
    validate_document(doc, source)
    try:
        carried = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # dates, binary, sets, NaN: YAML types JSON lacks
        return None
    # Non-string keys come back as strings, and == tells them apart (1 != "1"):
    # what equals here is what validation would see from the YAML.
    if json.loads(carried) != doc:
        return None
    return json.dumps({"picops_sidecar": SIDECAR_FORMAT,
                       "yaml_sha256": hashlib.sha256(data).hexdigest(),
                       "document": doc}, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def _read_sidecar(path: str, digest: str) -> Tuple[bool, Any]:
    """(True, document) when ``path``'s sidecar exists and was made from bytes
    hashing to ``digest``; (False, None) otherwise. Never raises: a missing,
    stale or damaged sidecar only means the YAML is parsed instead."""
    try:
        with open(path + SIDECAR_SUFFIX, "rb") as f:
            sidecar = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not UTF-8, not JSON
        return False, None
    if (isinstance(sidecar, dict) and sidecar.get("picops_sidecar") == SIDECAR_FORMAT
            and sidecar.get("yaml_sha256") == digest and "document" in sidecar):
        return True, sidecar["document"]
    return False, None


def _decode(data: bytes) -> str:
    # What open(path, encoding="utf-8").read() gives: universal newlines, so
    # YAML marks (line, column) are the same whichever way the file was read.
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def parse_config(text: str, source: str = "") -> Config:
    """Validate config text; return the :class:`Config` or raise with every problem.

    Raises:
        ConfigError: the YAML is invalid or does not describe a valid config.
    """
    problems: List[Problem] = []
    doc = load_yaml(text, problems)
    if problems:
        raise ConfigError(problems, source)
    return validate_document(doc, source)


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
    if problems:
        raise ConfigError(problems, source)
    return config


def load_yaml(text: str, problems: List[Problem]) -> Any:
    """Parse YAML text; syntax errors and duplicate keys go to ``problems`` with their line.

    Shared with :mod:`picops.serverless`'s callers so both files report alike.
    """
    import yaml  # deferred: importing picops.config for its model stays cheap

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _duplicate_keys(node, problems)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        problems.append(Problem(_mark(e), _yaml_message(e)))
        return None


def is_bucket_name(value: str) -> bool:
    return BUCKET_RE.fullmatch(value) is not None


def bucket_problem(value: Any) -> Optional[str]:
    """Why ``value`` is not a ``name-appid`` bucket name, or None."""
    if not isinstance(value, str):
        return f"expected a bucket name (name-appid), got {_kind(value)}"
    if not is_bucket_name(value):
        return (f"{value!r} is not a bucket name of the form name-appid "
                "(lower-case letters, digits and '-', then '-' and the numeric APPID, "
                "e.g. derived-1250000000)")
    return None


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


# --- YAML helpers ----------------------------------------------------------------------

def _unknown_fields(d: dict, known: Tuple[str, ...], at: str, problems: List[Problem]) -> None:
    for k in d:
        if k not in known:
            where = f"{at}.{k}" if at else str(k)
            problems.append(Problem(where, f"unknown field {str(k)!r} (expected one of: "
                                    f"{', '.join(known)})"))


def _duplicate_keys(node: Any, problems: List[Problem]) -> None:
    # PyYAML keeps the last of two equal keys without a word; a duplicated
    # `rules:` would silently drop a whole list of derivatives.
    stack = [node]
    while stack:
        n = stack.pop()
        if n.id == "mapping":
            seen = set()
            for k, v in n.value:
                if k.id == "scalar":
                    if k.value in seen:
                        problems.append(Problem(f"line {k.start_mark.line + 1}",
                                                f"duplicate key {k.value!r} in one mapping"))
                    seen.add(k.value)
                stack.append(v)
        elif n.id == "sequence":
            stack.extend(n.value)


def _mark(e: Any) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    if mark is None:
        return ""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _yaml_message(e: Any) -> str:
    parts = [p for p in (getattr(e, "context", None), getattr(e, "problem", None)) if p]
    return "invalid YAML: " + ("; ".join(parts) if parts else str(e))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
