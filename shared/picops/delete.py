"""The delete path: a removed source object -> delete what picops made from it.

:func:`delete_object` deletes the outputs the source's manifest lists that the
current config writes for that source key (:func:`picops.ownership.owned_outputs`),
then the manifest, and returns the :class:`~picops.outcome.RecordOutcome`
(``action: "delete"``, ``deleted`` lists each output's result). A manifest is an
object in the bucket, which an uploader could write: an output it lists that the
config would not write for this key (an earlier config's, or another object
entirely) is never deleted; the record fails naming it (``NotOwnedOutput``) once
the owned ones are gone. Since the ownership proof gives every output exactly one
source key, an output another source's manifest rightly claims is never deleted
for this one.

Skipped: ``manifests_off``, ``folder_marker``, ``manifest_object``,
``no_manifest`` (none, and the key does not exist), ``source_exists`` (the key
exists again: a later upload won, so its derivatives stay). Nothing is deleted
when the manifest cannot be read, does not belong to the source, lists the
source itself or anything under the manifest prefix.

Time: each DELETE gets the time the invocation has left (worked out again before
each one). When the time is up, the outputs not yet deleted are not tried, the
manifest is kept and the record fails retryable (``DeadlineExceeded``): the
retry finishes the job. Any failed delete keeps the manifest the same way.

Races. An event can be late, run twice, or run beside the create of a new upload
of the same key:

* The key is checked again after the outputs and the manifest are deleted. When
  it exists again (uploaded between the first check and the deletes), the new
  version's derivatives, which its own create may already have written, may be
  among what was deleted: the record hands over to the create path
  (:func:`picops.create.process_object` with ``force``), which processes the
  current version and writes its manifest (``race: source_reuploaded``; the line
  has both ``deleted`` and the create's ``outputs``).
* When the key exists at the first check, its derivatives are left alone if its
  manifest is complete for the stored ETag and every output it lists exists
  (one HEAD each), or if its manifest is another version's (that version's own
  create event is still to come). Otherwise (no manifest, an incomplete one, or
  listed outputs missing: what an earlier run of this record that was cut short
  leaves) it hands over to the create path the same way. So a retry never trusts
  a manifest that an interrupted run may have left describing deleted outputs.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Callable, Dict, List, Optional, Tuple

from . import routing
from .create import process_object
from .errors import NotOwnedOutputError, PicopsError
from .headers import header
from .manifest import Manifest, manifest_key, under_manifest_prefix
from .manifest_store import (delete_manifest, delete_outputs, distinct_errors, etag_of,
                             head_object, object_exists, read_trusted_manifest)
from .outcome import ACTION_DELETE, UNSET, Outcome, Race, RecordOutcome, SkipReason
from .ownership import owned_outputs
from .services import Services


def delete_object(svc: Services, bucket: str, key: str, *, region: str, deadline: float,
                  index: Optional[int] = None, event_name: str = "") -> RecordOutcome:
    """Delete what picops made from source ``key`` of ``bucket`` (module docstring)."""
    route = routing.match(svc.config, key)
    outcome = RecordOutcome(Outcome.PROCESSED, bucket=bucket, key=key,
                            route=route.prefix if route else None,
                            action=ACTION_DELETE, event_name=event_name)
    if index is not None:
        outcome.index = index
    settings = svc.config.manifests
    reason = None
    if not settings.enabled:
        reason = SkipReason.MANIFESTS_OFF
    elif key.endswith("/"):
        reason = SkipReason.FOLDER_MARKER
    elif under_manifest_prefix(key, settings.prefix):
        reason = SkipReason.MANIFEST_OBJECT
    if reason is not None:
        return _skipped(outcome, reason)
    outcome.manifest = manifest_key(key, settings.prefix)

    def budget() -> float:
        return svc.io_timeout(deadline)

    client = svc.client(region)
    owned = owned_outputs(svc.config, bucket, key)
    try:
        manifest = read_trusted_manifest(client, bucket, key, settings.prefix,
                                         timeout=budget())
        current = head_object(client, bucket, key, timeout=budget())
        if current is not None:
            if _derivatives_stand(client, manifest, current, owned, bucket, key, budget):
                return _skipped(outcome, SkipReason.SOURCE_EXISTS)
            return _hand_over(svc, outcome, current, region, deadline, index, event_name)
    except PicopsError as e:
        outcome.fail([e])
        return outcome
    if manifest is None:
        return _skipped(outcome, SkipReason.NO_MANIFEST)
    mine = [o for o in manifest.outputs if (o.bucket, o.key) in owned]
    foreign = [o for o in manifest.outputs if (o.bucket, o.key) not in owned]
    done = delete_outputs(client, mine, budget=budget)
    outcome.deleted = done
    errors: List[PicopsError] = distinct_errors(done)
    not_owned: List[PicopsError] = []
    if foreign:
        outcome.kept_outputs = [{"bucket": o.bucket, "key": o.key} for o in foreign]
        not_owned.append(NotOwnedOutputError(
            f"the manifest of {key!r} lists {len(foreign)} output(s) the current config does "
            f"not write for it, left in place: " + ", ".join(
                repr(f"{o.bucket}/{o.key}") for o in foreign[:5])))
    if not errors:
        try:
            delete_manifest(client, bucket, key, settings.prefix, timeout=budget())
            # Checked again after the last delete (see "Races").
            current = head_object(client, bucket, key, timeout=budget())
        except PicopsError as e:
            errors.append(e)
        else:
            if current is not None:
                result = _hand_over(svc, outcome, current, region, deadline, index,
                                    event_name)
                result.fail(not_owned)
                return result
    outcome.fail(errors + not_owned)
    return outcome


def _derivatives_stand(client: Any, manifest: Optional[Manifest], current: Dict[str, str],
                       owned: AbstractSet[Tuple[str, str]], bucket: str, key: str,
                       budget: Callable[[], float]) -> bool:
    """Are the stored source's derivatives someone else's to make, or already there?

    Raises:
        CloudError / TransientCloudError: a HEAD failed.
    """
    if manifest is None:
        return False
    if manifest.source_etag != etag_of(current, bucket, key):
        return True  # another version's manifest: that version's create is still to come
    if not manifest.complete:
        return False
    return all(object_exists(client, o.bucket, o.key, timeout=budget())
               for o in manifest.outputs if (o.bucket, o.key) in owned)


def _hand_over(svc: Services, outcome: RecordOutcome, current: Dict[str, str], region: str,
               deadline: float, index: Optional[int], event_name: str) -> RecordOutcome:
    """The key exists and its derivatives may be missing: process its current version."""
    assert outcome.bucket is not None and outcome.key is not None
    bucket, key = outcome.bucket, outcome.key
    size = _size(header(current, "content-length"))
    result = process_object(svc, bucket, key, size=size, etag=etag_of(current, bucket, key),
                            region=region, deadline=deadline, index=index,
                            event_name=event_name, user_meta=None, force=True)
    result.action = ACTION_DELETE
    result.race = Race.SOURCE_REUPLOADED
    result.deleted = outcome.deleted
    if outcome.kept_outputs is not UNSET:
        result.kept_outputs = outcome.kept_outputs
    return result


def _size(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 1  # unknown: not empty (an empty object is skipped before any call)


def _skipped(outcome: RecordOutcome, reason: SkipReason) -> RecordOutcome:
    outcome.outcome = Outcome.SKIPPED
    outcome.reason = reason
    return outcome
