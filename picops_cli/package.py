"""Build the deployable SCF function directory (``make package``).

The result, ``build/package`` by default, is what serverless.yml's ``src``
points at and what ``sls deploy`` uploads::

    index.py           the SCF entry (handler index.main_handler)
    picops.yaml        the routes config
    picops.yaml.json   its parsed document + the YAML's SHA-256 (cold start skips PyYAML)
    picops/            the shared core
    <deps>/            requirements.txt, installed for Linux x86_64 / CPython 3.9
    **/__pycache__/    CPython 3.9 bytecode, only when a python3.9 was available

Only requirements.txt goes in: no tests, no tooling, no emulator. Wheels are
fetched for the SCF platform, not for the machine running the build, so a
laptop on any OS builds the same package.

crcmod is the one dependency with no wheel at all. It is installed from its
source with the local interpreter and its compiled extension, built for the
local Python, is dropped: crcmod then falls back to its pure-Python
implementation, which is all the SDK needs for its optional CRC64 checks.

The config is validated first: an invalid picops.yaml would fail every
invocation, so nothing is built with one (the error lists every problem).
Then its JSON sidecar is written (picops.config: the function loads it instead
of importing PyYAML when its hash matches the YAML beside it).

Bytecode. SCF sets PYTHONDONTWRITEBYTECODE and its code directory is read-only,
so what the package does not ship, every cold start compiles again (measured on
CPython 3.9, `import index` from a built package, medians of 8 runs: 221 ms from
source, 107 ms with the shipped bytecode). But .pyc
files are specific to the interpreter version, and this builder runs on the
tooling Python (3.11): its caches would be ignored by SCF's 3.9. So the build
looks for a real CPython 3.9 (``--python39``, else ``python3.9`` on PATH, which
must run and report 3.9: a pyenv shim for a version that is not enabled does
not count) and compiles the whole package with it, in ``checked-hash`` mode:
the .pyc records a hash of its source instead of its mtime, so it stays valid
after zipping (zip keeps mtimes to 2 s) and uploading, and an edited .py is
still noticed and compiled afresh. Without a 3.9 the package ships no bytecode
and says so; it works the same, only each cold start compiles first.
Whether ``sls deploy`` uploads ``__pycache__`` folders unchanged is
UNCONFIRMED (nothing in the reference excludes them).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

from picops.config import SIDECAR_SUFFIX, build_sidecar
from picops.errors import ConfigError
from picops.constants import DEFAULT_CONFIG_NAME

REPO = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO / "functions" / "image_processor"
SHARED_PACKAGE = REPO / "shared" / "picops"
REQUIREMENTS = REPO / "requirements.txt"

SCF_PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.9",
                "--implementation", "cp", "--abi", "cp39", "--abi", "abi3", "--abi", "none"]
#: The interpreter version whose bytecode the package ships (SCF's runtime).
SCF_PYTHON = (3, 9)
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
    # --no-compile: pip would write bytecode for the local interpreter, which SCF ignores.
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
           "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True)


def find_python39(explicit: Optional[str] = None) -> Optional[str]:
    """A CPython 3.9 to compile the package's bytecode with, or None.

    ``explicit`` (a path or command name) must be one; else ``python3.9`` on
    PATH is used when it really runs and reports 3.9. Returns the interpreter's
    own path (``sys.executable``), so a launcher such as a pyenv shim is resolved
    once, in this environment.

    Raises:
        ValueError: ``explicit`` is given but is not a working CPython 3.9.
    """
    candidate = explicit or shutil.which("python%d.%d" % SCF_PYTHON)
    if candidate is None:
        return None
    probe = ("import platform, sys; "
             "print(platform.python_implementation(), *sys.version_info[:2], sys.executable)")
    try:
        out = subprocess.run([candidate, "-c", probe], capture_output=True, text=True,
                             timeout=60)
        words = out.stdout.strip().split(maxsplit=3) if out.returncode == 0 else []
    except OSError:
        words = []
    if words[:3] == ["CPython", *map(str, SCF_PYTHON)] and len(words) == 4:
        return words[3]
    if explicit:
        raise ValueError(f"{explicit} is not a working CPython "
                         f"{'.'.join(map(str, SCF_PYTHON))}")
    return None


def compile_bytecode(root: Path, python: str) -> None:
    """Compile every .py under ``root`` with ``python``, in checked-hash mode.

    ``-s root`` keeps the build directory's path out of the code objects (Python
    also fixes the file name up at import); ``-j 0`` uses every CPU.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
                    "checked-hash", "-s", str(root), str(root)], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def build(out: Path, python39: Optional[str] = None, bytecode: bool = True) -> Path:
    """Build the package into ``out`` (emptied first) and return it.

    ``python39``: the interpreter for the bytecode (default: ``python3.9`` on
    PATH, if it works); ``bytecode=False`` ships none.

    Raises:
        ConfigError: the function's config is invalid (nothing is built).
        ValueError: ``python39`` is not a working CPython 3.9.
    """
    out = out.resolve()
    config = FUNCTION_DIR / DEFAULT_CONFIG_NAME
    # Checked before anything is touched, so a failed build leaves ``out`` as it was.
    sidecar = build_sidecar(config.read_bytes(), source=str(config))
    compiler = find_python39(python39) if bytecode else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    for name in FUNCTION_FILES:
        shutil.copy2(FUNCTION_DIR / name, out / name)
    if sidecar is not None:  # None: the document needs YAML; cold starts parse it
        (out / (DEFAULT_CONFIG_NAME + SIDECAR_SUFFIX)).write_text(sidecar, encoding="utf-8")
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
    if compiler is not None:
        compile_bytecode(out, compiler)
    return out


def bytecode_tags(root: Path) -> List[str]:
    """The interpreter tags of the bytecode under ``root`` (``cpython-39``, ...), sorted."""
    return sorted({p.name.split(".")[1] for p in root.rglob("__pycache__/*.pyc")})


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
    parser.add_argument("--python39", metavar="PATH",
                        help="CPython 3.9 used to precompile the bytecode "
                             "(default: python3.9 on PATH, when it works)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="ship no bytecode (SCF then compiles at every cold start)")
    args = parser.parse_args(list(argv) or None)
    try:
        out = build(Path(args.out), python39=args.python39, bytecode=not args.no_bytecode)
    except ConfigError as e:
        print(f"not packaged: the config is invalid: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"not packaged: {e}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"built {out} ({size / 1e6:.1f} MB); deploy it with `sls deploy`")
    if not (out / (DEFAULT_CONFIG_NAME + SIDECAR_SUFFIX)).exists():
        print(f"note: {DEFAULT_CONFIG_NAME} uses YAML types JSON lacks; no sidecar, "
              "so cold starts import PyYAML")
    tags = bytecode_tags(out)
    if tags:
        print(f"bytecode: {', '.join(tags)} (checked-hash)")
    else:
        print("note: no CPython 3.9 found (--python39 or python3.9 on PATH): no bytecode "
              "shipped, so SCF compiles every module at each cold start")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
