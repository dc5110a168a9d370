"""``picops plan``: what a config change would do to the derivatives.

Usage::

    picops plan --config CURRENT --new NEW [--bucket B [--prefix P] [--region R]
                [--concurrency N]] [--serverless PATH]

Without ``--bucket`` it compares the two configs (:func:`diff_configs`): per route,
the outputs *added* (a fileid only the new config has), *removed* (only the current
one has) and *changed* (same fileid, but another rule (compared in the grammar's
canonical form, so equivalent spellings are not a change) or another target bucket),
and whether the route's rules hash changes (every object of the route is then
reprocessed by a backfill, even when only ``pic_info`` changed). Routes are paired by
prefix and suffixes, then by prefix alone when that is unambiguous.

With ``--bucket`` it also runs a backfill dry run of the NEW config against what is
stored (each object's manifest): objects per route that would be processed, outputs
created / replaced / kept (listed by a manifest, no longer written by the new rules:
left in place, never deleted), CI calls; plus ``unrouted``: objects the current config
routes and the new one does not (their derivatives and manifests stay where they are:
no run deletes them). Nothing is written anywhere.

Both configs are validated like ``picops backfill`` does (exit 2 listing every
problem). Output: the diff, the tables, then one JSON line. Exit status
(:func:`picops_cli.report.exit_status`): 0, 1 when listing the bucket failed, 2 usage or
config errors.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import click
from rich.console import Console

from picops import ci_client, manifest, routing
from picops.model import Config, Route, RuleSpec
from picops.errors import Problem
from picops.logs import json_line

from . import target as targets
from .backfill import runner
from .backfill.plan import render_plan_table
from .preflight import (check_target, load_checked_config, read_serverless, report_usage,
                        resolve_region)
from .progress import ProgressView
from .report import EXIT_OK, EXIT_USAGE, describe_error, exit_status
from .terminal import printable

ADDED, REMOVED, CHANGED, UNCHANGED = "added", "removed", "changed", "unchanged"


@dataclass
class OutputChange:
    kind: str                      # added | removed | changed
    fileid: str
    before: Optional[RuleSpec] = None
    after: Optional[RuleSpec] = None

    def describe(self) -> str:
        if self.kind == ADDED:
            return f"+ {self.fileid}{_bucket_note(self.after)}  {self.after.rule}"
        if self.kind == REMOVED:
            return f"- {self.fileid}{_bucket_note(self.before)}"
        notes = []
        if str(self.before.parsed) != str(self.after.parsed):
            notes.append(f"rule {self.before.rule} -> {self.after.rule}")
        if self.before.bucket != self.after.bucket:
            notes.append(f"bucket {self.before.bucket or '(source)'} -> "
                         f"{self.after.bucket or '(source)'}")
        return f"~ {self.fileid}  " + "; ".join(notes)

    def to_json(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"fileid": self.fileid}
        for name, spec in (("before", self.before), ("after", self.after)):
            if spec is not None:
                d[name] = {"rule": spec.rule, "bucket": spec.bucket}
        return d


@dataclass
class RouteDiff:
    status: str                    # added | removed | changed | unchanged
    prefix: str
    suffixes: Optional[Tuple[str, ...]]
    changes: List[OutputChange] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    hash_changed: bool = False

    @property
    def label(self) -> str:
        suffixes = f" {list(self.suffixes)}" if self.suffixes else ""
        return f"{self.prefix!r}{suffixes}"

    def to_json(self) -> Dict[str, Any]:
        return {"route": self.prefix, "suffixes": list(self.suffixes) if self.suffixes else None,
                "status": self.status, "rules_hash_changed": self.hash_changed,
                "added": [c.to_json() for c in self.changes if c.kind == ADDED],
                "removed": [c.to_json() for c in self.changes if c.kind == REMOVED],
                "changed": [c.to_json() for c in self.changes if c.kind == CHANGED],
                "notes": self.notes}


def diff_configs(current: Config, new: Config) -> Tuple[List[RouteDiff], List[str]]:
    """Per-route differences, and config-wide notes (e.g. the manifest prefix moved)."""
    pairs = _pair_routes(current.routes, new.routes)
    diffs = []
    for before, after in pairs:
        if before is None:
            d = RouteDiff(ADDED, after.prefix, after.suffixes, hash_changed=True,
                          changes=[OutputChange(ADDED, r.fileid, after=r) for r in after.rules])
        elif after is None:
            d = RouteDiff(REMOVED, before.prefix, before.suffixes, hash_changed=True,
                          changes=[OutputChange(REMOVED, r.fileid, before=r)
                                   for r in before.rules],
                          notes=["its sources are no longer processed; their derivatives and "
                                 "manifests are kept"])
        else:
            d = _diff_route(before, after)
        diffs.append(d)
    notes = []
    a, b = current.manifests, new.manifests
    if (a.enabled, a.prefix) != (b.enabled, b.prefix):
        notes.append(f"manifests change ({_manifests(a)} -> {_manifests(b)}): the old "
                     "manifests are not found, so a backfill reprocesses every routed object")
    return diffs, notes


def _diff_route(before: Route, after: Route) -> RouteDiff:
    d = RouteDiff(UNCHANGED, after.prefix, after.suffixes,
                  hash_changed=manifest.rules_hash(before) != manifest.rules_hash(after))
    old = {r.fileid: r for r in before.rules}
    new = {r.fileid: r for r in after.rules}
    for fileid, spec in old.items():
        if fileid not in new:
            d.changes.append(OutputChange(REMOVED, fileid, before=spec))
        elif str(spec.parsed) != str(new[fileid].parsed) or spec.bucket != new[fileid].bucket:
            d.changes.append(OutputChange(CHANGED, fileid, before=spec, after=new[fileid]))
    d.changes += [OutputChange(ADDED, f, after=s) for f, s in new.items() if f not in old]
    if before.suffixes != after.suffixes:
        d.notes.append(f"suffixes {_suffixes(before.suffixes)} -> {_suffixes(after.suffixes)}")
    if before.pic_info != after.pic_info:
        d.notes.append(f"pic_info {before.pic_info} -> {after.pic_info} (no output changes, "
                       "but the rules hash does: a backfill reprocesses the route)")
    if d.changes or d.notes or d.hash_changed:
        d.status = CHANGED
    return d


def _pair_routes(old: Tuple[Route, ...],
                 new: Tuple[Route, ...]) -> List[Tuple[Optional[Route], Optional[Route]]]:
    pairs: List[Tuple[Optional[Route], Optional[Route]]] = []
    left_new = list(new)
    unpaired_old = []
    for r in old:
        hit = next((n for n in left_new if (n.prefix, n.suffixes) == (r.prefix, r.suffixes)),
                   None)
        if hit is None:
            unpaired_old.append(r)
        else:
            left_new.remove(hit)
            pairs.append((r, hit))
    for r in unpaired_old:
        same_old = [o for o in unpaired_old if o.prefix == r.prefix]
        same_new = [n for n in left_new if n.prefix == r.prefix]
        if len(same_old) == 1 and len(same_new) == 1:
            left_new.remove(same_new[0])
            pairs.append((r, same_new[0]))
        else:
            pairs.append((r, None))
    pairs += [(None, n) for n in left_new]
    # the new config's order, then the routes it drops
    pairs.sort(key=lambda p: (0, p[1].index) if p[1] is not None else (1, p[0].index))
    return pairs


def _bucket_note(spec: RuleSpec) -> str:
    return f" (bucket {spec.bucket})" if spec.bucket else ""


def _suffixes(s: Optional[Tuple[str, ...]]) -> str:
    return "any" if s is None else "[" + ", ".join(s) + "]"


def _manifests(m: Any) -> str:
    return f"prefix {m.prefix!r}" if m.enabled else "off"


# --- the command ------------------------------------------------------------------------

@click.command()
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="the current routes config")
@click.option("--new", "new_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the new routes config")
@click.option("--bucket", default=None, help="also count what is stored in this bucket")
@click.option("--prefix", default="", help="with --bucket: only keys starting with this")
@click.option("--region", default=None,
              help="with --bucket: its region (default: $TENCENTCLOUD_REGION, else "
                   "serverless.yml's)")
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=4,
              show_default=True, help="with --bucket: manifests read at once")
@click.option("--serverless", "serverless_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="also prove no trigger here fires on an output of the new "
                                 "config (default: ./serverless.yml when present)")
@targets.endpoint_option
def plan(config_path: Path, new_path: Path, bucket: Optional[str], prefix: str,
         region: Optional[str], concurrency: int, serverless_path: Optional[Path],
         endpoint: Optional[str]) -> None:
    """Show which derivatives a config change would add, remove or change."""
    problems: List[Problem] = []
    serverless = read_serverless(serverless_path)
    current = load_checked_config(config_path, None, problems)
    new = load_checked_config(new_path, serverless, problems)
    target = None
    if bucket is not None:
        region = resolve_region(region, serverless, problems)
        target = targets.resolve(endpoint, region)
        click.echo(target.line() + " (read only)")
        check_target(bucket, problems)
        targets.check(target, problems)
    elif prefix:
        problems.append(Problem("--prefix", "only means something with --bucket"))
    if problems:
        report_usage(problems)
        sys.exit(EXIT_USAGE)
    out = Console(soft_wrap=True, emoji=False)
    diffs, notes = diff_configs(current, new)
    for d in diffs:
        tail = " (rules hash changes: its objects are reprocessed)" if d.hash_changed and \
            d.status == CHANGED else ""
        out.print(f"route {d.label}: {d.status}{tail}", markup=False, highlight=False)
        for c in d.changes:
            out.print("  " + c.describe(), markup=False, highlight=False)
        for n in d.notes:
            out.print(f"  note: {n}", markup=False, highlight=False)
    for n in notes:
        out.print(f"note: {n}", markup=False, highlight=False)
    doc: Dict[str, Any] = {"routes": [d.to_json() for d in diffs], "notes": notes}
    status = EXIT_OK
    if bucket is not None:
        status, doc["bucket"] = _against_bucket(current, new, bucket, prefix, region,
                                                concurrency, out, target.env())
    click.echo(json_line(doc))
    sys.exit(status)


def unrouted_note(unrouted: List[str]) -> str:
    """The line naming the objects only the current config routes (the first five keys,
    made printable like every key the CLI shows)."""
    return (f"{len(unrouted)} object(s) routed by the current config are not by the new one "
            "(derivatives and manifests kept), e.g. "
            + ", ".join(printable(k) for k in unrouted[:5]))


def _against_bucket(current: Config, new: Config, bucket: str, prefix: str, region: str,
                    concurrency: int, out: Console, env: Dict[str, str]
                    ) -> Tuple[int, Dict[str, Any]]:
    """A dry run of ``new`` over the bucket, plus the objects only ``current`` routes."""
    unrouted = []

    def note_unrouted(outcome: runner.ObjectOutcome) -> None:
        if outcome.kind == runner.SKIPPED and outcome.reason == "no_route" and \
                routing.match(current, outcome.key) is not None:
            unrouted.append(outcome.key)

    options = runner.RunOptions(bucket=bucket, region=region, prefix=prefix,
                                concurrency=concurrency, dry_run=True)
    with ProgressView(Console(stderr=True, emoji=False), "reading manifests") as view:
        result = runner.Backfill(new, options,
                                 client_factory=lambda: ci_client.make_cos_client(env, region),
                                 on_progress=view.update, on_result=[note_unrouted]).run()
    if result.error is not None and result.summary.total == 0:
        click.echo(f"error: {describe_error(result.error)}", err=True)  # no table of zeros
        return exit_status(failed=True), {"error": describe_error(result.error)}
    out.print(render_plan_table(result.plan, title=f"{bucket}: what the new config changes "
                                                   "(nothing written)"))
    if unrouted:
        out.print(unrouted_note(unrouted), markup=False, highlight=False)
    doc = result.plan.to_json()
    doc["unrouted"] = len(unrouted)
    doc["skipped"] = dict(sorted(result.summary.skipped.items()))
    if result.error is not None:
        click.echo(f"error: {describe_error(result.error)}", err=True)
    return exit_status(failed=result.error is not None), doc
