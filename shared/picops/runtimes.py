"""The SCF Python runtimes picops supports, and what each tool accepts. Pure.

The matrix, decided from these facts:

* SCF documents the Python runtimes ``Python2.7``, ``Python3.6``, ``Python3.7``,
  ``Python3.9`` and ``Python3.10`` (:data:`SCF_RUNTIMES`).
* The Serverless Framework's ``scf`` component, which ``sls deploy`` runs,
  accepts only ``Python2.7``, ``Python3.6`` and ``Python3.7`` among them
  (:data:`picops.scf_component.RUNTIMES`): its input schema enforces the list.
* The function's code needs Python 3.7 or newer (``make test`` runs vermin with
  target 3.7 over functions/ and shared/, and runs the built package on every
  supported CPython the machine has).

So the shipped serverless.yml names ``Python3.7`` (:data:`DEFAULT_RUNTIME`), and
``Python3.9`` and ``Python3.10`` are supported for deploys that do not go
through the component (a console zip upload, the SCF API). Each has its own
pinned dependency closure (``requirements/runtime-<tag>.txt``).
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Tuple

#: Python runtimes SCF documents (``inputs.runtime`` spelling).
SCF_RUNTIMES: Tuple[str, ...] = ("Python2.7", "Python3.6", "Python3.7", "Python3.9",
                                 "Python3.10")


class Runtime(NamedTuple):
    """One supported runtime: its SCF name and the CPython version behind it."""

    name: str                  # "Python3.7", as serverless.yml and the SCF API spell it
    version: Tuple[int, int]   # (3, 7)

    @property
    def tag(self) -> str:
        """``py37``: names the runtime's requirements file and build folders."""
        return "py%d%d" % self.version

    @property
    def dotted(self) -> str:
        """``3.7``."""
        return "%d.%d" % self.version

    @property
    def abi(self) -> str:
        """The wheel ABI tag of its CPython (3.7 still carries the ``m`` flag)."""
        return "cp%d%d%s" % (self.version + ("m" if self.version < (3, 8) else "",))

    @property
    def requirements(self) -> str:
        """Its pinned closure, relative to the checkout."""
        return "requirements/runtime-%s.txt" % self.tag


SUPPORTED: Dict[str, Runtime] = {r.name: r for r in (
    Runtime("Python3.7", (3, 7)),
    Runtime("Python3.9", (3, 9)),
    Runtime("Python3.10", (3, 10)),
)}

#: What the shipped serverless.yml names: the newest runtime the component accepts.
DEFAULT_RUNTIME = "Python3.7"


def supported(name: str) -> Optional[Runtime]:
    """The supported runtime called ``name`` (exact SCF spelling), or None."""
    return SUPPORTED.get(name)


def choices() -> str:
    """``Python3.7, Python3.9, Python3.10``: for messages."""
    return ", ".join(SUPPORTED)


__all__ = ["DEFAULT_RUNTIME", "Runtime", "SCF_RUNTIMES", "SUPPORTED", "choices", "supported"]
