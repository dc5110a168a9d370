"""Trigger-layer fixtures over the real emulator: a dispatcher wired to a running emulator.

``wire(emulator, function_source_or_dir, events=[...], **dispatcher_options)`` builds a
serverless spec through ``picops.serverless``, starts a :class:`TriggerDispatcher` pointed
back at ``emulator`` with the emulator's key pair, registers it as the change listener and
closes it at teardown (before the emulator stops).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Union

import pytest

from picops.serverless import parse_serverless
from picops_emulator.triggers.dispatcher import TriggerDispatcher

APPID = "1250000000"


def cos_trigger(bucket: str, prefix: str = "", events: str = "cos:ObjectCreated:*") -> dict:
    params: dict = {"bucket": f"{bucket}.cos.ap-guangzhou.myqcloud.com", "events": events,
                    "enable": True}
    if prefix:
        params["filter"] = {"prefix": prefix}
    return {"cos": {"parameters": params}}


def spec_doc(events: List[dict], timeout: int = 30,
             variables: Optional[Dict[str, str]] = None) -> dict:
    return {"component": "scf", "name": "picops", "inputs": {
        "name": "picops-it", "src": "./build/package", "handler": "index.main_handler",
        "runtime": "Python3.9", "region": "ap-guangzhou", "memorySize": 256, "role": "picops-it",
        "timeout": timeout, "environment": {"variables": dict(variables or {})},
        "events": events}}


@pytest.fixture
def wire(tmp_path, emulator_credentials):
    made = []

    def make(emulator, function: Union[str, Path], events: List[dict],
             spec: Optional[object] = None, **options) -> TriggerDispatcher:
        if isinstance(function, str):
            folder = tmp_path / f"function{len(made)}"
            folder.mkdir()
            (folder / "index.py").write_text(textwrap.dedent(function), encoding="utf-8")
            function = folder
        options.setdefault("retry_delays", (0.05, 0.05))
        dispatcher = TriggerDispatcher(
            spec or parse_serverless(spec_doc(events)), function, emulator.endpoint,
            (emulator_credentials["secret_id"], emulator_credentials["secret_key"]),
            emulator.data_dir, **options)
        made.append(dispatcher)
        emulator.add_listener(dispatcher.on_change, inline=True)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.close()
