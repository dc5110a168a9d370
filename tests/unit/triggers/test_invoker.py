"""The function runs isolated: nothing it does takes the emulator (this test process) down."""

import os
import threading

import pytest

from picops.errors import ConfigError
from picops_emulator.triggers.invoker import (MAX_KEPT_BYTES, MAX_LINE_BYTES, MAX_REPLY_BYTES,
                                              FunctionInvoker)

from .conftest import ENV

EVENT = {"Records": [{"n": 1}]}

BASIC = """
    import os
    CALLS = []
    def main_handler(event, context):
        CALLS.append(1)
        print("handling", context["request_id"])
        return {"pid": os.getpid(), "calls": len(CALLS), "n": event["Records"][0]["n"]}
"""


def call(inv, request_id="req-1", event=EVENT):
    return inv.invoke(event, {"request_id": request_id}, request_id)


def process_running(pid):
    """False when ``pid`` is gone or a zombie nobody reaped yet (it was killed)."""
    if not os.path.isdir("/proc"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def assert_still_serves(inv):
    """After a failure the same invoker runs the next invocation normally."""
    result = call(inv, "req-after")
    assert result.ok, result.failure
    assert result.value["n"] == 1


def test_returns_value_and_captures_log_lines(invoker_for):
    inv = invoker_for("""
        import logging, sys
        print("cold start line")
        def main_handler(event, context):
            print("first line")
            print("second", "line")
            logging.warning("via logging")
            sys.stderr.write("to stderr\\n")
            sys.stdout.write("last line without newline")
            return {"echo": event, "request": context["request_id"]}
    """)
    seen = []
    inv.on_log = lambda rid, line: seen.append((rid, line))
    result = call(inv, "req-42")
    assert result.ok and result.failure is None
    assert result.value == {"echo": EVENT, "request": "req-42"}
    assert result.cold_start
    assert result.logs == ["cold start line", "first line", "second line",
                           "WARNING:root:via logging", "to stderr", "last line without newline"]
    assert seen == [("req-42", line) for line in result.logs]


def test_warm_worker_is_reused_and_imports_once(invoker_for):
    inv = invoker_for(BASIC)
    first, second = call(inv, "a"), call(inv, "b")
    assert first.cold_start and not second.cold_start
    assert first.value["pid"] == second.value["pid"]
    assert second.value["calls"] == 2
    assert second.logs == ["handling b"]


def test_not_warm_starts_a_process_per_invocation(invoker_for):
    inv = invoker_for(BASIC, warm=False)
    first, second = call(inv, "a"), call(inv, "b")
    assert first.cold_start and second.cold_start
    assert first.value["pid"] != second.value["pid"]
    assert second.value["calls"] == 1


def test_exception_is_a_failed_execution_and_keeps_the_worker_warm(invoker_for):
    inv = invoker_for("""
        import os
        def main_handler(event, context):
            if event.get("boom"):
                print("about to fail")
                raise ValueError("bad thing in " + context["request_id"])
            return {"pid": os.getpid(), "n": 1}
    """)
    warm = call(inv)
    result = call(inv, "req-boom", {"boom": True})
    assert not result.ok
    assert result.failure.kind == "exception"
    assert result.failure.message == "ValueError: bad thing in req-boom"
    assert result.failure.error_type == "ValueError"
    assert "index.py" in result.failure.traceback and "main_handler" in result.failure.traceback
    assert "<string>" not in result.failure.traceback  # the runtime's own frame is hidden
    assert result.logs == ["about to fail"]
    after = call(inv)
    assert after.ok and not after.cold_start and after.value["pid"] == warm.value["pid"]


def test_sys_exit_fails_and_the_next_invocation_cold_starts(invoker_for):
    inv = invoker_for("""
        import os, sys
        def main_handler(event, context):
            if event.get("exit"):
                print("exiting")
                sys.exit(3)
            return {"pid": os.getpid(), "n": 1}
    """)
    before = call(inv)
    result = call(inv, "x", {"exit": True})
    assert not result.ok
    assert result.failure.kind == "exit"
    assert "sys.exit(3)" in result.failure.message
    assert result.logs == ["exiting"]
    after = call(inv)
    assert after.ok and after.cold_start and after.value["pid"] != before.value["pid"]


def test_os_exit_is_a_crash_with_its_status(invoker_for):
    inv = invoker_for("""
        import os
        def main_handler(event, context):
            if event.get("die"):
                print("dying")
                os._exit(7)
            return {"n": 1}
    """)
    result = call(inv, "x", {"die": True})
    assert not result.ok
    assert result.failure.kind == "crash"
    assert "exited with status 7" in result.failure.message
    assert result.logs == ["dying"]
    assert_still_serves(inv)


def test_killed_by_a_signal_is_named(invoker_for):
    inv = invoker_for("""
        import os, signal
        def main_handler(event, context):
            if event.get("die"):
                os.kill(os.getpid(), signal.SIGSEGV)
            return {"n": 1}
    """)
    result = call(inv, "x", {"die": True})
    assert result.failure.kind == "crash"
    assert "SIGSEGV" in result.failure.message
    assert_still_serves(inv)


def test_hang_past_timeout_is_killed_with_its_children(invoker_for, tmp_path):
    pidfile = tmp_path / "child.pid"
    inv = invoker_for(f"""
        import subprocess, sys
        def main_handler(event, context):
            if event.get("hang"):
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                open({str(pidfile)!r}, "w").write(str(child.pid))
                print("looping forever")
                while True:
                    pass
            return {{"n": 1}}
    """, timeout=1.0)
    result = call(inv, "x", {"hang": True})
    assert not result.ok
    assert result.failure.kind == "timeout"
    assert "within 1 s (serverless.yml inputs.timeout)" in result.failure.message
    assert result.logs == ["looping forever"]
    assert not process_running(int(pidfile.read_text()))  # the whole process group went down
    assert_still_serves(inv)


def test_hang_while_importing_is_bounded_by_init_timeout(invoker_for):
    inv = invoker_for("""
        import time
        print("importing")
        while True:
            time.sleep(0.01)
        def main_handler(event, context):
            return 1
    """, timeout=5.0, init_timeout=0.5)
    result = call(inv)
    assert not result.ok and result.cold_start
    assert result.failure.kind == "timeout"
    assert "cold start" in result.failure.message and "init timeout" in result.failure.message
    assert_still_serves_nothing_hung(inv)


def assert_still_serves_nothing_hung(inv):
    """The hung worker was killed: no process of this invoker is left running."""
    assert inv._busy == set() and inv._idle == []


def test_import_error_is_an_init_failure_naming_the_error(invoker_for):
    inv = invoker_for("""
        import definitely_not_a_module_picops
        def main_handler(event, context):
            return 1
    """)
    result = call(inv)
    assert not result.ok and result.cold_start
    assert result.failure.kind == "init"
    assert "importing index.main_handler failed" in result.failure.message
    assert "ModuleNotFoundError" in result.failure.message
    assert "definitely_not_a_module_picops" in result.failure.message


def test_missing_handler_function_is_an_init_failure(invoker_for):
    inv = invoker_for("def other(event, context):\n    return 1\n")
    result = call(inv)
    assert result.failure.kind == "init"
    assert "has no function 'main_handler'" in result.failure.message


def test_other_handler_string_from_serverless_yml(function_dir):
    folder = function_dir("def run(event, context):\n    return 'from app'\n", name="app.py")
    inv = FunctionInvoker(folder, ENV, handler="app.run")
    try:
        assert call(inv).value == "from app"
    finally:
        inv.close()


def test_garbage_and_huge_lines_on_stdout_are_harmless(invoker_for):
    inv = invoker_for(f"""
        import os, sys
        def main_handler(event, context):
            sys.stdout.buffer.write(bytes(range(256)) * 40)
            sys.stdout.buffer.write(b"\\n" + b"x" * ({MAX_LINE_BYTES} * 2 + 10) + b"\\n")
            sys.stdout.buffer.write(b"\\xff\\xfe broken utf-8\\n")
            return {{"n": 1}}
    """)
    result = call(inv)
    assert result.ok, result.failure
    assert all(isinstance(line, str) for line in result.logs)
    assert max(len(line) for line in result.logs) <= MAX_LINE_BYTES
    assert sum(line.count("x") for line in result.logs) >= MAX_LINE_BYTES * 2 + 10
    assert result.logs[-1] == "\ufffd\ufffd broken utf-8"
    assert_still_serves(inv)


def test_kept_log_bytes_are_capped_but_all_lines_are_forwarded(invoker_for):
    # 10,000 lines of 1 KiB: about 10 MB printed, at most MAX_KEPT_BYTES kept
    inv = invoker_for("""
        def main_handler(event, context):
            line = "y" * 1023
            for i in range(10000):
                print(line)
            return 1
    """)
    forwarded = []
    inv.on_log = lambda rid, line: forwarded.append(line)
    result = call(inv)
    assert result.ok
    assert len(forwarded) == 10000
    kept = result.logs[:-1]
    assert kept == forwarded[:len(kept)]
    assert sum(len(line) + 1 for line in kept) <= MAX_KEPT_BYTES
    assert len(kept) == MAX_KEPT_BYTES // 1024
    assert f"{10000 - len(kept)} more line(s) ({(10000 - len(kept)) * 1024} bytes)" in \
        result.logs[-1]


def test_a_huge_return_value_is_not_kept_and_the_worker_stays(invoker_for):
    inv = invoker_for("""
        import os
        def main_handler(event, context):
            if event.get("huge"):
                return {"blob": "z" * (8 * 1024 * 1024)}
            return {"pid": os.getpid(), "n": 1}
    """)
    first = call(inv)
    result = call(inv, "x", {"huge": True})
    assert result.ok and result.value is None
    assert result.value_omitted > MAX_REPLY_BYTES
    assert call(inv).value["pid"] == first.value["pid"]


def test_a_huge_exception_message_is_cut(invoker_for):
    inv = invoker_for("""
        def main_handler(event, context):
            raise ValueError("m" * (8 * 1024 * 1024))
    """)
    result = call(inv)
    assert result.failure.kind == "exception"
    assert len(result.failure.message) < MAX_REPLY_BYTES
    assert "[cut at" in result.failure.message


def test_non_json_return_value_fails_but_keeps_worker(invoker_for):
    inv = invoker_for("""
        import os
        def main_handler(event, context):
            if event.get("bad"):
                return {"when": object()}
            return {"pid": os.getpid(), "n": 1}
    """)
    first = call(inv)
    result = call(inv, "x", {"bad": True})
    assert result.failure.kind == "bad_result"
    assert "not JSON-serialisable" in result.failure.message
    assert call(inv).value["pid"] == first.value["pid"]


def test_writing_to_the_control_pipe_is_caught(invoker_for):
    # fds above 2 are the runtime's; a function scribbling on them must not confuse the emulator
    inv = invoker_for("""
        import os
        def main_handler(event, context):
            if event.get("scribble"):
                for fd in [int(name) for name in os.listdir("/proc/self/fd") if int(name) > 2]:
                    try:
                        os.write(fd, b"not json at all\\n")
                    except OSError:
                        pass
                return {"n": 2}
            return {"n": 1}
    """)
    result = call(inv, "x", {"scribble": True})
    assert not result.ok
    assert result.failure.kind == "runtime"
    assert "control pipe" in result.failure.message and "not json at all" in result.failure.message
    assert_still_serves(inv)


def test_close_kills_a_running_invocation(invoker_for):
    inv = invoker_for("""
        import time
        def main_handler(event, context):
            print("started")
            time.sleep(600)
    """, timeout=600)
    started = threading.Event()
    inv.on_log = lambda rid, line: started.set()
    results = []
    thread = threading.Thread(target=lambda: results.append(call(inv)))
    thread.start()
    assert started.wait(30)
    inv.close()
    thread.join(30)
    assert not thread.is_alive()
    assert results[0].failure.kind == "crash"
    after = call(inv)
    assert after.failure.kind == "runtime" and "closed" in after.failure.message


def test_concurrent_invocations_use_separate_workers(invoker_for):
    inv = invoker_for("""
        import os, threading
        def main_handler(event, context):
            return {"pid": os.getpid(), "n": 1}
    """)
    gate = threading.Barrier(2)
    results = []

    def run():
        gate.wait()
        results.append(call(inv))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r.ok for r in results) and len(results) == 2


def test_missing_function_source_is_a_config_error(tmp_path, function_dir):
    with pytest.raises(ConfigError, match="is not a directory"):
        FunctionInvoker(tmp_path / "nope", ENV)
    folder = function_dir("x = 1\n", name="other.py")
    with pytest.raises(ConfigError, match="index.py, which does not exist"):
        FunctionInvoker(folder, ENV)
    with pytest.raises(ConfigError, match="file.function"):
        FunctionInvoker(folder, ENV, handler="nodot")
