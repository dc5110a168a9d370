"""Fault injection (soak tests only): off by default, exact when on, counted."""

import asyncio

import pytest

from picops_emulator.errors import EmulatorError
from picops_emulator.faults import FaultSettings, FaultyCi, FunctionFaults

SLOW = """
    import os, time
    def main_handler(event, context):
        time.sleep(event.get("sleep", 0))
        return {"pid": os.getpid()}
"""


def test_settings_are_off_by_default_and_checked():
    assert not FaultSettings().enabled
    problems = FaultSettings(ci_errors=1.5, function_crashes=0.7, function_timeouts=0.7).problems()
    assert {p.where for p in problems} == {"faults.ci_errors", "faults"}


@pytest.mark.parametrize("kind", ["crash", "timeout"])
def test_an_injected_function_fault_fails_the_invocation_mid_way(invoker_for, kind):
    settings = FaultSettings(**{f"function_{kind}es" if kind == "crash" else "function_timeouts":
                                1.0}, seed=1)
    faults = FunctionFaults(settings)
    inv = invoker_for(SLOW, timeout=30.0, faults=faults)
    result = inv.invoke({"sleep": 2}, {"request_id": "r"}, "r")
    assert not result.ok and result.injected == kind
    assert result.failure.kind == kind and result.failure.message.endswith("[fault injected]")
    assert faults.counter.counts == {f"function_{kind}": 1}
    inv.faults = None  # off again: the next invocation runs normally
    assert inv.invoke({}, {"request_id": "s"}, "s").ok


class _Ctx:
    operation, bucket, key = "image_process", "b-1", "k"


class _Backend:
    operations = frozenset({"image_process"})

    def __init__(self):
        self.calls = 0

    async def handle(self, ctx):
        self.calls += 1
        return "answer"


def test_faulty_ci_fails_before_or_after_the_work():
    before = FaultyCi(_Backend(), FaultSettings(ci_errors=1.0, seed=3))
    with pytest.raises(EmulatorError) as e:
        asyncio.run(before.handle(_Ctx()))
    assert e.value.code in ("SlowDown", "InternalError") and before.inner.calls == 0
    after = FaultyCi(_Backend(), FaultSettings(ci_errors_after=1.0, seed=3))
    with pytest.raises(EmulatorError) as e:
        asyncio.run(after.handle(_Ctx()))
    assert e.value.code == "InternalError" and after.inner.calls == 1  # the work was done
    assert after.operations == frozenset({"image_process"})
    off = FaultyCi(_Backend(), FaultSettings())
    assert asyncio.run(off.handle(_Ctx())) == "answer"
