"""``picops emulator``: the local COS + CI + SCF-trigger emulator in the foreground."""

import errno
import logging
import os
import sys
from pathlib import Path
from typing import Optional

import click

from picops import constants
from picops.errors import ConfigError
from picops_cli.defaults import SERVERLESS as DEFAULT_SERVERLESS
from picops_cli.defaults import config_not_found, serverless_not_found


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
              help="the function's source folder (default: functions/image_processor beside "
                   "serverless.yml; another folder than the checkout's runs from source)")
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
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE",
              callback=lambda ctx, param, values: _limits(values),
              help="set one of the emulator's own per-request ceilings, which CI does not "
                   "document (repeatable): max_jpeg_scans, max_request_memory (e.g. 2GiB), "
                   "max_request_work (e.g. 40G), max_request_seconds; defaults in the README "
                   "('Hostile images'). CI's documented limits are fixed")
@click.option("--access-log", is_flag=True, help="also log every HTTP request")
@click.option("--log-format", type=click.Choice(["readable", "json"]), default="readable",
              show_default=True,
              help="readable: one line per invocation; json: the raw JSON lines of the "
                   "trigger layer and the function")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="apply edits of serverless.yml, the routes config and the function's "
                   "code to the next event")
@click.option("--fault-ci-errors", default=0.0, type=click.FloatRange(0, 1),
              help="soak tests: share of CI requests answered 503 SlowDown or 500 before "
                   "any work (default 0)")
@click.option("--fault-ci-errors-after", default=0.0, type=click.FloatRange(0, 1),
              help="soak tests: share of CI requests that do their work, then answer 500")
@click.option("--fault-function-crashes", default=0.0, type=click.FloatRange(0, 1),
              help="soak tests: share of invocations whose processes are killed mid-way")
@click.option("--fault-function-timeouts", default=0.0, type=click.FloatRange(0, 1),
              help="soak tests: share of invocations given a time limit of at most 0.5 s")
@click.option("--fault-seed", default=None, type=int, help="repeatable fault injection")
def emulator(port: int, data_dir: Path, serverless_path: Path, config_path: Optional[Path],
             function_dir: Optional[Path], source: bool, secret_id: str, secret_key: str,
             no_auth: bool, retry_delays, ci_qps: float, limits, access_log: bool,
             log_format: str,
             watch: bool, fault_ci_errors: float, fault_ci_errors_after: float,
             fault_function_crashes: float, fault_function_timeouts: float,
             fault_seed: Optional[int]) -> None:
    """Serve COS + CI on 127.0.0.1 and run the function on every covered upload."""
    from picops_emulator import local
    from picops_emulator.faults import FaultSettings
    from picops_emulator.storage import DataDirInUse

    options = local.LocalOptions(
        serverless_path=serverless_path, config_path=config_path, function_dir=function_dir,
        source=source, data_dir=data_dir, port=port, secret_id=secret_id, secret_key=secret_key,
        auth=not no_auth, ci_qps=ci_qps, limits=limits, watch=watch,
        faults=FaultSettings(ci_errors=fault_ci_errors, ci_errors_after=fault_ci_errors_after,
                             function_crashes=fault_function_crashes,
                             function_timeouts=fault_function_timeouts, seed=fault_seed))
    if retry_delays:
        options.retry_delays = tuple(retry_delays)
    _exit_if_missing(options)
    observers = _configure_logs(log_format, access_log, options)
    try:
        local.serve(options, observers=observers)
    except ConfigError as exc:
        for problem in exc.placed():  # each led by its file, as the live reload says it
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    except DataDirInUse:
        click.echo(f"error: the data folder {data_dir} is in use by another picops emulator: "
                   "stop that one, or pass another --data-dir", err=True)
        sys.exit(1)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        click.echo(f"error: {port_in_use_message(port)}", err=True)
        sys.exit(1)


def _limits(values):
    """``--limit`` texts -> the engine's ``Limits`` (settings.parse_limits), or a usage
    error naming every bad one."""
    from picops_emulator.settings import parse_limits

    try:
        return parse_limits(values)
    except ConfigError as exc:
        raise click.BadParameter("; ".join(str(p) for p in exc.problems),
                                 param_hint="'--limit'") from None


def _exit_if_missing(options) -> None:
    """serverless.yml or the routes config not there: one line each, where it looked."""
    from picops_emulator import local
    from picops_emulator.triggers.loader import default_function_dir

    problems = []
    missing = serverless_not_found(options.serverless_path,
                                   options.serverless_path != DEFAULT_SERVERLESS)
    if missing:
        problems.append(missing)
    else:
        function_dir = Path(options.function_dir or default_function_dir(options.serverless_path))
        config = local.resolve_config_path(options, function_dir)
        missing = config_not_found(config, options.config_path is not None)
        if missing:
            problems.append(missing)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(1)


def _configure_logs(log_format: str, access_log: bool, options) -> list:
    """Set up the emulator's loggers on stderr; return the dispatcher observers to add."""
    # Trigger decisions and the function's own lines are INFO records of the emulator's
    # loggers. Everything else (libvips' chatter, expected 404s) only from WARNING up.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    if access_log:
        logging.getLogger("picops_emulator.access").setLevel(logging.INFO)
    names = ("picops_emulator.triggers", "picops_emulator.function")
    for name in names:
        logging.getLogger(name).setLevel(logging.INFO)
    if log_format == "json":
        return []
    from picops_emulator.triggers.readable import ReadableLog

    readable = ReadableLog(retry_delays=options.retry_delays)
    handler = readable.handler()
    for name in names:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False

    def observe(stage, record) -> None:
        readable.function_name = readable.function_name or record.context.get(
            "function_name", "")
        readable.observe(stage, record)

    return [observe]


def port_in_use_message(port: int) -> str:
    """Port ``port`` is taken: say so, who holds it when that can be found, what to do."""
    holder = port_holder(port)
    who = f" by {holder}" if holder else ""
    return (f"port {port} on 127.0.0.1 is already in use{who}: stop that process, pass "
            "another --port, or --port 0 for any free one (make emulator PORT=9001)")


def port_holder(port: int) -> Optional[str]:
    """``"pid 123 (python3)"`` listening on ``port``, from /proc (Linux), or None."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table, encoding="ascii") as fh:
                    next(fh)
                    for line in fh:
                        cols = line.split()
                        local_port = int(cols[1].rsplit(":", 1)[1], 16)
                        if local_port == port and cols[3] == "0A":  # LISTEN
                            inodes.add(cols[9])
            except FileNotFoundError:
                continue
        if not inodes:
            return None
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            fd_dir = f"/proc/{pid}/fd"
            try:
                for fd in os.listdir(fd_dir):
                    target = os.readlink(f"{fd_dir}/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        with open(f"/proc/{pid}/comm", encoding="utf-8") as fh:
                            return f"pid {pid} ({fh.read().strip()})"
            except OSError:
                continue
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None
