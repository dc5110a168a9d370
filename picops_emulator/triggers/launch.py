"""Which code the emulator runs as the function, and on which interpreter.

SCF runs the deployed package on the CPython of the function's runtime, with
the package as its code root and nothing else installed. So does the emulator
by default (:func:`resolve_launch`):

* ``package``: the package ``make package`` would build for serverless.yml's
  ``inputs.runtime``, kept under ``build/runtimes/<tag>`` and rebuilt when an
  input changed (``picops_cli.package.ensure_package``), run by that runtime's
  CPython (``pythonX.Y`` on PATH or pyenv's versions folder) with no
  site-packages at all (``-S``): only the package, on ``PYTHONPATH``, and the
  standard library.
* ``source``: the function's source folder on the tooling interpreter (the dev
  virtualenv, where ``picops`` is installed editable). Chosen explicitly for
  fast iteration (``picops emulator --source``), or as the fallback when the
  runtime's CPython is not installed here; the fallback is announced once per
  process with a WARNING, since then the emulator cannot prove the runtime.

:attr:`Launch.note` is the one line that says which it is. :func:`resolve_launch` does not
log it: whoever starts the emulator shows it once (the ready text of ``picops emulator``,
the demo's first lines), and a fallback, whose WARNING already said it, is not repeated.

The environment (SCF's variables, credentials only with a role) is the same in
both modes: :mod:`.runtime_env`.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import NamedTuple, Optional, Set

PACKAGE = "package"
SOURCE = "source"
log = logging.getLogger("picops_emulator.triggers.launch")

_warned: Set[str] = set()
_warned_lock = threading.Lock()


class Launch(NamedTuple):
    """How to start the function: ``python`` runs ``function_dir``'s handler."""

    mode: str                # PACKAGE or SOURCE
    python: str
    function_dir: Path
    runtime: str             # serverless.yml's runtime
    site: bool               # whether the interpreter gets its site-packages
    note: str                # one line for the emulator's start-up output
    # source mode because the runtime's CPython is missing here (its WARNING said so)
    fallback: bool = False

    @property
    def shown_note(self) -> str:
        """What start-up output says of the launch: the note, unless the fallback's
        WARNING already said it."""
        if self.fallback:
            return (f"function from source on the tooling Python {sys.version_info[0]}."
                    f"{sys.version_info[1]} (no CPython for {self.runtime}: see the warning "
                    "above)")
        return self.note


def source_launch(runtime: str, source_dir: Path, note: str = "",
                  fallback: bool = False) -> Launch:
    """The source tree on the tooling interpreter (its site-packages hold picops and the SDK);
    ``fallback``: chosen because the runtime's CPython is not installed here."""
    return Launch(SOURCE, sys.executable, Path(source_dir), runtime, True, note or (
        f"function from source ({source_dir}) on the tooling Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}, not the {runtime} package"), fallback)


def resolve_launch(runtime_name: str, source_dir: Path, *, source: bool = False,
                   python: Optional[str] = None) -> Launch:
    """Decide how the function runs (see the module doc).

    ``runtime_name``: serverless.yml's ``inputs.runtime`` (already validated).
    ``python`` forces the interpreter of the package mode (tests use it to run
    each supported runtime).

    Raises:
        picops.errors.ConfigError: the function's config is invalid, so no
            package can be built.
        ValueError: ``python`` is not a CPython of the runtime's version.
    """
    if source:
        return source_launch(runtime_name, source_dir)
    from picops_cli.package import FUNCTION_DIR, ensure_package, find_python, resolve_runtime

    if Path(source_dir).resolve() != FUNCTION_DIR.resolve():
        # Another project's function folder: the builder packages this checkout's only.
        return source_launch(runtime_name, source_dir, (
            f"function from source ({source_dir}) on the tooling Python: the package "
            f"builder packages {FUNCTION_DIR.name}/ of this checkout only"))

    runtime = resolve_runtime(runtime_name)  # parse_serverless refuses others already
    interpreter = find_python(runtime, python)
    if interpreter is None:
        note = (f"no CPython {runtime.dotted} found (python{runtime.dotted} on PATH or in "
                f"pyenv's versions folder) for serverless.yml's runtime {runtime.name}: "
                f"running the function from source on the tooling Python "
                f"{sys.version_info[0]}.{sys.version_info[1]} instead, which proves nothing "
                f"about {runtime.name}")
        _warn_once(note)
        return source_launch(runtime_name, source_dir, note, fallback=True)
    built = ensure_package(runtime, interpreter)
    return Launch(PACKAGE, interpreter, built.path, runtime.name, False,
                  f"function from the built {runtime.name} package ({built.path}) on "
                  f"{interpreter}")


def _warn_once(message: str) -> None:
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.warning(message)


__all__ = ["Launch", "PACKAGE", "SOURCE", "resolve_launch", "source_launch"]
