"""The delete path: a removed source object -> delete what picops made from it.

:func:`delete_object` deletes exactly the outputs the source's manifest lists,
then the manifest, and returns the :class:`~picops.outcome.RecordOutcome`
(``action: "delete"``, ``deleted`` lists each output's result).

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
from .errors import PicopsError
from .manifest import manifest_key, under_manifest_prefix
from .manifest_store import (delete_manifest, delete_outputs, object_exists,
                             read_trusted_manifest)
from .outcome import ACTION_DELETE, Outcome, RecordOutcome, SkipReason
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
    done = delete_outputs(client, manifest.outputs, timeout=svc.io_timeout(deadline))
    outcome.deleted = done
    errors: List[PicopsError] = [d.error for d in done if d.error is not None]
    if not errors:
        try:
            delete_manifest(client, bucket, key, settings.prefix,
                            timeout=svc.io_timeout(deadline))
        except PicopsError as e:
            errors.append(e)
    outcome.fail(errors)
    return outcome


def _skipped(outcome: RecordOutcome, reason: SkipReason) -> RecordOutcome:
    outcome.outcome = Outcome.SKIPPED
    outcome.reason = reason
    return outcome
