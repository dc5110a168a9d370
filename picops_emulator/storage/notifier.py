"""Delivering :class:`~picops_emulator.notifications.ObjectChanged` to registered listeners.

Contract:
- The store calls :meth:`ChangeNotifier.emit` right after a change is committed (after the
  sidecar rename or removal), from whatever thread committed it.
- Once bound to the server's event loop (:meth:`bind`), listeners are called ON THAT LOOP's
  thread, in emission order (``call_soon``/``call_soon_threadsafe`` share one FIFO). A commit
  made by a request handler is therefore delivered before the handler resumes and before any
  later commit (e.g. the CI outputs of that same upload). Unbound, listeners run inline.
- A listener must return quickly (enqueue and go). If one raises, the exception is logged
  with its traceback and the other listeners still run; the request is never affected
  (delivery happens outside the request's code path).
- An *inline* listener (``add_listener(listener, inline=True)``; the trigger dispatcher,
  which journals the event) is called first, synchronously, in the committing thread,
  before :meth:`ChangeNotifier.emit` returns, so before the write is acknowledged. It may
  block briefly (an fsync), and its exception propagates to the committer: a change whose
  event could not be kept is not acknowledged (the client sees an error and retries).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import List, Optional

from ..notifications import ChangeListener, ObjectChanged

log = logging.getLogger("picops_emulator.notifications")


class ChangeNotifier:
    def __init__(self) -> None:
        self._listeners: List[ChangeListener] = []
        self._inline: List[ChangeListener] = []
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def unbind(self) -> None:
        self._loop = None
        self._loop_thread = None

    def add_listener(self, listener: ChangeListener, inline: bool = False) -> None:
        with self._lock:
            (self._inline if inline else self._listeners).append(listener)

    def remove_listener(self, listener: ChangeListener) -> None:
        with self._lock:
            if listener in self._inline:
                self._inline.remove(listener)
            else:
                self._listeners.remove(listener)

    def emit(self, change: ObjectChanged) -> None:
        with self._lock:
            inline = list(self._inline)
        for listener in inline:
            listener(change)
        loop = self._loop
        if loop is None or loop.is_closed():
            self._deliver(change)
        elif threading.get_ident() == self._loop_thread:
            loop.call_soon(self._deliver, change)
        else:
            try:
                loop.call_soon_threadsafe(self._deliver, change)
            except RuntimeError:  # loop closed between the check and the call
                self._deliver(change)

    def _deliver(self, change: ObjectChanged) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:
                log.exception("change listener %r failed on %s %s/%s", listener,
                              change.event_name, change.bucket, change.key)


__all__ = ["ChangeNotifier"]
