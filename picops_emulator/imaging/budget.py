"""What one engine job may spend: memory (estimated before the work), time, and whether it
should stop.

* :class:`Deadline` is shared by every job of one request (its rules and its probe): the
  monotonic time the work must end by, and a :class:`threading.Event` the caller sets to
  cancel it (the CI layer does when the HTTP client goes away). ``check()`` raises
  ProcessingTimeout or ProcessingCancelled. Thread-safe: jobs only read it.
* :class:`Budget` is one job's (one ``execute`` or ``probe`` call): its limits, its
  deadline, and the memory it has reserved. ``reserve(nbytes, what)`` adds an estimate made
  from headers and parameters (``cost.py``) *before* the allocation it stands for, and raises
  ProcessingLimitExceeded, naming the step and the totals, when the job would go over
  ``limits.max_request_memory``. Reservations are not given back during a job: its in-memory
  copies mostly live until it ends, and a sum is what a refusal can be explained with.
  ``spend(operations, what)`` does the same for the work of filters whose cost grows with a
  parameter (``limits.max_request_work``).
* ``watch(image)`` stops libvips itself: it asks for progress reports on ``image`` (libvips
  sends them for every computation of ``image`` or anything derived from it: encodes, copies
  into memory, averages), and once the deadline has passed or the job is cancelled, the
  report handler sets the image's kill flag, so the computation fails within a tile. The
  engine watches every decoded image and every in-memory copy (a copy is a new root, which
  inherits no watch); ``stopped()`` then says why the computation failed, so
  that it is reported as a timeout (or cancellation) rather than classified by decoding the
  input again. Watched images are kept alive with the budget, since their report handler
  must outlive every computation that can call it.

Time is bounded in two ways: the input limits (pixels, frames, JPEG scans) keep the work of
every operation linear in at most 250 M pixels, and the deadline stops whatever still runs
too long, between pipeline steps as well as inside libvips.
"""

import threading
import time
from typing import Callable, List, Optional

from .errors import ImagingError, ProcessingCancelled, ProcessingLimitExceeded, ProcessingTimeout
from .limits import Limits

MB = 1024 * 1024


class Deadline:
    """When a request's image work must end, and its cancel switch."""

    def __init__(self, at: float, cancelled: Optional[threading.Event] = None, *,
                 seconds: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.at = at
        self.seconds = seconds                    # the allowance ``at`` was computed from
        self.cancelled = cancelled or threading.Event()
        self.clock = clock

    @classmethod
    def after(cls, seconds: float, cancelled: Optional[threading.Event] = None, *,
              clock: Callable[[], float] = time.monotonic) -> "Deadline":
        return cls(clock() + seconds, cancelled, seconds=seconds, clock=clock)

    def problem(self) -> Optional[ImagingError]:
        """The error to stop with now, or None while the work may go on."""
        if self.cancelled.is_set():
            return ProcessingCancelled("the image work was cancelled: its client went away")
        if self.clock() > self.at:
            return ProcessingTimeout(
                f"the image work took longer than the request's {self.seconds:g} s and was "
                f"stopped (the emulator's limit max_request_seconds)")
        return None

    def check(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise problem


class Budget:
    """One engine job's memory reservations, deadline and libvips watch (module doc)."""

    def __init__(self, limits: Limits, deadline: Optional[Deadline] = None):
        self.limits = limits
        self.deadline = deadline or Deadline.after(limits.max_request_seconds)
        self.reserved = 0
        self.spent = 0.0
        self._watched: List[object] = []
        self._stopped: Optional[ImagingError] = None

    def reserve(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` the job is about to hold for ``what``; refuse going over."""
        total = self.reserved + max(int(nbytes), 0)
        ceiling = self.limits.max_request_memory
        if total > ceiling:
            already = f", on top of {_mb(self.reserved)} already held" if self.reserved else ""
            raise ProcessingLimitExceeded(
                f"{what} would need about {_mb(nbytes)} of memory{already}; one job may "
                f"use at most {_mb(ceiling)}", "max_request_memory")
        self.reserved = total

    def spend(self, operations: float, what: str) -> None:
        """Count ``operations`` (multiply-adds on samples) ``what`` is about to cost; refuse
        going over ``limits.max_request_work``."""
        total = self.spent + max(operations, 0.0)
        ceiling = self.limits.max_request_work
        if total > ceiling:
            raise ProcessingLimitExceeded(
                f"{what} would cost about {operations / 1e9:.1f} G sample operations; one "
                f"job may spend at most {ceiling / 1e9:.1f} G", "max_request_work")
        self.spent = total

    def check(self) -> None:
        """Raise if the deadline has passed or the job was cancelled."""
        problem = self.deadline.problem()
        if problem is not None:
            self._stopped = problem
            raise problem

    def watch(self, image):
        """``image``, with libvips told to stop computing from it when :meth:`check` would
        fail; returns ``image`` for chaining."""
        image.set_progress(True)
        image.signal_connect("eval", self._on_eval)
        self._watched.append(image)
        return image

    def _on_eval(self, image, progress) -> None:
        problem = self.deadline.problem()
        if problem is not None:
            self._stopped = problem
            image.set_kill(True)

    def stopped(self) -> Optional[ImagingError]:
        """Why libvips was stopped (timeout or cancel), or None if it never was."""
        return self._stopped


def _mb(nbytes: int) -> str:
    return f"{nbytes / MB:.0f} MB" if nbytes >= MB else f"{nbytes} bytes"


__all__ = ["Deadline", "Budget"]
