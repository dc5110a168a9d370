"""Run the function isolated from the emulator, as SCF runs it, one invocation at a time.

:class:`FunctionInvoker` runs ``main_handler(event, context)`` in a child
process: the same Python (``sys.executable``), the function's source folder as
working directory and ``PYTHONPATH``, and the environment the caller built
(see :mod:`.runtime_env`). The child side is :mod:`.bootstrap`.

Isolation contract: nothing the function does can take the emulator down. An
exception, ``sys.exit``, ``os._exit``, a segfault, a hang past ``timeout``
(the process group is killed), binary garbage or endless lines on stdout all
end as an :class:`InvocationResult` with ``ok=False`` and a
:class:`FunctionFailure` whose ``kind`` and ``message`` say what happened.

Warm workers (``warm=True``, the default): like an SCF container, a worker
process imports the handler once (the cold start) and then serves invocations
until it fails fatally (exit, crash, timeout, import error), at which point it
is killed and the next invocation starts a fresh one. An ordinary exception
keeps the worker warm, as on SCF. ``warm=False`` starts a process per
invocation. Edited function code is picked up by warm workers only once they
are replaced (as on SCF, which needs a redeploy); use ``warm=False`` while
editing.

Logs: every line the function writes to stdout/stderr is handed to
``on_log(request_id, line)`` as it arrives (the dispatcher forwards it,
prefixed, to the emulator's log) and kept in the invocation's ``logs`` up to
``MAX_KEPT_BYTES`` per invocation (then one line says how much was not kept).
Lines printed by the function's background threads between invocations go to
``on_log`` with ``request_id=None``. Lines are cut at ``MAX_LINE_BYTES`` and
decoded as UTF-8 with replacement, so garbage output stays harmless. A return
value whose reply is over ``MAX_REPLY_BYTES`` is not kept (the result is
``None`` and ``InvocationResult.value_omitted`` has its size): memory held per
invocation is bounded in bytes whatever the function prints or returns.

Containment: every process the function starts is killed when its worker is
killed or retired, and when the emulator dies (see :mod:`.bootstrap`'s keeper);
:meth:`_Worker.kill` asks the keeper first and kills the process group as a
last resort.

POSIX only (pipes passed by fd, process groups); full containment on Linux.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from picops.errors import ConfigError, Problem

MAX_LINE_BYTES = 64 * 1024
#: Log bytes kept per invocation (every line is still forwarded to ``on_log``).
MAX_KEPT_BYTES = 256 * 1024
#: Longest reply line (return value or error) read back from the function's process.
MAX_REPLY_BYTES = 1024 * 1024
#: How long the keeper gets to kill the function's processes before the group is killed.
KEEPER_WAIT_S = 3.0
#: How long to wait, after a reply, for the end-of-phase marker on stdout (so all of the
#: phase's lines are captured). Only a function that closed its stdout makes us wait it out.
END_MARKER_WAIT_S = 2.0
#: How long a retiring worker gets to exit on its own before its process group is killed.
RETIRE_WAIT_S = 1.0

LogCallback = Callable[[Optional[str], str], None]

_BOOTSTRAP_SOURCE = (Path(__file__).with_name("bootstrap.py")).read_text(encoding="utf-8")


@dataclass(frozen=True)
class FunctionFailure:
    """Why an execution failed.

    ``kind``: ``exception`` (the handler raised), ``exit`` (``sys.exit``), ``crash``
    (the process died: ``os._exit``, a signal), ``timeout``, ``init`` (importing
    the handler failed), ``bad_result`` (return value not JSON), ``runtime`` (the
    process could not be started or spoke garbage on its control pipe).
    """

    kind: str
    message: str
    error_type: str = ""
    traceback: str = ""

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "message": self.message}
        if self.error_type:
            d["type"] = self.error_type
        if self.traceback:
            d["traceback"] = self.traceback
        return d


@dataclass
class InvocationResult:
    ok: bool
    value: Any = None
    failure: Optional[FunctionFailure] = None
    logs: List[str] = field(default_factory=list)
    duration_s: float = 0.0
    cold_start: bool = False
    value_omitted: int = 0           # size of a reply too large to keep (``value`` is None)
    injected: Optional[str] = None   # "crash" / "timeout": a fault the soak settings injected


class _Sink:
    """Collects one invocation's log lines and forwards each as it arrives."""

    def __init__(self, request_id: Optional[str], forward: Optional[LogCallback]):
        self.request_id = request_id
        self.lines: List[str] = []
        self.kept_bytes = 0
        self.not_kept = 0
        self.not_kept_bytes = 0
        self._forward = forward

    def add(self, line: str) -> None:
        size = len(line.encode("utf-8", "replace")) + 1
        if not self.not_kept and self.kept_bytes + size <= MAX_KEPT_BYTES:
            self.lines.append(line)
            self.kept_bytes += size
        else:
            self.not_kept += 1
            self.not_kept_bytes += size
        if self._forward is not None:
            self._forward(self.request_id, line)


def _describe_exit(returncode: Optional[int]) -> str:
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


class _Worker:
    """One function process and the two threads that read its stdout and its replies."""

    def __init__(self, python: str, function_dir: str, env: Mapping[str, str], handler: str,
                 forward: Optional[LogCallback], sink: Optional[_Sink] = None,
                 site: bool = True):
        self._forward = forward
        self._marker = "\x1epicops-end-" + secrets.token_hex(8)
        self._cond = threading.Condition()
        # set before the reader starts: the cold start's first lines belong to its invocation
        self._sink: Optional[_Sink] = sink
        self._ended: set = set()
        self._stdout_eof = False
        self._replies: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.dead = False

        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                # -s: no user site-packages; -S (site=False): none at all, only PYTHONPATH.
                [python, "-s" if site else "-S", "-c", _BOOTSTRAP_SOURCE, str(req_r),
                 str(resp_w), self._marker, handler, str(MAX_REPLY_BYTES)],
                cwd=function_dir, env=dict(env), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(req_r, resp_w),
                start_new_session=True)  # own process group: a kill takes its children too
        except BaseException:
            os.close(req_w)
            os.close(resp_r)
            raise
        finally:
            os.close(req_r)
            os.close(resp_w)
        self._requests = os.fdopen(req_w, "wb")
        self._resp = os.fdopen(resp_r, "rb")
        for target, name in ((self._read_stdout, "stdout"), (self._read_replies, "replies")):
            threading.Thread(target=target, name=f"picops-fn-{self.proc.pid}-{name}",
                             daemon=True).start()

    # --- reader threads -------------------------------------------------------------

    def _read_stdout(self) -> None:
        stream = self.proc.stdout
        try:
            while True:
                raw = stream.readline(MAX_LINE_BYTES)
                if not raw:
                    break
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                at = text.find(self._marker)
                if at < 0:
                    self._emit(text)
                    continue
                if at > 0:  # the function's last line had no newline
                    self._emit(text[:at])
                with self._cond:
                    self._ended.add(text[at + len(self._marker):].strip())
                    self._cond.notify_all()
        finally:
            stream.close()
            with self._cond:
                self._stdout_eof = True
                self._cond.notify_all()

    def _emit(self, line: str) -> None:
        with self._cond:
            sink = self._sink
        if sink is not None:
            sink.add(line)
        elif self._forward is not None:
            self._forward(None, line)

    def _read_replies(self) -> None:
        try:
            while True:
                raw = self._resp.readline(MAX_REPLY_BYTES + 1)
                if not raw:
                    break
                if len(raw) > MAX_REPLY_BYTES:  # the bootstrap never writes one: garbage
                    self._replies.put({"tag": None, "garbage": f"a reply line over "
                                       f"{MAX_REPLY_BYTES} bytes"})
                    while raw and not raw.endswith(b"\n"):
                        raw = self._resp.readline(MAX_REPLY_BYTES)
                    continue
                try:
                    reply = json.loads(raw)
                except ValueError:
                    reply = {"tag": None, "garbage": raw[:200].decode("utf-8", "replace")}
                self._replies.put(reply if isinstance(reply, dict) else {"tag": None})
        finally:
            self._resp.close()
            self._replies.put(None)

    # --- phases ---------------------------------------------------------------------

    def run(self, tag: str, request: Optional[bytes], timeout: float, sink: _Sink,
            what: str, budget: str) -> Tuple[Optional[dict], Optional[FunctionFailure]]:
        """Send ``request`` (None: just wait for the cold start) and wait for reply ``tag``.

        ``what`` names the phase and ``budget`` where its time limit comes from, for messages.
        """
        with self._cond:
            self._sink = sink
        try:
            return self._run(tag, request, timeout, what, budget)
        finally:
            with self._cond:
                self._sink = None

    def _run(self, tag, request, timeout, what, budget):
        if request is not None:
            try:
                self._requests.write(request)
                self._requests.flush()
            except OSError:
                return None, self._died(what)
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            self._wait_for_output(lambda: self._stdout_eof)
            return None, FunctionFailure(
                "timeout", f"{what} did not finish within {timeout:g} s ({budget}); the "
                "function's process was killed")
        if reply is None:
            return None, self._died(what)
        if reply.get("tag") != tag:
            self.kill()
            return None, FunctionFailure(
                "runtime", f"{what}: the function process wrote something unexpected on the "
                f"runtime's control pipe ({reply.get('garbage', reply)!r}); it was killed")
        self._wait_for_output(lambda: tag in self._ended or self._stdout_eof)
        with self._cond:
            self._ended.discard(tag)
        if reply.get("fatal"):
            self.retire()
        return reply, None

    def _wait_for_output(self, predicate) -> None:
        with self._cond:
            self._cond.wait_for(predicate, timeout=END_MARKER_WAIT_S)

    def _died(self, what: str) -> FunctionFailure:
        try:
            returncode = self.proc.wait(timeout=RETIRE_WAIT_S)
        except subprocess.TimeoutExpired:
            returncode = None
        self.kill()
        self._wait_for_output(lambda: self._stdout_eof)
        return FunctionFailure(
            "crash", f"the function's process {_describe_exit(returncode)} during {what} "
            "(os._exit, a crash or a kill)")

    # --- life cycle -----------------------------------------------------------------

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the function and every process it started (the keeper sweeps them)."""
        self.dead = True
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)  # the keeper's cue to sweep and exit
                self.proc.wait(timeout=KEEPER_WAIT_S)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # last resort; normally nobody is left
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            pass
        self._close_requests()

    def retire(self) -> None:
        """Let the process end on its own (EOF on its requests), then kill what is left."""
        self.dead = True
        self._close_requests()
        try:
            self.proc.wait(timeout=RETIRE_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def _close_requests(self) -> None:
        try:
            self._requests.close()
        except OSError:
            pass


class FunctionInvoker:
    """Invoke ``handler`` in isolated worker processes; thread-safe, one call per worker."""

    def __init__(self, function_dir, env: Mapping[str, str], *, handler: str = "index.main_handler",
                 timeout: float = 3.0, init_timeout: Optional[float] = None, warm: bool = True,
                 on_log: Optional[LogCallback] = None, python: Optional[str] = None,
                 site: bool = True, faults: Optional[Any] = None):
        self.function_dir = str(Path(function_dir).resolve())
        check_function_dir(self.function_dir, handler)
        self.env: Dict[str, str] = dict(env)
        self.handler = handler
        self.timeout = float(timeout)
        # SCF bounds the cold start separately (initTimeout); here it gets the same budget
        # as an invocation unless told otherwise.
        self.init_timeout = float(init_timeout) if init_timeout is not None else self.timeout
        self.warm = warm
        self.on_log = on_log
        self.python = python or sys.executable
        self.site = site
        # a picops_emulator.faults.FunctionFaults (soak tests), or None
        self.faults = faults
        self._lock = threading.Lock()
        self._idle: List[_Worker] = []
        self._busy: set = set()
        self._closed = False
        self._draining = False  # live reload: workers end once idle (see drain)
        self._tags = itertools.count(1)  # phase tags: unique even when a retry reuses a request id

    def invoke(self, event: dict, context: dict, request_id: Optional[str] = None
               ) -> InvocationResult:
        request_id = request_id or str(context.get("request_id", "")) or secrets.token_hex(8)
        sink = _Sink(request_id, self.on_log)
        started = time.monotonic()
        result = self._invoke(event, context, request_id, sink)
        result.logs = sink.lines
        if sink.not_kept:
            result.logs.append(f"[picops emulator: {sink.not_kept} more line(s) "
                               f"({sink.not_kept_bytes} bytes) were logged but not kept; "
                               f"{MAX_KEPT_BYTES} bytes are kept per invocation]")
        result.duration_s = time.monotonic() - started
        return result

    def _invoke(self, event, context, request_id, sink) -> InvocationResult:
        try:
            worker, cold = self._acquire(sink)
        except RuntimeError as exc:
            return InvocationResult(False, failure=FunctionFailure("runtime", str(exc)))
        except OSError as exc:
            return InvocationResult(False, failure=FunctionFailure(
                "runtime", f"could not start the function's process in {self.function_dir}: "
                f"{exc}"))
        try:
            if cold:
                reply, failure = worker.run("init", None, self.init_timeout, sink,
                                            f"the cold start (importing {self.handler})",
                                            "the init timeout")
                if failure is None and not reply.get("ok"):
                    failure = _failure_from(reply, f"importing {self.handler} failed")
                if failure is not None:
                    worker.kill()
                    return InvocationResult(False, failure=failure, cold_start=True)
            tag = f"call-{next(self._tags)}"
            try:
                request = (json.dumps({"tag": tag, "event": event, "context": context})
                           + "\n").encode("utf-8")
            except (TypeError, ValueError) as exc:
                return InvocationResult(False, cold_start=cold, failure=FunctionFailure(
                    "runtime", f"the event or context is not JSON-serialisable: {exc}"))
            reply, failure, injected = self._call(worker, tag, request, sink)
            if failure is not None:
                return InvocationResult(False, failure=failure, cold_start=cold,
                                        injected=injected)
            if reply.get("ok"):
                return InvocationResult(True, value=reply.get("result"), cold_start=cold,
                                        value_omitted=int(reply.get("result_omitted") or 0))
            return InvocationResult(False, failure=_failure_from(reply, "the handler failed"),
                                    cold_start=cold)
        finally:
            self._release(worker)

    def _call(self, worker: _Worker, tag: str, request: bytes, sink: _Sink):
        """Run one call on ``worker``, with the fault the soak settings decide, if any."""
        kind, timeout = (None, self.timeout) if self.faults is None else \
            self.faults.plan(self.timeout)
        budget = "serverless.yml inputs.timeout"
        guard = threading.Lock()
        state = {"done": False}

        def crash() -> None:
            with guard:
                if not state["done"]:
                    worker.kill()

        timer = None
        if kind == "crash":
            timer = threading.Timer(timeout, crash)
            timer.daemon = True
            timer.start()
            timeout = self.timeout
        elif kind == "timeout":
            budget = "a time limit cut by fault injection"
        try:
            reply, failure = worker.run(tag, request, timeout, sink, "the invocation", budget)
        finally:
            with guard:
                state["done"] = True
            if timer is not None:
                timer.cancel()
        if kind is None or failure is None:
            return reply, failure, None
        self.faults.record(kind, kind_seen=failure.kind)
        return reply, FunctionFailure(failure.kind, failure.message + " [fault injected]",
                                      failure.error_type, failure.traceback), kind

    def _acquire(self, sink: _Sink) -> Tuple[_Worker, bool]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the function invoker is closed (emulator shutting down)")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker, False
                worker.kill()
        worker = _Worker(self.python, self.function_dir, self.env, self.handler, self.on_log,
                         sink, self.site)
        with self._lock:
            closed = self._closed
            if not closed:
                self._busy.add(worker)
        if closed:
            worker.kill()
            raise RuntimeError("the function invoker is closed (emulator shutting down)")
        return worker, True

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            keep = self.warm and not (self._closed or self._draining) and worker.alive()
            if keep:
                self._idle.append(worker)
        if not keep and not worker.dead:
            worker.retire()

    def drain(self) -> None:
        """Retire every worker as soon as it is idle, and start no more (live reload).

        Idle workers end now; a running invocation finishes on its worker, which then
        ends. A drained invoker must not be used again: its replacement serves the next
        event with fresh workers (new code, new environment); a call that still reaches
        it runs once on a worker that ends afterwards.
        """
        with self._lock:
            self._draining = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.retire()

    def close(self) -> None:
        """Stop every worker; a running invocation ends as a ``crash`` failure."""
        with self._lock:
            self._closed = True
            workers = self._idle + list(self._busy)
            self._idle = []
        for worker in workers:
            worker.kill()


def _failure_from(reply: dict, fallback: str) -> FunctionFailure:
    error = reply.get("error") or {}
    kind = str(error.get("kind") or "exception")
    error_type = str(error.get("type") or "")
    message = str(error.get("message") or "")
    if kind in ("exception", "init") and error_type:
        message = f"{error_type}: {message}" if message else error_type
    if kind == "init":
        message = f"{fallback}: {message}"
    return FunctionFailure(kind, message or fallback, error_type,
                           str(error.get("traceback") or ""))


def check_function_dir(function_dir: str, handler: str) -> None:
    """Fail early and loudly when the function's source cannot be where we will run it."""
    problems = []
    module, _, func = handler.rpartition(".")
    if not module or not func:
        problems.append(Problem("serverless.yml: inputs.handler",
                                f"{handler!r} is not of the form file.function"))
    if not os.path.isdir(function_dir):
        problems.append(Problem("function_dir", f"{function_dir} is not a directory"))
    elif module:
        base = os.path.join(function_dir, *module.replace(".", "/").split("/"))
        if not (os.path.isfile(base + ".py") or os.path.isdir(base)):
            problems.append(Problem("serverless.yml: inputs.handler",
                                    f"{handler!r} needs {base}.py, which does not exist"))
    if problems:
        raise ConfigError(problems, source="function source")


__all__ = ["FunctionInvoker", "InvocationResult", "FunctionFailure", "check_function_dir",
           "MAX_KEPT_BYTES", "MAX_REPLY_BYTES"]
