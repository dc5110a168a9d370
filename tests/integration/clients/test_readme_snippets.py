"""The README's client snippets, run as written against a live emulator (issue 11).

Each fenced block under a ``<!-- snippet: NAME -->`` marker in README.md is extracted and
run unchanged except for the port (``9000`` becomes the test emulator's): Python with this
interpreter, JavaScript with node beside the Node SDK in build/clients, shell with bash and
coscmd from build/clients on PATH, in a scratch directory and HOME. The emulator holds the
README's key pair (AKIDlocal / local-secret). The tools come from ``make clients-install``
(a dependency of ``make test``); a missing tool is a failure that says so, never a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = ROOT / "build" / "clients"
SNIPPET = re.compile(r"<!-- snippet: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)```",
                     re.DOTALL)


def snippets() -> dict:
    found = {m.group("name"): (m.group("lang"), m.group("code"))
             for m in SNIPPET.finditer((ROOT / "README.md").read_text(encoding="utf-8"))}
    assert set(found) == {"python-ip-port", "python-proxy", "node", "node-domain", "shell"}, \
        sorted(found)
    return found


@pytest.fixture
def readme_emulator(emulator_factory):
    return emulator_factory(secret_id="AKIDlocal", secret_key="local-secret")


def run(lang: str, code: str, port: int, workdir: Path) -> str:
    code = code.replace("127.0.0.1:9000", f"127.0.0.1:{port}").replace(
        "Port=9000", f"Port={port}").replace("myqcloud.com:9000", f"myqcloud.com:{port}")
    assert "9000" not in code, "a port the test could not redirect"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["HOME"] = str(workdir)
    if lang == "python":
        cmd = [sys.executable, "-c", code]
    elif lang == "js":
        node_dir = CLIENTS / "node"
        assert (node_dir / "node_modules" / "cos-nodejs-sdk-v5").exists(), \
            "the Node SDK is not installed: run `make clients-install`"
        # beside the SDK (so require finds it); one file per snippet, tests may run at once
        script = node_dir / f"readme-snippet-{workdir.name}.js"
        script.write_text(code)
        cmd = ["node", str(script)]
    else:
        coscmd = CLIENTS / "coscmd-venv" / "bin"
        assert (coscmd / "coscmd").is_file(), "coscmd is not installed: run `make clients-install`"
        env["PATH"] = f"{coscmd}{os.pathsep}{env['PATH']}"
        cmd = ["bash", "-euo", "pipefail", "-c", code]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"{lang} snippet failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_python_ip_port(readme_emulator, tmp_path):
    lang, code = snippets()["python-ip-port"]
    out = run(lang, code, readme_emulator.port, tmp_path)
    assert "photos-1250000000" in out
    assert readme_emulator.store.open_object("photos-1250000000", "cats/tom.jpg")[1].read() == \
        b"not really a cat"


def test_python_proxy(readme_emulator, tmp_path):
    lang, code = snippets()["python-proxy"]
    out = run(lang, code, readme_emulator.port, tmp_path)
    assert "albums-1250000000" in out
    meta, fh = readme_emulator.store.open_object("albums-1250000000", "best/beach.jpg")
    with fh:
        assert fh.read() == b"sand" * 400_000


def test_node(readme_emulator, tmp_path):
    lang, code = snippets()["node"]
    assert run(lang, code, readme_emulator.port, tmp_path).strip() == "hello"


HOSTS = Path("/etc/hosts")
DOMAIN_LINE = "127.0.0.1 notes-1250000000.cos.ap-guangzhou.myqcloud.com  # picops test\n"


@pytest.fixture
def hosts_entry():
    """The snippet's name resolution: one hosts-file line, added here and always removed."""
    assert os.access(HOSTS, os.W_OK), "the Domain snippet's test edits /etc/hosts (run as root)"
    original = HOSTS.read_text()
    HOSTS.write_text(original + ("" if original.endswith("\n") else "\n") + DOMAIN_LINE)
    try:
        yield
    finally:
        current = HOSTS.read_text()
        HOSTS.write_text(current.replace(DOMAIN_LINE, ""))


def test_node_domain(readme_emulator, tmp_path, hosts_entry):
    lang, code = snippets()["node-domain"]
    assert run(lang, code, readme_emulator.port, tmp_path).strip() == "by domain"


def test_coscmd_and_curl(readme_emulator, tmp_path):
    lang, code = snippets()["shell"]
    out = run(lang, code, readme_emulator.port, tmp_path)
    assert "2024/today.log" in out and out.rstrip().endswith("one line")
