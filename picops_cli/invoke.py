"""``picops invoke``: run the function's ``main_handler`` here, on one event.

The event comes from a JSON file, or is synthesized for ``--bucket``/``--key``
in the exact shape a COS trigger delivers (the emulator's own event builder).
The function talks to ``--endpoint`` (default ``$COS_ENDPOINT``: the local
emulator) or, without one, Tencent Cloud, with the ``TENCENTCLOUD_*``
credentials; the first line says which (:mod:`picops_cli.target`). The summary
the handler returns is printed as JSON; the function's own log lines go to
stdout as they would on SCF. Exit status: 0 done, 1 a record failed or the
handler raised, 2 a usage error (bad bucket name, no credentials, nothing
listening at the endpoint).
"""

import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Optional

import click

from picops import constants
from picops.logs import json_line
from picops.validation import bucket_problem
from picops_cli import target as targets
from picops_cli.defaults import FUNCTION_DIR


def load_handler(function_dir: Path, handler: str = "index.main_handler"):
    """Import ``<function_dir>/<file>.py`` as SCF does and return its handler function."""
    module_name, _, func_name = handler.rpartition(".")
    path = function_dir / f"{module_name}.py"
    if not path.is_file():
        raise click.ClickException(f"{path}: no such handler file")
    sys.path.insert(0, str(function_dir.resolve()))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, func_name)


def synthesize_event(bucket: str, key: str, size: int, region: str) -> dict:
    from picops_emulator.notifications import ObjectChanged
    from picops_emulator.triggers.events import build_cos_event

    change = ObjectChanged(bucket=bucket, key=key, event_name="cos:ObjectCreated:Put",
                           size=size, region=region, request_id=uuid.uuid4().hex)
    return build_cos_event(change, function_name="picops-invoke", function_region=region)


@click.command()
@click.argument("event_file", required=False, type=click.File("r", encoding="utf-8"))
@click.option("--bucket", help="synthesize an ObjectCreated:Put event for this bucket "
                               "(name-appid)")
@click.option("--key", help="... and this object key (raw, as stored)")
@click.option("--size", default=1, show_default=True, help="... and this size in bytes")
@click.option("--region", default=lambda: os.environ.get(constants.ENV_REGION, "ap-guangzhou"),
              help="region for a synthesized event (default: $TENCENTCLOUD_REGION)")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="routes config (sets PICOPS_CONFIG for the function)")
@click.option("--function-dir", default=str(FUNCTION_DIR), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--timeout", default=60.0, show_default=True,
              help="the invocation's time limit in seconds (context.time_limit_in_ms)")
@targets.endpoint_option
def invoke(event_file, bucket: Optional[str], key: Optional[str], size: int, region: str,
           config_path: Optional[Path], function_dir: Path, timeout: float,
           endpoint: Optional[str]) -> None:
    """Run main_handler locally on EVENT_FILE or on a synthesized upload event."""
    if event_file is not None and (bucket or key):
        raise click.UsageError("give either EVENT_FILE or --bucket/--key, not both")
    if event_file is None and not (bucket and key):
        raise click.UsageError("give EVENT_FILE, or --bucket and --key")
    if bucket is not None and bucket_problem(bucket):
        targets.fail(f"--bucket: {bucket_problem(bucket)}")
    if event_file is not None:
        try:
            event = json.load(event_file)
        except ValueError as exc:
            raise click.ClickException(f"{event_file.name}: not valid JSON: {exc}") from None
        except RecursionError:
            targets.fail(f"{event_file.name}: JSON nested too deeply to be an event (an SCF "
                         "event is a few levels deep)")
    else:
        event = synthesize_event(bucket, key, size, region)
    target = targets.resolve(endpoint, region)
    click.echo(target.line())
    for problem in targets.problems(target):
        targets.fail(problem)
    down = targets.unreachable(target)
    if down:
        targets.fail(down)
    # the function reads its endpoint from the environment, as on SCF
    os.environ.pop(constants.ENV_COS_ENDPOINT, None)
    os.environ.update(target.env({}))
    if config_path is not None:
        os.environ[constants.ENV_CONFIG] = str(config_path.resolve())
    handler = load_handler(function_dir)
    context = {"request_id": str(uuid.uuid4()), "time_limit_in_ms": int(timeout * 1000),
               "memory_limit_in_mb": 256, "function_name": "picops-invoke",
               "function_version": "$LATEST", "namespace": "default",
               "tencentcloud_region": region}
    try:
        summary = handler(event, context)
    except Exception as exc:  # the handler raises on purpose for SCF to retry
        click.echo(f"main_handler raised {type(exc).__name__}: {exc}", err=True)
        click.echo("(on SCF this execution would be retried, then sent to the dead-letter "
                   "queue)", err=True)
        sys.exit(1)
    # keys are the uploader's: JSON, with C1 controls and line separators escaped too
    click.echo(json_line(summary, indent=2))
    for result in (summary or {}).get("results") or []:
        hint = targets.explain_refusal(target, str((result.get("error") or {}).get("code")))
        if hint:
            click.echo(f"error: {hint}", err=True)
            break
    counts = (summary or {}).get("counts") or {}
    sys.exit(1 if counts.get("failed") else 0)
