"""The upload handler: one event in, one JSON outcome line per object out.

A :class:`Processor` is built once per cold start (``index.py``): it loads and
validates the routes config and checks the environment once. Then
:meth:`Processor.handle` runs per invocation:

* An invalid config (or missing credentials) logs every problem as an error
  line and raises, on every invocation, so SCF keeps the event (async retries,
  then the dead-letter queue) until it is fixed.
* A malformed event (neither a COS event nor a page event) is logged as an
  error and returned from: retrying cannot fix it.
* Every record of ``Records`` is handled:

  - ``cos:ObjectCreated:*`` -> :meth:`Processor.process_object`. Skipped, with
    a ``reason``: ``folder_marker`` (key ends with ``/``), ``empty_object`` (0
    bytes), ``manifest_object`` (under the manifest prefix, reserved),
    ``loop_guard`` (the key is an output of this config), ``no_route``,
    ``up_to_date`` (its manifest has the same source ETag and rules hash: a
    duplicate delivery, answered from the manifest without calling CI; the
    line lists the manifest's ``outputs`` and ``source_etag``). Otherwise the
    route's rules go to CI in calls of at most 5, in config order; a failed call
    does not stop the next ones. Then (manifests on) the outputs an older manifest lists but the new
    plan no longer produces are deleted (``removed_outputs``), and the new
    manifest is written (``manifest`` names its key).
  - ``cos:ObjectRemove:*`` -> :meth:`Processor.delete_object`, lines with
    ``action: "delete"``: exactly the outputs the source's manifest lists are
    deleted, then the manifest (``deleted`` lists each output's result).
    Skipped: ``manifests_off``, ``folder_marker``, ``manifest_object``,
    ``no_manifest``, ``source_exists`` (the key exists again: a later upload
    won, so its derivatives stay).
  - anything else (ObjectRestore ...): skipped, ``not_created``.

* Every outcome line (and entry of the summary's ``results``) has ``bucket``,
  ``key``, ``route`` (the matching route's prefix) and ``duration_ms``; a value
  is null when unknown (a malformed record) or not applicable (no route).
* Outcome ``processed`` when every output came back (or every listed output is
  deleted); ``failed`` otherwise, with ``error`` {code, message, status,
  retryable}. A manifest that cannot be read or parsed fails its record
  (``InvalidManifest``, naming the manifest) before anything is processed or
  deleted. An unexpected exception (a bug) fails only its record, as a
  retryable ``InternalError`` with a traceback. Permanent failures are logged
  and not raised. When transient failures remain after all records are done,
  the handler logs them and raises :class:`~picops.errors.TransientCiError`, so
  SCF runs the event again (every step is safe to repeat).
* The return value is a JSON-serialisable summary: counts per outcome and the
  per-record results (the outcome lines without their leading keys).

Page events (backfill fanned out over SCF; ``picops backfill`` sends them)::

    {"picops_backfill": {"version": 1, "bucket": "b-1250000000",
                         "region": "ap-guangzhou",          # optional: function's region
                         "keys": [{"key": "uploads/a.jpg", "size": 123,
                                   "etag": "9a0364b9e99bb480dd25e1f0284c8555"}, ...]}}

run :meth:`Processor.process_object` for each key, in order (a key whose
manifest is current is skipped ``up_to_date``), with the same lines, summary
and raise-or-not rule as COS records; ``index`` is the key's place in ``keys``
and ``event_name`` is ``picops:backfill``. ``etag`` (quotes allowed, as COS
listings give them) may be omitted, which disables the up-to-date check.

Manifests (``manifests:`` in the config, on by default) are described in
:mod:`picops.manifest` and docs/manifest-format.md. Extension point:
``after_success`` callables run after each processed create with ``(record,
result)``; a hook that raises is logged and does not change the outcome.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from . import ci_client, routing
from .config import Config, config_path, is_bucket_name, load_config
from .constants import (CALL_TIMEOUT_S, DEFAULT_TIME_LIMIT_MS, ENV_FUNCTION_NAME, ENV_REGION,
                        SAFETY_MARGIN_FRACTION, SAFETY_MARGIN_MAX_S, SAFETY_MARGIN_MIN_S)
from .errors import CiError, ConfigError, EventError, PicopsError, TransientCiError
from .events import CosRecord, mask_event, parse_record, split_records
from .logs import JsonLogger
from .manifest import (ManifestError, ManifestOutput, build, deletion_problems, is_current,
                       manifest_key, merged_outputs, removed_outputs, rules_hash,
                       under_manifest_prefix, utc_timestamp)
from .manifest_store import (DeleteResult, delete_manifest, delete_outputs, object_exists,
                             read_manifest, write_manifest)

PROCESSED, SKIPPED, FAILED = "processed", "skipped", "failed"
#: Keys of a logged output, in order (issue 2).
OUTPUT_FIELDS = ("key", "bucket", "location", "format", "width", "height", "size", "quality",
                 "etag")
#: At most this much of a malformed event is logged (masked).
EVENT_PREVIEW_CHARS = 2000
#: Every deletion event type (Delete, DeleteMarkerCreated ...).
EVENT_REMOVE_PREFIX = "cos:ObjectRemove:"
#: The top-level field of a page event, its version, and the event_name its lines carry.
PAGE_EVENT_FIELD = "picops_backfill"
PAGE_EVENT_VERSION = 1
PAGE_EVENT_NAME = "picops:backfill"
#: A manifest read/write/delete is not started with less time than this left.
MIN_IO_S = 0.2

Hook = Callable[[CosRecord, Dict[str, Any]], None]


class PageKey(NamedTuple):
    key: str
    etag: str
    size: int


class PageEvent(NamedTuple):
    """A page of keys to process in one invocation (see the module docstring)."""

    bucket: str
    region: str
    keys: Tuple[PageKey, ...]


class Processor:
    """Handles COS and page events with one validated config. Build once, call per invocation."""

    def __init__(self, config: Optional[Config], env: Mapping[str, str], *,
                 setup_error: Optional[ConfigError] = None,
                 client_factory: Optional[Callable[[Mapping[str, str], str], Any]] = None,
                 logger: Optional[JsonLogger] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 wall: Callable[[], float] = time.time,
                 after_success: Sequence[Hook] = ()):
        if config is None and setup_error is None:
            raise ValueError("Processor needs a config or the error that kept it from loading")
        self.config = config
        self.env = dict(env)
        self.setup_error = setup_error
        self.log = logger or JsonLogger()
        self._client_factory = client_factory or ci_client.make_cos_client
        self._clients: Dict[str, Any] = {}
        self._clock, self._sleep, self._jitter, self._wall = clock, sleep, jitter, wall
        self._after_success = tuple(after_success)
        self._cold = True

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_dir: str, **kwargs: Any) -> "Processor":
        """Load the config (``PICOPS_CONFIG`` or ``default_dir/picops.yaml``) and check
        the environment; problems are kept and reported by every :meth:`handle`."""
        path = config_path(env, default_dir)
        config, problems = None, []
        try:
            config = load_config(path)
        except ConfigError as e:
            problems.extend(e.problems)
        problems.extend(ci_client.env_problems(env))
        error = ConfigError(problems, path) if problems else None
        return cls(config, env, setup_error=error, **kwargs)

    # --- one invocation ------------------------------------------------------------

    def handle(self, event: Any, context: Any) -> Dict[str, Any]:
        """Handle one invocation; see the module docstring for what is raised."""
        started = self._clock()
        context = context if isinstance(context, dict) else {}
        request_id = str(context.get("request_id") or "")
        log = self.log.bind(
            request_id=request_id,
            function_name=str(context.get("function_name")
                              or self.env.get(ENV_FUNCTION_NAME, "")),
            cold_start=self._cold)
        self._cold = False

        if self.setup_error is not None:
            for p in self.setup_error.problems:
                log.error("invalid configuration", source=self.setup_error.source,
                          where=p.where, problem=p.message)
            # A fresh exception each time: re-raising one object would grow its traceback.
            raise ConfigError(self.setup_error.problems, self.setup_error.source)

        deadline = started + _budget_s(context)
        region = self.env.get(ENV_REGION) or str(context.get("tencentcloud_region") or "")
        try:
            if is_page_event(event):
                page = parse_page_event(event, region)
                results = [self._guarded_key(page, i, deadline, log)
                           for i in range(len(page.keys))]
            else:
                raw_records = split_records(event)
                results = [self._guarded_record(raw, i, region, deadline, log)
                           for i, raw in enumerate(raw_records)]
        except EventError as e:
            log.error("malformed event", error=_error_dict(e), event=_preview(event))
            return {"request_id": request_id, "error": _error_dict(e),
                    "counts": {PROCESSED: 0, SKIPPED: 0, FAILED: 0}, "results": []}

        counts = {PROCESSED: 0, SKIPPED: 0, FAILED: 0}
        for r in results:
            counts[r["outcome"]] += 1
        retry = [r for r in results if r.get("error", {}).get("retryable")]
        if retry:
            keys = [r.get("key") for r in retry]
            log.error("transient failures left: raising so SCF retries the event",
                      counts=counts, retry_keys=keys)
            raise TransientCiError(f"{len(retry)} record(s) failed transiently: "
                                   + ", ".join(repr(k) for k in keys),
                                   code=retry[0]["error"]["code"])
        return {"request_id": request_id, "counts": counts, "results": results}

    # --- one record or page key, guarded -------------------------------------------

    def _guarded_record(self, raw: Any, index: int, region: str, deadline: float,
                        log: JsonLogger) -> Dict[str, Any]:
        """:meth:`_record`, but an unexpected exception (a bug) fails only this record.

        It is marked retryable, so the handler still raises at the end and SCF keeps
        the event (retries, then the dead-letter queue) instead of losing it.
        """
        t0 = self._clock()
        try:
            return self._record(raw, index, region, deadline, log)
        except Exception as e:
            head: Dict[str, Any] = {"index": index}
            try:
                record = parse_record(raw, index, region)
                head.update(bucket=record.bucket, key=record.key)
            except EventError:
                pass
            return self._internal_error(log, t0, head, e)

    def _guarded_key(self, page: PageEvent, index: int, deadline: float,
                     log: JsonLogger) -> Dict[str, Any]:
        """One key of a page event through :meth:`process_object`, guarded likewise."""
        t0 = self._clock()
        item = page.keys[index]
        try:
            return self.process_object(page.bucket, item.key, size=item.size, etag=item.etag,
                                       region=page.region, deadline=deadline, log=log,
                                       index=index, event_name=PAGE_EVENT_NAME)
        except Exception as e:
            return self._internal_error(log, t0, {"index": index, "bucket": page.bucket,
                                                  "key": item.key}, e)

    def _internal_error(self, log: JsonLogger, t0: float, head: Dict[str, Any],
                        e: Exception) -> Dict[str, Any]:
        return self._emit(log, t0, dict(head, outcome=FAILED, error={
            "code": "InternalError", "message": f"{type(e).__name__}: {e}", "status": None,
            "retryable": True}, traceback=traceback.format_exc(limit=8)))

    def _record(self, raw: Any, index: int, region: str, deadline: float,
                log: JsonLogger) -> Dict[str, Any]:
        t0 = self._clock()
        try:
            record = parse_record(raw, index, region)
        except EventError as e:
            return self._emit(log, t0, {"index": index, "outcome": FAILED,
                                        "error": _error_dict(e)})
        if record.is_created:
            return self.process_object(record.bucket, record.key, size=record.size,
                                       etag=record.etag, region=record.region,
                                       deadline=deadline, log=log, index=index,
                                       event_name=record.event_name)
        if record.event_name.startswith(EVENT_REMOVE_PREFIX):
            return self.delete_object(record.bucket, record.key, region=record.region,
                                      deadline=deadline, log=log, index=index,
                                      event_name=record.event_name)
        route = routing.match(self.config, record.key)
        return self._emit(log, t0, {"index": index, "bucket": record.bucket, "key": record.key,
                                    "outcome": SKIPPED, "reason": "not_created",
                                    "route": route.prefix if route else None,
                                    "event_name": record.event_name, "size": record.size})

    # --- creates ---------------------------------------------------------------------

    def process_object(self, bucket: str, key: str, *, size: int, etag: str, region: str,
                       deadline: float, log: JsonLogger, index: Optional[int] = None,
                       event_name: str = "") -> Dict[str, Any]:
        """Process one source object, as for an ObjectCreated record; log and return its
        outcome line (see the module docstring). ``deadline`` is a ``clock()`` time.

        Used by COS records, page events and ``picops backfill``. Raises the setup
        ConfigError when the Processor has no valid config, otherwise only on a
        bug; every failure of CI, COS or a manifest is an outcome.
        """
        self._require_config()
        t0 = self._clock()
        etag = _bare_etag(etag)
        head = _head(index, bucket, key)
        reason = routing.skip_reason(self.config, bucket, key, size)
        if reason is not None:
            route = routing.match(self.config, key) if reason != "no_route" else None
            return self._emit(log, t0, dict(head, outcome=SKIPPED, reason=reason,
                                            route=route.prefix if route else None,
                                            event_name=event_name, size=size))
        plan = routing.plan(self.config, bucket, key)
        result = dict(head, route=plan.route.prefix)
        settings = self.config.manifests
        old, digest = None, ""
        if settings.enabled:
            digest = rules_hash(plan.route)
            result["manifest"] = manifest_key(key, settings.prefix)
            try:
                old = self._read_manifest(bucket, key, region, deadline)
            except PicopsError as e:
                return self._emit(log, t0, dict(result, outcome=FAILED, error=_error_dict(e)))
            if is_current(old, etag, digest):
                return self._emit(log, t0, dict(
                    result, outcome=SKIPPED, reason="up_to_date", event_name=event_name,
                    size=size, source_etag=etag, outputs=[o.to_dict() for o in old.outputs]))
        record = CosRecord(bucket=bucket, key=key, size=size, etag=etag, region=region,
                           event_name=event_name, index=index or 0)
        result.update(self._run(record, plan, deadline))
        if settings.enabled:
            self._settle(record, plan, digest, old, result, deadline)
        self._emit(log, t0, result)
        if result["outcome"] == PROCESSED:
            self._run_hooks(record, result, log)
        return result

    def _run(self, record: CosRecord, plan: routing.Plan, deadline: float) -> Dict[str, Any]:
        """Send every call of the plan; gather outputs, the original info and errors."""
        outputs: List[Tuple[int, Dict[str, Any]]] = []
        errors: List[Dict[str, Any]] = []
        missing: List[str] = []
        request_ids: List[str] = []
        original = None
        for rejected in plan.rejected:
            errors.append(dict(_error_dict(rejected.error), rule=rejected.rule_index))
        client = None
        for payload, batch in zip(plan.calls, plan.batches):
            try:
                client = client or self._client(record.region)
                call = ci_client.process(client, record.bucket, record.key, payload, deadline,
                                         clock=self._clock, sleep=self._sleep,
                                         jitter=self._jitter)
            except CiError as e:
                err = _error_dict(e)
                err["outputs"] = [o.key for o in batch]
                err["attempts"] = getattr(e, "attempts", 1)
                errors.append(err)
                if e.request_id:
                    request_ids.append(e.request_id)
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
            errors.append({"code": "MissingOutputs", "status": 200, "retryable": False,
                           "message": "CI answered without these outputs: "
                                      + ", ".join(repr(k) for k in missing)})
        result: Dict[str, Any] = {"outcome": FAILED if errors else PROCESSED,
                                  "outputs": [o for _, o in sorted(outputs, key=_first)]}
        if plan.route.pic_info:
            result["original"] = original
        result["ci_request_id"] = request_ids[0] if request_ids else None
        if len(request_ids) > 1:
            result["ci_request_ids"] = request_ids
        if errors:
            _set_errors(result, errors)
        if missing:
            result["missing_outputs"] = missing
        return result

    def _settle(self, record: CosRecord, plan: routing.Plan, digest: str, old: Any,
                result: Dict[str, Any], deadline: float) -> None:
        """After the CI calls: delete outputs the new plan dropped, write the manifest.

        Order matters: outputs are replaced first, stale ones deleted next, and the
        manifest written last, so a crash at any point leaves a manifest listing
        everything that may still exist (never an orphan).
        """
        produced = [ManifestOutput.from_result(o) for o in result["outputs"]]
        if result["outcome"] != PROCESSED:
            # Part-way: list what may exist now (old not rewritten + new), marked
            # incomplete so the next delivery processes the source again.
            if produced:
                error = self._write_manifest(record, plan, digest,
                                             merged_outputs(old, produced), False, deadline)
                if error is not None:
                    result["manifest_error"] = error
            return
        stale = removed_outputs(old, [(o.bucket, o.key) for o in plan.outputs]) if old else []
        failed: List[DeleteResult] = []
        if stale:
            done = delete_outputs(self._client(record.region), stale,
                                  timeout=self._io_timeout(deadline))
            result["removed_outputs"] = [d.to_dict() for d in done]
            failed = [d for d in done if not d.ok]
        # Outputs that could not be deleted stay listed, so a later run retries them.
        listed = produced + [d.output for d in failed]
        error = self._write_manifest(record, plan, digest, listed, not failed, deadline)
        errors = [_error_dict(d.error) for d in failed if d.error is not None]
        if error is not None:
            errors.append(error)
        if errors:
            result["outcome"] = FAILED
            _set_errors(result, errors)

    def _write_manifest(self, record: CosRecord, plan: routing.Plan, digest: str,
                        outputs: Sequence[ManifestOutput], complete: bool,
                        deadline: float) -> Optional[Dict[str, Any]]:
        """Write the source's manifest; the error dict when that failed, else None."""
        manifest = build(record.bucket, record.key, record.etag, digest, plan.route.prefix,
                         outputs, utc_timestamp(self._wall()), complete=complete)
        try:
            write_manifest(self._client(record.region), record.bucket, manifest,
                           self.config.manifests.prefix, timeout=self._io_timeout(deadline))
        except PicopsError as e:
            return _error_dict(e)
        return None

    # --- deletes ---------------------------------------------------------------------

    def delete_object(self, bucket: str, key: str, *, region: str, deadline: float,
                      log: JsonLogger, index: Optional[int] = None,
                      event_name: str = "") -> Dict[str, Any]:
        """Delete what picops made from a deleted source: exactly the outputs its
        manifest lists, then the manifest. Log and return the outcome line.

        Nothing is deleted when the manifest cannot be read, does not belong to the
        source, lists the source itself or anything under the manifest prefix, or
        when the source exists again. The manifest is kept until every listed
        output is gone, so a retry finishes the job. Raises like :meth:`process_object`.
        """
        self._require_config()
        t0 = self._clock()
        route = routing.match(self.config, key)
        result = dict(_head(index, bucket, key), route=route.prefix if route else None,
                      action="delete", event_name=event_name)
        settings = self.config.manifests
        reason = None
        if not settings.enabled:
            reason = "manifests_off"
        elif key.endswith("/"):
            reason = "folder_marker"
        elif under_manifest_prefix(key, settings.prefix):
            reason = "manifest_object"
        if reason is not None:
            return self._emit(log, t0, dict(result, outcome=SKIPPED, reason=reason))
        mkey = manifest_key(key, settings.prefix)
        result["manifest"] = mkey
        try:
            manifest = self._read_manifest(bucket, key, region, deadline)
            if manifest is None:
                return self._emit(log, t0, dict(result, outcome=SKIPPED, reason="no_manifest"))
            client = self._client(region)
            if object_exists(client, bucket, key, timeout=self._io_timeout(deadline)):
                return self._emit(log, t0, dict(result, outcome=SKIPPED, reason="source_exists"))
        except PicopsError as e:
            return self._emit(log, t0, dict(result, outcome=FAILED, error=_error_dict(e)))
        done = delete_outputs(client, manifest.outputs, timeout=self._io_timeout(deadline))
        result["deleted"] = [d.to_dict() for d in done]
        errors = [_error_dict(d.error) for d in done if d.error is not None]
        if not errors:
            try:
                delete_manifest(client, bucket, key, settings.prefix,
                                timeout=self._io_timeout(deadline))
            except PicopsError as e:
                errors.append(_error_dict(e))
        result["outcome"] = FAILED if errors else PROCESSED
        if errors:
            _set_errors(result, errors)
        return self._emit(log, t0, result)

    # --- manifests and clients --------------------------------------------------------

    def _require_config(self) -> None:
        if self.setup_error is not None or self.config is None:
            error = self.setup_error or ConfigError([], "")
            raise ConfigError(error.problems, error.source)

    def _read_manifest(self, bucket: str, key: str, region: str, deadline: float):
        """The source's manifest (None when absent), checked to be safe to act on.

        Raises:
            ManifestError: unreadable, or not this source's, or listing an output
                picops never deletes.
            CiError / TransientCiError: the GET failed.
        """
        prefix = self.config.manifests.prefix
        manifest = read_manifest(self._client(region), bucket, key, prefix,
                                 timeout=self._io_timeout(deadline))
        if manifest is not None:
            problems = deletion_problems(manifest, bucket, key, prefix)
            if problems:
                raise ManifestError(f"manifest {bucket}/{manifest_key(key, prefix)} cannot be "
                                    f"trusted: {'; '.join(problems)}; nothing was processed or "
                                    f"deleted (fix or delete the manifest)")
        return manifest

    def _io_timeout(self, deadline: float) -> float:
        """Seconds one manifest or delete call may take.

        Raises:
            TransientCiError: ``DeadlineExceeded``, the invocation has no time left.
        """
        remaining = deadline - self._clock()
        if remaining < MIN_IO_S:
            raise TransientCiError(f"no time left for a COS call ({max(remaining, 0.0):.1f} s "
                                   f"before the deadline)", code="DeadlineExceeded")
        return min(CALL_TIMEOUT_S, remaining)

    def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._client_factory(self.env, region)
        return client

    def _run_hooks(self, record: CosRecord, result: Dict[str, Any], log: JsonLogger) -> None:
        for hook in self._after_success:
            try:
                hook(record, result)
            except Exception as e:  # a hook must not turn a done record into a retry
                log.error("after-success hook failed", bucket=record.bucket, key=record.key,
                          hook=getattr(hook, "__name__", repr(hook)),
                          error={"type": type(e).__name__, "message": str(e)})

    def _emit(self, log: JsonLogger, t0: float, result: Dict[str, Any]) -> Dict[str, Any]:
        # Every outcome line has the same keys (issue 2), even when a malformed record
        # or a bug left some unknown (null): a log query never meets a missing field.
        for name in ("bucket", "key"):
            result.setdefault(name, None)
        if "route" not in result:
            key = result["key"]
            route = routing.match(self.config, key) \
                if self.config is not None and isinstance(key, str) else None
            result["route"] = route.prefix if route else None
        result["duration_ms"] = round((self._clock() - t0) * 1000.0, 1)
        outcome = result["outcome"]
        if outcome == FAILED:
            log.error(f"record {outcome}", **result)
        else:
            log.info(f"record {outcome}", **result)
        return result


# --- page events ----------------------------------------------------------------------

def is_page_event(event: Any) -> bool:
    """Is ``event`` a page event (``{"picops_backfill": {...}}``)?"""
    return isinstance(event, dict) and PAGE_EVENT_FIELD in event


def parse_page_event(event: Any, default_region: str = "") -> PageEvent:
    """The page in a page event (shape: the module docstring).

    Raises:
        EventError: a field is missing or malformed; ``where`` names it, e.g.
            ``picops_backfill.keys[3].size``.
    """
    at = PAGE_EVENT_FIELD
    body = event.get(at) if isinstance(event, dict) else None
    if not isinstance(body, dict):
        raise EventError(f"expected an object, got {_json_type(body)}", at)
    version = body.get("version")
    if version != PAGE_EVENT_VERSION or isinstance(version, bool):
        raise EventError(f"version {version!r} is not supported; this function reads "
                         f"version {PAGE_EVENT_VERSION}", f"{at}.version")
    bucket = body.get("bucket")
    if not isinstance(bucket, str) or not is_bucket_name(bucket):
        raise EventError(f"expected a bucket name such as b-1250000000, got {bucket!r}",
                         f"{at}.bucket")
    region = body.get("region", default_region) or default_region
    if not isinstance(region, str) or not region:
        raise EventError("missing, and no TENCENTCLOUD_REGION to fall back on",
                         f"{at}.region")
    keys = body.get("keys")
    if not isinstance(keys, list):
        raise EventError(f"expected a list, got {_json_type(keys)}", f"{at}.keys")
    if not keys:
        raise EventError("empty list: no object to handle", f"{at}.keys")
    return PageEvent(bucket=bucket, region=region,
                     keys=tuple(_page_key(k, f"{at}.keys[{i}]") for i, k in enumerate(keys)))


def _page_key(raw: Any, at: str) -> PageKey:
    if not isinstance(raw, dict):
        raise EventError(f"expected an object, got {_json_type(raw)}", at)
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise EventError(f"expected a non-empty object key, got {key!r}", f"{at}.key")
    etag = raw.get("etag", "")
    if not isinstance(etag, str):
        raise EventError(f"expected a string, got {_json_type(etag)}", f"{at}.etag")
    size = raw.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise EventError(f"expected a byte count, got {size!r}", f"{at}.size")
    return PageKey(key=key, etag=_bare_etag(etag), size=size)


# --- helpers ------------------------------------------------------------------------

def _head(index: Optional[int], bucket: str, key: str) -> Dict[str, Any]:
    head: Dict[str, Any] = {} if index is None else {"index": index}
    head.update(bucket=bucket, key=key)
    return head


def _bare_etag(etag: str) -> str:
    return (etag or "").strip().strip('"')


def _set_errors(result: Dict[str, Any], errors: List[Dict[str, Any]]) -> None:
    # The retry decision looks at ``error``: a transient one wins.
    errors.sort(key=lambda e: not e.get("retryable"))
    result["error"] = errors[0]
    if len(errors) > 1:
        result["errors"] = errors


def _budget_s(context: Mapping[str, Any]) -> float:
    """Seconds this invocation may spend on CI calls: the limit minus a safety margin."""
    limit = context.get("time_limit_in_ms")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        limit = DEFAULT_TIME_LIMIT_MS
    seconds = float(limit) / 1000.0
    margin = min(SAFETY_MARGIN_MAX_S, max(SAFETY_MARGIN_MIN_S, seconds * SAFETY_MARGIN_FRACTION))
    return max(0.0, seconds - margin)


def _error_dict(e: PicopsError) -> Dict[str, Any]:
    d = {"code": e.code, "message": e.message, "status": getattr(e, "status", None),
         "retryable": e.retryable}
    if getattr(e, "request_id", ""):
        d["request_id"] = e.request_id
    return d


def _output(out: routing.Output, obj: Dict[str, Any]) -> Dict[str, Any]:
    # The bucket is the one we asked for; CI's Location is kept as reported.
    d = {name: obj.get(name) for name in OUTPUT_FIELDS}
    d["key"] = obj.get("key") or out.key
    d["bucket"] = out.bucket
    return d


def _first(pair: Tuple[int, Any]) -> int:
    return pair[0]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _preview(event: Any) -> str:
    text = json.dumps(mask_event(event), default=str)
    return text if len(text) <= EVENT_PREVIEW_CHARS else text[:EVENT_PREVIEW_CHARS] + "..."
