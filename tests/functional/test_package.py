"""The deployable package (``make package``) and the config sidecar it ships.

Part 1, no build: ``load_config`` takes the document from ``picops.yaml.json``
only when the sidecar's hash matches the YAML's bytes, never imports PyYAML
then, and reports the same problems either way.

Part 2, the runtime matrix without a build: each supported runtime's pinned
closure satisfies requirements.txt, and the runtime's CPython is found in
pyenv's versions folder too.

Part 3, the package of every supported runtime whose CPython this machine has
(built once, cached under build/runtimes; the first build downloads the
runtime's manylinux wheels): what it holds and lacks, its bytecode, its zip,
and the function run from it by that CPython, isolated (``-I -S``: no
site-packages, only the package directory on sys.path). tests/conftest.py
states at the end of the run which runtimes could not be run.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from picops import sidecar as sidecar_module
from picops.config import load_config
from picops.sidecar import SIDECAR_FORMAT, SIDECAR_SUFFIX, build_sidecar
from picops.errors import ConfigError
from picops import runtimes
from picops_cli import package

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"

CONFIG = textwrap.dedent("""\
    routes:
      - prefix: uploads/
        suffixes: [.jpg, .png]
        bucket: derived-1250000000
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp
""")

# YAML-valid but wrong in several ways: every problem must come out the same way
# whether the document was read from the YAML or from a sidecar.
INVALID = textwrap.dedent("""\
    routes:
      - prefix: uploads/
        colour: red
        bucket: Derived
        rules:
          - fileid: /thumbs/{stem}/
            rule: imageMogr2/thumbnial/400x
      - prefix: uploads/
        rules:
          - fileid: /uploads/{name}
            rule: imageView2/0/w/10
""")


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "picops.yaml"
    path.write_bytes(text.encode("utf-8"))
    return path


def write_sidecar(yaml_path: Path, document, digest: str = "") -> Path:
    """A sidecar as the builder lays it out, with any document and hash."""
    sidecar = Path(str(yaml_path) + SIDECAR_SUFFIX)
    sidecar.write_text(json.dumps({
        "picops_sidecar": SIDECAR_FORMAT,
        "yaml_sha256": digest or hashlib.sha256(yaml_path.read_bytes()).hexdigest(),
        "document": document}), encoding="utf-8")
    return sidecar


def prefixes(path: Path):
    return [r.prefix for r in load_config(str(path)).routes]


# --- part 1: the sidecar ------------------------------------------------------------------

def test_build_sidecar_carries_the_document_and_the_yaml_hash(tmp_path):
    path = write_config(tmp_path, CONFIG)
    sidecar = json.loads(build_sidecar(path.read_bytes()))
    assert sidecar == {"picops_sidecar": SIDECAR_FORMAT,
                       "yaml_sha256": hashlib.sha256(CONFIG.encode()).hexdigest(),
                       "document": yaml.safe_load(CONFIG)}


def test_a_matching_sidecar_is_what_gets_loaded(tmp_path):
    path = write_config(tmp_path, CONFIG)
    doc = yaml.safe_load(CONFIG)
    doc["routes"][0]["prefix"] = "from-the-sidecar/"  # tells the two sources apart
    write_sidecar(path, doc)
    config = load_config(str(path))
    assert [r.prefix for r in config.routes] == ["from-the-sidecar/"]
    assert config.source == str(path)


def test_a_stale_sidecar_is_ignored_for_the_edited_yaml(tmp_path):
    path = write_config(tmp_path, CONFIG)
    Path(str(path) + SIDECAR_SUFFIX).write_text(build_sidecar(path.read_bytes()),
                                                encoding="utf-8")
    path.write_text(CONFIG.replace("uploads/", "photos/"), encoding="utf-8")  # edited later
    assert prefixes(path) == ["photos/"]


@pytest.mark.parametrize("content", [
    b"{not json", b"\xff\xfe", b"[]", b'{"picops_sidecar": 99}',
    json.dumps({"picops_sidecar": SIDECAR_FORMAT, "yaml_sha256": "0" * 64,
                "document": {"routes": []}}).encode()])
def test_a_damaged_or_foreign_sidecar_falls_back_to_the_yaml(tmp_path, content):
    path = write_config(tmp_path, CONFIG)
    Path(str(path) + SIDECAR_SUFFIX).write_bytes(content)
    assert prefixes(path) == ["uploads/"]


def test_without_a_sidecar_the_yaml_is_parsed(tmp_path):
    assert prefixes(write_config(tmp_path, CONFIG)) == ["uploads/"]


def test_the_same_problems_either_way(tmp_path):
    yaml_only = write_config(tmp_path, INVALID)
    with pytest.raises(ConfigError) as from_yaml:
        load_config(str(yaml_only))
    other = tmp_path / "with-sidecar"
    other.mkdir()
    with_sidecar = write_config(other, INVALID)
    write_sidecar(with_sidecar, yaml.safe_load(INVALID))
    with pytest.raises(ConfigError) as from_sidecar:
        load_config(str(with_sidecar))
    assert len(from_yaml.value.problems) >= 5
    assert from_sidecar.value.problems == from_yaml.value.problems


def test_the_builder_refuses_an_invalid_config(tmp_path):
    with pytest.raises(ConfigError) as e:
        build_sidecar(INVALID.encode(), source="picops.yaml")
    assert "routes[0].colour" in str(e.value) and e.value.source == "picops.yaml"
    with pytest.raises(ConfigError, match="duplicate key 'prefix'"):
        build_sidecar(b"routes:\n  - prefix: a/\n    prefix: b/\n    rules: []\n")


def test_no_sidecar_for_a_document_json_cannot_carry(monkeypatch):
    # A valid config only holds strings, booleans, lists and mappings; the check
    # guards later fields. Let any document pass validation to reach it.
    monkeypatch.setattr(sidecar_module, "validate_document", lambda doc, source="": None)
    assert build_sidecar(b"when: 2024-01-01\n") is None      # a date
    assert build_sidecar(b"1: one\n") is None                 # a non-string key
    assert build_sidecar(b"a: [1, true, null]\n") is not None


def test_loading_through_the_sidecar_never_imports_pyyaml(tmp_path):
    path = write_config(tmp_path, CONFIG)
    Path(str(path) + SIDECAR_SUFFIX).write_text(build_sidecar(path.read_bytes()),
                                                encoding="utf-8")
    code = ("import json, sys\nfrom picops.config import load_config\n"
            "c = load_config(sys.argv[1])\n"
            "print(json.dumps(['yaml' in sys.modules, [r.prefix for r in c.routes]]))")

    def run():
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout)

    assert run() == [False, ["uploads/"]]
    Path(str(path) + SIDECAR_SUFFIX).unlink()
    assert run() == [True, ["uploads/"]]  # the same check sees the YAML path


# --- part 2: the runtime matrix ------------------------------------------------------------

def _pins(runtime) -> dict:
    pins = {}
    for line in package.read_requirements(package.requirements_path(runtime)):
        name, sep, version = line.partition("==")
        assert sep and version, f"{runtime.requirements}: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = Version(version)
    return pins


@pytest.mark.parametrize("runtime", list(runtimes.SUPPORTED.values()), ids=lambda r: r.name)
def test_each_runtime_closure_meets_requirements_txt(runtime):
    pins = _pins(runtime)
    top = [Requirement(line) for line in
           package.read_requirements(package.REPO / "requirements.txt")]
    assert {canonicalize_name(r.name) for r in top} == {"cos-python-sdk-v5", "pyyaml"}
    for requirement in top:
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{runtime.requirements} lacks {requirement.name}"
        assert requirement.specifier.contains(version), (runtime.name, requirement, version)


def test_python37_gets_its_own_pins():
    # requests 2.32 and urllib3 2 need 3.8+: the 3.7 closure must not carry them.
    pins = _pins(runtimes.SUPPORTED["Python3.7"])
    assert pins["requests"] < Version("2.32")
    assert pins["urllib3"] < Version("2")
    assert _pins(runtimes.SUPPORTED["Python3.9"])["requests"] >= Version("2.32")


def test_the_shipped_serverless_yml_names_the_default_runtime():
    assert package.runtime_from_serverless().name == runtimes.DEFAULT_RUNTIME == "Python3.7"


def _fake_python(path: Path, target: str) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    path.chmod(0o755)
    return path


def test_find_python_looks_in_pyenv_versions_not_only_path(tmp_path, monkeypatch):
    runtime = runtimes.SUPPORTED["Python3.10"]
    real = package.find_python(runtime)
    if real is None:
        pytest.skip("no CPython 3.10 on this machine")
    versions = tmp_path / "pyenv" / "versions"
    _fake_python(versions / "3.10.1" / "bin" / "python3.10", "/bin/false")   # broken
    _fake_python(versions / "3.10.99" / "bin" / "python3.10", real)
    _fake_python(versions / "3.9.99" / "bin" / "python3.9", "/bin/false")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert package.find_python(runtime) == real        # through the 3.10.99 launcher
    assert package.find_python(runtimes.SUPPORTED["Python3.9"]) is None
    with pytest.raises(ValueError, match="not a working CPython 3.9"):
        package.find_python(runtimes.SUPPORTED["Python3.9"], real)


def test_an_unsupported_runtime_is_refused_by_name():
    with pytest.raises(ValueError, match="Python3.12.*Python3.7, Python3.9, Python3.10"):
        package.resolve_runtime("Python3.12")


# --- part 3: the built package of each runtime -----------------------------------------------

FORBIDDEN = ("pytest", "_pytest", "hypothesis", "responses", "pyvips", "aiohttp", "click",
             "rich", "picops_emulator", "picops_cli", "playwright", "PIL")


def _runtime_params():
    return [pytest.param(r, id=r.name) for r in runtimes.SUPPORTED.values()]


@pytest.fixture(scope="session", params=_runtime_params())
def built(request) -> "package.Built":
    runtime = request.param
    python = package.find_python(runtime)
    if python is None:
        pytest.skip(f"no CPython {runtime.dotted} here (listed in the run's summary)")
    return package.ensure_package(runtime, python)


def _norm(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def test_package_holds_the_function_and_its_runtime_dependencies(built):
    root = built.path
    assert (root / "index.py").read_bytes() == (package.FUNCTION_DIR / "index.py").read_bytes()
    assert (root / "picops" / "__init__.py").is_file()
    assert (root / "picops" / "handler.py").is_file()
    assert (root / "picops" / "grammar" / "parser.py").is_file()
    yaml_bytes = (root / "picops.yaml").read_bytes()
    assert yaml_bytes == (package.FUNCTION_DIR / "picops.yaml").read_bytes()
    sidecar = json.loads((root / ("picops.yaml" + SIDECAR_SUFFIX)).read_text(encoding="utf-8"))
    assert sidecar["yaml_sha256"] == hashlib.sha256(yaml_bytes).hexdigest()
    assert sidecar["document"] == yaml.safe_load(yaml_bytes)

    installed = {_norm(p.name[:-len(".dist-info")]) for p in root.glob("*.dist-info")}
    wanted = {_norm(f"{name}-{version}") for name, version in _pins(built.runtime).items()}
    assert wanted <= installed, f"missing: {sorted(wanted - installed)}"
    assert len(installed) == len(wanted), f"not in {built.runtime.requirements}: " \
                                          f"{installed - wanted}"
    for module in ("qcloud_cos", "yaml", "requests", "urllib3", "xmltodict.py", "six.py",
                   "Crypto", "crcmod"):
        assert (root / module).exists(), module
    # Compiled extensions are for the runtime's own CPython on Linux x86_64 (or the stable ABI).
    abi = f"cpython-{built.runtime.tag[2:]}{'m' if built.runtime.version < (3, 8) else ''}"
    extensions = list(root.rglob("*.so"))
    assert extensions
    for ext in extensions:
        assert ext.name.endswith((f".{abi}-x86_64-linux-gnu.so", ".abi3.so")), ext


def test_package_holds_no_tests_tooling_or_foreign_bytecode(built):
    root = built.path
    names = {p.name for p in root.rglob("*")}
    assert not names & {"tests", "test", "SelfTest", "conftest.py"}
    assert not [p for p in root.rglob("test_*.py")]
    top = {_norm(p.name.split("-")[0].split(".")[0]) for p in root.iterdir()}
    assert not top & {_norm(f) for f in FORBIDDEN}, top & {_norm(f) for f in FORBIDDEN}
    # Bytecode of the runtime's CPython, for every module, and never legacy .pyc files.
    assert package.bytecode_tags(root) == [f"cpython-{built.runtime.tag[2:]}"]
    assert all(p.parent.name == "__pycache__" for p in root.rglob("*.pyc"))
    sources = [p for p in root.rglob("*.py")]
    compiled = {(p.parent.parent, p.name.split(".")[0]) for p in root.rglob("__pycache__/*.pyc")}
    assert all((p.parent, p.stem) in compiled for p in sources)


def test_the_zip_holds_the_package_at_its_root(built, tmp_path):
    archive = package.write_zip(built.path, tmp_path / "function.zip")
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        assert z.testzip() is None
    files = {p.relative_to(built.path).as_posix() for p in built.path.rglob("*") if p.is_file()}
    assert names == files and "index.py" in names and "picops/handler.py" in names
    again = package.write_zip(built.path, tmp_path / "again.zip")
    assert again.read_bytes() == archive.read_bytes()  # reproducible


CLEAN_RUN = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import index
malformed = index.main_handler({"hello": "world"}, {"request_id": "r1"})
skipped = index.main_handler(json.loads(sys.argv[2]), {"request_id": "r2"})
import sysconfig
roots = tuple(os.path.realpath(p) + os.sep for p in (sys.argv[1], sysconfig.get_path("stdlib"),
                                                      sysconfig.get_path("platstdlib")))
outside = sorted(m for m, mod in list(sys.modules.items()) if getattr(mod, "__file__", None)
                 and not os.path.realpath(mod.__file__).startswith(roots))
print("RESULT " + json.dumps({
    "version": list(sys.version_info[:2]), "malformed": malformed, "skipped": skipped,
    "setup_error": str(getattr(index.PROCESSOR, "error", "") or ""), "yaml": "yaml" in sys.modules,
    "forbidden": sorted(m for m in sys.argv[3].split(",") if m in sys.modules),
    "outside": outside, "site": [p for p in sys.path if "-packages" in p],
    "index": index.__file__}))
"""


def test_the_runtimes_cpython_runs_the_packaged_function(built):
    event = json.loads((EVENTS_DIR / "cos_put_real.json").read_text(encoding="utf-8"))
    event["Records"][0]["cos"]["cosObject"]["key"] = "/1250000000/uploads/docs/readme.txt"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "TENCENTCLOUD_SECRETID": "AKIDpackage", "TENCENTCLOUD_SECRETKEY": "sk",
           "TENCENTCLOUD_SESSIONTOKEN": "tok", "TENCENTCLOUD_REGION": "ap-guangzhou",
           "COS_ENDPOINT": "http://127.0.0.1:9"}
    # -B as SCF's PYTHONDONTWRITEBYTECODE (ignored under -I): the package stays as built.
    out = subprocess.run([built.python, "-I", "-S", "-B", "-c", CLEAN_RUN, str(built.path),
                          json.dumps(event), ",".join(FORBIDDEN)],
                         env=env, capture_output=True, text=True, cwd=str(built.path.parent))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    result = json.loads(lines[-1][len("RESULT "):])
    logs = [json.loads(line) for line in lines[:-1]]

    assert result["version"] == list(built.runtime.version)
    assert result["index"] == str(built.path / "index.py")
    assert result["setup_error"] == ""
    assert result["malformed"]["error"]["code"] == "MalformedEvent"
    assert result["malformed"]["counts"] == {"processed": 0, "skipped": 0, "failed": 0}
    assert result["skipped"]["counts"] == {"processed": 0, "skipped": 1, "failed": 0}
    (record,) = result["skipped"]["results"]
    assert (record["key"], record["reason"]) == ("docs/readme.txt", "no_route")
    assert [line["message"] for line in logs if line["level"] == "ERROR"] == ["malformed event"]
    assert any(line.get("outcome") == "skipped" for line in logs)
    # Only the package and the standard library were imported, no tooling, and the
    # shipped sidecar spared the cold start PyYAML.
    assert result["outside"] == [] and result["site"] == [] and result["forbidden"] == []
    assert result["yaml"] is False
