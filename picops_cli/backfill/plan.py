"""What processing one object would change, and the per-route totals of a dry run. Pure.

Contract:

* :func:`plan_object` compares the outputs the config would write for an object
  (:func:`picops.routing.plan`) with what its manifest says is stored:
  ``created`` (not in the manifest; with no manifest, every output), ``replaced`` (in
  the manifest: overwritten), ``kept`` (in the manifest, no longer produced:
  :func:`picops.manifest.removed_outputs`; left in place, never deleted on a
  manifest's word, see :mod:`picops.ownership`), ``refused`` (outputs that cannot be
  written: an invalid key or loop safety), and ``ci_calls`` (``Pic-Operations`` calls
  of at most five rules). An object with any refused output fails whole before any
  request (:class:`picops.routing.Plan`: all or nothing), so its plan creates,
  replaces and keeps nothing and makes no CI call: only ``refused`` is listed. An
  object whose manifest is current has no plan: it is up to date.
* Without a manifest an output is counted as created even if an object already sits at
  its key (written before manifests existed): finding out would cost a HEAD per output.
* :class:`PlanTally` adds object plans up per route; :func:`render_plan_table` shows it
  and :meth:`PlanTally.to_json` is the dry run's JSON line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from rich.table import Table
from rich.text import Text

from picops import manifest, routing

from ..terminal import printable

Target = Tuple[str, str]  # (bucket, key)


@dataclass(frozen=True)
class ObjectPlan:
    key: str
    route: str
    created: Tuple[Target, ...]
    replaced: Tuple[Target, ...]
    kept: Tuple[Target, ...]     # listed by the manifest, not written by these rules: left
    refused: Tuple[Tuple[str, str], ...]  # (bucket, message)
    ci_calls: int


def plan_object(config: Any, bucket: str, key: str,
                stored: Optional["manifest.Manifest"]) -> ObjectPlan:
    """The changes processing ``key`` would make, against its manifest (or None)."""
    p = routing.plan(config, bucket, key)
    if p is None:
        raise ValueError(f"{key!r} has no route: nothing to plan")
    refused = tuple((r.bucket, r.error.message) for r in p.rejected)
    if refused:  # the record fails before any request: nothing changes
        return ObjectPlan(key=key, route=p.route.prefix, created=(), replaced=(), kept=(),
                          refused=refused, ci_calls=0)
    new = [(o.bucket, o.key) for o in p.outputs]
    old = {(o.bucket, o.key) for o in stored.outputs} if stored is not None else set()
    kept: Tuple[Target, ...] = ()
    if stored is not None:  # never deleted: only the config says what is a source's
        kept = tuple((o.bucket, o.key) for o in manifest.removed_outputs(stored, new))
    return ObjectPlan(
        key=key, route=p.route.prefix,
        created=tuple(t for t in new if t not in old),
        replaced=tuple(t for t in new if t in old),
        kept=kept, refused=(), ci_calls=len(p.calls))


@dataclass
class RouteTally:
    objects: int = 0        # routed objects examined
    up_to_date: int = 0
    to_process: int = 0
    created: int = 0
    replaced: int = 0
    kept: int = 0
    refused: int = 0
    ci_calls: int = 0

    def to_json(self) -> Dict[str, int]:
        return dict(vars(self))


@dataclass
class PlanTally:
    routes: Dict[str, RouteTally] = field(default_factory=dict)
    unreadable: int = 0     # objects whose manifest could not be read

    def route(self, prefix: str) -> RouteTally:
        return self.routes.setdefault(prefix, RouteTally())

    def add_up_to_date(self, route: str) -> None:
        t = self.route(route)
        t.objects += 1
        t.up_to_date += 1

    def add_plan(self, plan: ObjectPlan) -> None:
        t = self.route(plan.route)
        t.objects += 1
        t.to_process += 1
        t.created += len(plan.created)
        t.replaced += len(plan.replaced)
        t.kept += len(plan.kept)
        t.refused += len(plan.refused)
        t.ci_calls += plan.ci_calls

    @property
    def totals(self) -> RouteTally:
        total = RouteTally()
        for t in self.routes.values():
            for name, value in vars(t).items():
                setattr(total, name, getattr(total, name) + value)
        return total

    def to_json(self) -> Dict[str, Any]:
        total = self.totals
        return {"dry_run": True, "objects": total.objects, "up_to_date": total.up_to_date,
                "to_process": total.to_process, "create": total.created,
                "replace": total.replaced, "kept": total.kept, "refused": total.refused,
                "ci_calls": total.ci_calls, "unreadable_manifests": self.unreadable,
                "routes": {prefix: self.routes[prefix].to_json()
                           for prefix in sorted(self.routes)}}


def plan_lines(plan: ObjectPlan) -> List[str]:
    """One line per change: ``+`` create, ``~`` replace, ``=`` kept (an output the rules
    no longer write, left in place), ``!`` refused."""
    p = printable
    lines = [f"{p(plan.key)}  [route {plan.route!r}, {plan.ci_calls} CI call(s)]"]
    lines += [f"  + {p(b)}/{p(k)}" for b, k in plan.created]
    lines += [f"  ~ {p(b)}/{p(k)}" for b, k in plan.replaced]
    lines += [f"  = {p(b)}/{p(k)} (kept: these rules no longer write it)"
              for b, k in plan.kept]
    lines += [f"  ! {p(b)}: {p(msg)}" for b, msg in plan.refused]
    return lines


def render_plan_table(tally: PlanTally, title: str = "plan (dry run: nothing written)",
                      rate: Optional[float] = None) -> Table:
    # At 80 columns: no rules (each takes a column), headers wrap at their spaces, the
    # route folds, and each number column keeps its widest number's width: nothing is cut.
    table = Table(title=title, box=None, title_justify="left", pad_edge=False,
                  padding=(0, 0, 0, 1))
    table.add_column("route", overflow="fold", min_width=8)
    tallies = [*tally.routes.values(), tally.totals]
    for name, attr in (("objects", "objects"), ("up to date", "up_to_date"),
                       ("to process", "to_process"), ("create", "created"),
                       ("replace", "replaced"), ("kept", "kept"), ("refused", "refused"),
                       ("CI calls", "ci_calls")):
        widest = max(len(str(getattr(t, attr))) for t in tallies)
        table.add_column(name, justify="right", overflow="fold",
                         min_width=max(widest, *(len(w) for w in name.split())))

    def row(label: str, t: RouteTally, style: str = "") -> None:
        table.add_row(Text(label), str(t.objects), str(t.up_to_date), str(t.to_process),
                      str(t.created), str(t.replaced), str(t.kept), str(t.refused),
                      str(t.ci_calls), style=style)

    for prefix in sorted(tally.routes):
        row(repr(prefix), tally.routes[prefix])
    total = tally.totals
    row("total", total, "bold")
    if rate:
        table.caption = (f"at most {rate:g} CI calls/s: at least "
                         f"{_duration(total.ci_calls / rate)} of CI time")
    return table


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
