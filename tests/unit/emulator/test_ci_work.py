"""The CI layer's image work scheduler (picops_emulator/ci/work.py) on its own: admission,
per-request share, deadline start, and the client watch, with a fake client connection."""

import asyncio
import threading

import pytest

from picops_emulator.ci import work as work_module
from picops_emulator.ci.work import ImageWork
from picops_emulator.imaging import Limits, ProcessingCancelled


class Transport:
    def __init__(self):
        self.closing = False

    def is_closing(self):
        return self.closing


class Client:
    """What the watch reads of an aiohttp request: its transport (None once closed)."""

    def __init__(self):
        self.transport = Transport()


@pytest.fixture
def work():
    scheduler = ImageWork(Limits(), slots=2)
    yield scheduler
    scheduler.close()


def test_a_client_gone_while_queued_is_refused_before_anything_runs(work):
    client = Client()
    client.transport = None

    async def main():
        async with work.request(client):
            pytest.fail("a request whose client had gone was admitted")

    with pytest.raises(ProcessingCancelled, match="while the request was queued"):
        asyncio.run(main())


def test_the_watch_cancels_a_running_job_when_the_client_leaves(work, monkeypatch):
    monkeypatch.setattr(work_module, "POLL", 0.01)
    client, started = Client(), threading.Event()

    def job(deadline):
        started.set()
        while not deadline.cancelled.wait(0.01):
            pass
        deadline.check()  # raises ProcessingCancelled

    async def main():
        async with work.request(client) as request:
            running = asyncio.ensure_future(request.run(job))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            client.transport.closing = True
            with pytest.raises(ProcessingCancelled):
                await asyncio.wait_for(running, 10)
            with pytest.raises(ProcessingCancelled, match="client went away"):
                await request.run(lambda deadline: "never runs")

    asyncio.run(main())


def test_one_request_runs_at_most_slots_minus_one_jobs_and_its_deadline_starts_with_them(work):
    running, peak, lock = [0], [0], threading.Lock()

    def job(deadline):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        threading.Event().wait(0.05)
        with lock:
            running[0] -= 1
        return deadline

    async def main():
        async with work.request() as request:
            assert request.deadline is None  # waiting for a slot does not count
            deadlines = await asyncio.gather(*(request.run(job) for _ in range(4)))
        return request, deadlines

    request, deadlines = asyncio.run(main())
    assert peak[0] == 1 == work.per_request
    assert all(d is request.deadline for d in deadlines)
    assert request.deadline.seconds == Limits().max_request_seconds


def test_the_gates_follow_the_event_loop(work):
    async def once():
        async with work.request() as request:
            return await request.run(lambda deadline: 7)

    assert asyncio.run(once()) == 7
    assert asyncio.run(once()) == 7  # a restarted emulator runs a new loop
