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
``no_manifest``, ``source_exists`` (the key exists again: a later upload won,
so its derivatives stay). Nothing is deleted when the manifest cannot be read,
does not belong to the source, lists the source itself or anything under the
manifest prefix. The manifest is kept until every listed output is gone, so a
retry finishes the job.
"""

from __future__ import annotations

from typing import List, Optional

from . import routing
from .errors import NotOwnedOutputError, PicopsError
from .manifest import manifest_key, under_manifest_prefix
from .manifest_store import (delete_manifest, delete_outputs, object_exists,
                             read_trusted_manifest)
from .outcome import ACTION_DELETE, Outcome, RecordOutcome, SkipReason
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
    try:
        client = svc.client(region)
        manifest = read_trusted_manifest(client, bucket, key, settings.prefix,
                                         timeout=svc.io_timeout(deadline))
        if manifest is None:
            return _skipped(outcome, SkipReason.NO_MANIFEST)
        if object_exists(client, bucket, key, timeout=svc.io_timeout(deadline)):
            return _skipped(outcome, SkipReason.SOURCE_EXISTS)
    except PicopsError as e:
        outcome.fail([e])
        return outcome
    owned = owned_outputs(svc.config, bucket, key)
    mine = [o for o in manifest.outputs if (o.bucket, o.key) in owned]
    foreign = [o for o in manifest.outputs if (o.bucket, o.key) not in owned]
    done = delete_outputs(client, mine, timeout=svc.io_timeout(deadline))
    outcome.deleted = done
    errors: List[PicopsError] = [d.error for d in done if d.error is not None]
    if foreign:
        outcome.kept_outputs = [{"bucket": o.bucket, "key": o.key} for o in foreign]
    if not errors:
        try:
            delete_manifest(client, bucket, key, settings.prefix,
                            timeout=svc.io_timeout(deadline))
        except PicopsError as e:
            errors.append(e)
    if foreign:
        errors.append(NotOwnedOutputError(
            f"the manifest of {key!r} lists {len(foreign)} output(s) the current config does "
            f"not write for it, left in place: " + ", ".join(
                repr(f"{o.bucket}/{o.key}") for o in foreign[:5])))
    outcome.fail(errors)
    return outcome


def _skipped(outcome: RecordOutcome, reason: SkipReason) -> RecordOutcome:
    outcome.outcome = Outcome.SKIPPED
    outcome.reason = reason
    return outcome
