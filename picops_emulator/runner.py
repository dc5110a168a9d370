"""Starting and stopping the emulator: blocking (``serve``) or in a background thread.

Contract:
- :func:`serve` validates the settings, opens the store (creating ``buckets_to_create``),
  binds ``settings.host`` (loopback only), prints exactly ONE line once requests can be
  served — ``picops emulator listening on http://127.0.0.1:PORT (data: DIR)`` — calls
  ``on_ready(handle)`` (e.g. to register the trigger dispatcher's listener), and blocks
  until SIGINT/SIGTERM or ``handle.stop()``.
- :func:`start_in_thread` does the same on its own event loop in a daemon thread and
  returns a :class:`RunningEmulator` once the port is bound (``port=0`` picks a free port;
  read it from ``.port``). Start-up failures are raised in the caller.
- :meth:`RunningEmulator.add_listener` registers a ``notifications.ChangeListener``; it is
  called on the server's loop thread after every committed create/delete (see
  ``storage.notifier``). :meth:`RunningEmulator.stop` is idempotent and waits for a clean
  shutdown (in-flight requests get a short grace period).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TextIO

from aiohttp import web

from .notifications import ChangeListener
from .server.app import AccessLogger, build_app
from .server.header_sizes import PARSER_FIELD_BYTES
from .settings import EmulatorSettings
from .storage import ChangeNotifier, Store

log = logging.getLogger("picops_emulator")

SHUTDOWN_GRACE_SECONDS = 5.0
LINGER_SECONDS = 10.0  # aiohttp's default drain of an unread body after an early answer
# Completed multipart uploads and copies are not bound by the single-PUT cap; COS's object
# size limit is about 48.8 TB.
MAX_OBJECT_BYTES = 50 * 1024 ** 4


class RunningEmulator:
    """A started emulator: where it listens, its store, its listeners, and how to stop it."""

    def __init__(self, settings: EmulatorSettings, store: Store,
                 loop: asyncio.AbstractEventLoop, stop_event: asyncio.Event, port: int,
                 thread: Optional[threading.Thread] = None):
        self.settings = settings
        self.store = store
        self.port = port
        self._loop = loop
        self._stop_event = stop_event
        self._thread = thread
        self._stopped = False

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    def add_listener(self, listener: ChangeListener, inline: bool = False) -> None:
        """``inline``: called in the committing thread before the write is acknowledged
        (see ``storage.notifier``)."""
        self.store.notifier.add_listener(listener, inline=inline)

    def remove_listener(self, listener: ChangeListener) -> None:
        self.store.notifier.remove_listener(listener)

    def stop(self, timeout: float = 30.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        except RuntimeError:
            pass  # the loop is already gone
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def open_store(settings: EmulatorSettings) -> Store:
    store = Store(Path(settings.data_dir), max_object_bytes=MAX_OBJECT_BYTES,
                  fsync=settings.fsync, notifier=ChangeNotifier())
    try:
        for bucket in settings.buckets_to_create:
            store.create_bucket(bucket, settings.region, exist_ok=True)
    except BaseException:
        store.close()
        raise
    return store


async def _lifecycle(settings: EmulatorSettings, store: Store,
                     on_started: Callable[[RunningEmulator], None],
                     thread: Optional[threading.Thread], front: Sequence[Any] = ()) -> None:
    """Serve until the stop event; the store is closed on every way out (it owns the lock)."""
    try:
        loop = asyncio.get_running_loop()
        stop_event = asyncio.Event()
        # keepalive_timeout also bounds a new connection's wait for its first complete
        # request head (aiohttp arms it at connect): a slow or silent client is closed.
        # After an answer given before the body was read (an error, a RequestTimeout), the
        # rest of the body is drained for at most lingering_time, then the socket closed.
        idle = settings.idle_timeout_seconds
        runner = web.AppRunner(build_app(settings, store, front),
                               shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
                               keepalive_timeout=idle,
                               lingering_time=min(LINGER_SECONDS, idle),
                               access_log=logging.getLogger("picops_emulator.access"),
                               access_log_class=AccessLogger,
                               # a header over picops's limits (or a key over COS's) is
                               # answered in XML (server.header_sizes, naming); only
                               # beyond this bound by aiohttp's plain-text 400
                               max_field_size=PARSER_FIELD_BYTES,
                               max_line_size=PARSER_FIELD_BYTES)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.host, settings.port)
            await site.start()
            port = int(runner.addresses[0][1])
            store.notifier.bind(loop)
            on_started(RunningEmulator(settings, store, loop, stop_event, port, thread))
            await stop_event.wait()
        finally:
            store.notifier.unbind()
            await runner.cleanup()
    finally:
        store.close()


def start_in_thread(settings: EmulatorSettings, *,
                    front: Callable[[Store], Sequence[Any]] = lambda store: ()
                    ) -> RunningEmulator:
    """``front(store)``: middlewares put before the COS pipeline (e.g. the console's)."""
    settings.validate()
    store = open_store(settings)
    ready = threading.Event()
    box: dict = {}

    def started(handle: RunningEmulator) -> None:
        box["handle"] = handle
        ready.set()

    def run() -> None:
        try:
            asyncio.run(_lifecycle(settings, store, started, threading.current_thread(),
                                   front(store)))
        except BaseException as exc:  # surfaced to the caller if start-up failed
            box["error"] = exc
            if ready.is_set():
                log.exception("the emulator's event loop failed")
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="picops-emulator", daemon=True)
    thread.start()
    ready.wait()
    if "handle" not in box:
        raise box.get("error") or RuntimeError("the emulator did not start")
    return box["handle"]


def serve(settings: EmulatorSettings, *,
          on_ready: Optional[Callable[[RunningEmulator], None]] = None,
          out: TextIO = sys.stdout,
          front: Callable[[Store], Sequence[Any]] = lambda store: (),
          announce: Optional[Callable[[RunningEmulator], str]] = None) -> None:
    """``announce(handle)``: more lines printed right after the ready line."""
    settings.validate()
    store = open_store(settings)

    def started(handle: RunningEmulator) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, handle.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread / platform
                pass
        if on_ready is not None:
            on_ready(handle)
        print(f"picops emulator listening on {handle.endpoint} "
              f"(data: {Path(settings.data_dir).resolve()})", file=out, flush=True)
        if announce is not None:
            print(announce(handle), file=out, flush=True)

    try:
        asyncio.run(_lifecycle(settings, store, started, None, front(store)))
    except KeyboardInterrupt:
        pass


__all__ = ["EmulatorSettings", "RunningEmulator", "serve", "start_in_thread", "open_store"]
