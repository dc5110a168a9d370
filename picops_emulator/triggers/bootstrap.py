"""The child side of the isolated function runtime: runs INSIDE the function's process.

Started by :mod:`picops_emulator.triggers.invoker` as
``python -s -c <this file's source> REQ_FD RESP_FD MARKER HANDLER MAX_REPLY`` with the
function's folder as working directory and ``PYTHONPATH``, like SCF's runtime
(which runs ``/var/user`` code with ``PYTHONPATH=/var/user``). Running it with
``-c`` keeps this package's folder off ``sys.path`` and out of ``sys.modules``:
the function imports only what it would import on SCF.

Protocol (stdlib only; the function owns stdout/stderr, so control messages use
two private pipes):

1. import the handler (``file.function``, SCF's handler string): this is the
   cold start. Then end the phase (below) and send ``{"tag": "init", "ok": ...}``.
2. for each request line ``{"tag", "event", "context"}`` on REQ_FD: call
   ``handler(event, context)``, end the phase and send ``{"tag", "ok",
   "result" | "error"}`` on RESP_FD. ``sys.exit`` and other BaseExceptions are
   failures too and end the process (``"fatal": true``), as they would end the
   runtime on SCF.

Ending a phase = flush stdout/stderr, then write ``MARKER TAG`` on a private
copy of fd 1, so the parent knows every log line of the phase has been read
before it reports. Before each invocation fds 1 and 2 and ``sys.stdout``/
``sys.stderr`` are put back if the function closed or replaced them: a function
that closes its stdout loses its own logs for that invocation, never the warm
worker's later ones. A reply longer than MAX_REPLY bytes keeps its tag and
outcome but not its value (``result_omitted``: the size). EOF on REQ_FD ends
the process.

Containment (Linux): the process started is a *keeper*. It makes itself a child
subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``) and forks the runtime above, so
every process the function starts, even one that double-forks and calls
``setsid``, stays its descendant. When the runtime ends, when the keeper gets
SIGTERM (the emulator's kill: timeout, retirement, shutdown) or when its parent
dies (the emulator was killed), it SIGKILLs every descendant, reaps them, and
exits with the runtime's status (a signal death is repeated on itself), so the
parent's view of the exit is the function's. Elsewhere the keeper step is
skipped and the process group kill is the only net.
"""

import importlib
import io
import json
import os
import signal
import sys
import traceback

PR_SET_CHILD_SUBREAPER = 36
#: How often the keeper checks that its parent (the emulator) is still alive.
KEEPER_POLL_S = 0.25

_STDOUT_FD = None  # the runtime's private copy of the stdout pipe (set in _runtime)


# --- the keeper --------------------------------------------------------------------


def _become_subreaper():
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001 - no prctl: run uncontained, the group kill remains
        return False


def _descendants(root):
    """Live (non-zombie) descendants of ``root``, from /proc."""
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            parents.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _reap():
    """Collect every exited child; return {pid: status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def _sweep(me):
    """SIGKILL every descendant until none is left (orphans come back to us)."""
    for _ in range(1000):
        _reap()
        pids = _descendants(me)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _keep(runtime_pid, parent):
    me = os.getpid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # the keeper holds no pipe: EOF means the runtime's end
    os.close(devnull)
    status = None
    while status is None:
        status = _reap().get(runtime_pid)
        if status is not None:
            break
        got = signal.sigtimedwait([signal.SIGCHLD, signal.SIGTERM], KEEPER_POLL_S)
        if (got is not None and got.si_signo == signal.SIGTERM) or os.getppid() != parent:
            status = -1
    _sweep(me)
    if status == -1 or os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status) if status != -1 else signal.SIGKILL
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(sig, signal.SIG_DFL)
        os.kill(me, sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _contain(close_fds):
    """Fork into keeper (never returns) and runtime (returns). No-op when uncontained."""
    if not _become_subreaper():
        return
    parent = os.getppid()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGCHLD, signal.SIGTERM])
    pid = os.fork()
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        return
    for fd in close_fds:
        os.close(fd)
    try:
        _keep(pid, parent)
    finally:
        os._exit(70)


# --- the runtime -------------------------------------------------------------------


def _same_file(fd, other):
    try:
        a, b = os.fstat(fd), os.fstat(other)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _restore_streams():
    """Put fds 1/2 and sys.stdout/sys.stderr back if the function closed or replaced them."""
    for fd in (1, 2):
        if not _same_file(fd, _STDOUT_FD):
            os.dup2(_STDOUT_FD, fd)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        original = getattr(sys, "__%s__" % name)
        if stream is original and stream is not None and not stream.closed:
            continue
        if original is None or original.closed:
            original = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                        errors="backslashreplace", write_through=True)
            setattr(sys, "__%s__" % name, original)
            _rebind_logging(stream, original)
        setattr(sys, name, original)


def _rebind_logging(old, new):
    logging = sys.modules.get("logging")
    if logging is None:
        return
    loggers = [logging.getLogger()] + [
        lg for lg in list(logging.Logger.manager.loggerDict.values())
        if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in list(lg.handlers):
            if isinstance(handler, logging.StreamHandler) and getattr(
                    handler.stream, "closed", False):
                handler.stream = new


def _end_phase(marker, tag):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the function may have replaced or closed it
            pass
    try:
        os.write(_STDOUT_FD, ("%s %s\n" % (marker, tag)).encode("utf-8"))
    except OSError:
        pass  # the pipe is gone: the parent stops waiting for the marker


def _error(kind, exc, message=None):
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next  # drop this file's own frame: show the function's frames only
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": message if message is not None else str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
    }


def _exit_message(exc):
    code = exc.code
    return "the function called sys.exit(%r)" % (code,)


def _send(resp, message):
    resp.write((json.dumps(message) + "\n").encode("utf-8"))
    resp.flush()


def _load(handler_spec):
    module_name, _, function_name = handler_spec.rpartition(".")
    if not module_name or not function_name:
        raise ValueError("handler %r is not of the form file.function" % handler_spec)
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise AttributeError("module %r has no function %r (serverless.yml handler %r)"
                             % (module_name, function_name, handler_spec))
    return handler


def _encode_reply(reply, max_bytes):
    encoded = json.dumps(reply)
    if len(encoded) > max_bytes and "result" in reply:
        size = len(encoded)
        reply = dict(reply)
        del reply["result"]
        reply["result_omitted"] = size
        encoded = json.dumps(reply)
    if len(encoded) > max_bytes:  # an enormous error message or traceback
        error = dict(reply.get("error") or {})
        for name in ("message", "traceback"):
            text = str(error.get(name) or "")
            if len(text) > max_bytes // 4:
                error[name] = text[:max_bytes // 4] + "... [cut at %d characters]" % (
                    max_bytes // 4)
        reply = dict(reply, error=error)
        encoded = json.dumps(reply)
    return encoded


def main():
    global _STDOUT_FD
    req_fd, resp_fd, marker, handler_spec, max_reply = sys.argv[1:6]
    max_reply = int(max_reply)
    sys.argv = sys.argv[:1]
    for fd in (int(req_fd), int(resp_fd)):
        os.set_inheritable(fd, False)  # processes the function starts must not hold them
    _contain((int(req_fd), int(resp_fd)))
    _STDOUT_FD = os.dup(1)  # private: survives the function closing fd 1
    os.set_inheritable(_STDOUT_FD, False)
    requests = os.fdopen(int(req_fd), "rb")
    resp = os.fdopen(int(resp_fd), "wb")

    try:
        handler = _load(handler_spec)
    except SystemExit as exc:
        _end_phase(marker, "init")
        _send(resp, {"tag": "init", "ok": False, "fatal": True,
                     "error": _error("exit", exc, _exit_message(exc))})
        return
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, none escapes
        _end_phase(marker, "init")
        _send(resp, {"tag": "init", "ok": False, "fatal": True, "error": _error("init", exc)})
        return
    _end_phase(marker, "init")
    _send(resp, {"tag": "init", "ok": True})

    for line in requests:
        request = json.loads(line)
        tag = request["tag"]
        fatal = False
        _restore_streams()
        try:
            value = handler(request["event"], request["context"])
            try:
                encoded = _encode_reply({"tag": tag, "ok": True, "result": value}, max_reply)
            except (TypeError, ValueError, RecursionError) as exc:
                encoded = _encode_reply({"tag": tag, "ok": False, "error": _error(
                    "bad_result", exc, "the return value is not JSON-serialisable: %s" % exc)},
                    max_reply)
        except SystemExit as exc:
            fatal = True
            encoded = _encode_reply({"tag": tag, "ok": False, "fatal": True,
                                     "error": _error("exit", exc, _exit_message(exc))},
                                    max_reply)
        except Exception as exc:  # noqa: BLE001
            encoded = _encode_reply({"tag": tag, "ok": False,
                                     "error": _error("exception", exc)}, max_reply)
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, GeneratorExit ...
            fatal = True
            encoded = _encode_reply({"tag": tag, "ok": False, "fatal": True,
                                     "error": _error("exception", exc)}, max_reply)
        _end_phase(marker, tag)
        resp.write((encoded + "\n").encode("utf-8"))
        resp.flush()
        if fatal:
            return


if __name__ == "__main__":
    main()
