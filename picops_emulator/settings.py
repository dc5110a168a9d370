"""How one emulator instance is configured.

Contract: :class:`EmulatorSettings` is plain data; :meth:`EmulatorSettings.problems` lists
every invalid setting (as :class:`picops.errors.Problem`) and :meth:`validate` raises
:class:`picops.errors.ConfigError` with all of them. The emulator binds loopback only: a
local emulator that answers the whole network is a liability (model-codebases §2.8.9).

The image engine's limits are ``EmulatorSettings.limits`` (an ``imaging.Limits``), the one
source the CI backend is built from. :func:`parse_limits` reads ``NAME=VALUE`` texts (the
``picops emulator --limit`` option) into one: only the emulator's own ceilings
(``imaging.limits.CEILINGS``) may be set, each to a positive finite value in its unit;
CI's documented limits (``imaging.limits.CI_LIMITS``) are fixed, since a raised one would
let through what CI refuses. Every bad text is reported, each naming its name and value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from picops.errors import ConfigError, Problem

from .errors import EmulatorError
from .imaging.limits import CEILINGS, CI_LIMITS, DEFAULT_LIMITS, Limits
from .naming import check_bucket_name
from .storage.store import DEFAULT_MAX_OBJECT_BYTES

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
COS_SINGLE_PUT_LIMIT = DEFAULT_MAX_OBJECT_BYTES  # the store's default cap is that limit


@dataclass
class EmulatorSettings:
    host: str = "127.0.0.1"
    port: int = 9000                      # 0: an ephemeral port (see RunningEmulator.port)
    data_dir: Path = Path(".picops")
    secret_id: str = ""                   # the one valid key pair (auth=True needs both)
    secret_key: str = ""
    auth: bool = True                     # verify every request's COS signature
    max_body_bytes: int = COS_SINGLE_PUT_LIMIT  # per PUT / per part; larger -> EntityTooLarge
    buckets_to_create: Tuple[str, ...] = ()
    region: str = "ap-guangzhou"          # for path-style requests and pre-created buckets
    ci_backend: Optional[Any] = None      # a ci.seam.CiBackend, or None (501s)
    scf_api: Optional[Any] = None         # a scfapi.ScfApi (SCF Invoke), or None
    fsync: bool = True                    # fsync bodies and sidecars before the commit rename
    clock_skew_seconds: int = 900         # tolerance before q-sign-time's start (not after end)
    # A connection that has not sent a whole request head within this time is closed
    # without a reply; a request body that sends nothing for this long is answered
    # RequestTimeout, then closed: a stalled client must not hold a socket and a temp
    # file for ever. UNCONFIRMED: COS's own idle limits are not published; a minute is
    # generous for any live client.
    idle_timeout_seconds: float = 60.0
    extra_credentials: Tuple[Tuple[str, str], ...] = field(default_factory=tuple)
    # the image engine's limits: CI's documented ones, fixed, and the emulator's ceilings
    # (``picops emulator --limit``; see parse_limits)
    limits: Limits = DEFAULT_LIMITS

    def credentials(self) -> dict:
        creds = dict(self.extra_credentials)
        if self.secret_id:
            creds[self.secret_id] = self.secret_key
        return creds

    def problems(self) -> List[Problem]:
        out: List[Problem] = []
        if self.host not in LOOPBACK_HOSTS:
            out.append(Problem("host", f"{self.host!r} is not a loopback address; the emulator "
                                       f"binds only {', '.join(LOOPBACK_HOSTS)}"))
        if not 0 <= int(self.port) <= 65535:
            out.append(Problem("port", f"{self.port} is not a TCP port (0..65535)"))
        if self.auth and not (self.secret_id and self.secret_key):
            out.append(Problem("secret_id/secret_key", "auth is on but no key pair is set "
                                                       "(or pass auth=False)"))
        if self.max_body_bytes <= 0:
            out.append(Problem("max_body_bytes", "must be positive"))
        for i, bucket in enumerate(self.buckets_to_create):
            try:
                check_bucket_name(bucket)
            except EmulatorError as exc:
                out.append(Problem(f"buckets_to_create[{i}]", exc.message))
        if self.clock_skew_seconds < 0:
            out.append(Problem("clock_skew_seconds", "must not be negative"))
        if not self.idle_timeout_seconds > 0:
            out.append(Problem("idle_timeout_seconds", "must be positive"))
        out.extend(limit_problems(self.limits))
        return out

    def validate(self) -> "EmulatorSettings":
        problems = self.problems()
        if problems:
            raise ConfigError(problems, source="emulator settings")
        return self


Number = Union[int, float]

#: Unit suffixes each kind of ceiling accepts (matched case-insensitively), as multipliers.
_SUFFIXES: Dict[str, Dict[str, int]] = {
    "scans": {"": 1},
    "bytes": {"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40},
    "sample operations": {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12},
    "seconds": {"": 1, "s": 1},
}
_EXAMPLES = {"scans": "1000", "bytes": "2GiB", "sample operations": "40G", "seconds": "120"}
_VALUE = re.compile(r"\s*([+-]?[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*",
                    re.IGNORECASE)


def _shown(number: Number, unit: str = "") -> str:
    if unit == "bytes" and number >= 1 << 20 and number % (1 << 20) == 0:
        return f"{number // (1 << 20)}MiB"
    return f"{number:g}" if isinstance(number, float) else str(number)


def parse_limit(text: str) -> Tuple[str, Number]:
    """``"max_request_seconds=60"`` -> ``("max_request_seconds", 60.0)``; ValueError naming
    what is wrong (not ``NAME=VALUE``, an unknown or fixed name, a bad value)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"{text!r} is not NAME=VALUE (e.g. max_request_seconds=120)")
    if name in CI_LIMITS:
        raise ValueError(f"{name} is one of CI's documented limits "
                         f"({_shown(getattr(DEFAULT_LIMITS, name))}) and is fixed: "
                         "the emulator must not accept what CI refuses")
    unit = CEILINGS.get(name)
    if unit is None:
        raise ValueError(f"{name!r} is not a ceiling; the ceilings are "
                         f"{', '.join(CEILINGS)}")
    suffixes = {k.lower(): v for k, v in _SUFFIXES[unit].items()}
    match = _VALUE.fullmatch(raw)
    factor = suffixes.get(match.group(2).lower()) if match else None
    if match is None or factor is None:
        kinds = ", ".join(k for k in _SUFFIXES[unit] if k)
        also = f" (optional suffix: {kinds})" if kinds else ""
        raise ValueError(f"{name}={raw!r} is not a number of {unit}{also}, e.g. "
                         f"{name}={_EXAMPLES[unit]}")
    value = float(match.group(1)) * factor
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={raw!r}: must be a positive, finite number of {unit}")
    if isinstance(getattr(DEFAULT_LIMITS, name), int):
        if value != int(value):
            raise ValueError(f"{name}={raw!r}: must be a whole number of {unit}")
        return name, int(value)
    return name, value


def parse_limits(texts: Iterable[str], base: Limits = DEFAULT_LIMITS) -> Limits:
    """``base`` with each ``NAME=VALUE`` of ``texts`` applied (a later one wins); raise
    ConfigError listing every bad text (each Problem placed at ``--limit <text>``)."""
    changes: Dict[str, Number] = {}
    problems: List[Problem] = []
    for text in texts:
        try:
            name, value = parse_limit(text)
        except ValueError as exc:
            problems.append(Problem(f"--limit {text}", str(exc)))
            continue
        changes[name] = value
    if problems:
        raise ConfigError(problems, source="emulator limits")
    return replace(base, **changes)


def limit_problems(limits: Limits) -> List[Problem]:
    """What is wrong with ``limits`` as one emulator run's: a changed CI limit, a ceiling
    that is not a positive finite number."""
    out: List[Problem] = []
    for f in fields(Limits):
        value = getattr(limits, f.name)
        if f.name in CI_LIMITS and value != getattr(DEFAULT_LIMITS, f.name):
            out.append(Problem(f"limits.{f.name}", f"is CI's documented limit "
                               f"({_shown(getattr(DEFAULT_LIMITS, f.name))}) and is fixed, "
                               f"not {_shown(value)}"))
        elif f.name in CEILINGS and not (isinstance(value, (int, float))
                                         and math.isfinite(value) and value > 0):
            out.append(Problem(f"limits.{f.name}", f"{value!r} is not a positive number of "
                               f"{CEILINGS[f.name]}"))
    return out


def changed_ceilings(limits: Limits) -> List[str]:
    """``NAME=VALUE (default D)`` for every ceiling ``limits`` sets to other than its
    default, for the emulator's ready lines."""
    return [f"{name}={_shown(getattr(limits, name), unit)} (default "
            f"{_shown(getattr(DEFAULT_LIMITS, name), unit)})"
            for name, unit in CEILINGS.items()
            if getattr(limits, name) != getattr(DEFAULT_LIMITS, name)]


__all__ = ["EmulatorSettings", "LOOPBACK_HOSTS", "COS_SINGLE_PUT_LIMIT", "parse_limit",
           "parse_limits", "limit_problems", "changed_ceilings"]
