"""Install the external clients the client suites drive, into build/clients (never committed).

``python -m tests.clients.install [node] [coscmd]`` (``make clients-install``):

- **node**: cos-nodejs-sdk-v5 with its own test suite (``test/test.js``) in
  ``build/clients/node/sdk``, and what the SDK and the suite need at run time
  (``tests/clients/node/package.json``, locked) in ``build/clients/node/node_modules``.
  By default the SDK comes from the npm registry: release ``NODE_SDK_VERSION``, the last
  one whose npm package still ships ``test/`` (later releases leave it out). To run the
  suite of another revision, set ``NODE_SDK_SRC`` to a checkout of the SDK's repository
  (a work tree, or a bare git directory whose HEAD is used).
- **coscmd**: Tencent's CLI, pinned in ``tests/clients/coscmd/requirements.txt``, in its own
  virtualenv ``build/clients/coscmd-venv`` (it pins its own cos-python-sdk-v5).

Each part is redone only when its inputs change (a stamp file records them). Anything that
cannot be obtained stops with a message saying what was missing and how to provide it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUILD = ROOT / "build" / "clients"
NODE_DIR = BUILD / "node"
SDK_DIR = NODE_DIR / "sdk"
COSCMD_VENV = BUILD / "coscmd-venv"
NODE_SDK_PACKAGE = "cos-nodejs-sdk-v5"
NODE_SDK_VERSION = "2.14.7"   # newest npm release that still ships test/test.js
SUITE_FILE = Path("test") / "test.js"


class InstallError(RuntimeError):
    """Something a client suite needs could not be installed; the message says what."""


def _run(cmd, cwd: Path, what: str) -> None:
    try:
        subprocess.run(cmd, cwd=cwd, check=True)
    except FileNotFoundError:
        raise InstallError(f"{what}: {cmd[0]!r} is not installed (needed: {cmd[0]})") from None
    except subprocess.CalledProcessError as exc:
        raise InstallError(f"{what}: `{' '.join(map(str, cmd))}` exited {exc.returncode}") \
            from None


def _stamp_ok(stamp: Path, inputs: str) -> bool:
    return stamp.is_file() and stamp.read_text() == inputs


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _sdk_from_npm(dest: Path) -> str:
    spec = f"{NODE_SDK_PACKAGE}@{NODE_SDK_VERSION}"
    with tempfile.TemporaryDirectory() as tmp:
        _run(["npm", "pack", "--silent", spec], Path(tmp), f"downloading {spec}")
        tarballs = list(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            raise InstallError(f"npm pack {spec} produced {len(tarballs)} tarballs")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(tmp, filter="data")
        shutil.move(str(Path(tmp) / "package"), dest)
    return f"npm {spec}"


def _sdk_from_source(src: Path, dest: Path) -> str:
    if (src / "HEAD").is_file() and (src / "objects").is_dir():  # a bare git directory
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", f"--git-dir={src}", "archive", "--format=tar", "HEAD"],
                                 check=True, capture_output=True).stdout
        with tempfile.NamedTemporaryFile(suffix=".tar") as tmp:
            tmp.write(archive)
            tmp.flush()
            with tarfile.open(tmp.name) as tar:
                tar.extractall(dest, filter="data")
        rev = subprocess.run(["git", f"--git-dir={src}", "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True).stdout.strip()
        return f"git {rev}"
    if (src / "package.json").is_file():
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git", "node_modules"))
        return f"dir {src}"
    raise InstallError(f"NODE_SDK_SRC={src} is neither a checkout of cos-nodejs-sdk-v5 (no "
                       "package.json) nor a bare git directory")


def install_node() -> Path:
    src = os.environ.get("NODE_SDK_SRC", "")
    lock = HERE / "node" / "package-lock.json"
    # install.py itself is an input: a change to how the install is laid out (a symlink, a
    # copied file) must redo an install made by an older version of this file.
    inputs = (f"{NODE_SDK_VERSION}\n{src}\n"
              f"{_digest(Path(__file__), HERE / 'node' / 'package.json', lock)}\n")
    stamp = NODE_DIR / ".installed"
    if _stamp_ok(stamp, inputs) and (SDK_DIR / SUITE_FILE).is_file():
        return SDK_DIR
    shutil.rmtree(NODE_DIR, ignore_errors=True)
    NODE_DIR.mkdir(parents=True)
    origin = _sdk_from_source(Path(src), SDK_DIR) if src else _sdk_from_npm(SDK_DIR)
    if not (SDK_DIR / SUITE_FILE).is_file():
        raise InstallError(
            f"{origin} has no {SUITE_FILE}: the SDK's own test suite is not in it. Use a "
            f"release that ships it ({NODE_SDK_PACKAGE}@{NODE_SDK_VERSION}, the default) or "
            "set NODE_SDK_SRC to a checkout of the SDK's repository")
    shutil.copy(HERE / "node" / "package.json", NODE_DIR / "package.json")
    shutil.copy(lock, NODE_DIR / "package-lock.json")
    _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], NODE_DIR,
         "installing the SDK's and its suite's dependencies")
    # so that code beside it (the README's snippets) can require('cos-nodejs-sdk-v5')
    (NODE_DIR / "node_modules" / NODE_SDK_PACKAGE).symlink_to(SDK_DIR, target_is_directory=True)
    (NODE_DIR / "origin.txt").write_text(origin + "\n")
    stamp.write_text(inputs)
    return SDK_DIR


def coscmd_bin() -> Path:
    return COSCMD_VENV / "bin" / "coscmd"


def install_coscmd() -> Path:
    requirements = HERE / "coscmd" / "requirements.txt"
    inputs = f"{sys.version}\n{_digest(requirements)}\n"
    stamp = COSCMD_VENV / ".installed"
    if _stamp_ok(stamp, inputs) and coscmd_bin().is_file():
        return coscmd_bin()
    shutil.rmtree(COSCMD_VENV, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(COSCMD_VENV)], ROOT, "creating coscmd's virtualenv")
    _run([str(COSCMD_VENV / "bin" / "pip"), "install", "-q", "-r", str(requirements)], ROOT,
         "installing coscmd")
    stamp.write_text(inputs)
    return coscmd_bin()


INSTALLERS = {"node": install_node, "coscmd": install_coscmd}


def main(argv) -> int:
    names = argv or list(INSTALLERS)
    for name in names:
        if name not in INSTALLERS:
            print(f"unknown client {name!r}; choose from {', '.join(INSTALLERS)}", file=sys.stderr)
            return 2
        try:
            where = INSTALLERS[name]()
        except InstallError as exc:
            print(f"clients: cannot install {name}: {exc}", file=sys.stderr)
            return 1
        print(f"clients: {name} ready in {where.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
