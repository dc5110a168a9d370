"""Helpers for the trigger-layer tests: serverless specs, changes, fake function folders."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

from picops.serverless import parse_serverless
from picops_emulator.notifications import ObjectChanged
from picops_emulator.triggers.invoker import FunctionInvoker

APPID = "1250000000"
UPLOADS = f"uploads-{APPID}"
DERIVED = f"derived-{APPID}"


def trigger_doc(bucket: str = UPLOADS, prefix: str = "", suffix: str = "",
                events: str = "cos:ObjectCreated:*", enable: bool = True,
                region: str = "ap-guangzhou") -> dict:
    params: dict = {"bucket": f"{bucket}.cos.{region}.myqcloud.com", "events": events,
                    "enable": enable}
    if prefix or suffix:
        params["filter"] = {k: v for k, v in (("prefix", prefix), ("suffix", suffix)) if v}
    return {"cos": {"parameters": params}}


def serverless_doc(triggers: Optional[List[dict]] = None, timeout: int = 3,
                   variables: Optional[Dict[str, str]] = None, memory: int = 256,
                   region: str = "ap-guangzhou",
                   role: Optional[str] = "picops-image-processor") -> dict:
    doc = {
        "component": "scf",
        "name": "picops",
        "inputs": {
            "name": "picops-image-processor",
            "src": "./build/package",
            "handler": "index.main_handler",
            "runtime": "Python3.9",
            "region": region,
            "memorySize": memory,
            "timeout": timeout,
            "environment": {"variables": dict(variables or {})},
            "events": triggers if triggers is not None else [trigger_doc(prefix="uploads/")],
        },
    }
    if role is not None:
        doc["inputs"]["role"] = role
    return doc


def make_spec(triggers: Optional[List[dict]] = None, **kwargs):
    return parse_serverless(serverless_doc(triggers, **kwargs))


def change(key: str = "uploads/a.jpg", bucket: str = UPLOADS,
           event_name: str = "cos:ObjectCreated:Put", **kwargs) -> ObjectChanged:
    fields = dict(size=1234, etag="0d7316832fef232e5dcdcf81f39bfdba", content_type="image/jpeg",
                  request_id="NjI1OTRhYzBfMTQ0", region="ap-guangzhou")
    fields.update(kwargs)
    return ObjectChanged(bucket=bucket, key=key, event_name=event_name, **fields)


@pytest.fixture
def function_dir(tmp_path: Path) -> Callable[[str], Path]:
    """``function_dir(source)`` writes ``index.py`` into a fresh folder and returns it."""
    counter = iter(range(1000))

    def write(source: str, name: str = "index.py") -> Path:
        folder = tmp_path / f"fn{next(counter)}"
        folder.mkdir()
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
        return folder

    return write


#: The environment the invoker tests give the function's process.
ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def invoker_for(function_dir):
    """``invoker_for(source, **options)``: a FunctionInvoker on a fresh function folder,
    closed at teardown."""
    made = []

    def make(source, **kwargs):
        kwargs.setdefault("timeout", 5.0)
        inv = FunctionInvoker(function_dir(source), ENV, **kwargs)
        made.append(inv)
        return inv

    yield make
    for inv in made:
        inv.close()
