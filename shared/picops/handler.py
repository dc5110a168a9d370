"""The invocation envelope: one event in, one JSON outcome line per object out.

:func:`processor_from_env` runs once per cold start (``index.py``): it loads and
validates the routes config and checks the environment. It returns a
:class:`Processor`, or a :class:`FailedProcessor` when the config is invalid or
credentials are missing: that one logs every problem as an error line and
raises on every invocation, so SCF keeps the event (async retries, then the
dead-letter queue) until it is fixed.

:meth:`Processor.handle` runs per invocation. It only keeps the time budget,
dispatches and decides whether to raise; the work is elsewhere:

* A malformed event (neither a COS event nor a page event,
  :mod:`picops.events`) is logged as an error and returned from: retrying
  cannot fix it.
* Every record of ``Records``: ``cos:ObjectCreated:*`` ->
  :func:`picops.create.process_object`; ``cos:ObjectRemove:*`` ->
  :func:`picops.delete.delete_object`; anything else (ObjectRestore ...):
  skipped, ``not_created``. Every key of a page event goes to
  :func:`picops.create.process_object` in order, ``index`` being the key's
  place in ``keys`` and ``event_name`` ``picops:backfill``.
* Each outcome is a :class:`~picops.outcome.RecordOutcome`, logged as one line
  (``record processed|skipped|failed``). Every line (and entry of the summary's
  ``results``) has ``bucket``, ``key``, ``route`` (the matching route's prefix)
  and ``duration_ms``; a value is null when unknown (a malformed record) or not
  applicable (no route). Outcome ``processed`` when every output came back (or
  every listed output is deleted); ``failed`` otherwise, with ``error`` {code,
  message, status, retryable}. A manifest that cannot be read or trusted fails
  its record (``InvalidManifest``) before anything is processed or deleted.
* An unexpected exception (a bug) fails only its record, as a retryable
  ``InternalError`` with a traceback.
* Permanent failures are logged and not raised. When retryable failures remain
  after all records are done, the handler logs them and raises
  :class:`~picops.errors.TransientCloudError`, so SCF runs the event again
  (every step is safe to repeat).
* The return value is a JSON-serialisable summary: counts per outcome and the
  per-record results (the outcome lines without their leading keys).

Manifests (``manifests:`` in the config, on by default) are described in
:mod:`picops.manifest` and docs/manifest-format.md.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from . import ci_client, routing
from .config import config_path, load_config
from .constants import (DEFAULT_TIME_LIMIT_MS, ENV_FUNCTION_NAME, ENV_REGION,
                        SAFETY_MARGIN_FRACTION, SAFETY_MARGIN_MAX_S,
                        SAFETY_MARGIN_MIN_S)
from .create import process_object
from .delete import delete_object
from .errors import ConfigError, EventError, InternalError, TransientCloudError
from .events import (PAGE_EVENT_NAME, PageEvent, is_page_event, mask_event, parse_page_event,
                     parse_record, split_records)
from .logs import JsonLogger
from .model import Config
from .outcome import Outcome, RecordOutcome, SkipReason
from .services import ClientFactory, Services

#: At most this much of a malformed event is logged (masked).
EVENT_PREVIEW_CHARS = 2000


class Processor:
    """Handles COS and page events with one valid config. Build once, call per invocation."""

    def __init__(self, config: Config, env: Mapping[str, str], *,
                 client_factory: Optional[ClientFactory] = None,
                 logger: Optional[JsonLogger] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 wall: Callable[[], float] = time.time):
        if not isinstance(config, Config):
            raise ValueError("a Processor needs a valid Config (a config that failed to "
                             "load makes a FailedProcessor)")
        self.config = config
        self.env = dict(env)
        self.log = logger or JsonLogger()
        self.services = Services(config, env, client_factory=client_factory, clock=clock,
                                 sleep=sleep, jitter=jitter, wall=wall)
        self._cold = True

    # --- one invocation ------------------------------------------------------------

    def handle(self, event: Any, context: Any) -> Dict[str, Any]:
        """Handle one invocation; see the module docstring for what is raised."""
        started = self.services.clock()
        context = context if isinstance(context, dict) else {}
        request_id = str(context.get("request_id") or "")
        log = _invocation_log(self.log, context, self.env, self._cold)
        self._cold = False
        deadline = started + _budget_s(context)
        region = self.env.get(ENV_REGION) or str(context.get("tencentcloud_region") or "")
        try:
            if is_page_event(event):
                page = parse_page_event(event, region)
                outcomes = [self._guarded_key(page, i, deadline, log)
                            for i in range(len(page.keys))]
            else:
                raw_records = split_records(event)
                outcomes = [self._guarded_record(raw, i, region, deadline, log)
                            for i, raw in enumerate(raw_records)]
        except EventError as e:
            log.error("malformed event", error=e.to_dict(), event=_preview(event))
            return {"request_id": request_id, "error": e.to_dict(),
                    "counts": _counts([]), "results": []}

        counts = _counts(outcomes)
        retry = [o for o in outcomes if o.retryable]
        if retry:
            keys = [o.key for o in retry]
            log.error("transient failures left: raising so SCF retries the event",
                      counts=counts, retry_keys=keys)
            raise TransientCloudError(f"{len(retry)} record(s) failed transiently: "
                                      + ", ".join(repr(k) for k in keys),
                                      code=retry[0].error.code)
        return {"request_id": request_id, "counts": counts,
                "results": [o.to_line() for o in outcomes]}

    # --- one object, timed and logged (also what ``picops backfill`` calls) ----------

    def process_object(self, bucket: str, key: str, *, size: int, etag: str, region: str,
                       deadline: float, log: JsonLogger, index: Optional[int] = None,
                       event_name: str = "",
                       user_meta: Optional[Mapping[str, str]] = None) -> RecordOutcome:
        """:func:`picops.create.process_object`, logged. ``deadline`` is a ``clock()``
        time. Raises only on a bug: every failure of CI, COS or a manifest is an outcome."""
        t0 = self.services.clock()
        outcome = process_object(self.services, bucket, key, size=size, etag=etag,
                                 region=region, deadline=deadline, index=index,
                                 event_name=event_name, user_meta=user_meta)
        return self._emit(log, t0, outcome)

    def delete_object(self, bucket: str, key: str, *, region: str, deadline: float,
                      log: JsonLogger, index: Optional[int] = None,
                      event_name: str = "") -> RecordOutcome:
        """:func:`picops.delete.delete_object`, logged; raises like :meth:`process_object`."""
        t0 = self.services.clock()
        outcome = delete_object(self.services, bucket, key, region=region, deadline=deadline,
                                index=index, event_name=event_name)
        return self._emit(log, t0, outcome)

    # --- one record or page key, guarded -------------------------------------------

    def _guarded_record(self, raw: Any, index: int, region: str, deadline: float,
                        log: JsonLogger) -> RecordOutcome:
        """:meth:`_record`, but an unexpected exception (a bug) fails only this record."""
        t0 = self.services.clock()
        try:
            return self._record(raw, index, region, deadline, log)
        except Exception as e:
            bucket = key = None
            try:
                record = parse_record(raw, index, region)
                bucket, key = record.bucket, record.key
            except EventError:
                pass
            return self._internal_error(log, t0, index, bucket, key, e)

    def _guarded_key(self, page: PageEvent, index: int, deadline: float,
                     log: JsonLogger) -> RecordOutcome:
        """One key of a page event through :meth:`process_object`, guarded likewise."""
        t0 = self.services.clock()
        item = page.keys[index]
        try:
            return self.process_object(page.bucket, item.key, size=item.size, etag=item.etag,
                                       region=page.region, deadline=deadline, log=log,
                                       index=index, event_name=PAGE_EVENT_NAME)
        except Exception as e:
            return self._internal_error(log, t0, index, page.bucket, item.key, e)

    def _internal_error(self, log: JsonLogger, t0: float, index: int, bucket: Optional[str],
                        key: Optional[str], e: Exception) -> RecordOutcome:
        route = routing.match(self.config, key) if key is not None else None
        outcome = RecordOutcome(Outcome.FAILED, index=index, bucket=bucket, key=key,
                                route=route.prefix if route else None,
                                errors=[InternalError.from_exception(e)],
                                traceback=traceback.format_exc(limit=8))
        return self._emit(log, t0, outcome)

    def _record(self, raw: Any, index: int, region: str, deadline: float,
                log: JsonLogger) -> RecordOutcome:
        t0 = self.services.clock()
        try:
            record = parse_record(raw, index, region)
        except EventError as e:
            return self._emit(log, t0, RecordOutcome(Outcome.FAILED, index=index, errors=[e]))
        if record.is_created:
            return self.process_object(record.bucket, record.key, size=record.size,
                                       etag=record.etag, region=record.region,
                                       deadline=deadline, log=log, index=index,
                                       event_name=record.event_name,
                                       user_meta=record.user_meta)
        if record.is_removed:
            return self.delete_object(record.bucket, record.key, region=record.region,
                                      deadline=deadline, log=log, index=index,
                                      event_name=record.event_name)
        route = routing.match(self.config, record.key)
        understood = record.kind is not None
        return self._emit(log, t0, RecordOutcome(
            Outcome.SKIPPED, index=index, bucket=record.bucket, key=record.key,
            route=route.prefix if route else None,
            reason=SkipReason.NOT_CREATED if understood else SkipReason.UNKNOWN_EVENT,
            event_name=record.event_name, size=record.size), warn=not understood)

    def _emit(self, log: JsonLogger, t0: float, outcome: RecordOutcome,
              warn: bool = False) -> RecordOutcome:
        outcome.duration_ms = round((self.services.clock() - t0) * 1000.0, 1)
        log_outcome(log, outcome, warn=warn)
        return outcome


def log_outcome(log: JsonLogger, outcome: RecordOutcome, warn: bool = False) -> None:
    """Write ``outcome`` as its one JSON line (an error line when it failed; a warning
    when ``warn``: a record skipped because its event name was not understood)."""
    line = outcome.to_line()
    word = Outcome(outcome.outcome).value
    if outcome.outcome == Outcome.FAILED:
        log.error(f"record {word}", **line)
    elif warn:  # never skipped quietly: the line names what was not understood
        log.warning(f"record {word}: event name not understood", **line)
    else:
        log.info(f"record {word}", **line)


class FailedProcessor:
    """What a cold start with an invalid config or environment builds.

    Every :meth:`handle` logs each problem as an error line and raises a
    :class:`~picops.errors.ConfigError`, so SCF keeps the event until it is fixed.
    """

    def __init__(self, error: ConfigError, env: Mapping[str, str], *,
                 logger: Optional[JsonLogger] = None, **_unused: Any):
        self.error = error
        self.env = dict(env)
        self.log = logger or JsonLogger()
        self._cold = True

    def handle(self, event: Any, context: Any) -> Dict[str, Any]:
        context = context if isinstance(context, dict) else {}
        log = _invocation_log(self.log, context, self.env, self._cold)
        self._cold = False
        for p in self.error.problems:
            log.error("invalid configuration", source=self.error.source,
                      where=p.where, problem=p.message)
        # A fresh exception each time: re-raising one object would grow its traceback.
        raise ConfigError(self.error.problems, self.error.source)


def processor_from_env(env: Mapping[str, str], function_dir: str,
                       **kwargs: Any) -> Union[Processor, FailedProcessor]:
    """Load the config (:func:`picops.config.config_path`) and check the environment.

    ``kwargs`` go to the :class:`Processor` (client factory, logger, clocks).
    """
    path = config_path(env, function_dir)
    config, problems = None, []
    try:
        config = load_config(path)
    except ConfigError as e:
        problems.extend(e.problems)
    problems.extend(ci_client.env_problems(env))
    if problems or config is None:
        return FailedProcessor(ConfigError(problems, path), env, **kwargs)
    return Processor(config, env, **kwargs)


# --- helpers ------------------------------------------------------------------------

def _invocation_log(log: JsonLogger, context: Mapping[str, Any], env: Mapping[str, str],
                    cold: bool) -> JsonLogger:
    return log.bind(request_id=str(context.get("request_id") or ""),
                    function_name=str(context.get("function_name")
                                      or env.get(ENV_FUNCTION_NAME, "")),
                    cold_start=cold)


def _counts(outcomes: List[RecordOutcome]) -> Dict[str, int]:
    counts = {o.value: 0 for o in Outcome}
    for o in outcomes:
        counts[Outcome(o.outcome).value] += 1
    return counts


def _budget_s(context: Mapping[str, Any]) -> float:
    """Seconds this invocation may spend on CI calls: the limit minus a safety margin."""
    limit = context.get("time_limit_in_ms")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        limit = DEFAULT_TIME_LIMIT_MS
    seconds = float(limit) / 1000.0
    margin = min(SAFETY_MARGIN_MAX_S, max(SAFETY_MARGIN_MIN_S, seconds * SAFETY_MARGIN_FRACTION))
    return max(0.0, seconds - margin)


def _preview(event: Any) -> str:
    text = json.dumps(mask_event(event), default=str)
    return text if len(text) <= EVENT_PREVIEW_CHARS else text[:EVENT_PREVIEW_CHARS] + "..."
