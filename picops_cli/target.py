"""Where a command writes: the local emulator or Tencent Cloud, said before anything else.

Every command that talks to COS (``invoke``, ``backfill``, ``plan``, ``explain``) takes
``--endpoint URL`` (default: ``$COS_ENDPOINT``) and prints :meth:`Target.line` as its
first line: ``target: local emulator at http://127.0.0.1:9000`` or ``target: Tencent
Cloud COS (region ap-guangzhou)``. The endpoint chosen here is what the function code
gets as ``COS_ENDPOINT`` (:meth:`Target.env`), so the line and the writes agree.

The newcomer's errors, each one line saying what to do (:func:`problems`,
:func:`unreachable`, :func:`explain_refusal`): no credentials (for the emulator: which
variables to export), nothing listening at the endpoint (``make emulator``), a key the
emulator refuses.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional
from urllib.parse import urlsplit

import click

from picops import constants
from picops.ci_client import is_endpoint_url
from picops.errors import Problem

#: COS error codes that mean "these credentials are not the ones I know".
REFUSED_CREDENTIALS = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",
                       "InvalidSecretId")
CONNECT_TIMEOUT_S = 2.0

endpoint_option = click.option(
    "--endpoint", "endpoint", default=None, metavar="URL",
    help=f"COS endpoint, e.g. the emulator's http://127.0.0.1:9000 (default: "
         f"${constants.ENV_COS_ENDPOINT}; unset: Tencent Cloud)")


@dataclass(frozen=True)
class Target:
    endpoint: Optional[str]   # None: Tencent Cloud's own COS endpoints
    region: str

    @property
    def local(self) -> bool:
        return self.endpoint is not None

    def line(self) -> str:
        if self.endpoint is not None:
            return f"target: local emulator at {self.endpoint}"
        return f"target: Tencent Cloud COS ({self.region})" if self.region else \
            "target: Tencent Cloud COS"

    def env(self, base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """``base`` (default: this process's environment) with ``COS_ENDPOINT`` set to
        this target (removed for Tencent Cloud)."""
        env = dict(os.environ if base is None else base)
        env.pop(constants.ENV_COS_ENDPOINT, None)
        if self.endpoint is not None:
            env[constants.ENV_COS_ENDPOINT] = self.endpoint
        return env


def resolve(endpoint: Optional[str], region: str = "") -> Target:
    """``--endpoint``, else ``$COS_ENDPOINT``, else Tencent Cloud. A malformed URL is a
    usage error naming where it came from."""
    where = "--endpoint"
    if endpoint is None:
        endpoint = os.environ.get(constants.ENV_COS_ENDPOINT) or None
        where = f"${constants.ENV_COS_ENDPOINT}"
    if endpoint is None:
        return Target(None, region)
    endpoint = endpoint.rstrip("/")
    if not is_endpoint_url(endpoint):
        fail(f"{where}: {endpoint!r} is not an endpoint such as http://127.0.0.1:9000")
    return Target(endpoint, region)


def problems(target: Target, env: Optional[Mapping[str, str]] = None) -> List[str]:
    """What keeps the command from signing its requests, said for this target."""
    env = os.environ if env is None else env
    missing = [n for n in (constants.ENV_SECRET_ID, constants.ENV_SECRET_KEY) if not env.get(n)]
    if not missing:
        return []
    if target.local:
        from picops_emulator import LOCAL_SECRET_ID, LOCAL_SECRET_KEY

        return [f"no credentials for the emulator: export {constants.ENV_SECRET_ID} and "
                f"{constants.ENV_SECRET_KEY} with the key pair it was started with (make "
                f"emulator uses {LOCAL_SECRET_ID} / {LOCAL_SECRET_KEY} unless you exported "
                "others)"]
    return [f"no credentials for Tencent Cloud: export {constants.ENV_SECRET_ID} and "
            f"{constants.ENV_SECRET_KEY} (an API key of your account), or pass --endpoint "
            "to work against the local emulator"]


def check(target: Target, found: List[Problem]) -> None:
    """Add to ``found`` what keeps a command from reaching ``target``: credentials, and for
    the emulator whether anything listens there."""
    found.extend(Problem("credentials", text) for text in problems(target))
    down = unreachable(target)
    if down:
        found.append(Problem("endpoint", down))


def unreachable(target: Target) -> Optional[str]:
    """For a local target: a sentence when nothing accepts connections there, else None."""
    if not target.local:
        return None
    parts = urlsplit(target.endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError:
        return (f"nothing is listening at {target.endpoint}: start the emulator with `make "
                f"emulator` (or `picops emulator --port {port}`), or pass the --endpoint it "
                "printed")


def explain_refusal(target: Target, code: str) -> Optional[str]:
    """The credentials were refused: what to do, for the emulator; None otherwise."""
    if not target.local or code not in REFUSED_CREDENTIALS:
        return None
    return (f"the emulator at {target.endpoint} refused the credentials ({code}): export "
            f"the {constants.ENV_SECRET_ID}/{constants.ENV_SECRET_KEY} it was started with "
            "(its ready line names the SecretId)")


def on_terminal() -> bool:
    """Is a person at the keyboard (stdin a terminal)?"""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def fail(message: str, status: int = 2) -> None:
    """One line on stderr, no usage text, no traceback; exit ``status`` (2: usage)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


def confirm_cloud_write(target: Target, what: str, yes: bool) -> None:
    """Writing to Tencent Cloud from a terminal asks first (``--yes`` skips); without a
    terminal it goes on (scripts, CI) since the first line already said where."""
    if target.local or yes or not on_terminal():
        return
    if not click.confirm(f"{what} on Tencent Cloud ({target.region}): go on?", default=False):
        raise click.Abort()


__all__ = ["Target", "resolve", "problems", "check", "unreachable", "explain_refusal",
           "confirm_cloud_write", "fail", "endpoint_option"]
