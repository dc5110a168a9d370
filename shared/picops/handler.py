"""The upload handler: one COS event in, one JSON outcome line per record out.

A :class:`Processor` is built once per cold start (``index.py``): it loads and
validates the routes config and checks the environment once. Then
:meth:`Processor.handle` runs per invocation:

* An invalid config (or missing credentials) logs every problem as an error
  line and raises, on every invocation, so SCF keeps the event (async retries,
  then the dead-letter queue) until it is fixed.
* A malformed event (not a COS event) is logged as an error and returned from:
  retrying cannot fix it.
* Every record of ``Records`` is handled. Skipped, with a ``reason``:
  ``not_created`` (not an ObjectCreated event), ``folder_marker`` (key ends with
  ``/``), ``empty_object`` (0 bytes), ``loop_guard`` (the key is an output of
  this config), ``no_route``. Otherwise the route's rules go to CI in calls of
  at most 5, in config order; a failed call does not stop the next ones.
* Outcome ``processed`` when every output came back; ``failed`` otherwise, with
  ``error`` {code, message, status, retryable}. An unexpected exception (a bug)
  fails only its record, as a retryable ``InternalError`` with a traceback.
  Permanent failures (4xx, missing outputs, refused or unresolvable outputs, a
  malformed record) are logged and not raised. When transient failures remain
  after all records are done, the handler logs them and raises
  :class:`~picops.errors.TransientCiError`, so SCF runs the event again
  (outputs are overwritten, so a rerun is harmless).
* The return value is a JSON-serialisable summary: counts per outcome and the
  per-record results (the outcome lines without their leading keys).

Extension point: ``after_success`` callables run after each processed record
with ``(record, result)``; a later issue hangs per-source manifests and
idempotency there. A hook that raises is logged and does not change the outcome.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import ci_client, loopsafety, routing
from .config import Config, config_path, load_config
from .constants import (DEFAULT_TIME_LIMIT_MS, ENV_FUNCTION_NAME, ENV_REGION,
                        SAFETY_MARGIN_FRACTION, SAFETY_MARGIN_MAX_S, SAFETY_MARGIN_MIN_S)
from .errors import CiError, ConfigError, EventError, PicopsError, TransientCiError
from .events import CosRecord, mask_event, parse_record, split_records
from .logs import JsonLogger

PROCESSED, SKIPPED, FAILED = "processed", "skipped", "failed"
#: Keys of a logged output, in order (issue 2).
OUTPUT_FIELDS = ("key", "bucket", "location", "format", "width", "height", "size", "quality",
                 "etag")
#: At most this much of a malformed event is logged (masked).
EVENT_PREVIEW_CHARS = 2000

Hook = Callable[[CosRecord, Dict[str, Any]], None]


class Processor:
    """Handles COS events with one validated config. Build once, call per invocation."""

    def __init__(self, config: Optional[Config], env: Mapping[str, str], *,
                 setup_error: Optional[ConfigError] = None,
                 client_factory: Optional[Callable[[Mapping[str, str], str], Any]] = None,
                 logger: Optional[JsonLogger] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 after_success: Sequence[Hook] = ()):
        if config is None and setup_error is None:
            raise ValueError("Processor needs a config or the error that kept it from loading")
        self.config = config
        self.env = dict(env)
        self.setup_error = setup_error
        self.log = logger or JsonLogger()
        self._client_factory = client_factory or ci_client.make_cos_client
        self._clients: Dict[str, Any] = {}
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
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
        log = self.log.bind(
            request_id=str(context.get("request_id") or ""),
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
            raw_records = split_records(event)
        except EventError as e:
            log.error("malformed event", error=_error_dict(e), event=_preview(event))
            return {"request_id": str(context.get("request_id") or ""), "error": _error_dict(e),
                    "counts": {PROCESSED: 0, SKIPPED: 0, FAILED: 0}, "results": []}

        results = [self._guarded_record(raw, i, region, deadline, log)
                   for i, raw in enumerate(raw_records)]
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
        return {"request_id": str(context.get("request_id") or ""), "counts": counts,
                "results": results}

    # --- one record --------------------------------------------------------------

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
            head = {"index": index}
            try:
                record = parse_record(raw, index, region)
                head.update(bucket=record.bucket, key=record.key)
            except EventError:
                pass
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
        head = {"index": index, "bucket": record.bucket, "key": record.key}
        reason = self._skip_reason(record)
        if reason is not None:
            route = routing.match(self.config, record.key) if reason != "no_route" else None
            return self._emit(log, t0, dict(head, outcome=SKIPPED, reason=reason,
                                            route=route.prefix if route else None,
                                            event_name=record.event_name, size=record.size))
        plan = routing.plan(self.config, record.bucket, record.key)
        result = dict(head, route=plan.route.prefix)
        result.update(self._run(record, plan, deadline))
        self._emit(log, t0, result)
        if result["outcome"] == PROCESSED:
            self._run_hooks(record, result, log)
        return result

    def _skip_reason(self, record: CosRecord) -> Optional[str]:
        if not record.is_created:
            return "not_created"
        if record.key.endswith("/"):
            return "folder_marker"
        if record.size == 0:
            return "empty_object"
        if loopsafety.is_derivative(self.config, record.key, record.bucket):
            return "loop_guard"
        if routing.match(self.config, record.key) is None:
            return "no_route"
        return None

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
            # The retry decision looks at ``error``: a transient one wins.
            errors.sort(key=lambda e: not e.get("retryable"))
            result["error"] = errors[0]
            if len(errors) > 1:
                result["errors"] = errors
        if missing:
            result["missing_outputs"] = missing
        return result

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
        result["duration_ms"] = round((self._clock() - t0) * 1000.0, 1)
        outcome = result["outcome"]
        if outcome == FAILED:
            log.error(f"record {outcome}", **result)
        else:
            log.info(f"record {outcome}", **result)
        return result


# --- helpers ------------------------------------------------------------------------

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


def _preview(event: Any) -> str:
    text = json.dumps(mask_event(event), default=str)
    return text if len(text) <= EVENT_PREVIEW_CHARS else text[:EVENT_PREVIEW_CHARS] + "..."
