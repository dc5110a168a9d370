"""serverless.yml (Tencent ``scf`` component): reading it, its model and its checks.

:func:`load_serverless` reads the file with the one bounded YAML loader
(:func:`picops.yamlload.read_document`: syntax, duplicate keys such as a
second ``timeout:``, size, depth and alias bounds, at line and column). :func:`parse_serverless`
(pure) takes the parsed mapping and returns a :class:`ServerlessSpec`, or
raises :class:`~picops.errors.ConfigError` listing every problem, each placed
like ``serverless.yml: inputs.events[1].cos.parameters.filter.prefix``. The
emulator's trigger layer runs the function from this spec, and ``picops
validate`` checks it against the routes config with :func:`check_against_config`:

* every route is covered by an enabled ``cos:ObjectCreated:*`` trigger;
* no two triggers on one bucket overlap for the same event type (COS refuses
  the second, so nested prefixes must share one trigger);
* no trigger can fire on an output (:func:`picops.loopsafety.check_watched`);
* when manifests are on, no enabled trigger of any event type (ObjectCreated,
  ObjectRemove ...) can fire on a manifest key (``<prefix><key>.json``): the
  function writes and deletes those itself.

``cos:ObjectRemove:*`` triggers are what keep derivatives in step with deleted
sources; they are optional (without them deletions are not synced) and share
the overlap rule: COS refuses overlapping filters for the same event type only,
so a Created and a Remove trigger on one prefix are fine.

:func:`check_deployable` is what ``sls deploy`` and SCF would refuse or get
wrong, checked against the ``scf`` component's published input schema
(:mod:`picops.scf_component`, component v0.9.10): no execution role, a runtime
the component refuses, a function name outside its pattern, a trigger bucket
not in the host form. Each problem names the field and what to write instead.
:func:`parse_serverless` itself refuses what SCF cannot run at all (a runtime
SCF does not offer or picops does not support, a memory size or timeout SCF
has no such setting for, an event type COS has no trigger for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from . import loopsafety, runtimes, scf_component
from .constants import EVENT_CREATED_ANY, FUNCTION_SOURCE_DIR
from .describe import describe_value
from .errors import ConfigError, Problem
from .model import BUCKET_RE, Config, is_bucket_name
from .yamlload import read_document

PathLike = Union[str, Path]

#: Where problems in the file are placed; callers may pass the real path.
DEFAULT_SOURCE = "serverless.yml"

#: ``<name>-<appid>.cos.<region>.myqcloud.com``, the only form the docs show.
_BUCKET_HOST = re.compile(rf"(?P<bucket>{BUCKET_RE.pattern})"
                          r"\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com")
_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\.[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED_ENV_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")
_ENV_MAX_BYTES = 4096
#: Event types a COS trigger accepts (the component's allow-list, reference §1.4).
COS_EVENTS = scf_component.COS_EVENTS
# Component defaults, used when an input is absent.
_DEFAULTS = {"handler": scf_component.HANDLER_DEFAULT, "region": scf_component.REGION_DEFAULT,
             "memorySize": scf_component.MEMORY_DEFAULT, "timeout": scf_component.TIMEOUT_DEFAULT}


@dataclass(frozen=True)
class CosTrigger:
    """One ``- cos:`` entry of ``inputs.events``.

    ``bucket_host`` as written; ``bucket`` its ``name-appid`` part; ``region``
    from the host (or the function's region when only ``name-appid`` is given);
    ``prefix``/``suffix`` "" when absent; ``events`` one event type string;
    ``index`` the entry's place in ``inputs.events``.
    """

    bucket_host: str
    bucket: str
    region: str
    prefix: str
    suffix: str
    events: str
    enable: bool
    index: int

    def fires_on(self, key: str, event_name: str = EVENT_CREATED_ANY) -> bool:
        """Would COS deliver ``event_name`` for ``key`` through this trigger?"""
        if not self.enable or not _event_overlap(self.events, event_name):
            return False
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class ServerlessSpec:
    component: str
    name: str
    src: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    region: str
    environment: Dict[str, str]
    triggers: Tuple[CosTrigger, ...]
    #: The execution role's name; "" when the file declares none (SCF then gives
    #: the function no credentials).
    role: str = ""


def load_serverless(path: PathLike) -> ServerlessSpec:
    """Read and validate the serverless.yml at ``path``.

    Raises:
        ConfigError: the file cannot be read, is not valid YAML (or breaks the
            loader's bounds), or is not a valid ``scf`` component config; every
            problem is placed as ``<path>: <where>``.
    """
    source = str(path)
    doc = read_document(source, source, placed=True)
    return parse_serverless(doc, source=source)


def default_function_dir(serverless_path: PathLike) -> Path:
    """The function's source folder for the serverless.yml at ``serverless_path``."""
    return Path(serverless_path).resolve().parent / FUNCTION_SOURCE_DIR


def parse_serverless(doc: Any, source: str = DEFAULT_SOURCE) -> ServerlessSpec:
    """The spec in a parsed serverless.yml mapping.

    One reader per part: the document's frame (:func:`_inputs`), the function's
    settings (:func:`_function`), its COS triggers (:func:`_triggers`); each reports
    every problem it finds through ``found.bad``.

    Raises:
        ConfigError: the document is not a valid ``scf`` component config for
            this function; every problem is listed.
    """
    found = _Problems(source)
    inputs = _inputs(doc, found.bad)
    if inputs is None:
        raise ConfigError(found)
    function = _function(doc, inputs, found.bad)
    triggers = _triggers(inputs.get("events"), function["region"], found.bad)
    if found:
        raise ConfigError(found)
    return ServerlessSpec(component=doc["component"], triggers=triggers, **function)


class _Problems(list):
    """Problems placed in the file: ``bad(where, message)`` appends ``<source>: <where>``."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def bad(self, where: str, message: str) -> None:
        self.append(Problem(f"{self.source}: {where}" if where else self.source, message))


def check_deployable(spec: ServerlessSpec, source: str = DEFAULT_SOURCE) -> List[Problem]:
    """What ``sls deploy`` (the scf component's schema) or SCF would refuse or run badly.

    Each problem names its field and what to write instead (see the module doc).
    """
    schema = scf_component.describe()
    problems = _Problems(source)
    bad = problems.bad

    if not spec.role:
        bad("inputs.role", "missing: without an execution role SCF gives the function no "
                           "TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN and every invocation "
                           "fails; write 'role: <CAM role name>', a role SCF may assume with the "
                           "policy `picops policy` prints")
    if spec.runtime not in scf_component.RUNTIMES:
        bad("inputs.runtime", f"{spec.runtime} is refused by `sls deploy` (the {schema} allows "
                              f"{', '.join(scf_component.RUNTIMES)} among Python runtimes); "
                              f"write {runtimes.DEFAULT_RUNTIME}, or deploy build/package.zip "
                              f"(`make package RUNTIME={spec.runtime}`) through the SCF console "
                              "or API instead")
    if not scf_component.FUNCTION_NAME_RE.fullmatch(spec.name):
        bad("inputs.name", f"{spec.name!r} does not match the {schema}'s pattern (a letter, "
                           "then letters, digits, '_' or '-', ending with a letter or digit, "
                           "2 to 60 characters)")
    for t in spec.triggers:
        if not _BUCKET_HOST.fullmatch(t.bucket_host):
            bad(f"inputs.events[{t.index}].cos.parameters.bucket",
                f"{t.bucket_host!r}: write the bucket's host, "
                f"'{t.bucket}.cos.{t.region}.myqcloud.com' ({scf_component.BUCKET_HOST_FORM}, "
                f"the form the component documents)")
    return list(problems)


def check_against_config(spec: ServerlessSpec, config: "Config",
                         source: str = DEFAULT_SOURCE) -> List[Problem]:
    """Problems between the triggers and the routes (see the module docstring)."""
    problems = _uncovered(spec.triggers, config, source)
    problems.extend(_overlaps(spec.triggers, source))
    problems.extend(loopsafety.check_watched(config, spec.triggers))
    problems.extend(check_manifest_triggers(spec.triggers, config, source))
    return problems


# --- checks ----------------------------------------------------------------------------

def _uncovered(triggers: Tuple[CosTrigger, ...], config: "Config",
               source: str) -> List[Problem]:
    # A route is covered when each of its suffixes (or "any suffix") is caught
    # by one wildcard ObjectCreated trigger whose filter contains all such keys.
    # Specific sub-types (Put only) do not count: a form upload, a copy or a
    # multipart upload would then never be processed.
    live = [t for t in triggers if t.enable and t.events == EVENT_CREATED_ANY]
    problems = []
    for route in config.routes:
        wanted = route.suffixes if route.suffixes is not None else (None,)
        missing = []
        for s in wanted:
            if not any(route.prefix.startswith(t.prefix) and
                       (not t.suffix or (s is not None and s.endswith(t.suffix.lower())))
                       for t in live):
                missing.append("any suffix" if s is None else repr(s))
        if missing:
            problems.append(Problem(f"{source}: inputs.events", (
                f"{route.where} (prefix {route.prefix!r}) is not covered for "
                f"{', '.join(missing)}: no enabled '{EVENT_CREATED_ANY}' COS trigger has a "
                f"filter containing those keys, so such uploads would never be processed")))
    return problems


def _overlaps(triggers: Tuple[CosTrigger, ...], source: str) -> List[Problem]:
    problems = []
    for j, b in enumerate(triggers):
        for a in triggers[:j]:
            if a.bucket != b.bucket or not _event_overlap(a.events, b.events):
                continue
            pa, pb = a.prefix, b.prefix
            sa, sb = a.suffix.lower(), b.suffix.lower()
            if (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa)):
                where = f"{source}: inputs.events[{b.index}].cos.parameters.filter"
                problems.append(Problem(where, (
                    f"overlaps inputs.events[{a.index}] on bucket {b.bucket} for "
                    f"{b.events} (prefixes {pa!r} and {pb!r}, suffixes {a.suffix!r} and "
                    f"{b.suffix!r}): COS refuses overlapping filters for the same event on "
                    f"one bucket; let nested prefixes share the shorter one's trigger")))
    return problems


def check_manifest_triggers(triggers: Tuple[CosTrigger, ...], config: "Config",
                            source: str = DEFAULT_SOURCE) -> List[Problem]:
    """Problems for enabled triggers (any event type) that can fire on a manifest key.

    Part of :func:`check_against_config`, and run alone by ``picops backfill``, whose
    manifest writes must not land in a watched prefix either.
    """
    settings = config.manifests
    if not settings.enabled:
        return []
    shape = loopsafety.manifest_shape(settings.prefix)
    problems = []
    for t in triggers:
        # Suffixes compared lower-case: can only find more matches, never fewer.
        if t.enable and shape.could_match(t.prefix, (t.suffix.lower(),) if t.suffix else None):
            problems.append(Problem(f"{source}: inputs.events[{t.index}].cos.parameters.filter", (
                f"{t.events} trigger (prefix {t.prefix!r}, suffix {t.suffix!r}) fires on "
                f"manifest keys ('{settings.prefix}<source key>.json', written and deleted by "
                f"the function itself in the source bucket); narrow its filter so it excludes "
                f"{settings.prefix!r} or move the manifests (manifests.prefix in the config)")))
    return problems


def _event_overlap(x: str, y: str) -> bool:
    if x == y:
        return True
    fx, _, lx = x.rpartition(":")
    fy, _, ly = y.rpartition(":")
    return fx == fy and (lx == "*" or ly == "*")


def _runtime_problem(runtime: Any) -> str:
    if isinstance(runtime, str) and runtime in runtimes.SCF_RUNTIMES:
        return (f"{runtime} is too old for the function's code (it needs Python 3.7+); "
                f"write {runtimes.DEFAULT_RUNTIME}")
    return (f"{runtime!r} is not a runtime SCF offers for this function: write "
            f"{runtimes.DEFAULT_RUNTIME} (the newest the scf component accepts; "
            f"{', '.join(r for r in runtimes.SUPPORTED if r != runtimes.DEFAULT_RUNTIME)} "
            f"only for console or API deploys)")


# --- readers -----------------------------------------------------------------------------

def _inputs(doc: Any, bad) -> Optional[Dict[str, Any]]:
    """The ``inputs`` mapping of an ``scf`` component document; None (with the problem
    reported) when there is none to read."""
    if not isinstance(doc, dict):
        bad("", "expected a mapping (component, name, inputs)")
        return None
    component = doc.get("component")
    if component != "scf":
        bad("component", f"expected 'scf' (the Tencent SCF component), "
                         f"got {describe_value(component)}")
    inputs = doc.get("inputs")
    if not isinstance(inputs, dict):
        bad("inputs", "missing or not a mapping")
        return None
    return inputs


def _function(doc: Dict[str, Any], inputs: Dict[str, Any], bad) -> Dict[str, Any]:
    """The function's settings (every ServerlessSpec field but the component and the
    triggers), component defaults filled in; a stand-in for each one with a problem."""
    return {
        "name": _required(inputs.get("name", doc.get("name")), "inputs.name",
                          "the function's name", bad),
        "src": _required(_src(inputs.get("src")), "inputs.src",
                         "the folder holding the deployable package", bad),
        "handler": _handler(inputs.get("handler", _DEFAULTS["handler"]), bad),
        "runtime": _runtime(inputs.get("runtime"), bad),
        "region": _region(inputs.get("region", _DEFAULTS["region"]), bad),
        "timeout": _int_in(inputs.get("timeout", _DEFAULTS["timeout"]),
                           scf_component.TIMEOUT_MIN, scf_component.TIMEOUT_MAX,
                           "inputs.timeout", "seconds", bad),
        "memory": _memory(inputs.get("memorySize", _DEFAULTS["memorySize"]), bad),
        "environment": _environment(inputs.get("environment"), bad),
        "role": _role(inputs.get("role"), bad),
    }


def _src(value: Any) -> Any:
    # ``src`` is a folder, or a mapping whose own ``src`` is the folder.
    return value.get("src") if isinstance(value, dict) else value


def _required(value: Any, where: str, what: str, bad) -> str:
    if not isinstance(value, str) or not value:
        bad(where, f"missing: {what}")
        return ""
    return value


def _handler(value: Any, bad) -> str:
    if not isinstance(value, str) or not _HANDLER.fullmatch(value):
        bad("inputs.handler", f"expected '<module>.<function>' such as index.main_handler, "
                              f"got {describe_value(value)}")
        return str(value)
    return value


def _runtime(value: Any, bad) -> Any:
    if not isinstance(value, str) or runtimes.supported(value) is None:
        bad("inputs.runtime", _runtime_problem(value))
    return value


def _region(value: Any, bad) -> str:
    if not isinstance(value, str) or not value:
        bad("inputs.region", f"expected a region id such as ap-guangzhou, "
                             f"got {describe_value(value)}")
        return ""
    return value


def _role(value: Any, bad) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        bad("inputs.role", f"expected the execution role's name (a CAM role SCF can assume), "
                           f"got {describe_value(value)}")
        return ""
    return value


def _memory(value: Any, bad) -> int:
    sizes = scf_component.MEMORY_SIZES
    if isinstance(value, bool) or not isinstance(value, int) or value not in sizes:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= sizes[-1]:
            hint = f"; write {min(s for s in sizes if s >= value)}"
        else:
            hint = ""
        bad("inputs.memorySize", f"{value!r} MB: SCF (and the scf component's schema) take "
                                 f"64 or a multiple of 128 up to 3072{hint}")
        return scf_component.MEMORY_DEFAULT
    return value


def _int_in(value: Any, low: int, high: int, where: str, unit: str, bad) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        bad(where, f"expected a whole number of {unit} in {low}..{high}, "
                   f"got {describe_value(value)}")
        return low
    return value


def _environment(value: Any, bad) -> Dict[str, str]:
    if value is None:
        return {}
    variables = value.get("variables") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(variables, (dict, type(None))):
        bad("inputs.environment", "expected a mapping with 'variables: {NAME: value}'")
        return {}
    env: Dict[str, str] = {}
    for k, v in (variables or {}).items():
        where = f"inputs.environment.variables.{k}"
        if not isinstance(k, str) or not _ENV_NAME.fullmatch(k):
            bad(where, "names must match [a-zA-Z][a-zA-Z0-9_]*")
            continue
        if k.startswith(_RESERVED_ENV_PREFIXES):
            bad(where, f"names starting with {', '.join(_RESERVED_ENV_PREFIXES)} are reserved "
                       f"by SCF")
            continue
        if isinstance(v, bool):
            env[k] = "true" if v else "false"
        elif isinstance(v, (str, int, float)):
            env[k] = str(v)
        else:
            bad(where, f"expected a string, got {describe_value(v)}")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    if size > _ENV_MAX_BYTES:
        bad("inputs.environment.variables", f"{size} bytes; SCF allows {_ENV_MAX_BYTES}")
    return env


def _triggers(value: Any, region: str, bad) -> Tuple[CosTrigger, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        bad("inputs.events", "expected a list of triggers")
        return ()
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or len(entry) != 1:
            bad(f"inputs.events[{i}]", "expected one trigger such as '- cos: {parameters: ...}'")
            continue
        if "cos" not in entry:
            continue  # timers, API gateway ...: not ours to check
        trigger = _cos_trigger(entry["cos"], i, region, bad)
        if trigger is not None:
            out.append(trigger)
    return tuple(out)


def _cos_trigger(raw: Any, i: int, region: str, bad) -> Optional[CosTrigger]:
    """``inputs.events[i].cos``, or None when any of its parameters has a problem (all
    of them are read, so every problem is reported)."""
    at = f"inputs.events[{i}].cos"
    params = raw.get("parameters") if isinstance(raw, dict) else None
    if not isinstance(params, dict):
        bad(f"{at}.parameters", "missing or not a mapping")
        return None
    at = f"{at}.parameters"
    host = params.get("bucket")
    bucket = _trigger_bucket(host, region, at, bad)
    key_filter = _trigger_filter(params.get("filter"), at, bad)
    events = _trigger_events(params.get("events"), at, bad)
    enable = _trigger_enable(params.get("enable"), at, bad)
    if bucket is None or key_filter is None or events is None or enable is None:
        return None
    return CosTrigger(bucket_host=host, bucket=bucket[0], region=bucket[1],
                      prefix=key_filter[0], suffix=key_filter[1], events=events,
                      enable=enable, index=i)


def _trigger_bucket(host: Any, region: str, at: str, bad) -> Optional[Tuple[str, str]]:
    """(bucket, region) of a trigger's ``bucket``: the host form, or ``name-appid`` in the
    function's region."""
    m = _BUCKET_HOST.fullmatch(host) if isinstance(host, str) else None
    if m is None:
        if isinstance(host, str) and is_bucket_name(host):
            return host, region
        bad(f"{at}.bucket", f"expected '<name>-<appid>.cos.<region>.myqcloud.com', "
                            f"got {describe_value(host)}")
        return None
    bucket_region = m.group("region")
    if region and bucket_region != region:
        bad(f"{at}.bucket", f"bucket region {bucket_region} differs from the function's region "
                            f"{region}: COS triggers only bind buckets in the function's region")
        return None
    return m.group("bucket"), bucket_region


def _trigger_filter(value: Any, at: str, bad) -> Optional[Tuple[str, str]]:
    """(prefix, suffix) of a trigger's ``filter`` ("" when absent)."""
    ok = True
    if value is None:
        value = {}
    if not isinstance(value, dict):
        bad(f"{at}.filter", "expected a mapping with prefix and/or suffix")
        value, ok = {}, False
    prefix, suffix = value.get("prefix", ""), value.get("suffix", "")
    for field_name, v in (("prefix", prefix), ("suffix", suffix)):
        if v is not None and not isinstance(v, str):
            bad(f"{at}.filter.{field_name}", f"expected a string, got {describe_value(v)}")
            ok = False
    if isinstance(prefix, str) and prefix.startswith("/"):
        bad(f"{at}.filter.prefix", f"{prefix!r} starts with '/': object keys never do")
        ok = False
    return (prefix or "", suffix or "") if ok else None


def _trigger_events(value: Any, at: str, bad) -> Optional[str]:
    if value not in COS_EVENTS:
        bad(f"{at}.events", f"expected one COS event type such as '{EVENT_CREATED_ANY}', "
                            f"got {describe_value(value)}")
        return None
    return value


def _trigger_enable(value: Any, at: str, bad) -> Optional[bool]:
    if not isinstance(value, bool):
        bad(f"{at}.enable", "expected true or false, set explicitly (the component's docs and "
                            "schema disagree on the default)")
        return None
    return value


__all__ = ["COS_EVENTS", "CosTrigger", "ServerlessSpec", "check_against_config",
           "check_deployable", "check_manifest_triggers", "default_function_dir",
           "load_serverless", "parse_serverless"]
