"""Deliver committed object changes to the function, asynchronously, as SCF does.

:class:`TriggerDispatcher` is the storage layer's change listener, registered
*inline* (``add_listener(dispatcher.on_change, inline=True)``): the store calls
it in the committing thread, before the write is acknowledged. ``on_change``
matches, appends the event to the fsynced trigger journal (:mod:`.journal`) and
enqueues; a small bounded pool of delivery threads runs the function through the
isolated :class:`~.invoker.FunctionInvoker`.

Durability (at least once): an event is on disk before its write is
acknowledged, and leaves the journal only when the function succeeded or the
event is in the dead-letter file. A new dispatcher on the same data dir delivers
whatever a previous run left unfinished (a kill -9, a shutdown with retries
still queued), keeping the attempts already counted and the retry's due time.
So the dead-letter file is the only place an event can end unprocessed.

SCF's async policy (reference cos-ci-scf.md §2.5): a failed or timed-out
execution is retried twice, on SCF 1 minute and then 2 minutes later; here the
delays are ``retry_delays`` (default 1 s and 2 s, compressed for local use).
After the last attempt the event goes to ``<data_dir>/dead-letter.jsonl``
(:mod:`.deadletter`). Retries wait in a timed queue, not in a sleeping thread,
so one failing event does not hold up the others. Every attempt of a delivery
gets the same event and the same ``request_id``, as an SCF async retry does
(UNCONFIRMED).

Memory: records keep at most ``keep_records`` deliveries and ``MAX_RETAINED_BYTES``
of their logs, values and failures (oldest first out); a kept return value is cut
to a preview over ``MAX_KEPT_VALUE_BYTES``.

Loop guard: every :class:`ObjectChanged` carries the length of the trigger ->
CI-output chain that produced it (``generation``: 0 for an upload). A change
deeper than ``max_generation`` is not delivered; an ERROR line names the
bucket, key, generation and trigger. The generation never appears in the event
(which must look real); it travels in the dispatcher's records.

When several enabled triggers match one change (real COS refuses such
overlapping rules; ``picops validate`` reports them), the first in
serverless.yml order is delivered and a WARNING names the others.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from picops_emulator.notifications import ObjectChanged
from picops_emulator.triggers import records as rec
from picops_emulator.triggers.deadletter import DeadLetterFile
from picops_emulator.triggers.journal import OpenEntry, TriggerJournal
from picops_emulator.triggers.decisions import (LINE_FIELD, REQUEST_ID_FIELD, DecisionLog,
                                                utc_timestamp)
from picops_emulator.triggers.events import (
    DEFAULT_NAMESPACE, DEFAULT_QUALIFIER, PLACEHOLDER_UIN, build_context, build_cos_event,
    split_bucket)
from picops_emulator.triggers.invoker import FunctionFailure, FunctionInvoker
from picops_emulator.triggers.matching import matching_triggers, mismatch_reason
from picops_emulator.triggers.runtime_env import Credentials, function_environment

#: SCF retries after 60 s and 120 s; locally the same shape, compressed.
DEFAULT_RETRY_DELAYS: Tuple[float, ...] = (1.0, 2.0)
DEFAULT_MAX_GENERATION = 3
FUNCTION_LOGGER_NAME = "picops_emulator.function"
#: SCF's error codes in the DLQ body: 430 user code error (exception, exit, crash),
#: 433 execution timed out. (The numbers are UNCONFIRMED beyond the retry doc's sample.)
ERROR_CODES = {"timeout": 433}
USER_CODE_ERROR = 430
RESULT_PREVIEW_CHARS = 500
#: What a record of an SCF ``Invoke`` API call (not a trigger) is named in records and logs.
INVOKE_EVENT_NAME = "scf:Invoke"
#: A return value kept in a record whole up to this many bytes of JSON, else as a preview.
MAX_KEPT_VALUE_BYTES = 64 * 1024
#: All records together keep at most this many bytes of logs, values and failures.
MAX_RETAINED_BYTES = 64 * 1024 * 1024
#: ``observer(stage, record)``: see :meth:`TriggerDispatcher.add_observer`.
Observer = Callable[[str, "rec.InvocationRecord"], None]


class TriggerDispatcher:
    """The storage layer's change listener: register ``dispatcher.on_change``.

    ``spec``: a ``picops.serverless.ServerlessSpec`` (handler, timeout, memory,
    region, variables, triggers). ``function_dir``: the function's source folder
    (``loader.default_function_dir``); checked now, a ConfigError if the handler's
    file is missing. ``endpoint``: the emulator's URL, given to the function as
    ``COS_ENDPOINT``. ``credentials``: the key pair the emulator accepts, given as
    the role's ``TENCENTCLOUD_SECRETID``/``SECRETKEY``/``SESSIONTOKEN``.
    ``data_dir``: where ``dead-letter.jsonl`` and the trigger journal go; unfinished
    events a previous run journaled there are delivered now. ``fsync``: journal
    appends reach the disk before returning (off only for throwaway data dirs).
    ``faults``: a ``picops_emulator.faults.FunctionFaults`` for soak tests (None: off).
    ``timeout`` overrides
    serverless.yml's ``inputs.timeout``; ``concurrency`` bounds the functions
    running at once; ``warm``/``init_timeout`` see :class:`FunctionInvoker`;
    ``extra_env`` is added to the function's environment (e.g. ``PICOPS_CONFIG``).
    ``python``/``site``: the interpreter that runs the function and whether it
    gets its site-packages (see :mod:`.launch`, which decides both). The role's
    credentials reach the function only when ``spec.role`` is set, as on SCF.
    """

    def __init__(self, spec, function_dir: Union[str, Path], endpoint: str,
                 credentials: Union[Credentials, Sequence[str], Mapping[str, str]],
                 data_dir: Union[str, Path],
                 retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 max_generation: int = DEFAULT_MAX_GENERATION, *,
                 timeout: Optional[float] = None, init_timeout: Optional[float] = None,
                 concurrency: int = 2, warm: bool = True,
                 extra_env: Optional[Mapping[str, str]] = None,
                 namespace: str = DEFAULT_NAMESPACE, uin: str = PLACEHOLDER_UIN,
                 logger: Optional[logging.Logger] = None,
                 function_logger: Optional[logging.Logger] = None,
                 keep_records: int = 1000, fsync: bool = True, python: Optional[str] = None,
                 site: bool = True, faults: Optional[Any] = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.max_generation = int(max_generation)
        self.namespace = namespace
        self.uin = uin
        self.dead_letters = DeadLetterFile(data_dir)
        self.journal = TriggerJournal(data_dir, fsync=fsync)
        self._log = DecisionLog(logger)
        self._fn_log = function_logger or logging.getLogger(FUNCTION_LOGGER_NAME)
        self._endpoint = endpoint
        self._credentials = Credentials.coerce(credentials)
        self._timeout_override = timeout
        self._init_timeout = init_timeout
        self._warm = warm
        self._python, self._site = python, site
        self._faults = faults
        self._observers: List[Observer] = []
        self._wire(spec, function_dir, extra_env)

        self._cond = threading.Condition()
        self._queue: List[Tuple[float, int, rec.InvocationRecord]] = []  # (due, seq, record)
        self._seq = itertools.count()
        self._running = 0
        self._closed = False
        self._records = rec.RecordKeeper(keep_records, MAX_RETAINED_BYTES)
        self._replay(self.journal.open())
        self._threads = [threading.Thread(target=self._work, name=f"picops-trigger-{i}",
                                          daemon=True) for i in range(concurrency)]
        for thread in self._threads:
            thread.start()

    def _wire(self, spec, function_dir: Union[str, Path],
              extra_env: Optional[Mapping[str, str]]) -> None:
        """Set the spec, triggers and a fresh invoker (at start and on live reload)."""
        triggers = tuple(spec.triggers)
        appid = next((split_bucket(t.bucket)[1] for t in triggers
                      if split_bucket(t.bucket)[1]), "")
        timeout = float(self._timeout_override if self._timeout_override is not None
                        else spec.timeout)
        # SCF hands the role's keys to a function that has a role, and nothing otherwise.
        role_credentials = self._credentials if getattr(spec, "role", "") else None
        env = function_environment(
            variables=spec.environment, function_dir=str(Path(function_dir).resolve()),
            endpoint=self._endpoint, credentials=role_credentials, region=spec.region,
            appid=appid, uin=self.uin, function_name=spec.name, runtime=spec.runtime,
            namespace=self.namespace, extra=extra_env)
        invoker = FunctionInvoker(
            function_dir, env, handler=spec.handler, timeout=timeout,
            init_timeout=self._init_timeout, warm=self._warm, on_log=self._forward_log,
            python=self._python, site=self._site, faults=self._faults)
        # plain attribute writes: a delivery reads them once, when it builds its record
        self.spec, self.triggers, self.appid = spec, triggers, appid
        self.timeout, self.function_name = timeout, spec.name
        self.invoker = invoker

    def reconfigure(self, spec, function_dir: Union[str, Path],
                    extra_env: Optional[Mapping[str, str]] = None, *,
                    python: Optional[str] = None, site: Optional[bool] = None) -> None:
        """Live reload: wire ``spec``'s triggers and serve the next delivery with fresh
        workers (the function's code and environment are read anew).

        Raises ConfigError (and changes nothing) when the handler's file is missing. A
        running invocation finishes on its old worker; queued deliveries and retries run
        on the new workers.
        """
        old = self.invoker
        if python is not None:
            self._python = python
        if site is not None:
            self._site = site
        self._wire(spec, function_dir, extra_env)
        old.drain()
        self._log.emit("reconfigured", f"{len(self.triggers)} trigger(s) wired for "
                       f"{self.function_name}; function workers restarted",
                       triggers=[self._describe(t) for t in self.triggers])

    def add_observer(self, observer: "Observer") -> None:
        """Call ``observer(stage, record)`` when a delivery is queued (``"queued"``) and
        after each attempt (``"attempted"``, the record's outcome already updated). Called
        on the dispatcher's threads; it must return quickly and never raise."""
        self._observers.append(observer)

    def _notify(self, stage: str, record: rec.InvocationRecord) -> None:
        for observer in list(self._observers):
            try:
                observer(stage, record)
            except Exception as exc:  # noqa: BLE001 - an observer must not stop delivery
                self._log.emit("error", f"an invocation observer failed: {exc!r}",
                               logging.ERROR, request_id=record.request_id)

    # --- the listener ---------------------------------------------------------------

    def on_change(self, change: ObjectChanged) -> None:
        """Match ``change``, journal it (fsync) and enqueue its delivery.

        Raises only OSError, when the event could not be journaled: the store then does not
        acknowledge the write (the client sees an error and retries). Anything else is
        logged, never raised.
        """
        try:
            self._on_change(change)
        except OSError as exc:
            self._log.emit("error", f"could not journal the event for {change.bucket}/"
                           f"{change.key}: {exc}; the write is not acknowledged",
                           logging.ERROR, bucket=change.bucket, key=change.key,
                           event_name=change.event_name, journal=str(self.journal.path))
            raise
        except Exception as exc:  # noqa: BLE001 - a listener must not break the request
            bucket, key = getattr(change, "bucket", None), getattr(change, "key", None)
            self._log.emit("error", f"could not handle the change of {bucket}/{key}: {exc!r}",
                           logging.ERROR, bucket=bucket, key=key,
                           event_name=getattr(change, "event_name", None))

    def _on_change(self, change: ObjectChanged) -> None:
        where = {"bucket": change.bucket, "key": change.key, "event_name": change.event_name,
                 "generation": change.generation}
        matched = matching_triggers(self.triggers, change)
        if not matched:
            reasons = [{"trigger": t.index, "reason": mismatch_reason(t, change)}
                       for t in self.triggers if t.bucket == change.bucket]
            self._log.emit("no_trigger", f"no enabled trigger fires for {change.bucket}/"
                           f"{change.key} ({change.event_name})", **where,
                           reasons=reasons or None)
            return
        trigger = matched[0]
        if len(matched) > 1:
            self._log.emit("overlapping_triggers", f"{len(matched)} triggers match "
                           f"{change.bucket}/{change.key}; real COS rejects overlapping rules; "
                           f"delivering once, for trigger #{trigger.index}", logging.WARNING,
                           **where, triggers=[t.index for t in matched])
        if change.generation > self.max_generation:
            self._log.emit(
                "loop_guarded",
                f"LOOP GUARD: not delivering {change.bucket}/{change.key}: it is generation "
                f"{change.generation} of a trigger -> CI output -> trigger chain (max "
                f"{self.max_generation}). Trigger #{trigger.index} (prefix {trigger.prefix!r}, "
                f"suffix {trigger.suffix!r}) fires on objects the function itself wrote: move "
                "the outputs out of the trigger's filter or to another bucket",
                logging.ERROR, **where, trigger=trigger.index, filter=self._describe(trigger))
            return

        record = self._new_record(change, trigger)
        self.journal.add(record.request_id, _record_doc(record))
        with self._cond:
            if self._closed:
                record.outcome = rec.DEFERRED
                closed = True
            else:
                self._records.add(record)
                self._push(record, 0.0)
                closed = False
        if closed:
            self._log.emit("deferred", f"{change.bucket}/{change.key}: the emulator is "
                           "shutting down; the event is kept in the trigger journal and "
                           "delivered when it starts again", logging.WARNING, **where,
                           request_id=record.request_id)
        else:
            self._log.emit("matched", f"trigger #{trigger.index} fires for {change.bucket}/"
                           f"{change.key}; delivery queued", **where,
                           trigger=trigger.index, filter=self._describe(trigger),
                           request_id=record.request_id)
            self._notify("queued", record)

    def redeliver(self, event: dict, *, bucket: str, key: str, event_name: str,
                  trigger_index: int, generation: int = 0) -> rec.InvocationRecord:
        """Deliver ``event`` again as a new async invocation (a dead-letter replay).

        The event is sent as it was stored; the invocation gets a fresh request id and
        SCF's retry policy. Raises RuntimeError once the dispatcher is closed.
        """
        context = self._context(self.appid or split_bucket(bucket)[1])
        record = rec.InvocationRecord(
            request_id=context["request_id"], bucket=bucket, key=key, event_name=event_name,
            trigger_index=trigger_index, generation=generation, event=event, context=context,
            created=time.time())
        self._enqueue(record)
        self._log.emit("redelivered", f"dead-lettered event for {bucket}/{key} delivered again",
                       bucket=bucket, key=key, event_name=event_name, generation=generation,
                       trigger=trigger_index, request_id=record.request_id)
        return record

    def invoke_async(self, event: Dict[str, Any], request_id: str) -> None:
        """Queue ``event`` as one asynchronous SCF ``Invoke`` (the API's ``ClientContext``).

        The same workers, retries, journal and dead letters as a trigger's delivery; the
        record names the event (``scf:Invoke``; bucket and key count of a backfill page).

        Raises:
            OSError: it could not be journaled (the API answers an error).
            RuntimeError: the emulator is shutting down.
        """
        page = event.get("picops_backfill") if isinstance(event, dict) else None
        bucket = str(page.get("bucket", "")) if isinstance(page, dict) else ""
        keys = page.get("keys") if isinstance(page, dict) else None
        what = f"(Invoke: {len(keys)} keys)" if isinstance(keys, list) else "(Invoke)"
        context = self._context(self.appid, request_id)
        record = rec.InvocationRecord(
            request_id=request_id, bucket=bucket, key=what, event_name=INVOKE_EVENT_NAME,
            trigger_index=-1, generation=0, event=event, context=context, created=time.time())
        self._enqueue(record)
        self._log.emit("invoked", f"SCF Invoke (Event) of {self.function_name}: delivery "
                       f"queued {what}", bucket=bucket or None, key=what,
                       event_name=INVOKE_EVENT_NAME, request_id=request_id)

    def _context(self, appid: str, request_id: Optional[str] = None) -> dict:
        """The SCF ``context`` of one invocation of this function (a fresh request id
        unless ``request_id``)."""
        return build_context(function_name=self.function_name, region=self.spec.region,
                             appid=appid, memory_mb=self.spec.memory, timeout_s=self.timeout,
                             environment=self.spec.environment, namespace=self.namespace,
                             uin=self.uin, request_id=request_id)

    def _enqueue(self, record: rec.InvocationRecord) -> None:
        """Journal ``record``, queue it for immediate delivery and tell the observers
        (OSError: not journaled; RuntimeError: the dispatcher is closed)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the emulator is shutting down")
        self.journal.add(record.request_id, _record_doc(record))
        with self._cond:
            self._records.add(record)
            self._push(record, 0.0)
        self._notify("queued", record)

    def _new_record(self, change: ObjectChanged, trigger) -> rec.InvocationRecord:
        event = build_cos_event(change, function_name=self.function_name,
                                function_region=self.spec.region,
                                bucket_region=getattr(trigger, "region", None) or None,
                                namespace=self.namespace, qualifier=DEFAULT_QUALIFIER)
        context = self._context(self.appid or split_bucket(change.bucket)[1])
        return rec.InvocationRecord(
            request_id=context["request_id"], bucket=change.bucket, key=change.key,
            event_name=change.event_name, trigger_index=trigger.index,
            generation=change.generation, event=event, context=context, created=time.time())

    def _replay(self, entries: List[OpenEntry]) -> None:
        """Queue what a previous run journaled but did not finish (before threads start)."""
        now = time.time()
        for entry in entries:
            try:
                record = _record_from(entry)
            except (KeyError, TypeError, ValueError) as exc:
                self._log.emit("error", f"trigger journal entry {entry.id} is unreadable "
                               f"({exc!r}); it stays in {self.journal.path}", logging.ERROR)
                continue
            delay = max(0.0, (entry.due or now) - now)
            with self._cond:
                self._records.add(record)
                self._push(record, delay)
            self._log.emit("replayed", f"{record.bucket}/{record.key}: delivering an event "
                           f"the previous run did not finish (after {len(record.attempts)} "
                           "failed attempt(s))", bucket=record.bucket, key=record.key,
                           event_name=record.event_name, generation=record.generation,
                           trigger=record.trigger_index, request_id=record.request_id,
                           attempts=len(record.attempts), delay_s=round(delay, 3))

    # --- delivery -------------------------------------------------------------------

    def _push(self, record: rec.InvocationRecord, delay: float) -> None:
        """Queue an attempt ``delay`` seconds from now. Caller holds ``self._cond``."""
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), record))
        self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                record = None
                while record is None:
                    if self._closed:
                        return
                    now = time.monotonic()
                    if self._queue and self._queue[0][0] <= now:
                        record = heapq.heappop(self._queue)[2]
                        self._running += 1
                    else:
                        self._cond.wait(self._queue[0][0] - now if self._queue else None)
            try:
                self._attempt(record)
                self._notify("attempted", record)
            except Exception as exc:  # noqa: BLE001 - a bug here must be loud, not fatal
                record.outcome = rec.DROPPED
                self._log.emit("error", f"delivery of {record.bucket}/{record.key} broke "
                               f"inside the emulator: {exc!r}", logging.ERROR,
                               bucket=record.bucket, key=record.key,
                               request_id=record.request_id)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _attempt(self, record: rec.InvocationRecord) -> None:
        """Run the next attempt of ``record`` and settle it: done, retried or dead-lettered
        (or deferred, when the shutdown killed it)."""
        number = len(record.attempts) + 1
        started = time.time()
        result = self.invoker.invoke(record.event, record.context, record.request_id)
        where = {"bucket": record.bucket, "key": record.key, "event_name": record.event_name,
                 "generation": record.generation, "trigger": record.trigger_index,
                 "request_id": record.request_id, "attempt": number,
                 "duration_ms": int(result.duration_s * 1000), "cold_start": result.cold_start}
        with self._cond:
            closed = self._closed
        if closed and not result.ok:  # killed by the shutdown: not the function's failure
            record.outcome = rec.DEFERRED
            self._log.emit("deferred", f"{record.bucket}/{record.key}: the emulator shut "
                           f"down during attempt {number}; the event is kept in the trigger "
                           "journal and delivered when it starts again", logging.WARNING,
                           **where)
            return
        attempt = rec.AttemptRecord(number=number, started=started, ok=result.ok,
                                    duration_s=round(result.duration_s, 4),
                                    cold_start=result.cold_start,
                                    value=_kept_value(result.value, result.value_omitted),
                                    failure=result.failure, logs=result.logs)
        record.attempts.append(attempt)
        self._records.attempt_added(record, attempt)
        if result.ok:
            self.journal.done(record.request_id, rec.SUCCEEDED)
            record.outcome = rec.SUCCEEDED
            self._log.emit("delivered", f"the function handled {record.bucket}/{record.key} "
                           f"(attempt {number})", **where, result=_preview(attempt.value))
        else:
            self._failed(record, attempt, where)

    def _failed(self, record: rec.InvocationRecord, attempt: rec.AttemptRecord,
                where: Dict[str, Any]) -> None:
        """Log a failed attempt (its traceback as the function's output, as SCF does), then
        schedule the next one or, with SCF's retries spent, dead-letter the event."""
        failure = attempt.failure or FunctionFailure("runtime", "unknown failure")
        if failure.traceback:  # SCF writes the traceback into the function's log
            for line in failure.traceback.rstrip("\n").splitlines():
                attempt.logs.append(line)
                self._forward_log(record.request_id, line)
        error = {"kind": failure.kind, "message": failure.message}
        self._log.emit("failed", f"attempt {attempt.number} for {record.bucket}/{record.key} "
                       f"failed: {failure.message}", logging.WARNING, **where, error=error)
        if attempt.number <= len(self.retry_delays):
            self._retry(record, attempt, where)
        else:
            self.journal.failed(record.request_id, _error_doc(attempt), None)
            self._dead_letter(record, failure)
            self.journal.done(record.request_id, rec.DEAD_LETTERED)
            self._log.emit("dead_lettered", f"{record.bucket}/{record.key} failed "
                           f"{attempt.number} time(s); event written to "
                           f"{self.dead_letters.path}", logging.ERROR, **where, error=error,
                           dead_letter_file=str(self.dead_letters.path))

    def _retry(self, record: rec.InvocationRecord, attempt: rec.AttemptRecord,
               where: Dict[str, Any]) -> None:
        """Journal when the next attempt is due and queue it (unless shutting down: then
        the journal keeps it for the next start)."""
        number = attempt.number
        delay = self.retry_delays[number - 1]
        self.journal.failed(record.request_id, _error_doc(attempt), time.time() + delay)
        with self._cond:
            closed = self._closed
            if not closed:
                record.outcome = rec.RETRYING
                self._push(record, delay)
        if closed:
            record.outcome = rec.DEFERRED
            self._log.emit("deferred", f"not retrying {record.bucket}/{record.key} now: the "
                           "emulator is shutting down; the retry is kept in the trigger "
                           "journal", logging.WARNING, **where)
        else:
            self._log.emit("retry_scheduled", f"retrying {record.bucket}/{record.key} in "
                           f"{delay:g} s (attempt {number + 1} of "
                           f"{len(self.retry_delays) + 1})", **where, delay_s=delay)

    def _dead_letter(self, record: rec.InvocationRecord, failure: FunctionFailure) -> None:
        record.outcome = rec.DEAD_LETTERED
        self.dead_letters.append({
            "RequestId": record.request_id,
            "ErrorCode": ERROR_CODES.get(failure.kind, USER_CODE_ERROR),
            "ErrorMessage": failure.message,
            "Body": {
                "AppId": self.appid, "Uin": self.uin, "FunctionName": self.function_name,
                "Namespace": self.namespace, "Qualifier": DEFAULT_QUALIFIER,
                "ClientContext": json.dumps(record.event, ensure_ascii=False),
                "RetryNum": len(record.attempts) - 1,
            },
            "Time": utc_timestamp(),
            "Attempts": len(record.attempts),
            "Errors": [{"attempt": a.number, "time": utc_timestamp(a.started),
                        **(a.failure.to_dict() if a.failure else {})} for a in record.attempts],
            "Bucket": record.bucket, "Key": record.key, "EventName": record.event_name,
            "Trigger": record.trigger_index, "Generation": record.generation,
        })

    def _forward_log(self, request_id: Optional[str], line: str) -> None:
        tag = f"{self.function_name} {request_id[:8]}" if request_id else self.function_name
        self._fn_log.info("[%s] %s", tag, line,
                          extra={REQUEST_ID_FIELD: request_id, LINE_FIELD: line})

    @staticmethod
    def _describe(trigger) -> Dict[str, Any]:
        return {"bucket": trigger.bucket, "events": trigger.events,
                "prefix": trigger.prefix, "suffix": trigger.suffix}

    # --- for tests, the CLI and the demo ----------------------------------------------

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Block until nothing is queued, scheduled for retry or running. False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._running == 0,
                                       timeout=timeout)

    @property
    def invocations(self) -> List[rec.InvocationRecord]:
        return list(self._records)

    @property
    def decisions(self) -> List[Dict[str, Any]]:
        """The structured decision lines, oldest first (see :mod:`.decisions`)."""
        return self._log.entries

    def close(self, timeout: float = 10.0) -> None:
        """Stop delivering: queued and scheduled deliveries stay in the trigger journal for
        the next start (each logged as ``deferred``), a running function is killed (its
        event is deferred too), and the delivery threads end."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            pending = [item[2] for item in self._queue]
            self._queue = []
            self._cond.notify_all()
        for record in pending:
            record.outcome = rec.DEFERRED
            self._log.emit("deferred", f"{record.bucket}/{record.key}: the emulator is "
                           "shutting down; the event is kept in the trigger journal and "
                           "delivered when it starts again", logging.WARNING,
                           bucket=record.bucket, key=record.key, request_id=record.request_id,
                           attempts=len(record.attempts))
        self.invoker.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.journal.close()

    def __enter__(self) -> "TriggerDispatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _record_doc(record: rec.InvocationRecord) -> Dict[str, Any]:
    """What the journal keeps of a delivery: enough to run it again, identically."""
    return {"request_id": record.request_id, "bucket": record.bucket, "key": record.key,
            "event_name": record.event_name, "trigger_index": record.trigger_index,
            "generation": record.generation, "event": record.event,
            "context": record.context, "created": record.created}


def _error_doc(attempt: rec.AttemptRecord) -> Dict[str, Any]:
    failure = attempt.failure or FunctionFailure("runtime", "unknown failure")
    return {"attempt": attempt.number, "started": attempt.started,
            "duration_s": attempt.duration_s, **failure.to_dict()}


def _record_from(entry: OpenEntry) -> rec.InvocationRecord:
    doc = entry.record
    record = rec.InvocationRecord(
        request_id=str(doc["request_id"]), bucket=str(doc["bucket"]), key=str(doc["key"]),
        event_name=str(doc["event_name"]), trigger_index=int(doc["trigger_index"]),
        generation=int(doc["generation"]), event=dict(doc["event"]),
        context=dict(doc["context"]), created=float(doc["created"]))
    for number, error in enumerate(entry.errors, 1):
        failure = FunctionFailure(str(error.get("kind") or "runtime"),
                                  str(error.get("message") or ""), str(error.get("type") or ""),
                                  str(error.get("traceback") or ""))
        record.attempts.append(rec.AttemptRecord(
            number=number, started=float(error.get("started") or 0.0), ok=False,
            duration_s=float(error.get("duration_s") or 0.0), cold_start=False,
            failure=failure))
    record.outcome = rec.RETRYING if record.attempts else rec.PENDING
    return record


def _kept_value(value: Any, omitted: int) -> Any:
    if omitted:
        return f"[picops emulator: a {omitted}-byte return value was not kept]"
    try:
        size = len(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError, RecursionError):
        return None
    return value if size <= MAX_KEPT_VALUE_BYTES else _preview(value)


def _preview(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= RESULT_PREVIEW_CHARS else text[:RESULT_PREVIEW_CHARS] + "..."


__all__ = ["TriggerDispatcher", "DEFAULT_RETRY_DELAYS", "DEFAULT_MAX_GENERATION",
           "FUNCTION_LOGGER_NAME"]
