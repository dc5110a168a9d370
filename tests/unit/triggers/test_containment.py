"""Every process a function starts ends with its worker: timeouts, retirement, shutdown and
the emulator's own death; and a function that closes its stdout keeps its worker usable."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from picops_emulator.triggers import invoker

from .conftest import ENV
from .test_invoker import call, process_running

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="containment relies on Linux's child subreaper")

#: A function that starts a daemon the classic way (fork, setsid, fork again), so the
#: daemon is in another session and process group and its parent is gone.
DAEMON = """
    import os, sys, time
    PIDFILE = {pidfile!r}

    def start_daemon():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open(PIDFILE + ".tmp", "w") as fh:
                    fh.write(str(os.getpid()))
                os.rename(PIDFILE + ".tmp", PIDFILE)
                time.sleep(600)
                os._exit(0)
            os._exit(0)
        while not os.path.exists(PIDFILE):
            time.sleep(0.01)

    def main_handler(event, context):
        start_daemon()
        if event.get("hang"):
            while True:
                time.sleep(1)
        return {{"pid": os.getpid(), "n": 1}}
"""


def daemon_pid(pidfile):
    pid = int(pidfile.read_text())
    assert process_running(pid)
    return pid


def gone_within(pid, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_running(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_setsid_daemon_does_not_survive_the_timeout(invoker_for, tmp_path):
    pidfile = tmp_path / "daemon.pid"
    inv = invoker_for(DAEMON.format(pidfile=str(pidfile)), timeout=2.0)
    result = call(inv, "x", {"hang": True})
    assert result.failure.kind == "timeout"
    assert gone_within(int(pidfile.read_text()))


def test_a_setsid_daemon_does_not_survive_the_shutdown(invoker_for, tmp_path):
    pidfile = tmp_path / "daemon.pid"
    inv = invoker_for(DAEMON.format(pidfile=str(pidfile)))
    result = call(inv)
    assert result.ok, result.failure
    pid = daemon_pid(pidfile)
    inv.close()
    assert gone_within(pid)


def test_a_setsid_daemon_does_not_survive_a_crash_of_its_function(invoker_for, tmp_path):
    pidfile = tmp_path / "daemon.pid"
    inv = invoker_for(DAEMON.format(pidfile=str(pidfile)).replace(
        'return {"pid"', 'os._exit(3)\n        return {"pid"'))
    result = call(inv)
    assert result.failure.kind == "crash" and "exited with status 3" in result.failure.message
    assert gone_within(int(pidfile.read_text()))


def test_a_setsid_daemon_does_not_survive_a_kill_9_of_the_emulator(tmp_path, function_dir):
    pidfile = tmp_path / "daemon.pid"
    folder = function_dir(DAEMON.format(pidfile=str(pidfile)))
    host = textwrap.dedent(f"""
        import os, sys
        from picops_emulator.triggers import invoker
        inv = invoker.FunctionInvoker({str(folder)!r}, {ENV!r}, timeout=30)
        result = inv.invoke({{"n": 1}}, {{"request_id": "r"}}, "r")
        assert result.ok, result.failure
        print("ready", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", host], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        pid = daemon_pid(pidfile)
        proc.send_signal(signal.SIGKILL)  # no clean-up code runs in the host
        proc.wait(10)
        assert gone_within(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_retiring_a_worker_ends_what_its_function_left_running(invoker_for, tmp_path):
    pidfile = tmp_path / "daemon.pid"
    source = DAEMON.format(pidfile=str(pidfile)).replace(
        'return {"pid"', 'sys.exit(0)\n        return {"pid"')
    inv = invoker_for(source)
    result = call(inv)
    assert result.failure.kind == "exit"  # fatal: the worker is retired, not kept warm
    assert gone_within(int(pidfile.read_text()))


@pytest.mark.parametrize("closing", [
    "sys.stdout.close()",
    "sys.stdout.close(); sys.stderr.close()",
    "os.close(1); os.close(2)",
    "sys.stdout = None",
    "fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)",
])
def test_a_function_that_closes_its_stdout_keeps_a_usable_warm_worker(invoker_for, closing,
                                                                      monkeypatch):
    # a lost end-of-phase marker would make each later call wait this long: unmistakable
    monkeypatch.setattr(invoker, "END_MARKER_WAIT_S", 30.0)
    inv = invoker_for(f"""
        import logging, os, sys
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        def main_handler(event, context):
            if event.get("close"):
                {closing}
                return {{"pid": os.getpid()}}
            print("printed", context["request_id"])
            logging.getLogger("fn").info("logged %s", context["request_id"])
            return {{"pid": os.getpid()}}
    """, timeout=5.0)
    first = call(inv, "one", {"close": True})
    assert first.ok, first.failure
    started = time.monotonic()
    later = [call(inv, f"later-{i}") for i in range(3)]
    for i, result in enumerate(later):
        assert result.ok, result.failure
        assert result.value["pid"] == first.value["pid"]  # the same warm worker
        assert result.logs == [f"printed later-{i}", f"logged later-{i}"]
    # no invocation waited out the end-of-phase marker (3 x 30 s)
    assert time.monotonic() - started < 30.0
