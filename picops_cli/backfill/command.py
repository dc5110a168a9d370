"""``picops backfill``: process the objects already in a bucket, as the function would.

Usage::

    picops backfill --bucket B [--prefix P] [--concurrency N] [--dry-run] [--limit N]
                    [--rate R] [--config PATH] [--serverless PATH] [--region R] [--log PATH]
    picops backfill --bucket B --fan-out FUNCTION [--page-size N] [--namespace NS]
                    [--qualifier Q] ...

What it does (the loop itself is :mod:`.runner`, the checks before it
:mod:`picops_cli.preflight`): it validates the routes config (grammar, fileids, loop
safety; with a serverless.yml also that no trigger can fire on an output or a manifest,
but NOT that triggers cover the routes: backfill is how a bucket without a trigger gets
processed), lists the bucket, routes every object with the
function's own rules, reads each routed object's manifest and sends what is missing or
stale (new object, changed ETag, changed rules hash) through the handler's
``Processor.process_object``, ``--concurrency`` at a time, with at most ``--rate`` CI
calls per second (slowing down when CI answers SlowDown).

Output: a progress bar on stderr (rate, ETA); on stdout a summary table, then the same
summary as one JSON line, last: ``{"processed": N, "up_to_date": N, "skipped": {reason:
N}, "failed": {code: N}}``, counting this run only. ``--dry-run`` prints, instead, each
object's changes (``+`` create, ``~`` replace, ``-`` delete, ``!`` refused), a table per
route with the CI calls needed, and a JSON line with ``"dry_run": true``; it writes
nothing anywhere (no CI call, no manifest, no checkpoint). ``--log PATH`` appends the
handler's JSON outcome line for every processed object.

Resuming: a checkpoint (:mod:`.checkpoint`, format documented there) under
the user's cache directory, keyed by bucket, prefix and config, is written as the run
goes and when Ctrl-C stops it (in-flight objects finish first); running the same
command again resumes after it. A run that completes removes it.

Fan-out (:mod:`.fanout`): with ``--fan-out FUNCTION`` the CLI only lists and
routes, and invokes the deployed function asynchronously once per page of
``--page-size`` keys; the function processes the page (skipping keys whose manifest is
current). Credentials: ``TENCENTCLOUD_SECRETID``/``TENCENTCLOUD_SECRETKEY`` (and
``TENCENTCLOUD_SESSIONTOKEN``), for the listing and the Invoke calls alike.

Exit status (:func:`picops_cli.report.exit_status`): 0 nothing failed (and every dry
run), 1 some objects failed (or the listing or an invocation failed), 2 usage or config
errors (every problem listed), 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import click
from rich.console import Console

from picops import ci_client
from picops.errors import ConfigError, Problem
from picops.logs import JsonLogger, json_line
from picops.model import Config

from . import runner
from .. import target as targets
from ..preflight import (check_target, config_option, region_option, report_usage,
                         resolve_run, serverless_option)
from ..progress import ProgressView
from ..report import EXIT_USAGE, describe_error, exit_status, outcome_log, print_failures
from ..terminal import printable
from .checkpoint import CheckpointStore
from .fanout import ENV_SCF_ENDPOINT
from .plan import plan_lines, render_plan_table
from .ratelimit import RateLimitedClient, RateLimiter
from .scope import config_fingerprint
from .summary import render_table

#: --fan-out prints a progress line every this many pages.
PAGES_PER_LINE = 50

#: Called in the main thread with every object's outcome. A test seam: the tests append a
#: hook raising KeyboardInterrupt to play Ctrl-C at a chosen point.
result_hooks: List[Callable[[runner.ObjectOutcome], None]] = []


def cache_dir() -> Path:
    """Where checkpoints live: ``platformdirs.user_cache_dir("picops")``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("picops"))


# --- the command ------------------------------------------------------------------------

@click.command()
@click.option("--bucket", required=True, help="the bucket to backfill (name-appid)")
@click.option("--prefix", default="", help="only keys starting with this")
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=4, show_default=True,
              help="objects processed at once")
@click.option("--dry-run", is_flag=True, help="print the plan; write nothing anywhere")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="process at most N objects this run, then stop (a rerun continues)")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=100.0,
              show_default=True, help="at most R CI calls per second (CI's account limit)")
@config_option
@serverless_option
@region_option
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="append the handler's JSON outcome lines here")
@click.option("--fan-out", "fan_out", metavar="FUNCTION", default=None,
              help="invoke this deployed SCF function once per page of keys instead of "
                   "processing here")
@click.option("--page-size", type=click.IntRange(min=1, max=1000), default=None,
              help="keys per page event with --fan-out (default 20; size it to the "
                   "function's timeout)")
@click.option("--namespace", default="default", show_default=True,
              help="SCF namespace of --fan-out's function")
@click.option("--qualifier", default="$LATEST", show_default=True,
              help="version or alias of --fan-out's function")
@targets.endpoint_option
@click.option("--yes", is_flag=True,
              help="do not ask before writing to Tencent Cloud (asked only on a terminal)")
@click.option("--scf-endpoint", default=lambda: os.environ.get(ENV_SCF_ENDPOINT) or None,
              metavar="URL",
              help="send --fan-out's SCF Invoke calls here (default: $PICOPS_SCF_ENDPOINT; "
                   "unset: the emulator's own URL when the COS target is the emulator, "
                   "else Tencent Cloud)")
def backfill(bucket: str, prefix: str, concurrency: int, dry_run: bool, limit: Optional[int],
             rate: float, config_path: Optional[Path], serverless_path: Optional[Path],
             region: Optional[str], log_path: Optional[Path], fan_out: Optional[str],
             page_size: Optional[int], namespace: str, qualifier: str,
             endpoint: Optional[str], yes: bool, scf_endpoint: Optional[str]) -> None:
    """Process the objects already in a bucket: what is missing or stale, as the function would."""
    problems: List[Problem] = []
    _, region, target, config = resolve_run(config_path, serverless_path, region, endpoint,
                                            problems)
    check_target(bucket, problems)
    targets.check(target, problems)
    if page_size is not None and not fan_out:
        problems.append(Problem("--page-size", "only means something with --fan-out"))
    if fan_out:
        for name, value in (("--limit", limit), ("--log", log_path)):
            if value is not None:
                problems.append(Problem(name, "not used with --fan-out: the function "
                                              "processes the pages and logs each object"))
    if problems:
        report_usage(problems)
        sys.exit(EXIT_USAGE)
    if not config.manifests.enabled:
        click.echo("warning: manifests are off in this config: nothing can be found up to "
                   "date, so every routed object is processed again", err=True)
    if fan_out:
        sys.exit(_fan_out(config, bucket, prefix, region, fan_out, page_size, rate, namespace,
                          qualifier, dry_run, scf_endpoint, target))
    if not dry_run:
        targets.confirm_cloud_write(target, f"backfill writes derivatives and manifests for "
                                            f"{bucket}/{prefix}", yes)
    options = runner.RunOptions(bucket=bucket, region=region, prefix=prefix,
                                concurrency=concurrency, limit=limit, dry_run=dry_run)
    sys.exit(run_backfill(config, options, rate=rate, log_path=log_path, env=target.env()))


def run_backfill(config: Config, options: runner.RunOptions, *, rate: float,
                 log_path: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
                 out: Optional[Console] = None, err: Optional[Console] = None) -> int:
    """Run one backfill (or dry run) and print its report; returns the exit status."""
    env = dict(os.environ if env is None else env)
    out = out or Console(soft_wrap=True, emoji=False)
    err = err or Console(stderr=True, emoji=False)
    limiter = RateLimiter(rate)
    calls = itertools.count()
    checkpoint = None if options.dry_run else CheckpointStore(
        cache_dir(), options.bucket, options.prefix, config_fingerprint(config))
    label = "planning" if options.dry_run else "backfill"
    with _outcome_log(log_path, options.dry_run) as logger, ProgressView(err, label) as view:
        processor_factory = None if logger is None else \
            _processor_factory(config, env, logger, limiter, calls)
        job = runner.Backfill(config, options,
                              client_factory=lambda: ci_client.make_cos_client(env,
                                                                               options.region),
                              processor_factory=processor_factory, checkpoint=checkpoint,
                              log=logger, on_progress=view.update,
                              on_result=_result_hooks(options.dry_run, out, err))
        if checkpoint is not None:
            err.print(f"checkpoint: {checkpoint.path}", markup=False, highlight=False)
        result = job.run()
    return report(result, out, err, rate=rate, ci_calls=next(calls), limiter=limiter)


@contextlib.contextmanager
def _outcome_log(log_path: Optional[Path], dry_run: bool) -> Iterator[Optional[JsonLogger]]:
    """The handler's outcome lines: appended to ``log_path`` (else dropped) while the run
    lasts; None for a dry run, which processes nothing."""
    if dry_run:
        yield None
        return
    with outcome_log(log_path) as logger:
        yield logger


def _processor_factory(config: Config, env: Dict[str, str], logger: JsonLogger,
                       limiter: RateLimiter, calls: Iterator[int]) -> Callable[[], Any]:
    """Builds each worker's :class:`picops.handler.Processor`: the function's own, with
    its COS client behind the run's one rate limiter (every call counted in ``calls``)."""
    from picops.handler import Processor

    def limited(env_: Any, region: str) -> Any:
        return RateLimitedClient(ci_client.make_cos_client(env_, region), limiter,
                                 on_call=lambda: next(calls))

    return lambda: Processor(config, env, client_factory=limited, logger=logger)


def _result_hooks(dry_run: bool, out: Console, err: Console
                  ) -> List[Callable[[runner.ObjectOutcome], None]]:
    """What runs after each outcome: a dry run prints the object's plan lines; then the
    :data:`result_hooks` test seam."""
    hooks: List[Callable[[runner.ObjectOutcome], None]] = []
    if dry_run:
        # Both on one terminal: through the progress bar's console, which prints above the
        # bar instead of through it. Otherwise stdout, wherever it goes.
        lines = err if out.is_terminal and err.is_terminal else out

        def show(outcome: runner.ObjectOutcome) -> None:
            if outcome.plan is not None:
                for line in plan_lines(outcome.plan):
                    lines.print(line, markup=False, highlight=False, soft_wrap=True)
        hooks.append(show)
    return hooks + list(result_hooks)


def report(result: runner.RunResult, out: Console, err: Console, *, rate: float,
           ci_calls: int, limiter: RateLimiter) -> int:
    """The run's report: notes and errors on stderr, the table then the JSON line (last)
    on stdout; returns the exit status (:func:`picops_cli.report.exit_status`)."""
    if result.checkpoint_warning:
        err.print(f"warning: {result.checkpoint_warning}", markup=False, highlight=False)
    if result.resumed_after:
        err.print(f"resumed after {printable(result.resumed_after)} ({result.done_before} "
                  "object(s) done by earlier runs; the summary counts this run only)",
                  markup=False, highlight=False)
    if result.error is not None and result.summary.total == 0:
        # the listing failed before any object: say why, not a table of zeros (the JSON
        # line stays: scripts read the last line)
        err.print(f"error: {describe_error(result.error)}", markup=False, highlight=False)
        out.out(_json_line(result), highlight=False)
        return exit_status(failed=True)
    if result.plan is not None:
        out.print(render_plan_table(result.plan, rate=rate))
    else:
        out.print(render_table(result.summary))
        err.print(f"{ci_calls} CI call(s) made; rate ceiling {rate:g}/s"
                  + (f", slowed down {limiter.slowdowns} time(s) on SlowDown"
                     if limiter.slowdowns else ""), markup=False, highlight=False)
    print_failures(err, result.summary)
    if result.error is not None:
        err.print(f"error: {describe_error(result.error)}", markup=False, highlight=False)
    if result.interrupted:
        err.print("interrupted: in-flight objects finished; run the same command again to "
                  "resume", markup=False, highlight=False)
    elif result.limited:
        err.print("stopped at --limit; run the same command again to continue",
                  markup=False, highlight=False)
    out.out(_json_line(result), highlight=False)
    # a dry run's failures are objects it could not plan: only its listing can fail it
    failed = result.error is not None or (result.plan is None and result.summary.failures > 0)
    return exit_status(failed=failed, interrupted=result.interrupted)


def _json_line(result: runner.RunResult) -> str:
    """The last line: the dry run's plan, else the summary."""
    return json_line(result.plan.to_json()) if result.plan is not None \
        else result.summary.json_line()


def _fan_out(config: Config, bucket: str, prefix: str, region: str, function: str,
             page_size: Optional[int], rate: float, namespace: str, qualifier: str,
             dry_run: bool, scf_endpoint: Optional[str] = None,
             target: Optional[targets.Target] = None) -> int:
    from .fanout import DEFAULT_PAGE_SIZE, FanOut, scf_invoker

    err = Console(stderr=True, emoji=False)
    target = target or targets.resolve(None, region)
    env = target.env()
    scf_endpoint = scf_target(target, scf_endpoint)
    if scf_endpoint:
        err.print(f"SCF Invoke: {scf_endpoint}", markup=False, highlight=False)
    if dry_run:
        def invoke(event: Dict[str, Any]) -> str:
            return ""
    else:
        try:
            invoke = scf_invoker(function, region, namespace=namespace, qualifier=qualifier,
                                 env=env, endpoint=scf_endpoint)
        except ConfigError as e:
            report_usage(list(e.problems))
            return EXIT_USAGE
    checkpoint = None if dry_run else CheckpointStore(
        cache_dir(), bucket, prefix, "fan-out:" + function + ":" + config_fingerprint(config))
    job = FanOut(config, ci_client.make_cos_client(env, region), invoke, bucket=bucket,
                 region=region, prefix=prefix, page_size=page_size or DEFAULT_PAGE_SIZE,
                 rate=rate, checkpoint=checkpoint, on_page=_page_printer(err, dry_run))
    result = job.run()
    if result.error is not None:
        err.print(f"error: {result.error.message}", markup=False, highlight=False)
    if result.resumed_after:
        err.print(f"resumed after {printable(result.resumed_after)}", markup=False,
                  highlight=False)
    if dry_run:
        err.print(f"dry run: {result.pages} page event(s) would be sent to {function}; "
                  "nothing was invoked", markup=False, highlight=False)
    if result.interrupted:
        err.print("interrupted: run the same command again to send the remaining pages",
                  markup=False, highlight=False)
    click.echo(json_line(result.to_json(function)))
    return exit_status(failed=result.error is not None, interrupted=result.interrupted)


def scf_target(target: targets.Target, scf_endpoint: Optional[str]) -> Optional[str]:
    """Where ``--fan-out`` sends its SCF ``Invoke`` calls: ``--scf-endpoint`` when given;
    else, for a local COS target, the emulator on the same URL (it serves SCF's API
    there), never Tencent Cloud's SCF with the emulator's COS; else Tencent Cloud (None)."""
    if scf_endpoint:
        return scf_endpoint
    return target.endpoint if target.local else None


def _page_printer(err: Console, dry_run: bool) -> Callable[[Any], None]:
    """A line for the first page, then one per :data:`PAGES_PER_LINE` pages."""
    verb = "would be sent" if dry_run else "sent"

    def show(result: Any) -> None:
        if result.pages == 1 or result.pages % PAGES_PER_LINE == 0:
            err.print(f"{result.pages} page(s), {result.keys} key(s) {verb}", markup=False,
                      highlight=False)
    return show
