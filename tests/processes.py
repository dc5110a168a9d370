"""Subprocesses the tests start (emulators, soaks): one way to stop them."""

from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM ``proc`` and wait up to ``timeout`` seconds for it to exit, then SIGKILL it
    (and reap it). A process that has already exited is only reaped."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
