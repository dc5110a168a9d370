"""Regenerate tests/events/scf_cli_cos_*.json with Tencent's own SCF CLI (``make scf-events``).

Tencent's SCF CLI (PyPI ``scf``, :data:`SCF_VERSION`) ships the COS event
templates its ``scf local generate-event cos put|post|delete`` prints. Those
events are the judge of what the function must accept, so they are committed
as fixtures exactly as the tool writes them (data produced by the tool, not
code) and run through the handler, the emulator and the built package.

The CLI runs on CPython 3.7 only, with ``markupsafe<2.1`` and ``chardet``
beside it; this installs it into ``build/scf-cli`` (a virtualenv of a CPython
3.7 found like the package builder finds one) and writes the three files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from picops import runtimes

from .package import BUILD_DIR, REPO, find_python

SCF_VERSION = "0.2.8"
VENV = BUILD_DIR / "scf-cli"
EVENTS_DIR = REPO / "tests" / "events"
KINDS = ("put", "post", "delete")
REQUIREMENTS = (f"scf=={SCF_VERSION}", "markupsafe<2.1", "chardet")


def fixture_path(kind: str) -> Path:
    return EVENTS_DIR / f"scf_cli_cos_{kind}.json"


def install() -> Path:
    """The ``scf`` command in ``build/scf-cli``, installed when missing."""
    scf = VENV / "bin" / "scf"
    if scf.is_file():
        return scf
    python = find_python(runtimes.SUPPORTED["Python3.7"])
    if python is None:
        raise SystemExit("the SCF CLI needs a CPython 3.7 (python3.7 on PATH or in pyenv's "
                         "versions folder); none found")
    subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet",
                    "--disable-pip-version-check", *REQUIREMENTS], check=True)
    return scf


def generate(scf: Path, kind: str) -> dict:
    out = subprocess.run([str(scf), "local", "generate-event", "cos", kind],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    scf = install()
    for kind in KINDS:
        event = generate(scf, kind)
        path = fixture_path(kind)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)} (scf {SCF_VERSION}: "
              f"scf local generate-event cos {kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
