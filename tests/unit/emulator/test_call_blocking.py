"""Call.blocking: pool work a cancelled handler can neither cut short nor lose."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from picops_emulator.cos.call import Call


def _call(executor) -> Call:
    call = Call.__new__(Call)  # only .state.executor is used by blocking
    object.__setattr__(call, "state", SimpleNamespace(executor=executor))
    return call


def test_a_result_the_cancelled_handler_never_gets_is_undone():
    """A temp file begun on the pool while the handler was cancelled (the server
    stopping) is removed, not left behind with nobody holding it."""
    started, release, undone = threading.Event(), threading.Event(), []

    def begin():
        started.set()
        release.wait(10)
        return "pending-write"

    async def scenario():
        with ThreadPoolExecutor(2) as pool:
            call = _call(pool)
            task = asyncio.ensure_future(call.blocking(begin, undo=undone.append))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            task.cancel()
            await asyncio.sleep(0.05)
            assert not task.done() and undone == []   # waits for begin, never cuts it
            release.set()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
            return "finished"

    assert asyncio.run(scenario()) == "cancelled"
    assert undone == ["pending-write"]


def test_nothing_is_undone_when_the_work_failed_or_the_handler_got_its_result():
    undone = []

    def fail():
        raise OSError("disk full")

    async def scenario():
        with ThreadPoolExecutor(1) as pool:
            call = _call(pool)
            assert await call.blocking(lambda: 7, undo=undone.append) == 7
            try:
                await call.blocking(fail, undo=undone.append)
            except OSError as e:
                return str(e)

    assert asyncio.run(scenario()) == "disk full"
    assert undone == []
