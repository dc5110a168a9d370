"""JSON lines: fixed leading keys, bound context, always one parseable line."""

import io
import json

from picops.logs import JsonLogger


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_leading_keys_then_context_then_fields():
    out = io.StringIO()
    log = JsonLogger(out, clock=lambda: 1700000000.5).bind(request_id="r1", function_name="fn",
                                                          cold_start=True)
    log.info("record processed", bucket="b", key="k")
    (line,) = lines(out)
    assert list(line) == ["level", "timestamp", "message", "request_id", "function_name",
                          "cold_start", "bucket", "key"]
    assert line["level"] == "INFO" and line["timestamp"] == "2023-11-14T22:13:20.500Z"


def test_bind_does_not_change_the_parent():
    out = io.StringIO()
    parent = JsonLogger(out)
    parent.bind(request_id="x")
    parent.error("e")
    assert "request_id" not in lines(out)[0] and lines(out)[0]["level"] == "ERROR"


def test_odd_values_still_give_one_ascii_line():
    out = io.StringIO()
    JsonLogger(out).warning("w", key="猫\ud800", obj=object(), n=None)
    raw = out.getvalue()
    assert raw.count("\n") == 1 and raw.isascii()
    line = json.loads(raw)
    assert line["key"] == "猫\ud800" and line["obj"].startswith("<object")
