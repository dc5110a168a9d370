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
* failed, before any request (no CI call, no HEAD, no manifest read or
  write), when any output of the route cannot be written for this key: its
  fileid resolves to no valid COS key (over 850 bytes, a character COS keys
  cannot hold, an empty, ``.`` or ``..`` segment: ``InvalidOutputKey``) or to a
  key a route would pick up again in the source bucket (``LoopRefused``, the
  run-time half of loop safety: a config error like the others), or it would
  travel in a call whose ``Pic-Operations`` header is over the limit
  (``PicOperationsTooLarge``, :mod:`picops.header_limits`). All or nothing
  per record: sending the other rules would leave a record that is never up to
  date, so every redelivery and backfill would call CI again for them and fail
  again. The errors are permanent and each names its rule (``rule``, its index
  in the route) and target ``bucket``; ``picops upload`` refuses the same plans
  before a byte is sent, and ``picops explain`` shows them;
* otherwise the route's rules go to CI in calls of at most 5, in config order;
  a failed call does not stop the next ones. Then (manifests on) the new
  manifest is written (``manifest`` names its key). Outputs an older manifest
  lists that the current rules do not write for this key are never deleted (a
  manifest is a file an uploader could write; only the config says what belongs
  to a source, :mod:`picops.ownership`): they are named in ``kept_outputs`` and
  no longer listed. The same outputs are rewritten in place, so an overwrite
  with unchanged rules replaces every derivative.

Races (manifests on). SCF runs events at once and delivers them again, and COS
events can come late, so the event being processed may be for an older version
of the key than the one stored, or for one deleted since. CI reads the object's
bytes as they are when each call runs. So after the calls, the source is HEADed
once, and the manifest names an ETag only when the outputs are provably of its
bytes:

* same ETag as processed: the outputs are of those bytes; the manifest is
  written as above;
* another ETag: the outputs may be of either version (or of both, a call each),
  so the rules are sent again for the current ETag (``race: source_changed``,
  ``rounds``), ``SETTLE_ROUNDS`` rounds in all at most; a source that changed in
  every round gets an incomplete manifest listing everything any round wrote,
  and the record fails retryable (``SourceChanged``), so SCF runs it again;
* gone (404): a delete raced. Every output this config writes for the key (all
  of them: any earlier or concurrent run may have written any) is deleted, and no
  manifest is written (``skipped``, reason ``source_deleted``, ``deleted`` lists
  them). The source is checked once more after the deletes: uploaded again
  meanwhile, its new version is processed in the next round
  (``race: source_reuploaded``), since the deletes may have removed derivatives
  its own event had already written.

Whichever of two racing records finishes last leaves the final state: each
writes outputs only from the bytes current when its call runs and names them in
a manifest only after that check. The cost is one HEAD per processed record.

Decision (an UNCONFIRMED point of the reference): CI's ``OriginalInfo/ETag`` is
not taken as proof of which bytes a call read. Its hash type is unconfirmed
(Tencent's samples show 40 hex digits, COS PUT ETags are MD5), CI documents it
reporting the object's ETag after processing (when an output overwrote the
source), and the emulator reports the stored object's ETag after the outputs are
written. Trusting it could name a newer ETag for outputs of older bytes; without
it a changed source costs one more round, never a wrong manifest. What stays
undetectable is an A-B-A change: the same bytes uploaded again (same ETag) while
a call read other bytes in between.

Every failure of CI, COS or a manifest is an error of the outcome, never
raised; an exception out of here is a bug (the handler fails its record).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import ci_client, mark, routing
from .constants import SETTLE_ROUNDS
from .errors import CloudError, MissingOutputsError, PicopsError, SourceChangedError
from .manifest import (ManifestOutput, build, is_current, manifest_key, merged_outputs,
                       removed_outputs, rules_hash, utc_timestamp)
from .manifest_store import (DeleteResult, delete_outputs, distinct_errors, etag_of,
                             head_object, read_trusted_manifest, write_manifest)
from .outcome import UNSET, Outcome, Race, RecordOutcome, SkipReason
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
                   user_meta: Optional[Mapping[str, str]] = None,
                   force: bool = False) -> RecordOutcome:
    """Process one source object, as for an ObjectCreated record (module docstring).

    ``deadline`` is a ``svc.clock()`` time; ``index`` the record's place in its
    event (None: not from an event); ``user_meta`` the object's user metadata
    as the event lists it (None: the event has none). ``force``: process even
    when the manifest says up to date or the object carries its processed-on-upload
    mark (the delete path hands over with it after deleting what they describe).
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
    if plan.rejected:  # all or nothing: refused before any request (module docstring)
        outcome.outputs = []  # said, not left out: nothing was written
        outcome.fail(plan.refusals())
        return outcome
    settings = config.manifests
    old, digest = None, rules_hash(plan.route)
    fetched: Optional[Dict[str, str]] = None  # the source's headers, when a HEAD was made
    if not force and user_meta is not None and mark.is_current(user_meta, digest, bucket, key):
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
        if not force and is_current(old, source.etag, digest):
            outcome.outcome = Outcome.SKIPPED
            outcome.reason = SkipReason.UP_TO_DATE
            outcome.event_name, outcome.size, outcome.source_etag = event_name, size, source.etag
            outcome.outputs = [o.to_dict() for o in old.outputs]
            return outcome
    if user_meta is None and not force:
        try:
            headers = fetched if fetched is not None else head_object(
                svc.client(region), bucket, key, timeout=svc.io_timeout(deadline))
        except PicopsError as e:
            outcome.fail([e])
            return outcome
        if mark.is_current(headers, digest, bucket, key):
            return _on_upload(outcome, event_name, size, source.etag)
    if not settings.enabled:
        send_calls(svc, source, plan, deadline, outcome)
        return outcome
    process_until_settled(svc, source, plan, digest, old, outcome, deadline)
    return outcome


def process_until_settled(svc: Services, source: Source, plan: routing.Plan, digest: str,
                          old: Any, outcome: RecordOutcome, deadline: float,
                          sent: bool = False) -> None:
    """Send the rules, then HEAD the source once and settle what the outputs are of.

    CI reads the object's bytes as they are when each call runs, so the outputs
    are of ``source.etag``'s bytes only if the source still has that ETag after
    the last call (module docstring, "Races"). Changed: process again for the
    current ETag, ``SETTLE_ROUNDS`` rounds in all at most. Gone: delete every
    output this config writes for the key, and write no manifest. ``sent``: the
    first round's calls were already made into ``outcome`` (:mod:`picops.upload`).
    """
    client = svc.client(source.region)
    written: List[ManifestOutput] = []   # every output any round reported written
    deleted: List[DeleteResult] = []
    request_ids: List[str] = []
    rounds = 0
    while True:
        rounds += 1
        if rounds > 1:
            _new_round(outcome, rounds)
        if rounds > 1 or not sent:
            send_calls(svc, source, plan, deadline, outcome)
        request_ids.extend(outcome.ci_request_ids)
        outcome.ci_request_ids = list(request_ids)
        written.extend(ManifestOutput.from_result(o) for o in outcome.outputs)
        reuploaded = False
        try:
            now = head_object(client, source.bucket, source.key,
                              timeout=svc.io_timeout(deadline))
            if now is None:
                now = _source_gone(svc, client, source, plan, outcome, deleted, deadline)
                if now is None:
                    return
                reuploaded = True
            current = etag_of(now, source.bucket, source.key)
        except PicopsError as e:
            # Not verified: whatever was written is listed, nothing is claimed current.
            outcome.fail([e])
            outcome.manifest_error = _write_manifest(
                svc, source, plan, digest, _may_exist(old, written, plan), False, deadline)
            return
        if not reuploaded and (current == source.etag or outcome.outcome != Outcome.PROCESSED):
            # The outputs are of this ETag's bytes; or the run failed part-way (then, as
            # any failed run: an incomplete manifest, never current, and its errors).
            settle(svc, source, plan, digest, old, outcome, deadline, earlier=written)
            if outcome.race is not UNSET:
                outcome.source_etag = source.etag
            return
        if reuploaded or outcome.race is Race.SOURCE_REUPLOADED:
            outcome.race = Race.SOURCE_REUPLOADED
        else:
            outcome.race = Race.SOURCE_CHANGED
        changed_from, source.etag = source.etag, current
        if rounds >= SETTLE_ROUNDS:
            outcome.fail([SourceChangedError(
                f"{source.bucket}/{source.key} changed while it was processed, in each of "
                f"{rounds} rounds (last from ETag {changed_from!r} to {current!r}); its "
                f"manifest is written incomplete and the event is run again")])
            outcome.manifest_error = _write_manifest(
                svc, source, plan, digest, _may_exist(old, written, plan), False, deadline)
            return


def _source_gone(svc: Services, client: Any, source: Source, plan: routing.Plan,
                 outcome: RecordOutcome, deleted: List[DeleteResult],
                 deadline: float) -> Optional[Dict[str, str]]:
    """A delete raced: delete every output this config writes for the key (into
    ``deleted``, the record's list), then HEAD the source again.

    Returns its headers when it was uploaded again meanwhile (its new version is
    processed next); None when the record is over, ``outcome`` saying how: skipped
    ``source_deleted``, or failed (a delete, its time budget or the HEAD failed; no
    manifest).
    """
    deleted.extend(delete_outputs(client, _all_outputs(plan),
                                  budget=lambda: svc.io_timeout(deadline)))
    outcome.deleted = deleted
    errors = distinct_errors(deleted)
    if errors:  # some may still exist: the retry deletes them again
        _clear(outcome, Outcome.PROCESSED)
        outcome.fail(errors)
        return None
    # Checked again after the deletes: an upload in between must not lose the
    # derivatives its own event may have written meanwhile.
    try:
        now = head_object(client, source.bucket, source.key, timeout=svc.io_timeout(deadline))
    except PicopsError as e:  # unknown: the retry finds out (no manifest here)
        _clear(outcome, Outcome.PROCESSED)
        outcome.fail([e])
        return None
    if now is None:
        _clear(outcome, Outcome.SKIPPED)
        outcome.reason = SkipReason.SOURCE_DELETED
    return now


def _new_round(outcome: RecordOutcome, rounds: int) -> None:
    """Forget the last round's results before the rules are sent again."""
    _clear(outcome, Outcome.PROCESSED)
    outcome.rounds = rounds


def _clear(outcome: RecordOutcome, word: Outcome) -> None:
    outcome.outcome, outcome.errors = word, []
    outcome.outputs, outcome.missing_outputs = [], ()
    if outcome.original is not UNSET:
        outcome.original = None


def _all_outputs(plan: routing.Plan) -> List[ManifestOutput]:
    """Every output this config writes for the plan's key (the ownership proof gives
    each one to this key alone), as deletable entries."""
    return [ManifestOutput(o.bucket, o.key, "", "", None, None, None) for o in plan.outputs]


def _may_exist(old: Any, written: Sequence[ManifestOutput],
               plan: routing.Plan) -> List[ManifestOutput]:
    """What an incomplete manifest lists: this config's outputs that an older manifest
    lists or any round wrote (the latest entry of each)."""
    return _listed_and_kept(old, written, plan)[0]


def _listed_and_kept(old: Any, written: Sequence[ManifestOutput], plan: routing.Plan
                     ) -> Tuple[List[ManifestOutput], List[ManifestOutput]]:
    """What an older manifest lists and ``written`` merged (the latest entry of each), split
    into this config's outputs for the key (an incomplete manifest lists them) and the
    others (left in place, named in ``kept_outputs``)."""
    owned = {(o.bucket, o.key) for o in plan.outputs}
    merged = merged_outputs(old, written)
    return ([o for o in merged if (o.bucket, o.key) in owned],
            [o for o in merged if (o.bucket, o.key) not in owned])


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
    a failed call stops the ones after it (an upload fails whole). A plan with a
    refused output sends nothing and fails with its refusals (:class:`routing.Plan`:
    all or nothing; the callers refuse such plans earlier, before any request).
    """
    if plan.rejected:
        outcome.fail(plan.refusals())
        return
    outputs: List[Tuple[int, Dict[str, Any]]] = []
    errors: List[PicopsError] = []
    missing: List[str] = []
    request_ids: List[str] = []
    original = None
    for i, (payload, header, batch) in enumerate(zip(plan.calls, plan.headers, plan.batches)):
        try:
            client = svc.client(source.region)
            if i == 0 and first is not None:
                call = first()
            else:
                call = ci_client.process(client, source.bucket, source.key, payload, deadline,
                                         header=header, clock=svc.clock, sleep=svc.sleep,
                                         jitter=svc.jitter)
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
           outcome: RecordOutcome, deadline: float,
           earlier: Sequence[ManifestOutput] = ()) -> None:
    """After the CI calls: delete outputs the new plan dropped, write the manifest.

    Order matters: outputs are replaced first, stale ones deleted next, and the
    manifest written last, so a crash at any point leaves a manifest listing
    everything that may still exist (never an orphan). ``earlier``: outputs an
    earlier round of the same record wrote (listed too when this one failed).
    """
    produced = [ManifestOutput.from_result(o) for o in outcome.outputs]
    if outcome.outcome != Outcome.PROCESSED:
        # Part-way: list what may exist now (old not rewritten + new), marked
        # incomplete so the next delivery processes the source again.
        if produced or earlier:
            listed, kept = _listed_and_kept(old, list(earlier) + produced, plan)
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
