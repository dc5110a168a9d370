"""What ``backfill``, ``upload`` and ``plan`` check before they touch anything.

Every problem found is added to one list (each named by its place), and the command
reports them all (:func:`report_usage`) and exits 2 before any request. serverless.yml is
read once per command (:func:`read_serverless`) and that one reading serves every check:
the region, the loop-safety proof against its triggers, the bucket an upload goes to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import click

from picops import constants, loopsafety
from picops.config import load_config
from picops.errors import ConfigError, Problem
from picops.model import Config
from picops.serverless import ServerlessSpec, check_manifest_triggers, load_serverless
from picops.validation import bucket_problem

from . import target as targets
from .defaults import SERVERLESS as DEFAULT_SERVERLESS
from .defaults import config_not_found, default_config_path

#: Options ``backfill`` and ``upload`` share.
config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="routes config (default: $PICOPS_CONFIG, else functions/image_processor/picops.yaml)")
serverless_option = click.option(
    "--serverless", "serverless_path", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="also prove no trigger in this serverless.yml fires on an output "
                       "(default: ./serverless.yml when present)")
region_option = click.option(
    "--region", default=None,
    help="the bucket's region (default: $TENCENTCLOUD_REGION, else serverless.yml's)")


@dataclass(frozen=True)
class Serverless:
    """One serverless.yml, read once: its spec, or the problems that kept it from loading
    (``spec`` None and ``problems`` not empty)."""

    path: Path
    spec: Optional[ServerlessSpec]
    problems: Tuple[Problem, ...] = ()


def read_serverless(path: Optional[Path]) -> Optional[Serverless]:
    """The serverless.yml to check, read: the one given, else ./serverless.yml when present;
    None when neither. A given file that does not exist is a problem, not a skip."""
    if path is None:
        if not DEFAULT_SERVERLESS.exists():
            return None
        path = DEFAULT_SERVERLESS
    if not path.exists():
        return Serverless(path, None, (Problem(str(path), "not found"),))
    try:
        return Serverless(path, load_serverless(path))
    except ConfigError as e:  # its problems already name the file
        return Serverless(path, None, tuple(e.problems))


def load_checked_config(path: Path, serverless: Optional[Serverless],
                        problems: List[Problem]) -> Optional[Config]:
    """The validated config, or None with its problems added (each prefixed by the file).

    With ``serverless``, its problems are added too and, when it loaded, the loop-safety
    proof also runs against its triggers: no trigger may fire on an output
    (:func:`picops.loopsafety.check_watched`) or on a manifest
    (:func:`picops.serverless.check_manifest_triggers`); trigger coverage is not required.
    """
    config = None
    missing = config_not_found(path, given=path != default_config_path())
    try:
        if missing:
            problems.append(Problem("config", missing))
        else:
            config = load_config(str(path))
    except ConfigError as e:
        problems.extend(Problem(_where(path, p.where), p.message) for p in e.problems)
    if serverless is not None:
        problems.extend(serverless.problems)
        if serverless.spec is not None and config is not None:
            triggers = serverless.spec.triggers
            problems.extend(Problem(_where(path, p.where), p.message)
                            for p in loopsafety.check_watched(config, triggers))
            # backfill writes manifests into the source bucket: no trigger may watch them
            # either
            problems.extend(check_manifest_triggers(triggers, config, str(serverless.path)))
    return config if not problems else None


def _where(path: Path, where: str) -> str:
    return f"{path}: {where}" if where else str(path)


def resolve_region(region: Optional[str], serverless: Optional[Serverless],
                   problems: List[Problem]) -> str:
    """--region, else $TENCENTCLOUD_REGION, else serverless.yml's region."""
    if region:
        return region
    if os.environ.get(constants.ENV_REGION):
        return os.environ[constants.ENV_REGION]
    if serverless is not None and serverless.spec is not None and serverless.spec.region:
        return serverless.spec.region
    problems.append(Problem("--region", f"no region: pass --region, set "
                                        f"{constants.ENV_REGION}, or keep a serverless.yml"))
    return ""


def resolve_run(config_path: Optional[Path], serverless_path: Optional[Path],
                region: Optional[str], endpoint: Optional[str], problems: List[Problem]
                ) -> Tuple[Optional[Serverless], str, targets.Target, Optional[Config]]:
    """The start of ``backfill`` and ``upload``: the serverless.yml (read once), the region,
    the COS target (its line printed) and the checked config; problems added to
    ``problems``."""
    serverless = read_serverless(serverless_path)
    region = resolve_region(region, serverless, problems)
    target = targets.resolve(endpoint, region)
    click.echo(target.line())
    config = load_checked_config(config_path or default_config_path(), serverless, problems)
    return serverless, region, target, config


def trigger_bucket(key: str, spec: Optional[ServerlessSpec]) -> Optional[str]:
    """The bucket of the first upload trigger in ``spec`` that fires for ``key``; None when
    none does or there is no spec."""
    if spec is None:
        return None
    for trig in spec.triggers:
        if trig.fires_on(key, constants.EVENT_CREATED_ANY):
            return trig.bucket
    return None


def check_target(bucket: str, problems: List[Problem]) -> None:
    why = bucket_problem(bucket)
    if why:
        problems.append(Problem("--bucket", why))


def report_usage(problems: List[Problem]) -> None:
    for p in problems:
        click.echo(f"error: {p}", err=True)
    click.echo(f"{len(problems)} problem(s) found; nothing was done", err=True)
