"""Image work for CI requests: bounded, shared fairly, with a deadline, and stopped when the
client goes away.

Contract (:class:`ImageWork`, one per CI backend):

* At most ``slots`` image jobs (one rule's execution, or one probe) run at once, in a thread
  pool of that size (libvips releases the GIL: they really run in parallel). One request runs
  at most ``max(1, slots - 1)`` jobs at once, so a request with several expensive rules never
  holds every slot: with two or more slots, another request's job can always start.
* At most ``admitted`` requests (``2 * slots`` by default) hold their source bytes and outputs
  at once: :meth:`ImageWork.request` waits *before* the source is read. Queueing therefore
  shows as latency, never as memory (each waiter is one coroutine).
* Each request gets a :class:`~picops_emulator.imaging.budget.Deadline` of
  ``limits.max_request_seconds``, started when its first job starts (time spent waiting for a
  slot is the machine's load, not the request's cost), and a cancel switch shared by all its
  jobs. While the request is admitted, its client connection is polled every ``POLL`` s; once
  the client has gone, the switch is set: jobs not started never start, running ones stop
  inside libvips within a tile (``imaging.budget``), and nothing is stored. Inside libvips
  the deadline and the switch are read on libvips' own progress reports (its ``eval``
  signal, once per tile computed): a running computation can only be stopped by setting its
  kill flag from there, so that check is driven by libvips' events, not by a timer.

Store calls do not take image slots: they run on their own small pool (``io``), so a slow
image job never holds up another request's reads and writes.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Dict, Optional

from ..imaging import Limits
from ..imaging.budget import Deadline
from ..imaging.errors import ProcessingCancelled

# Seconds between two looks at the client connection. A poll, because aiohttp 3.x tells a
# handler of a dropped connection only by cancelling it (``handler_cancellation``, for the
# whole server), and that cannot be scoped to CI requests: every COS operation would then
# need a shielded task of its own so that it is never cut between two steps. That was tried
# (a middleware that set a per-request event the watcher waited on): the extra task per request
# delayed the cleanup of a truncated PUT past the client's next request in 6 of 25 runs of
# tests/integration/emulator/test_objects.py::test_truncated_body_stores_nothing (0 of 25
# with this poll). The poll costs one timer wake-up per admitted CI request (at most
# 2 x slots) every 0.1 s, and bounds the reaction to a gone client at 0.1 s plus a tile.
POLL = 0.1


class RequestWork:
    """One request's share of the image work: its jobs, deadline and cancel switch."""

    def __init__(self, work: "ImageWork"):
        self._work = work
        self.cancelled = threading.Event()
        self.deadline: Optional[Deadline] = None
        self._mine = asyncio.Semaphore(work.per_request)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args, deadline)`` in an image slot; raises what ``fn`` raises."""
        async with self._mine, self._work.slots():
            if self.cancelled.is_set():
                raise ProcessingCancelled("the image work was cancelled: its client went away")
            if self.deadline is None:
                self.deadline = Deadline.after(self._work.limits.max_request_seconds,
                                               self.cancelled)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._work.pool, fn, *args, self.deadline)

    def cancel(self) -> None:
        self.cancelled.set()


class ImageWork:
    """The bounded executor of every CI request's image jobs (module doc)."""

    def __init__(self, limits: Limits, slots: int, admitted: Optional[int] = None):
        self.limits = limits
        self.size = max(1, slots)
        self.per_request = max(1, self.size - 1)
        self.admitted = admitted or 2 * self.size
        self.pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="ci-image")
        self.io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ci-io")
        # asyncio primitives belong to one event loop; an emulator restarted in the same
        # process runs a new loop, so each loop gets its own.
        self._gates: Dict[int, tuple] = {}
        self._lock = threading.Lock()

    def _gate(self) -> tuple:
        loop = asyncio.get_running_loop()
        with self._lock:
            gate = self._gates.get(id(loop))
            if gate is None or gate[0] is not loop:
                gate = (loop, asyncio.Semaphore(self.size), asyncio.Semaphore(self.admitted))
                self._gates[id(loop)] = gate
            return gate

    @asynccontextmanager
    async def slots(self) -> AsyncIterator[None]:
        async with self._gate()[1]:
            yield

    @asynccontextmanager
    async def request(self, client: Optional[Any] = None) -> AsyncIterator[RequestWork]:
        """Admit one request (waiting while ``admitted`` others hold theirs), and watch
        ``client`` (an aiohttp request) for as long as it is admitted. A client gone by the
        time its turn comes is refused (ProcessingCancelled) before anything is read."""
        async with self._gate()[2]:
            if client is not None and client_gone(client):  # it left while queued
                raise ProcessingCancelled("the client went away while the request was queued")
            work = RequestWork(self)
            watcher = asyncio.ensure_future(_watch(client, work)) if client is not None \
                else None
            try:
                yield work
            except asyncio.CancelledError:
                work.cancel()
                raise
            finally:
                if watcher is not None:
                    watcher.cancel()

    async def io_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.io, fn, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.io.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            # each gate holds its loop (the semaphores bind to it): let a stopped
            # emulator's loop go
            self._gates.clear()


def client_gone(request: Any) -> bool:
    """Whether the aiohttp request's connection is closed or closing."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def _watch(request: Any, work: RequestWork) -> None:
    while not client_gone(request):
        await asyncio.sleep(POLL)
    work.cancel()


__all__ = ["ImageWork", "RequestWork", "client_gone", "POLL"]
