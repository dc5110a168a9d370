"""Helpers for the pure-core tests: event fixtures and small configs."""

import copy
import json
import textwrap
from pathlib import Path

import pytest

from picops.config import parse_config
from picops.events import parse_record, split_records

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def event_for(key: str, size: int = 1234, name: str = "uploads", appid: str = "1250000000",
              event_name: str = "cos:ObjectCreated:Put") -> dict:
    """The real-shaped fixture with its one record pointed at ``key``."""
    event = load_event("cos_put_real.json")
    rec = event["Records"][0]
    rec["cos"]["cosBucket"].update(name=name, appid=appid)
    rec["cos"]["cosObject"].update(key=f"/{appid}/{name}/{key}", size=size)
    rec["event"]["eventName"] = event_name
    return event


def parse_event(event, default_region: str = "") -> list:
    """Every record of a COS event, in order (what the handler reads record by record)."""
    return [parse_record(raw, i, default_region) for i, raw in enumerate(split_records(event))]


def config(text: str):
    return parse_config(textwrap.dedent(text))


@pytest.fixture
def real_event() -> dict:
    return copy.deepcopy(load_event("cos_put_real.json"))
