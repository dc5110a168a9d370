"""functions/image_processor/index.py: the SCF entry builds once and delegates."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import responses

from picops.handler import FailedProcessor, Processor

from .conftest import ENDPOINT, FakeCi, FakeClock, context, event_for

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "functions" / "image_processor"
ENV = {"TENCENTCLOUD_SECRETID": "AKIDfunction", "TENCENTCLOUD_SECRETKEY": "sk",
       "TENCENTCLOUD_SESSIONTOKEN": "tok", "TENCENTCLOUD_REGION": "ap-guangzhou",
       "COS_ENDPOINT": ENDPOINT}


def import_index(name: str):
    spec = importlib.util.spec_from_file_location(name, FUNCTION_DIR / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_handler_runs_the_shipped_config(monkeypatch, capsys):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PICOPS_CONFIG", raising=False)
    index = import_index("index_under_test")
    assert isinstance(index.PROCESSOR, Processor)
    ci = FakeCi(FakeClock())
    manifest = "http://127.0.0.1:9000/_picops/manifests/uploads/2024/cat.jpg.json"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, manifest, status=404, headers={"x-cos-request-id": "r"},
                 body="<Error><Code>NoSuchKey</Code><Message>m</Message><Resource>r</Resource>"
                      "<RequestId>r</RequestId><TraceId>t</TraceId></Error>")
        rsps.add_callback(responses.POST, "http://127.0.0.1:9000/uploads/2024/cat.jpg",
                          callback=ci)
        put = rsps.add(responses.PUT, manifest, status=200,
                       headers={"ETag": '"m"', "x-cos-request-id": "r"})
        # after CI, before the manifest: the source still has the event's ETag
        head = rsps.add(responses.HEAD, "http://127.0.0.1:9000/uploads/2024/cat.jpg",
                        status=200, headers={"ETag": '"0d7316832fef232e5dcdcf81f39bfdba"',
                                             "x-cos-request-id": "r"})
        summary = index.main_handler(event_for("uploads/2024/cat.jpg"), context())
    assert summary["counts"] == {"processed": 1, "skipped": 0, "failed": 0}
    assert put.call_count == 1  # the shipped config keeps a manifest per source
    assert head.call_count == 1
    (call,) = ci.calls
    assert len(call["ops"]["rules"]) == 4  # the shipped uploads/ route
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["outcome"] for line in lines] == ["processed"]


def test_picops_config_env_is_relative_to_the_function(monkeypatch, tmp_path):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PICOPS_CONFIG", "does-not-exist.yaml")
    index = import_index("index_bad_config")
    assert isinstance(index.PROCESSOR, FailedProcessor)
    assert index.PROCESSOR.error.source == str(FUNCTION_DIR / "does-not-exist.yaml")
    with pytest.raises(Exception, match="cannot read config file"):
        index.main_handler(event_for("uploads/a.jpg"), context())


def test_cold_start_imports_no_tooling():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import index; "
            "print(sorted(m for m in ('pyvips', 'aiohttp', 'click', 'rich', 'picops_emulator',"
            " 'picops_cli') if m in sys.modules))")
    env = dict(ENV, PATH="/usr/bin:/bin")
    out = subprocess.run([sys.executable, "-c", code, str(FUNCTION_DIR)], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
