"""Build the deployable SCF function directory (``make package``).

The result, ``build/package`` by default, is what serverless.yml's ``src``
points at and what ``sls deploy`` uploads::

    index.py         the SCF entry (handler index.main_handler)
    picops.yaml      the routes config
    picops/          the shared core
    <deps>/          requirements.txt, installed for Linux x86_64 / CPython 3.9

Only requirements.txt goes in: no tests, no tooling, no emulator. Wheels are
fetched for the SCF platform, not for the machine running the build, so a
laptop on any OS builds the same package.

crcmod is the one dependency with no wheel at all. It is installed from its
source with the local interpreter and its compiled extension, built for the
local Python, is dropped: crcmod then falls back to its pure-Python
implementation, which is all the SDK needs for its optional CRC64 checks.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence

REPO = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO / "functions" / "image_processor"
SHARED_PACKAGE = REPO / "shared" / "picops"
REQUIREMENTS = REPO / "requirements.txt"

SCF_PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.9",
                "--implementation", "cp", "--abi", "cp39", "--abi", "abi3", "--abi", "none"]
SOURCE_ONLY = {"crcmod"}
FUNCTION_FILES = ("index.py", "picops.yaml")
# Test suites some dependencies ship (pycryptodome's SelfTest is several MB): never deployed.
JUNK_DIRS = {"__pycache__", "tests", "test", "SelfTest", "bin"}
JUNK_FILES = {"test.py"}


def read_requirements(path: Path = REQUIREMENTS) -> List[str]:
    """The pinned requirement lines of ``path`` (comments and blanks dropped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def _pip(args: Sequence[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
           "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True)


def build(out: Path) -> Path:
    """Build the package into ``out`` (emptied first) and return it."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    for name in FUNCTION_FILES:
        shutil.copy2(FUNCTION_DIR / name, out / name)
    shutil.copytree(SHARED_PACKAGE, out / "picops", ignore=shutil.ignore_patterns("__pycache__"))

    reqs = read_requirements()
    wheels = [r for r in reqs if _name(r) not in SOURCE_ONLY]
    sources = [r for r in reqs if _name(r) in SOURCE_ONLY]
    # --no-deps everywhere: requirements.txt pins the whole closure, so what is
    # installed is exactly what is written there.
    _pip(["--target", str(out), "--only-binary=:all:", *SCF_PLATFORM, *wheels])
    if sources:
        with tempfile.TemporaryDirectory() as tmp:
            _pip(["--target", tmp, "--no-binary=:all:", *sources])
            for entry in Path(tmp).iterdir():
                if entry.is_dir() and entry.name not in JUNK_DIRS:
                    shutil.copytree(entry, out / entry.name, ignore=shutil.ignore_patterns("*.so"))
    _prune(out)
    return out


def _prune(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in JUNK_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and (path.name in JUNK_FILES or path.suffix == ".pyc"):
            path.unlink()


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m picops_cli.package",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "build" / "package"),
                        help="directory to (re)create (default: build/package)")
    args = parser.parse_args(list(argv) or None)
    out = build(Path(args.out))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"built {out} ({size / 1e6:.1f} MB); deploy it with `sls deploy`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
