"""Build the deployable SCF function for one runtime (``make package``).

``python -m picops_cli.package [--runtime Python3.9] [--out DIR] [--zip FILE]``
builds for the runtime serverless.yml names (``inputs.runtime``; ``RUNTIME=``
in make) into ``build/package`` (serverless.yml's ``src``, what ``sls deploy``
uploads) and writes ``build/package.zip``, the same tree zipped with
``index.py`` at its root, which a console or SCF API upload takes::

    index.py           the SCF entry (handler index.main_handler)
    picops.yaml        the routes config
    picops.yaml.json   its parsed document + the YAML's SHA-256 (cold start skips PyYAML)
    picops/            the shared core
    <deps>/            requirements/runtime-<tag>.txt: wheels for Linux x86_64 + that CPython
    **/__pycache__/    bytecode of that CPython, whenever one is installed here

Only the runtime's pinned closure goes in, ``--no-deps``: no tests, no tooling,
no emulator. Wheels are fetched for SCF's platform, not the build machine's,
into ``build/wheelhouse/<tag>`` once per requirements file, so later builds
need no index. crcmod publishes no wheel: it is built from source by the
local interpreter and its compiled extension is dropped; crcmod then uses its
pure-Python code, all the SDK needs for its optional CRC64 checks.

The config is validated first: an invalid picops.yaml would fail every
invocation, so nothing is built with one. Then its JSON sidecar is written.

Bytecode. SCF sets PYTHONDONTWRITEBYTECODE and its code directory is read-only,
so what the package does not ship, every cold start compiles again. .pyc files
are specific to the interpreter version, so the build looks for a real CPython
of the runtime's version (:func:`find_python`: ``--python``, ``pythonX.Y`` on
PATH, then pyenv's versions folder) and compiles the whole package with it in
``checked-hash`` mode: the .pyc records a hash of its source instead of its
mtime, so it stays valid after zipping and uploading, and an edited .py is still
noticed. Without one the package ships source only and says so. Whether
``sls deploy`` uploads ``__pycache__`` folders unchanged is UNCONFIRMED.

:func:`ensure_package` keeps one package per runtime under ``build/runtimes``,
rebuilt only when an input changed: what the emulator and the tests run.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Sequence

from picops import runtimes
from picops.sidecar import SIDECAR_SUFFIX, build_sidecar
from picops.constants import DEFAULT_CONFIG_NAME, FUNCTION_SOURCE_DIR
from picops.errors import ConfigError
from picops.runtimes import Runtime

REPO = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO / FUNCTION_SOURCE_DIR
SHARED_PACKAGE = REPO / "shared" / "picops"
SERVERLESS = REPO / "serverless.yml"
BUILD_DIR = REPO / "build"
DEFAULT_OUT = BUILD_DIR / "package"
DEFAULT_ZIP = BUILD_DIR / "package.zip"
WHEELHOUSE = BUILD_DIR / "wheelhouse"
RUNTIMES_DIR = BUILD_DIR / "runtimes"

SOURCE_ONLY = {"crcmod"}
FUNCTION_FILES = ("index.py", "picops.yaml")
# Test suites some dependencies ship (pycryptodome's SelfTest is several MB): never deployed.
JUNK_DIRS = {"__pycache__", "tests", "test", "SelfTest", "bin"}
JUNK_FILES = {"test.py"}
#: Bumped when the layout changes, so cached packages are rebuilt.
BUILD_FORMAT = 2


class Built(NamedTuple):
    """A built package: where, for which runtime, and the CPython that compiled it."""

    path: Path
    runtime: Runtime
    python: Optional[str]   # None: no bytecode shipped


def requirements_path(runtime: Runtime) -> Path:
    return REPO / runtime.requirements


def read_requirements(path: Path) -> List[str]:
    """The pinned requirement lines of ``path`` (comments and blanks dropped)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def _platform(runtime: Runtime) -> List[str]:
    return ["--platform", "manylinux2014_x86_64", "--python-version", runtime.dotted,
            "--implementation", "cp", "--abi", runtime.abi, "--abi", "abi3", "--abi", "none"]


def _pip(*args: str) -> None:
    # --no-compile: pip would write bytecode for the local interpreter, which SCF ignores.
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet",
                    "--disable-pip-version-check"], check=True)


# --- the runtime's CPython -----------------------------------------------------------------

_PROBE = ("import platform, sys; "
          "print(platform.python_implementation(), *sys.version_info[:2], sys.executable)")


def _probe(candidate: str, version) -> Optional[str]:
    try:
        out = subprocess.run([candidate, "-I", "-c", _PROBE], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.stdout.strip().split(maxsplit=3) if out.returncode == 0 else []
    if words[:3] == ["CPython", *map(str, version)] and len(words) == 4:
        return words[3]
    return None


def _pyenv_candidates(version) -> List[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    dotted = "%d.%d" % tuple(version)
    found = []
    if root.is_dir():
        for entry in root.iterdir():
            parts = entry.name.split(".")
            if ".".join(parts[:2]) == dotted and len(parts) == 3 and parts[2].isdigit():
                found.append((int(parts[2]), entry / "bin" / ("python" + dotted)))
    return [str(path) for _, path in sorted(found, reverse=True)]


def find_python(runtime: Runtime, explicit: Optional[str] = None) -> Optional[str]:
    """The CPython of ``runtime`` installed here, as its own ``sys.executable``, or None.

    ``explicit`` (a path or command) must be one. Otherwise ``pythonX.Y`` on PATH
    is tried, then pyenv's versions folder (``$PYENV_ROOT/versions/X.Y.*``,
    newest patch first), each only if it really runs and reports that version
    (a pyenv shim for a version that is not enabled does not count).

    Raises:
        ValueError: ``explicit`` is given but is not a working CPython of that version.
    """
    if explicit:
        found = _probe(explicit, runtime.version)
        if found is None:
            raise ValueError(f"{explicit} is not a working CPython {runtime.dotted} "
                             f"(runtime {runtime.name})")
        return found
    candidates = [shutil.which("python" + runtime.dotted)] + _pyenv_candidates(runtime.version)
    for candidate in candidates:
        if candidate:
            found = _probe(candidate, runtime.version)
            if found is not None:
                return found
    return None


def runtime_from_serverless(path: Path = SERVERLESS) -> Runtime:
    """The supported runtime serverless.yml's ``inputs.runtime`` names.

    Raises:
        ValueError: it names no runtime picops supports.
    """
    from picops.serverless import load_serverless

    return resolve_runtime(load_serverless(path).runtime)


def resolve_runtime(name: str) -> Runtime:
    """Raises ValueError naming the supported runtimes."""
    runtime = runtimes.supported(name)
    if runtime is None:
        raise ValueError(f"runtime {name!r} is not one picops supports "
                         f"({runtimes.choices()})")
    return runtime


# --- wheels --------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created), held across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wheelhouse(runtime: Runtime) -> Path:
    """``build/wheelhouse/<tag>``, holding every distribution of the runtime's closure.

    Downloaded once per content of the requirements file (a stamp records its
    hash), for Linux x86_64 and the runtime's CPython.
    """
    reqs_file = requirements_path(runtime)
    folder = WHEELHOUSE / runtime.tag
    digest = hashlib.sha256(reqs_file.read_bytes()).hexdigest()
    stamp = folder / ".requirements.sha256"
    with _locked(WHEELHOUSE / f"{runtime.tag}.lock"):
        if stamp.is_file() and stamp.read_text() == digest:
            return folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        reqs = read_requirements(reqs_file)
        wheels = [r for r in reqs if _name(r) not in SOURCE_ONLY]
        sources = [r for r in reqs if _name(r) in SOURCE_ONLY]
        _pip("download", "--no-deps", "--only-binary=:all:", *_platform(runtime),
             "-d", str(folder), *wheels)
        if sources:
            _pip("download", "--no-deps", "--no-binary=:all:", "-d", str(folder), *sources)
        stamp.write_text(digest)
    return folder


# --- the build ----------------------------------------------------------------------------

def build(out: Path = DEFAULT_OUT, runtime: Optional[Runtime] = None,
          python: Optional[str] = None, bytecode: bool = True) -> Built:
    """Build the package for ``runtime`` (default: serverless.yml's) into ``out`` (emptied).

    ``python``: the runtime's CPython for the bytecode (default: :func:`find_python`);
    ``bytecode=False`` ships none.

    Raises:
        ConfigError: the function's config is invalid (nothing is built).
        ValueError: ``python`` is not a working CPython of the runtime's version.
    """
    runtime = runtime or runtime_from_serverless()
    out = out.resolve()
    config = FUNCTION_DIR / DEFAULT_CONFIG_NAME
    # Checked before anything is touched, so a failed build leaves ``out`` as it was.
    sidecar = build_sidecar(config.read_bytes(), source=str(config))
    compiler = find_python(runtime, python) if bytecode else None
    house = wheelhouse(runtime)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    for name in FUNCTION_FILES:
        shutil.copy2(FUNCTION_DIR / name, out / name)
    if sidecar is not None:  # None: the document needs YAML; cold starts parse it
        (out / (DEFAULT_CONFIG_NAME + SIDECAR_SUFFIX)).write_text(sidecar, encoding="utf-8")
    shutil.copytree(SHARED_PACKAGE, out / "picops", ignore=shutil.ignore_patterns("__pycache__"))

    reqs = read_requirements(requirements_path(runtime))
    wheels = [r for r in reqs if _name(r) not in SOURCE_ONLY]
    sources = [r for r in reqs if _name(r) in SOURCE_ONLY]
    local = ["--no-index", "--find-links", str(house), "--no-deps", "--no-compile"]
    # --no-deps: the requirements file pins the whole closure, so what is installed
    # is exactly what is written there.
    _pip("install", *local, "--target", str(out), "--only-binary=:all:", *_platform(runtime),
         *wheels)
    if sources:
        with tempfile.TemporaryDirectory() as tmp:
            _pip("install", *local, "--no-build-isolation", "--target", tmp,
                 "--no-binary=:all:", *sources)
            for entry in Path(tmp).iterdir():
                if entry.is_dir() and entry.name not in JUNK_DIRS:
                    shutil.copytree(entry, out / entry.name, ignore=shutil.ignore_patterns("*.so"))
    _prune(out)
    if compiler is not None:
        compile_bytecode(out, compiler)
    return Built(out, runtime, compiler)


_COMPILE = """
import os, py_compile, sys
root = sys.argv[1]
mode = py_compile.PycInvalidationMode.CHECKED_HASH
for folder, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        if name.endswith(".py"):
            path = os.path.join(folder, name)
            py_compile.compile(path, dfile=os.path.relpath(path, root), doraise=True,
                               invalidation_mode=mode)
"""


def compile_bytecode(root: Path, python: str) -> None:
    """Compile every .py under ``root`` with ``python``, in checked-hash mode.

    The code objects name each file by its path inside the package (``dfile``),
    never the build directory (Python also fixes the file name up at import).
    py_compile rather than compileall: its options differ between 3.7 and 3.9+.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME")}
    subprocess.run([python, "-I", "-c", _COMPILE, str(root)], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def bytecode_tags(root: Path) -> List[str]:
    """The interpreter tags of the bytecode under ``root`` (``cpython-37``, ...), sorted."""
    return sorted({p.name.split(".")[1] for p in root.rglob("__pycache__/*.pyc")})


def _prune(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in JUNK_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and (path.name in JUNK_FILES or path.suffix == ".pyc"):
            path.unlink()


def write_zip(root: Path, zip_path: Path) -> Path:
    """Zip the package with its files at the archive's root (what SCF unpacks to its code dir).

    Sorted entries and fixed timestamps: the same package zips to the same bytes.
    """
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), (2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(zip_path)
    return zip_path


# --- the cached package per runtime ---------------------------------------------------------

def _inputs_digest(runtime: Runtime, python: Optional[str]) -> str:
    h = hashlib.sha256(json.dumps([BUILD_FORMAT, runtime.name, python or ""]).encode())
    files = [FUNCTION_DIR / name for name in FUNCTION_FILES]
    files += sorted(p for p in SHARED_PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    files += [requirements_path(runtime), Path(__file__)]
    for path in files:
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def ensure_package(runtime: Runtime, python: Optional[str] = None,
                   root: Path = RUNTIMES_DIR) -> Built:
    """The package for ``runtime`` under ``root/<tag>/package``, built or refreshed as needed.

    ``python`` compiles its bytecode (default: :func:`find_python`). A stamp holds
    the hash of every input (function files, shared/picops, the requirements file,
    this builder, the interpreter); the package is rebuilt when it differs. Safe
    across processes: one builds while the others wait, and the new tree replaces
    the old one in one rename.
    """
    python = python or find_python(runtime)
    folder = root / runtime.tag
    target = folder / "package"
    stamp = folder / "stamp.json"
    digest = _inputs_digest(runtime, python)
    with _locked(root / f"{runtime.tag}.lock"):
        try:
            if json.loads(stamp.read_text())["inputs"] == digest and target.is_dir():
                return Built(target, runtime, python)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        staging = Path(tempfile.mkdtemp(prefix="package-", dir=folder if folder.is_dir()
                                        else _mkdir(folder)))
        try:
            build(staging / "package", runtime, python)
            old = folder / "package.old"
            if old.exists():
                shutil.rmtree(old)
            if target.exists():
                target.rename(old)
            (staging / "package").rename(target)
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
            stamp.write_text(json.dumps({"inputs": digest, "runtime": runtime.name,
                                         "python": python}))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return Built(target, runtime, python)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- command line ----------------------------------------------------------------------------

def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m picops_cli.package",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", default=os.environ.get("RUNTIME") or None,
                        help=f"SCF runtime to build for ({runtimes.choices()}; default: "
                             "serverless.yml's inputs.runtime)")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="directory to (re)create (default: build/package)")
    parser.add_argument("--zip", default=str(DEFAULT_ZIP),
                        help="zip for a console or SCF API upload (default: build/package.zip)")
    parser.add_argument("--python", metavar="PATH",
                        help="the runtime's CPython, to precompile the bytecode (default: "
                             "pythonX.Y on PATH, else pyenv's versions folder)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="ship no bytecode (SCF then compiles at every cold start)")
    args = parser.parse_args(list(argv) or None)
    try:
        runtime = resolve_runtime(args.runtime) if args.runtime else runtime_from_serverless()
        built = build(Path(args.out), runtime, python=args.python,
                      bytecode=not args.no_bytecode)
    except ConfigError as e:
        print(f"not packaged: the config is invalid: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"not packaged: {e}", file=sys.stderr)
        return 2
    out = built.path
    archive = write_zip(out, Path(args.zip))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"built {out} for {runtime.name} ({size / 1e6:.1f} MB); deploy it with `sls deploy`")
    print(f"zip for a console or SCF API upload: {archive} "
          f"({archive.stat().st_size / 1e6:.1f} MB)")
    if not (out / (DEFAULT_CONFIG_NAME + SIDECAR_SUFFIX)).exists():
        print(f"note: {DEFAULT_CONFIG_NAME} uses YAML types JSON lacks; no sidecar, "
              "so cold starts import PyYAML")
    tags = bytecode_tags(out)
    if tags:
        print(f"bytecode: {', '.join(tags)} (checked-hash), compiled by {built.python}")
    elif not args.no_bytecode:
        print(f"note: no CPython {runtime.dotted} found (--python, python{runtime.dotted} on "
              "PATH, or pyenv's versions folder): no bytecode shipped, so SCF compiles every "
              "module at each cold start")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
