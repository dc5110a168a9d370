"""The create path: one uploaded (or backfilled) source object -> CI calls -> outputs.

:func:`process_object` returns the object's :class:`~picops.outcome.RecordOutcome`:

* skipped, with a ``reason`` from :func:`picops.routing.skip_reason`
  (``folder_marker``, ``empty_object``, ``manifest_object``, ``loop_guard``,
  ``no_route``), or ``up_to_date`` when its manifest has the same source ETag
  and rules hash (a duplicate delivery, answered from the manifest without
  calling CI; the line lists the manifest's ``outputs`` and ``source_etag``),
  or ``processed_on_upload`` when the object carries the current
  processed-on-upload mark (:mod:`picops.mark`: it was uploaded by
  :mod:`picops.upload`, which applied these rules itself). The mark is read
  from the event's metadata (``user_meta``) before the manifest; when the
  event has none (a page event, backfill), with one HEAD after the manifest
  was found not current. A stale or foreign mark is ignored;
* otherwise the route's rules go to CI in calls of at most 5, in config order;
  a failed call does not stop the next ones. Then (manifests on) the new
  manifest is written (``manifest`` names its key). Outputs an older manifest
  lists that the current rules do not write for this key are never deleted (a
  manifest is a file an uploader could write; only the config says what belongs
  to a source, :mod:`picops.ownership`): they are named in ``kept_outputs`` and
  no longer listed. The same outputs are rewritten in place, so an overwrite
  with unchanged rules replaces every derivative.

Every failure of CI, COS or a manifest is an error of the outcome, never
raised; an exception out of here is a bug (the handler fails its record).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import ci_client, mark, routing
from .errors import CloudError, MissingOutputsError, PicopsError
from .manifest import (ManifestOutput, build, is_current, manifest_key, merged_outputs,
                       removed_outputs, rules_hash, utc_timestamp)
from .manifest_store import etag_of, head_object, read_trusted_manifest, write_manifest
from .outcome import Outcome, RecordOutcome, SkipReason
from .etags import unquote_etag
from .services import Services

#: Keys of a logged output, in order (issue 2).
OUTPUT_FIELDS = ("key", "bucket", "location", "format", "width", "height", "size", "quality",
                 "etag")


class Source:
    """The object being processed (``etag`` bare, "" when unknown)."""

    __slots__ = ("bucket", "key", "etag", "region")

    def __init__(self, bucket: str, key: str, etag: str, region: str):
        self.bucket, self.key, self.etag, self.region = bucket, key, etag, region


def process_object(svc: Services, bucket: str, key: str, *, size: int, etag: str,
                   region: str, deadline: float, index: Optional[int] = None,
                   event_name: str = "",
                   user_meta: Optional[Mapping[str, str]] = None) -> RecordOutcome:
    """Process one source object, as for an ObjectCreated record (module docstring).

    ``deadline`` is a ``svc.clock()`` time; ``index`` the record's place in its
    event (None: not from an event); ``user_meta`` the object's user metadata
    as the event lists it (None: the event has none).
    """
    config = svc.config
    source = Source(bucket, key, unquote_etag(etag), region)
    head: Dict[str, Any] = {"bucket": bucket, "key": key}
    if index is not None:
        head["index"] = index
    reason = routing.skip_reason(config, bucket, key, size)
    if reason is not None:
        route = routing.match(config, key) if reason != SkipReason.NO_ROUTE else None
        return RecordOutcome(Outcome.SKIPPED, route=route.prefix if route else None,
                             reason=reason, event_name=event_name, size=size, **head)
    plan = routing.plan(config, bucket, key)
    outcome = RecordOutcome(Outcome.PROCESSED, route=plan.route.prefix, **head)
    settings = config.manifests
    old, digest = None, rules_hash(plan.route)
    fetched: Optional[Dict[str, str]] = None  # the source's headers, when a HEAD was made
    if user_meta is not None and mark.is_current(user_meta, digest, bucket, key):
        return _on_upload(outcome, event_name, size, source.etag)
    if settings.enabled:
        outcome.manifest = manifest_key(key, settings.prefix)
        try:
            if not source.etag:  # e.g. the SCF CLI's events: one HEAD, never "" stored
                fetched = head_object(svc.client(region), bucket, key,
                                      timeout=svc.io_timeout(deadline))
                source.etag = etag_of(fetched, bucket, key)
            old = read_trusted_manifest(svc.client(region), bucket, key, settings.prefix,
                                        timeout=svc.io_timeout(deadline))
        except PicopsError as e:
            outcome.fail([e])
            return outcome
        if is_current(old, source.etag, digest):
            outcome.outcome = Outcome.SKIPPED
            outcome.reason = SkipReason.UP_TO_DATE
            outcome.event_name, outcome.size, outcome.source_etag = event_name, size, source.etag
            outcome.outputs = [o.to_dict() for o in old.outputs]
            return outcome
    if user_meta is None:
        try:
            headers = fetched if fetched is not None else head_object(
                svc.client(region), bucket, key, timeout=svc.io_timeout(deadline))
        except PicopsError as e:
            outcome.fail([e])
            return outcome
        if mark.is_current(headers, digest, bucket, key):
            return _on_upload(outcome, event_name, size, source.etag)
    send_calls(svc, source, plan, deadline, outcome)
    if settings.enabled:
        settle(svc, source, plan, digest, old, outcome, deadline)
    return outcome


def _on_upload(outcome: RecordOutcome, event_name: str, size: int,
               etag: str) -> RecordOutcome:
    outcome.outcome, outcome.reason = Outcome.SKIPPED, SkipReason.PROCESSED_ON_UPLOAD
    outcome.event_name, outcome.size, outcome.source_etag = event_name, size, etag
    return outcome


def send_calls(svc: Services, source: Source, plan: routing.Plan, deadline: float,
               outcome: RecordOutcome,
               first: Optional[Callable[[], ci_client.CallResult]] = None) -> None:
    """Send every call of the plan; gather outputs, the original info and errors.

    ``first``, when given, makes the first call instead of ``ci_image_process``
    (an upload sending its first batch with the bytes: :mod:`picops.upload`), and
    a failed call stops the ones after it (an upload fails whole).
    """
    outputs: List[Tuple[int, Dict[str, Any]]] = []
    errors: List[PicopsError] = [r.error.with_context(rule=r.rule_index) for r in plan.rejected]
    missing: List[str] = []
    request_ids: List[str] = []
    original = None
    for i, (payload, batch) in enumerate(zip(plan.calls, plan.batches)):
        try:
            client = svc.client(source.region)
            if i == 0 and first is not None:
                call = first()
            else:
                call = ci_client.process(client, source.bucket, source.key, payload, deadline,
                                         clock=svc.clock, sleep=svc.sleep, jitter=svc.jitter)
        except CloudError as e:
            errors.append(e.with_context(outputs=[o.key for o in batch], attempts=e.attempts))
            if e.request_id:
                request_ids.append(e.request_id)
            if first is not None:
                break
            continue
        if call.request_id:
            request_ids.append(call.request_id)
        if original is None:
            original = call.original
        missing.extend(call.missing)
        for out, obj in zip(batch, call.outputs):
            if obj is not None:
                outputs.append((out.rule_index, _output(out, obj)))
    if missing:
        errors.append(MissingOutputsError("CI answered without these outputs: "
                                          + ", ".join(repr(k) for k in missing)))
    outcome.outputs = [o for _, o in sorted(outputs, key=_first)]
    if plan.route.pic_info:
        outcome.original = original
    outcome.with_request_id = True
    outcome.ci_request_ids = request_ids
    outcome.missing_outputs = missing
    outcome.fail(errors)


def settle(svc: Services, source: Source, plan: routing.Plan, digest: str, old: Any,
           outcome: RecordOutcome, deadline: float) -> None:
    """After the CI calls: delete outputs the new plan dropped, write the manifest.

    Order matters: outputs are replaced first, stale ones deleted next, and the
    manifest written last, so a crash at any point leaves a manifest listing
    everything that may still exist (never an orphan).
    """
    produced = [ManifestOutput.from_result(o) for o in outcome.outputs]
    if outcome.outcome != Outcome.PROCESSED:
        # Part-way: list what may exist now (old not rewritten + new), marked
        # incomplete so the next delivery processes the source again.
        if produced:
            owned = {(o.bucket, o.key) for o in plan.outputs}
            merged = merged_outputs(old, produced)
            listed = [o for o in merged if (o.bucket, o.key) in owned]
            kept = [o for o in merged if (o.bucket, o.key) not in owned]
            if kept:
                outcome.kept_outputs = [{"bucket": o.bucket, "key": o.key} for o in kept]
            outcome.manifest_error = _write_manifest(svc, source, plan, digest, listed, False,
                                                     deadline)
        return
    # Outputs the old manifest lists that the current rules do not write for this key: an
    # earlier config's, or a forged manifest's. Neither is provably this source's, so they
    # are left in place, named in the line, and no longer listed.
    stale = removed_outputs(old, [(o.bucket, o.key) for o in plan.outputs]) if old else []
    if stale:
        outcome.kept_outputs = [{"bucket": o.bucket, "key": o.key} for o in stale]
    error = _write_manifest(svc, source, plan, digest, produced, True, deadline)
    outcome.fail([error] if error is not None else [])


def _write_manifest(svc: Services, source: Source, plan: routing.Plan, digest: str,
                    outputs: Sequence[ManifestOutput], complete: bool,
                    deadline: float) -> Optional[PicopsError]:
    """Write the source's manifest; the error when that failed, else None."""
    manifest = build(source.bucket, source.key, source.etag, digest, plan.route.prefix,
                     outputs, utc_timestamp(svc.wall()), complete=complete)
    try:
        write_manifest(svc.client(source.region), source.bucket, manifest,
                       svc.config.manifests.prefix, timeout=svc.io_timeout(deadline))
    except PicopsError as e:
        return e
    return None


def _output(out: routing.Output, obj: Dict[str, Any]) -> Dict[str, Any]:
    # The bucket is the one we asked for; CI's Location is kept as reported.
    d = {name: obj.get(name) for name in OUTPUT_FIELDS}
    d["key"] = obj.get("key") or out.key
    d["bucket"] = out.bucket
    return d


def _first(pair: Tuple[int, Any]) -> int:
    return pair[0]
