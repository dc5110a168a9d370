"""The ``picops`` command line.

Commands only wire library pieces together; the logic they show lives in
``picops`` (config, routing, loop safety, serverless.yml checks), the emulator
package, or a module of its own here when it is CLI-only (demo, gallery).

Exit status: 0 success, 1 the work found problems (invalid config, failed
objects), 2 usage errors (click's own).
"""

import sys
from pathlib import Path
from typing import List, Optional

import click

from picops.config import load_config
from picops.errors import ConfigError, Problem
from picops import scf_component
from picops.outcome import SkipReason
from picops.serverless import check_against_config, check_deployable, load_serverless
from picops_cli import target as targets
from picops_cli.advice import config_advice
from picops_cli.defaults import SERVERLESS as DEFAULT_SERVERLESS
from picops_cli.defaults import config_not_found, default_config_path
from picops_cli.preflight import trigger_bucket
from picops_cli.terminal import printable

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="routes config (default: $PICOPS_CONFIG, else "
                       "functions/image_processor/picops.yaml)")
serverless_option = click.option(
    "--serverless", "serverless_path", type=click.Path(dir_okay=False, path_type=Path),
    default=None, help="the Serverless Framework file (default: ./serverless.yml; when the "
                       "default is absent its checks are skipped, a given file must exist)")


def _print_problems(problems: List[Problem]) -> None:
    for p in problems:
        click.echo(f"error: {p}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="picops")
def cli() -> None:
    """Route COS uploads to Cloud Infinite image processing, and run it all locally."""


@cli.command()
@config_option
@serverless_option
def validate(config_path: Optional[Path], serverless_path: Optional[Path]) -> None:
    """Check the routes config (and serverless.yml against it); list every problem."""
    missing = config_not_found(config_path or default_config_path(), config_path is not None)
    if missing:
        click.echo(f"error: {missing}", err=True)
        sys.exit(1)
    config_path = config_path or default_config_path()
    problems: List[Problem] = []
    given = serverless_path is not None
    serverless_path = serverless_path or DEFAULT_SERVERLESS
    config = None
    try:
        config = load_config(str(config_path))
    except ConfigError as exc:
        problems.extend(exc.placed())
    spec = None
    if serverless_path.exists():
        try:
            spec = load_serverless(serverless_path)
        except ConfigError as exc:
            problems.extend(exc.problems)
        if spec is not None:
            problems.extend(check_deployable(spec, str(serverless_path)))
        if spec is not None and config is not None:
            problems.extend(check_against_config(spec, config))
    elif given:
        # a mistyped --serverless must not quietly skip the trigger checks
        problems.append(Problem(str(serverless_path), "not found"))
    else:
        click.echo(f"note: {serverless_path} not found; triggers not checked", err=True)
    if problems:
        _print_problems(problems)
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    for note in config_advice(config):
        click.echo(f"note: {note}", err=True)
    n_rules = sum(len(r.rules) for r in config.routes)
    tail = (f"; {serverless_path}: {len(spec.triggers)} trigger(s) OK, deployable by the "
            f"{scf_component.describe()}" if spec else "")
    click.echo(f"{config_path}: OK ({len(config.routes)} route(s), {n_rules} rule(s)){tail}")


@cli.command()
@click.argument("key")
@click.option("--bucket", default=None,
              help="source bucket (default: the bucket of the serverless.yml trigger that "
                   "covers KEY)")
@config_option
@serverless_option
@targets.endpoint_option
def explain(key: str, bucket: Optional[str], config_path: Optional[Path],
            serverless_path: Optional[Path], endpoint: Optional[str]) -> None:
    """Show the route for KEY, every output it would produce and the Pic-Operations sent.

    Each Pic-Operations line is the header value byte for byte as the function sends
    it (non-ASCII as \\u escapes). Keys are printed with control characters escaped
    (``\\x1b``, ``\\u2028``; a backslash as two), so the output is one line per item.
    Outputs the function would refuse (a loop, a key that cannot be written) are
    listed with ``!``: the record would fail before any call (all or nothing per record,
    so no Pic-Operations is printed), and the exit status is 1. Nothing is sent:
    the first line says where the calls would go.
    """
    from picops import routing

    click.echo(targets.resolve(endpoint).line() + " (nothing is sent)")
    config = _load_or_exit(config_path or default_config_path(), config_path is not None)
    if bucket is None:
        bucket = _bucket_for(key, serverless_path or DEFAULT_SERVERLESS)
    # The size is unknown here; anything else is decided as the function decides it.
    reason = routing.skip_reason(config, bucket, key, None)
    if reason is not None:
        click.echo(f"{printable(key)}: skipped ({reason}): {SKIP_EXPLANATIONS[reason]}")
        return
    route = routing.match(config, key)
    plan = routing.plan(config, bucket, key)
    click.echo(f"key:    {printable(key)}")
    click.echo(f"bucket: {printable(bucket)}")
    click.echo(f"route:  routes[{route.index}] prefix={route.prefix!r}")
    click.echo("outputs:")
    for out in plan.outputs:
        click.echo(f"  {printable(out.bucket)}/{printable(out.key)}    <- {out.rule}")
    for rejected in plan.rejected:
        click.echo(f"  ! routes[{route.index}].rules[{rejected.rule_index}] -> "
                   f"{printable(rejected.bucket)}: refused ({rejected.error.code}): "
                   f"{printable(rejected.error.message)}")
    if plan.rejected:  # all or nothing: the function sends none of the calls
        click.echo(f"no CI call is sent (all or nothing per record); "
                   f"the record would fail: {len(plan.rejected)} output(s) refused")
        sys.exit(1)
    for i, header in enumerate(plan.headers, 1):
        click.echo(f"ci_image_process call {i}/{len(plan.headers)}: Pic-Operations:")
        click.echo("  " + header)


#: What each skip reason of :func:`picops.routing.skip_reason` means, for ``explain``.
SKIP_EXPLANATIONS = {
    SkipReason.FOLDER_MARKER: "keys ending with '/' are folder markers, never images",
    SkipReason.EMPTY_OBJECT: "the object is empty",
    SkipReason.MANIFEST_OBJECT: "this key is under the manifest prefix, reserved for picops' "
                                "manifests",
    SkipReason.LOOP_GUARD: "this key is an output of this config",
    SkipReason.NO_ROUTE: "no route's prefix and suffix match this key",
}


def _bucket_for(key: str, serverless_path: Path) -> str:
    """The bucket of the first serverless.yml upload trigger that fires for ``key``."""
    spec = None
    if serverless_path.exists():
        try:
            spec = load_serverless(serverless_path)
        except ConfigError as exc:
            _print_problems(list(exc.problems))
            sys.exit(1)
    bucket = trigger_bucket(key, spec)
    if bucket is None:
        raise click.UsageError("no serverless.yml upload trigger covers this key: pass --bucket")
    return bucket


def _load_or_exit(config_path: Path, given: bool = False):
    missing = config_not_found(config_path, given)
    if missing:
        click.echo(f"error: {missing}", err=True)
        sys.exit(1)
    try:
        return load_config(str(config_path))
    except ConfigError as exc:
        _print_problems(exc.placed())
        sys.exit(1)


# Commands with heavier tooling (aiohttp, pyvips) import it inside their bodies,
# so `picops validate` stays quick.
from picops_cli.backfill.command import backfill  # noqa: E402
from picops_cli.demo import demo  # noqa: E402
from picops_cli.emulator_cmd import emulator  # noqa: E402
from picops_cli.invoke import invoke  # noqa: E402
from picops_cli.plan import plan  # noqa: E402
from picops_cli.policy import policy  # noqa: E402
from picops_cli.preview import preview  # noqa: E402
from picops_cli.upload import upload  # noqa: E402

for _command in (emulator, demo, invoke, preview, backfill, plan, upload, policy):
    cli.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    cli()
