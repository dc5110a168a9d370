"""``picops upload``: upload files with their route's rules applied on the way in.

Usage::

    picops upload FILE... [--prefix P | --key K] [--bucket B] [--concurrency N]
                  [--config PATH] [--serverless PATH] [--region R] [--log PATH]
                  [--multipart-threshold MB] [--endpoint URL] [--yes]

Each FILE goes to ``P + <its name>`` (``--prefix``, default ""), or to ``K`` (``--key``, one
FILE only), in ``--bucket`` (default: the bucket of the serverless.yml upload trigger that
covers the key), through :func:`picops.upload.Uploader.upload`: the route's rules travel
as ``Pic-Operations`` with the bytes, the outputs exist when the file's line is counted,
and the function's trigger skips the upload (``processed_on_upload``).

Output: a progress bar on stderr for many files; on stdout a summary table, then one JSON
line, last: ``{"processed": N, "skipped": {reason: N}, "failed": {code: N}}``. Failures are
listed on stderr with their CI error. ``--log PATH`` appends each file's JSON outcome line
(the function's fields, ``event_name`` ``picops:upload``).

Credentials and endpoint as for ``backfill``: ``TENCENTCLOUD_SECRETID`` /
``TENCENTCLOUD_SECRETKEY`` (``TENCENTCLOUD_SESSIONTOKEN``); ``--endpoint URL`` (default:
``COS_ENDPOINT``) for the emulator. The first line says where the files go
(:mod:`.target`); uploading to Tencent Cloud from a terminal asks first (``--yes`` skips).

Exit status, as ``backfill``: 0 nothing failed, 1 some files failed, 2 usage or config
errors (every problem listed, nothing uploaded), 130 interrupted by Ctrl-C (files already
started finish; the others are not uploaded).
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import click
from rich.console import Console

from picops import ci_client
from picops.model import Config
from picops.errors import Problem
from picops.logs import JsonLogger, json_line
from picops.outcome import Outcome, RecordOutcome

from . import target as targets
from .backfill import runner
from .backfill.summary import Summary, render_table
from .preflight import (Serverless, check_target, config_option, region_option, report_usage,
                        resolve_run, serverless_option, trigger_bucket)
from .progress import ProgressView
from .report import EXIT_USAGE, exit_status, outcome_log, print_failures

MIB = 1024 * 1024


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--prefix", default=None, help="each file goes to PREFIX + its name")
@click.option("--key", default=None, help="the object key (one FILE only)")
@click.option("--bucket", default=None,
              help="target bucket (default: the bucket of the serverless.yml upload trigger "
                   "covering the key)")
@click.option("--concurrency", type=click.IntRange(min=1, max=32), default=4, show_default=True,
              help="files uploaded at once")
@config_option
@serverless_option
@region_option
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="append each file's JSON outcome line here")
@click.option("--multipart-threshold", type=click.FloatRange(min=1), default=None,
              help="files above this many MiB go as multipart uploads (default 16)")
@targets.endpoint_option
@click.option("--yes", is_flag=True,
              help="do not ask before writing to Tencent Cloud (asked only on a terminal)")
def upload(files: Tuple[Path, ...], prefix: Optional[str], key: Optional[str],
           bucket: Optional[str], concurrency: int, config_path: Optional[Path],
           serverless_path: Optional[Path], region: Optional[str], log_path: Optional[Path],
           multipart_threshold: Optional[float], endpoint: Optional[str], yes: bool) -> None:
    """Upload FILEs with their route's rules as Pic-Operations: derivatives on return."""
    problems: List[Problem] = []
    serverless, region, target, config = resolve_run(config_path, serverless_path, region,
                                                     endpoint, problems)
    targets.check(target, problems)
    jobs = _jobs(files, prefix, key, problems)
    buckets = _buckets(jobs, bucket, serverless, problems)
    if problems:
        report_usage(problems)
        sys.exit(EXIT_USAGE)
    targets.confirm_cloud_write(target, f"upload writes {len(jobs)} file(s) and their "
                                        "derivatives", yes)
    threshold = int(multipart_threshold * MIB) if multipart_threshold else None
    sys.exit(run_upload(config, [(path, b, k) for (path, k), b in zip(jobs, buckets)],
                        region=region, concurrency=concurrency, log_path=log_path,
                        multipart_threshold=threshold, env=target.env()))


def _jobs(files: Tuple[Path, ...], prefix: Optional[str], key: Optional[str],
          problems: List[Problem]) -> List[Tuple[Path, str]]:
    """(file, key) per FILE; problems for bad combinations and keys given twice."""
    if prefix is not None and key is not None:
        problems.append(Problem("--key", "give --prefix or --key, not both"))
    if key is not None and len(files) != 1:
        problems.append(Problem("--key", f"names one object; {len(files)} files given "
                                         f"(use --prefix)"))
    jobs = [(path, key if key is not None else (prefix or "") + path.name) for path in files]
    seen: Dict[str, Path] = {}
    for path, k in jobs:
        if k in seen:
            problems.append(Problem(str(path), f"goes to {k!r} like {seen[k]}: one would "
                                               f"overwrite the other"))
        seen.setdefault(k, path)
    return jobs


def _buckets(jobs: List[Tuple[Path, str]], bucket: Optional[str],
             serverless: Optional[Serverless], problems: List[Problem]) -> List[str]:
    """--bucket for every job, else each key's serverless.yml upload trigger's bucket."""
    if bucket is not None:
        check_target(bucket, problems)
        return [bucket] * len(jobs)
    spec = serverless.spec if serverless is not None else None
    found = [trigger_bucket(k, spec) for _, k in jobs]
    missing = [k for (_, k), b in zip(jobs, found) if b is None]
    if missing:
        problems.append(Problem("--bucket", f"no serverless.yml upload trigger covers "
                                            f"{missing[0]!r}: pass --bucket"))
    return [b or "" for b in found]


def run_upload(config: Config, jobs: List[Tuple[Path, str, str]], *, region: str,
               concurrency: int = 4, log_path: Optional[Path] = None,
               multipart_threshold: Optional[int] = None, env: Optional[Dict[str, str]] = None,
               out: Optional[Console] = None, err: Optional[Console] = None) -> int:
    """Upload every (file, bucket, key) job; print the report; the exit status."""
    env = dict(os.environ if env is None else env)
    out = out or Console(soft_wrap=True, emoji=False)
    err = err or Console(stderr=True, emoji=False)
    summary = Summary()
    with outcome_log(log_path) as logger:
        one = _uploader(config, env, region, logger, multipart_threshold)
        interrupted = _upload_all(jobs, one, concurrency, summary, err)
    out.print(render_table(summary, title="upload summary", up_to_date=False))
    print_failures(err, summary)
    line = summary.to_json()
    line.pop("up_to_date")
    out.out(json_line(line, separators=(", ", ": ")), highlight=False)
    if interrupted:
        err.print("interrupted: files not started were not uploaded", markup=False,
                  highlight=False)
    return exit_status(failed=summary.failures > 0, interrupted=interrupted)


def _uploader(config: Config, env: Dict[str, str], region: str, logger: JsonLogger,
              multipart_threshold: Optional[int]) -> Callable[[Path, str, str], RecordOutcome]:
    """Uploads one (file, bucket, key) job with its thread's own :class:`picops.upload.Uploader`
    (no SDK session is shared between threads)."""
    from picops.upload import DEFAULT_MULTIPART_THRESHOLD, Uploader

    local = threading.local()

    def one(path: Path, bucket: str, key: str) -> RecordOutcome:
        uploader = getattr(local, "uploader", None)
        if uploader is None:
            uploader = local.uploader = Uploader(
                config, ci_client.make_cos_client(env, region), logger=logger,
                multipart_threshold=multipart_threshold or DEFAULT_MULTIPART_THRESHOLD)
        return uploader.upload(bucket, key, path)
    return one


def _upload_all(jobs: List[Tuple[Path, str, str]],
                one: Callable[[Path, str, str], RecordOutcome], concurrency: int,
                summary: Summary, err: Console) -> bool:
    """Every job through ``one``, ``concurrency`` at a time, each counted into ``summary``
    behind a progress bar; True when Ctrl-C stopped it (files already started finish and
    are counted, the others are not uploaded)."""
    progress = runner.Progress(listed=len(jobs), listing_complete=True, summary=summary)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="upload")
    try:
        with ProgressView(err, "upload") as view:
            pending = {pool.submit(one, *job): job for job in jobs}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        _count(summary, pending.pop(future), future)
                        progress.done += 1
                    view.update(progress)
            except KeyboardInterrupt:
                for future in pending:
                    future.cancel()
                for future, job in pending.items():
                    if not future.cancelled():
                        _count(summary, job, future)
                return True
    finally:
        pool.shutdown(wait=True)
    return False


def _count(summary: Summary, job: Tuple[Path, str, str], future: Future) -> None:
    path, _, key = job
    try:
        outcome = future.result()
    except OSError as e:  # the file could not be read
        summary.add_failed(key, "ReadFailed", f"{path}: {e.strerror or e}")
        return
    if outcome.outcome == Outcome.PROCESSED:
        summary.add_processed()
    elif outcome.outcome == Outcome.SKIPPED:
        summary.add_skipped(str(outcome.reason))
    else:
        error = outcome.error
        summary.add_failed(key, error.code if error else "UnknownError",
                           error.message if error else "")
