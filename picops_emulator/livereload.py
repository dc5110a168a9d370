"""Change and see: watch the files the local cloud was built from, and apply an edit.

:class:`FileWatch` watches, with the ``watchfiles`` library (inotify, no polling):

* the folders of ``serverless.yml`` and of the routes config, for those two files only
  (not recursively: a project root also holds the data folder and the virtualenv);
* the function's source folder and the ``picops`` package it imports, recursively, for
  ``.py``, ``.yaml``/``.yml`` and ``.json`` files.

After a burst of saves settles (``QUIET_MS`` without a change), it calls
``on_change(paths)`` once with the paths that changed, on its own thread, unless the
watched files hold exactly what they held at the last call (:func:`fingerprint`): a save
that changes nothing, or a second event of the same save, is not an edit. What an edit
does is the caller's business (:func:`picops_emulator.local.reload`): validate everything
again, then rewire the triggers and restart the function's workers, or keep the old state
and print why.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Set

log = logging.getLogger("picops_emulator.reload")

SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".json")
DEFAULT_DEBOUNCE_MS = 1600
#: A burst of changes ends after this long without one (an editor's save is several
#: events: truncate, write, rename), so one save is one reload.
QUIET_MS = 250


class FileWatch:
    """Watch ``files`` (exactly) and ``trees`` (their source files); see the module doc."""

    def __init__(self, files: Iterable[Path], trees: Iterable[Path],
                 on_change: Callable[[List[Path]], None],
                 debounce_ms: int = DEFAULT_DEBOUNCE_MS):
        self.files: Set[Path] = {Path(f).resolve() for f in files}
        self.trees: List[Path] = _outermost(Path(t).resolve() for t in trees
                                            if Path(t).is_dir())
        self._on_change = on_change
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._ready = threading.Barrier(1 + self._watch_count(), timeout=10)
        self._seen_lock = threading.Lock()
        self._seen = fingerprint(self.files, self.trees)

    def _watch_count(self) -> int:
        return (1 if self._file_dirs() else 0) + (1 if self.trees else 0)

    def _file_dirs(self) -> List[Path]:
        return sorted({f.parent for f in self.files if f.parent.is_dir()})

    def start(self) -> "FileWatch":
        """Start watching; returns once the watches are in place."""
        if self._file_dirs():
            self._spawn(self._file_dirs(), recursive=False, accept=self._is_watched_file)
        if self.trees:
            self._spawn(self.trees, recursive=True, accept=self._is_source_file)
        try:
            self._ready.wait()
        except threading.BrokenBarrierError:
            log.warning("live reload: the file watch did not start in time")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _is_watched_file(self, change, path: str) -> bool:
        return Path(path).resolve() in self.files

    def _is_source_file(self, change, path: str) -> bool:
        p = Path(path)
        # the watched files are the other watch's (one edit, one reload)
        return (p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts
                and p.resolve() not in self.files)

    def _spawn(self, paths: Sequence[Path], recursive: bool, accept) -> None:
        thread = threading.Thread(target=self._run, args=(paths, recursive, accept),
                                  name="picops-watch", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self, paths: Sequence[Path], recursive: bool, accept) -> None:
        import watchfiles

        signalled = False

        def ready_once() -> None:
            nonlocal signalled
            if not signalled:
                signalled = True
                try:
                    self._ready.wait()
                except threading.BrokenBarrierError:
                    pass

        try:
            # yield_on_timeout: the generator yields an empty set once the watch is set up
            # and idle, which is how we know edits from now on are seen
            for changes in watchfiles.watch(*paths, watch_filter=accept, recursive=recursive,
                                            debounce=self._debounce_ms, step=QUIET_MS,
                                            stop_event=self._stop,
                                            rust_timeout=200, yield_on_timeout=True,
                                            raise_interrupt=False):
                ready_once()
                if changes and not self._stop.is_set():
                    self._deliver(sorted({Path(p) for _, p in changes}))
        except Exception as exc:  # noqa: BLE001 - a broken watch must say so, not crash
            log.warning("live reload stopped: the file watch failed: %s", exc)
        finally:
            ready_once()

    def _deliver(self, paths: List[Path]) -> None:
        with self._seen_lock:
            now = fingerprint(self.files, self.trees)
            if now == self._seen:
                return
            self._seen = now
        try:
            self._on_change(paths)
        except Exception:  # noqa: BLE001
            log.exception("live reload: applying an edit failed")


def fingerprint(files: Iterable[Path], trees: Iterable[Path]) -> str:
    """A digest of what the watched files and the trees' source files hold now."""
    digest = hashlib.sha256()
    paths = set(files)
    for tree in trees:
        paths.update(p for p in tree.rglob("*") if p.suffix in SOURCE_SUFFIXES
                     and "__pycache__" not in p.parts)
    for path in sorted(paths):
        digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\1missing")
        digest.update(b"\0")
    return digest.hexdigest()


def _outermost(paths: Iterable[Path]) -> List[Path]:
    """Drop the paths inside another one (a recursive watch of the parent covers them)."""
    out: List[Path] = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if not any(p == q or q in p.parents for q in out):
            out.append(p)
    return out


def describe(paths: Iterable[Path], root: Optional[Path] = None) -> str:
    """``a.py, picops.yaml`` (relative to ``root`` where possible), for the one line."""
    names = []
    for p in paths:
        try:
            names.append(str(p.relative_to(root)) if root is not None else p.name)
        except ValueError:
            names.append(p.name)
    return ", ".join(sorted(set(names)))


__all__ = ["FileWatch", "describe", "SOURCE_SUFFIXES"]
