"""How one emulator instance is configured.

Contract: :class:`EmulatorSettings` is plain data; :meth:`EmulatorSettings.problems` lists
every invalid setting (as :class:`picops.errors.Problem`) and :meth:`validate` raises
:class:`picops.errors.ConfigError` with all of them. The emulator binds loopback only: a
local emulator that answers the whole network is a liability (model-codebases §2.8.9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Tuple

from picops.errors import ConfigError, Problem

from .errors import EmulatorError
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
        return out

    def validate(self) -> "EmulatorSettings":
        problems = self.problems()
        if problems:
            raise ConfigError(problems, source="emulator settings")
        return self


__all__ = ["EmulatorSettings", "LOOPBACK_HOSTS", "COS_SINGLE_PUT_LIMIT"]
