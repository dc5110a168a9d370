"""``picops emulator``: the local COS + CI + SCF-trigger emulator in the foreground."""

import logging
import os
import sys
from pathlib import Path
from typing import Optional

import click

from picops import constants
from picops.errors import ConfigError


@click.command()
@click.option("--port", default=9000, show_default=True, help="TCP port on 127.0.0.1 (0: any)")
@click.option("--data-dir", default=".picops", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="where buckets and objects are kept (survives restarts)")
@click.option("--serverless", "serverless_path", default="serverless.yml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="the Serverless Framework file whose COS triggers are wired")
@click.option("--config", "config_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="routes config (default: $PICOPS_CONFIG, else the function's picops.yaml)")
@click.option("--function-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="run the function from this source folder instead (implies --source; "
                   "default: the package built from functions/image_processor)")
@click.option("--source", is_flag=True,
              help="run the function from its source folder on this Python (fast iteration) "
                   "instead of the package built for serverless.yml's runtime on that "
                   "runtime's CPython")
@click.option("--secret-id", default=lambda: os.environ.get(constants.ENV_SECRET_ID, ""),
              help="the one valid SecretId (default: $TENCENTCLOUD_SECRETID)")
@click.option("--secret-key", default=lambda: os.environ.get(constants.ENV_SECRET_KEY, ""),
              help="its SecretKey (default: $TENCENTCLOUD_SECRETKEY)")
@click.option("--no-auth", is_flag=True, help="accept requests without checking signatures")
@click.option("--retry-delay", "retry_delays", multiple=True, type=float,
              help="seconds before each SCF async retry (default 1 and 2; SCF uses 60 and 120)")
@click.option("--ci-qps", default=100.0, show_default=True, type=click.FloatRange(min=0),
              help="CI persistent-processing requests per second per account before the "
                   "emulator answers 503 SlowDown (CI's default limit is 100/s per account; "
                   "0: no limit)")
@click.option("--access-log", is_flag=True, help="also log every HTTP request")
def emulator(port: int, data_dir: Path, serverless_path: Path, config_path: Optional[Path],
             function_dir: Optional[Path], source: bool, secret_id: str, secret_key: str,
             no_auth: bool, retry_delays, ci_qps: float, access_log: bool) -> None:
    """Serve COS + CI on 127.0.0.1 and run the function on every covered upload."""
    from picops_emulator import local

    # Trigger decisions and the function's own JSON lines are INFO records of the
    # emulator's loggers: show them, one per line, on stderr.
    # Everything else (libvips' chatter, expected 404s) only from WARNING up.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for name in ("picops_emulator.triggers", "picops_emulator.function"):
        logging.getLogger(name).setLevel(logging.INFO)
    if access_log:
        logging.getLogger("picops_emulator.access").setLevel(logging.INFO)

    options = local.LocalOptions(
        serverless_path=serverless_path, config_path=config_path, function_dir=function_dir,
        source=source, data_dir=data_dir, port=port, secret_id=secret_id, secret_key=secret_key,
        auth=not no_auth, ci_qps=ci_qps)
    if retry_delays:
        options.retry_delays = tuple(retry_delays)
    try:
        local.serve(options)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
