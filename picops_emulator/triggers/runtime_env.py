"""The environment the function's process sees: serverless.yml's variables + SCF's own.

SCF starts the runtime with a clean environment (reference cos-ci-scf.md §2.4):
the function's ``inputs.environment.variables`` plus reserved ``TENCENTCLOUD_*``
and ``SCF_*`` variables. The emulator does the same, and adds ``COS_ENDPOINT``
so the function's COS client talks back to the emulator. The emulator's own
environment is NOT passed through, except what a process needs to run at all
(``PATH``, ``HOME``, ``TMPDIR``, ``SYSTEMROOT``), so a developer's shell cannot
change what the function does.

Precedence, lowest first: serverless.yml variables, ``extra`` (e.g. the
emulator's ``PICOPS_CONFIG``), then the reserved variables, which a user cannot
override on SCF either.

Credentials: SCF puts the execution role's temporary keys in
``TENCENTCLOUD_SECRETID``/``SECRETKEY``/``SESSIONTOKEN`` only when the function
has a role. ``credentials=None`` (serverless.yml declares no ``role:``) leaves
them out, so a function deployed without a role fails here as it would there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from picops_emulator.triggers.events import DEFAULT_NAMESPACE, FUNCTION_VERSION

PASSED_THROUGH = ("PATH", "HOME", "TMPDIR", "SYSTEMROOT")
CREDENTIAL_VARIABLES = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY",
                        "TENCENTCLOUD_SESSIONTOKEN")


@dataclass(frozen=True)
class Credentials:
    """The key pair (and optional session token) the function gets as its role's."""

    secret_id: str
    secret_key: str
    session_token: str = ""

    @classmethod
    def coerce(cls, value: Union["Credentials", Sequence[str], Mapping[str, str]]
               ) -> "Credentials":
        if isinstance(value, Credentials):
            return value
        if isinstance(value, Mapping):
            return cls(value["secret_id"], value["secret_key"], value.get("session_token", ""))
        parts: Tuple[str, ...] = tuple(value)
        if len(parts) not in (2, 3):
            raise ValueError("credentials must be (secret_id, secret_key[, session_token])")
        return cls(*parts)

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(secret_id={self.secret_id!r}, secret_key='***')"


def function_environment(*, variables: Mapping[str, str], function_dir: str, endpoint: str,
                         credentials: Optional[Credentials], region: str, appid: str, uin: str,
                         function_name: str, runtime: str,
                         namespace: str = DEFAULT_NAMESPACE,
                         extra: Optional[Mapping[str, str]] = None,
                         base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    base = os.environ if base is None else base
    env: Dict[str, str] = {k: base[k] for k in PASSED_THROUGH if k in base}
    env.update({str(k): str(v) for k, v in variables.items()})
    env.update({str(k): str(v) for k, v in (extra or {}).items()})
    env.update({
        "COS_ENDPOINT": endpoint,
        "TENCENTCLOUD_REGION": region,
        "TENCENTCLOUD_APPID": appid,
        "TENCENTCLOUD_UIN": uin,
        "TENCENTCLOUD_TZ": "UTC",
        "TENCENTCLOUD_RUNENV": "SCF",
        "TZ": "UTC",
        "SCF_RUNTIME": runtime,
        "SCF_FUNCTIONNAME": function_name,
        "SCF_FUNCTIONVERSION": FUNCTION_VERSION,
        "SCF_NAMESPACE": namespace,
        "USER_CODE_ROOT": function_dir,
        "PYTHONPATH": function_dir,
        "PYTHONDONTWRITEBYTECODE": "x",  # SCF sets it; here it also keeps the checkout clean
        "PYTHONUNBUFFERED": "1",         # log lines arrive as they are printed
        "PYTHONIOENCODING": "utf-8",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    })
    for name in CREDENTIAL_VARIABLES:
        env.pop(name, None)  # only SCF sets these, and only for a role
    if credentials is not None:
        env.update(zip(CREDENTIAL_VARIABLES, (credentials.secret_id, credentials.secret_key,
                                              credentials.session_token)))
    return env


__all__ = ["CREDENTIAL_VARIABLES", "Credentials", "function_environment", "PASSED_THROUGH"]
