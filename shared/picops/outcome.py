"""What happened to one object: the outcome words, the skip reasons, and the
outcome as a value with fixed fields. Pure.

:class:`RecordOutcome` is the only thing the function logs per record, and
:meth:`RecordOutcome.to_line` is the only place an outcome becomes a log line
(and an entry of the handler's summary). Errors stay exceptions until then:
each is serialised by :meth:`picops.errors.PicopsError.to_dict`, and
:attr:`RecordOutcome.retryable` (read from the errors, not from a serialised
dict) is what the handler's raise-or-not decision uses.

A new skip reason is a member of :class:`SkipReason` here, decided in
:func:`picops.routing.skip_reason` (creates) or :mod:`picops.delete` (deletes),
and described in the README's outcome table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Sequence

from .errors import PicopsError


class _Word(str, Enum):
    """A word of the log lines: ``str()`` and f-strings give the word itself on
    every Python version (3.11 changed how mixed-in enums format)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Outcome(_Word):
    """The ``outcome`` of a record."""

    PROCESSED = "processed"  # every output came back (or every listed output is deleted)
    SKIPPED = "skipped"      # nothing to do; ``reason`` says why
    FAILED = "failed"        # ``error`` says why; raised for when ``retryable``


class SkipReason(_Word):
    """The ``reason`` of a skipped record."""

    FOLDER_MARKER = "folder_marker"      # the key ends with "/"
    EMPTY_OBJECT = "empty_object"        # 0 bytes
    MANIFEST_OBJECT = "manifest_object"  # under the reserved manifest prefix
    LOOP_GUARD = "loop_guard"            # the key is an output of this config
    NO_ROUTE = "no_route"                # no route matches the key
    UP_TO_DATE = "up_to_date"            # its manifest has the same ETag and rules hash
    PROCESSED_ON_UPLOAD = "processed_on_upload"  # it carries its upload's current mark
    NOT_CREATED = "not_created"          # neither a create nor a remove event (a restore)
    UNKNOWN_EVENT = "unknown_event"      # an eventName not understood (logged at WARNING)
    MANIFESTS_OFF = "manifests_off"      # a delete, but no manifests are kept
    NO_MANIFEST = "no_manifest"          # a delete of a source with no manifest
    SOURCE_EXISTS = "source_exists"      # a delete, but the key exists again
    SOURCE_DELETED = "source_deleted"    # deleted while it was processed: outputs removed


class Race(_Word):
    """The ``race`` of a record: its source changed while it was handled, and how that
    was settled (the line's ``rounds`` says how many times the rules were sent)."""

    SOURCE_CHANGED = "source_changed"        # overwritten meanwhile: processed again
    SOURCE_REUPLOADED = "source_reuploaded"  # gone, then uploaded again: processed again


#: ``action`` of a delete record's line (creates have none).
ACTION_DELETE = "delete"

#: Fields present in a line even when null (the others only when set).
_ALWAYS = ("bucket", "key", "route", "duration_ms")


class _Unset:
    """Marks a field that is left out of the line (None is written as null)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass
class RecordOutcome:
    """The outcome of one record or page key, field by field in line order.

    ``UNSET`` fields are left out of the line; ``errors`` are every failure of
    the record, the first retryable one (else the first) shown as ``error``.
    ``outputs`` are output dicts as CI reported them (see
    :data:`picops.create.OUTPUT_FIELDS`), or a current manifest's outputs.
    """

    outcome: Outcome
    bucket: Optional[str] = None
    key: Optional[str] = None
    route: Optional[str] = None
    index: Any = UNSET
    action: Any = UNSET
    event_name: Any = UNSET
    size: Any = UNSET
    manifest: Any = UNSET
    reason: Any = UNSET
    race: Any = UNSET                    # a Race: the source changed while handled
    rounds: Any = UNSET                  # times the rules were sent, when more than once
    source_etag: Any = UNSET
    outputs: Any = UNSET
    original: Any = UNSET
    ci_request_ids: Sequence[str] = ()
    with_request_id: bool = False
    missing_outputs: Sequence[str] = ()
    kept_outputs: Any = UNSET            # listed by a manifest, not this config's: left alone
    deleted: Any = UNSET
    manifest_error: Optional[PicopsError] = None
    errors: List[PicopsError] = field(default_factory=list)
    traceback: Any = UNSET
    duration_ms: Optional[float] = None

    @property
    def error(self) -> Optional[PicopsError]:
        """The error the line shows first: a retryable one wins."""
        ranked = self._ranked()
        return ranked[0] if ranked else None

    @property
    def retryable(self) -> bool:
        """Does this record need the event run again (a transient failure)?"""
        return any(e.retryable for e in self.errors)

    def fail(self, errors: Sequence[PicopsError]) -> None:
        """Add failures; the outcome becomes ``failed`` when there are any."""
        self.errors.extend(errors)
        if self.errors:
            self.outcome = Outcome.FAILED

    def to_line(self) -> Dict[str, Any]:
        """The outcome line's own fields (the logger puts its leading keys first)."""
        values: Dict[str, Any] = {
            "index": self.index, "bucket": self.bucket, "key": self.key, "route": self.route,
            "action": self.action, "event_name": self.event_name, "size": self.size,
            "manifest": self.manifest, "outcome": Outcome(self.outcome).value,
            "reason": SkipReason(self.reason).value if self.reason is not UNSET else UNSET,
            "race": Race(self.race).value if self.race is not UNSET else UNSET,
            "rounds": self.rounds,
            "source_etag": self.source_etag, "outputs": self.outputs,
            "original": self.original}
        if self.with_request_id:
            ids = list(self.ci_request_ids)
            values["ci_request_id"] = ids[0] if ids else None
            if len(ids) > 1:
                values["ci_request_ids"] = ids
        if self.missing_outputs:
            values["missing_outputs"] = list(self.missing_outputs)
        values["kept_outputs"] = self.kept_outputs
        values["deleted"] = _deletions(self.deleted)
        if self.manifest_error is not None:
            values["manifest_error"] = self.manifest_error.to_dict()
        ranked = self._ranked()
        if ranked:
            values["error"] = ranked[0].to_dict()
            if len(ranked) > 1:
                values["errors"] = [e.to_dict() for e in ranked]
        values["traceback"] = self.traceback
        values["duration_ms"] = self.duration_ms
        return {k: v for k, v in values.items() if k in _ALWAYS or v is not UNSET}

    def _ranked(self) -> List[PicopsError]:
        return sorted(self.errors, key=lambda e: not e.retryable)


def _deletions(results: Any) -> Any:
    # picops.manifest_store.DeleteResult items (read by attribute: this module does no I/O)
    if results is UNSET:
        return UNSET
    lines = []
    for d in results:
        line: Dict[str, Any] = {"bucket": d.output.bucket, "key": d.output.key,
                                "result": "deleted" if d.ok else "failed"}
        if d.error is not None:
            line["error"] = d.error.to_dict()
        lines.append(line)
    return lines
