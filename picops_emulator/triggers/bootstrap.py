"""The child side of the isolated function runtime: runs INSIDE the function's process.

Started by :mod:`picops_emulator.triggers.invoker` as
``python -s -c <this file's source> REQ_FD RESP_FD MARKER HANDLER`` with the
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

Ending a phase = flush stdout/stderr, then write ``MARKER TAG`` on fd 1, so the
parent knows every log line of the phase has been read before it reports.
EOF on REQ_FD ends the process.
"""

import importlib
import json
import os
import sys
import traceback


def _end_phase(marker, tag):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the function may have replaced or closed it
            pass
    try:
        os.write(1, ("%s %s\n" % (marker, tag)).encode("utf-8"))
    except OSError:
        pass  # fd 1 closed by the function: the parent stops waiting for the marker


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


def main():
    req_fd, resp_fd, marker, handler_spec = sys.argv[1:5]
    sys.argv = sys.argv[:1]
    for fd in (int(req_fd), int(resp_fd)):
        os.set_inheritable(fd, False)  # processes the function starts must not hold them
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
        try:
            value = handler(request["event"], request["context"])
            try:
                reply = {"tag": tag, "ok": True, "result": value}
                encoded = json.dumps(reply)
            except (TypeError, ValueError) as exc:
                reply = {"tag": tag, "ok": False, "error": _error(
                    "bad_result", exc, "the return value is not JSON-serialisable: %s" % exc)}
                encoded = json.dumps(reply)
        except SystemExit as exc:
            fatal = True
            encoded = json.dumps({"tag": tag, "ok": False, "fatal": True,
                                  "error": _error("exit", exc, _exit_message(exc))})
        except Exception as exc:  # noqa: BLE001
            encoded = json.dumps({"tag": tag, "ok": False, "error": _error("exception", exc)})
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, GeneratorExit ...
            fatal = True
            encoded = json.dumps({"tag": tag, "ok": False, "fatal": True,
                                  "error": _error("exception", exc)})
        _end_phase(marker, tag)
        resp.write((encoded + "\n").encode("utf-8"))
        resp.flush()
        if fatal:
            return


if __name__ == "__main__":
    main()
