"""The backfill loop: list, route, read manifests, process what is stale, in parallel.

Contract of :meth:`Backfill.run`:

* A lister thread pages through the bucket (:mod:`.listing`), a bounded number
  of pages ahead, starting after the checkpoint's watermark when there is one. The
  manifest prefix is not listed (the listing jumps over it), so manifests are neither
  examined nor counted.
* The main thread takes objects in key order. Those the function would not process
  (:func:`.scope.skip_reason`) are counted as skipped at once. The others go
  to a pool of ``concurrency`` workers, at most ``2 * concurrency`` in flight. A worker
  reads the object's manifest; when it is current (same ETag, same rules hash) the
  object is *up to date* and nothing is sent to CI. (With manifests off in the config,
  nothing is ever up to date: every routed object is processed.) Otherwise the worker calls
  ``Processor.process_object`` (the function's own per-object path: CI calls in
  batches of five rules, manifest written, outputs the rules no longer make named;
  an object carrying the current processed-on-upload mark is skipped,
  ``processed_on_upload``), or, in a dry run, reads that mark with a HEAD and
  otherwise only computes the plan (:mod:`.plan`).
* Each worker thread has its own Processor and SDK clients (built by the factories), so
  no requests session is shared between threads.
* ``limit``: at most this many objects are sent to processing (or planned); the next
  stale object is *deferred* (not counted, not done) and the run stops after the
  in-flight ones, keeping its checkpoint.
* Ctrl-C (``KeyboardInterrupt`` in the main thread): nothing new starts, in-flight
  objects finish and are counted, the checkpoint is written, and the result says
  ``interrupted``. A second Ctrl-C stops waiting (objects still running finish before
  the interpreter exits; the checkpoint only covers what was seen done).
* Checkpoint (:mod:`.checkpoint`): written as the watermark moves (throttled)
  and when a run stops early; removed when the run completes (listing exhausted, every
  object done). A dry run never reads or writes one.
* An exception while examining one object (a bug, a manifest that cannot be read, a
  network error) fails only that object, with the error's ``code`` as its reason.
* ``on_result`` callables run in the main thread after each outcome is counted (tests
  raise ``KeyboardInterrupt`` from one to play Ctrl-C).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

from picops import manifest, manifest_store, mark, routing
from picops.errors import PicopsError
from picops.outcome import Outcome, RecordOutcome, SkipReason

from .checkpoint import CheckpointStore, DoneTracker
from .listing import MAX_KEYS, ListedObject, list_pages
from .plan import ObjectPlan, PlanTally, plan_object
from .scope import manifest_prefix, skip_reason
from .summary import Summary

#: Seconds one object may take (CI calls and their retries), like a function's timeout.
OBJECT_BUDGET_S = 120.0
#: How often the main thread wakes to refresh the progress view while waiting.
REFRESH_S = 0.25

PROCESSED, UP_TO_DATE, SKIPPED, FAILED, PLANNED, DEFERRED = (
    "processed", "up_to_date", "skipped", "failed", "planned", "deferred")


@dataclass(frozen=True)
class ObjectOutcome:
    key: str
    kind: str                    # one of PROCESSED ... DEFERRED
    reason: str = ""             # skip reason or error code
    message: str = ""
    route: str = ""
    plan: Optional[ObjectPlan] = None


@dataclass
class RunOptions:
    bucket: str
    region: str
    prefix: str = ""
    concurrency: int = 4
    limit: Optional[int] = None
    dry_run: bool = False
    object_budget_s: float = OBJECT_BUDGET_S
    page_size: int = MAX_KEYS
    lookahead_pages: int = 8


@dataclass
class RunResult:
    summary: Summary
    plan: Optional[PlanTally]
    completed: bool
    interrupted: bool = False
    limited: bool = False
    error: Optional[BaseException] = None   # the listing failed
    resumed_after: str = ""
    done_before: int = 0                    # objects done by earlier runs
    checkpoint_warning: str = ""


@dataclass
class Progress:
    """What a progress view is told after each outcome and while waiting."""

    listed: int = 0
    listing_complete: bool = False
    done: int = 0
    summary: Summary = field(default_factory=Summary)


class Backfill:
    def __init__(self, config: Any, options: RunOptions, *,
                 client_factory: Callable[[], Any],
                 processor_factory: Optional[Callable[[], Any]] = None,
                 checkpoint: Optional[CheckpointStore] = None,
                 log: Any = None,
                 on_progress: Optional[Callable[[Progress], None]] = None,
                 on_result: Sequence[Callable[[ObjectOutcome], None]] = (),
                 clock: Callable[[], float] = time.monotonic):
        if processor_factory is None and not options.dry_run:
            raise ValueError("a backfill that processes needs a processor_factory")
        self.config = config
        self.options = options
        self.manifests = manifest_prefix(config)
        self._client_factory = client_factory
        self._processor_factory = processor_factory
        self._checkpoint = None if options.dry_run else checkpoint
        self._log = log
        self._on_progress = on_progress
        self._on_result = tuple(on_result)
        self._clock = clock
        self._local = threading.local()
        self._gate = _Gate(options.limit)
        self._hashes: Dict[int, str] = {}
        self.summary = Summary()
        self.plan = PlanTally() if options.dry_run else None

    # --- the main thread ------------------------------------------------------------

    def run(self) -> RunResult:
        result = RunResult(summary=self.summary, plan=self.plan, completed=False)
        tracker = self._resume(result)
        lister = _Lister(self._client_factory, self.options.bucket, self.options.prefix,
                         tracker.done_through, self.options.page_size,
                         self.options.lookahead_pages, exclude=self.manifests)
        run = _Pass(tracker, lister, Progress(summary=self.summary))
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency),
                                  thread_name_prefix="picops-backfill")
        lister.start()
        stopped = False
        try:
            stopped = self._feed(run, pool, result)
            self._drain(run)
        except KeyboardInterrupt:
            result.interrupted = True
            lister.stop()
            try:
                self._drain(run, hooks=False)
            except KeyboardInterrupt:
                pass  # a second Ctrl-C: stop waiting; the checkpoint covers what is done
        finally:
            lister.stop()
            pool.shutdown(wait=not result.interrupted, cancel_futures=True)
        self._settle(run, result, stopped)
        return result

    def _resume(self, result: RunResult) -> DoneTracker:
        """Where the run starts: after the checkpoint's watermark when there is one (said
        in ``result``), else at the start of the listing."""
        if self._checkpoint is None:
            return DoneTracker()
        cp, result.checkpoint_warning = self._checkpoint.load()
        if cp is None:
            return DoneTracker()
        result.resumed_after, result.done_before = cp.done_through, cp.objects_done
        return DoneTracker(cp.done_through, cp.objects_done)

    def _feed(self, run: "_Pass", pool: ThreadPoolExecutor, result: RunResult) -> bool:
        """Take the listed objects in key order: skips are counted at once, the others go
        to the pool, at most ``2 * concurrency`` in flight. True when the run stopped before
        the listing's end (``limit`` reached, or the listing failed: ``result.error``)."""
        window = 2 * max(1, self.options.concurrency)
        try:
            for obj in run.lister:
                if self._gate.exhausted:
                    return True
                seq = run.tracker.add(obj.key)
                reason = skip_reason(self.config, self.options.bucket, obj.key, obj.size)
                if reason is not None:
                    self._record(run, seq, ObjectOutcome(obj.key, SKIPPED, reason))
                    continue
                while len(run.in_flight) >= window:
                    self._collect(run)
                run.in_flight[pool.submit(self._examine, obj)] = seq
        except PicopsError as e:  # the listing failed: keep what was done
            result.error = e
            return True
        return False

    def _drain(self, run: "_Pass", hooks: bool = True) -> None:
        """Wait for every object in flight and count it."""
        while run.in_flight:
            self._collect(run, hooks=hooks)

    def _settle(self, run: "_Pass", result: RunResult, stopped: bool) -> None:
        """The run's end: whether it completed, the checkpoint removed (completed) or
        saved (stopped early), and a last progress call."""
        result.limited = self._gate.exhausted
        result.completed = (not stopped and not result.interrupted and not result.limited
                            and result.error is None and run.lister.finished
                            and run.tracker.pending == 0)
        if self._checkpoint is not None:
            if result.completed:
                self._checkpoint.remove()
            else:
                self._checkpoint.save(run.tracker, force=True)
        run.seen_listing()
        self._notify(run.state)

    def _collect(self, run: "_Pass", hooks: bool = True) -> None:
        done, _ = wait(list(run.in_flight), timeout=REFRESH_S, return_when=FIRST_COMPLETED)
        if not done:
            run.seen_listing()
            self._notify(run.state)
        for fut in done:
            seq = run.in_flight.pop(fut)
            self._record(run, seq, fut.result(), hooks=hooks)

    def _record(self, run: "_Pass", seq: int, outcome: ObjectOutcome,
                hooks: bool = True) -> None:
        kind = outcome.kind
        if kind == DEFERRED:
            return  # not done: the watermark stays before it
        self._count(outcome)
        if run.tracker.finish(seq) and self._checkpoint is not None:
            self._checkpoint.save(run.tracker)
        run.state.done += 1
        run.seen_listing()
        self._notify(run.state)
        if hooks:
            for hook in self._on_result:
                hook(outcome)

    def _count(self, outcome: ObjectOutcome) -> None:
        """One outcome into the summary (and, in a dry run, the plan)."""
        kind = outcome.kind
        if kind == PROCESSED:
            self.summary.add_processed()
        elif kind == UP_TO_DATE:
            self.summary.add_up_to_date()
            if self.plan is not None:
                self.plan.add_up_to_date(outcome.route)
        elif kind == SKIPPED:
            self.summary.add_skipped(outcome.reason)
        elif kind == FAILED:
            self.summary.add_failed(outcome.key, outcome.reason, outcome.message)
            if self.plan is not None:
                self.plan.unreadable += 1
        elif kind == PLANNED and self.plan is not None and outcome.plan is not None:
            self.plan.add_plan(outcome.plan)

    def _notify(self, state: Progress) -> None:
        if self._on_progress is not None:
            self._on_progress(state)

    # --- worker threads --------------------------------------------------------------

    def _examine(self, obj: ListedObject) -> ObjectOutcome:
        route = routing.match(self.config, obj.key)
        prefix = route.prefix if route is not None else ""
        try:
            stored = None
            if self.manifests is not None:
                stored = manifest_store.read_manifest(self._client(), self.options.bucket,
                                                      obj.key, self.manifests)
            if manifest.is_current(stored, obj.etag, self._rules_hash(route)):
                return ObjectOutcome(obj.key, UP_TO_DATE, route=prefix)
            if self.options.dry_run and self._marked(obj.key, route):
                return ObjectOutcome(obj.key, SKIPPED, route=prefix,
                                     reason=SkipReason.PROCESSED_ON_UPLOAD.value)
            if not self._gate.take():
                return ObjectOutcome(obj.key, DEFERRED, route=prefix)
            if self.options.dry_run:
                return ObjectOutcome(obj.key, PLANNED, route=prefix,
                                     plan=plan_object(self.config, self.options.bucket,
                                                      obj.key, stored))
            result = self._processor().process_object(
                self.options.bucket, obj.key, size=obj.size, etag=obj.etag,
                region=self.options.region,
                deadline=self._clock() + self.options.object_budget_s, log=self._log)
        except Exception as e:  # fails this object only; the run goes on
            code = e.code if isinstance(e, PicopsError) else "InternalError"
            message = e.message if isinstance(e, PicopsError) else f"{type(e).__name__}: {e}"
            return ObjectOutcome(obj.key, FAILED, reason=code, message=message, route=prefix)
        return _from_result(obj.key, prefix, result)

    def _marked(self, key: str, route: Any) -> bool:
        """Does the object carry the current processed-on-upload mark (one HEAD)? A real
        run leaves that to ``process_object``; a dry run asks here, to plan alike."""
        headers = manifest_store.head_object(self._client(), self.options.bucket, key)
        return mark.is_current(headers, self._rules_hash(route), self.options.bucket, key)

    def _rules_hash(self, route: Any) -> str:
        h = self._hashes.get(route.index)
        if h is None:
            h = self._hashes[route.index] = manifest.rules_hash(route)
        return h

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client_factory()
        return client

    def _processor(self) -> Any:
        proc = getattr(self._local, "processor", None)
        if proc is None:
            proc = self._local.processor = self._processor_factory()
        return proc


def _from_result(key: str, route: str, result: RecordOutcome) -> ObjectOutcome:
    """The handler's outcome as an :class:`ObjectOutcome`."""
    if result.outcome == Outcome.PROCESSED:
        return ObjectOutcome(key, PROCESSED, route=route)
    if result.outcome == Outcome.SKIPPED:
        reason = SkipReason(result.reason).value
        kind = UP_TO_DATE if result.reason == SkipReason.UP_TO_DATE else SKIPPED
        return ObjectOutcome(key, kind, reason=reason, route=route)
    error = result.error
    return ObjectOutcome(key, FAILED, reason=error.code if error else "UnknownError",
                         message=error.message if error else "", route=route)


@dataclass
class _Pass:
    """One run's moving parts, shared by the main thread's steps."""

    tracker: DoneTracker
    lister: "_Lister"
    state: Progress
    in_flight: Dict[Future, int] = field(default_factory=dict)

    def seen_listing(self) -> None:
        """The progress state catches up with the lister."""
        self.state.listed, self.state.listing_complete = self.lister.count, self.lister.finished


class _Gate:
    """At most ``limit`` passes (None: no limit); thread-safe."""

    def __init__(self, limit: Optional[int]):
        self._left = limit
        self._lock = threading.Lock()
        self.exhausted = False

    def take(self) -> bool:
        if self._left is None:
            return True
        with self._lock:
            if self._left <= 0:
                self.exhausted = True
                return False
            self._left -= 1
            return True


_END = object()


class _Lister(threading.Thread):
    """Pages through the bucket ahead of the main thread, into a bounded queue."""

    def __init__(self, client_factory: Callable[[], Any], bucket: str, prefix: str,
                 start_after: str, page_size: int, lookahead: int,
                 exclude: Optional[str] = None):
        super().__init__(name="picops-backfill-lister", daemon=True)
        self._client_factory = client_factory
        self._args = (bucket, prefix, start_after, page_size, exclude)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, lookahead))
        self._stop_event = threading.Event()
        self.count = 0
        self.finished = False
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        bucket, prefix, start_after, page_size, exclude = self._args
        try:
            client = self._client_factory()
            for page in list_pages(client, bucket, prefix, start_after, page_size, exclude):
                self.count += len(page.objects)
                if not self._put(page.objects):
                    return
            self.finished = True
        except BaseException as e:  # handed to the main thread
            self.error = e
        self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self._stop_event.is_set():
            try:
                self._queue.put(item, timeout=REFRESH_S)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        self._stop_event.set()

    def __iter__(self) -> Iterator[ListedObject]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self.error is not None:
                    raise self.error
                return
            yield from item

