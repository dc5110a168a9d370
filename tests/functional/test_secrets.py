"""Secrets never reach a log line or the return value, whatever a service echoes; a hostile
event is logged, not crashed on; every line is one line."""

import json
import re
from xml.sax.saxutils import escape

import responses

from .conftest import ENDPOINT, Harness, context, event_for

TOKEN = "SESSIONtoken0123456789abcdefSECRET"
ENV = {"TENCENTCLOUD_SECRETID": "AKIDfunction", "TENCENTCLOUD_SECRETKEY": "sk",
       "TENCENTCLOUD_SESSIONTOKEN": TOKEN, "TENCENTCLOUD_REGION": "ap-guangzhou",
       "COS_ENDPOINT": ENDPOINT}


def echoing_error(request):
    """A 403 whose message echoes the request's signed headers, as a SignatureDoesNotMatch
    may: HttpString form (name=value&...) and a header dump."""
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    signed = "&".join(f"{k.lower()}={v}" for k, v in sorted(headers.items())
                      if k.lower() in ("host", "x-cos-security-token"))
    message = (f"The request signature we calculated does not match. HttpString: "
               f"'post\\n/x\\n\\n{signed}\\n'; Authorization: {headers['Authorization']}; "
               f"headers: {json.dumps(headers)}")
    body = ("<?xml version='1.0' encoding='utf-8' ?><Error><Code>SignatureDoesNotMatch</Code>"
            f"<Message>{escape(message)}</Message><Resource>x</Resource>"
            "<RequestId>rid-1</RequestId><TraceId>t</TraceId></Error>")
    return 403, {"Content-Type": "application/xml", "x-cos-request-id": "rid-1"}, body


def test_a_service_echoing_the_session_token_never_gets_it_logged_or_returned(
        tmp_path, ci_http):
    h = Harness(tmp_path, env=ENV)
    ci_http.add_callback(responses.POST, re.compile(r".*"), callback=echoing_error)
    summary = h.handle(event_for("uploads/a.jpg"))
    (line,) = h.outcomes()
    assert line["outcome"] == "failed" and line["error"]["code"] == "SignatureDoesNotMatch"
    message = line["error"]["message"]
    assert "x-cos-security-token=***" in message and "HttpString" in message
    everything = h.stream.getvalue() + json.dumps(summary)
    assert TOKEN not in everything
    assert "q-signature=" not in everything or "q-signature=***" in everything
    assert not re.search(r"q-signature=[0-9a-f]{8}", everything)


def test_a_deeply_nested_event_is_logged_as_malformed_not_crashed_on(harness):
    deep: object = "bottom"
    for _ in range(100_000):
        deep = {"a": [deep]}
    summary = harness.handle({"Type": "Timer", "Message": deep})
    (line,) = harness.lines
    assert line["message"] == "malformed event"
    assert "[nested too deep]" in line["event"]
    assert summary["error"]["code"] == "MalformedEvent"
    # and inside a record: the record fails, the handler logs and returns
    records = event_for("uploads/a.jpg")
    records["Records"][0]["cos"]["cosObject"]["meta"] = deep
    harness.handle(records, context(request_id="req-2"))
    assert harness.lines[-1]["message"].startswith("record ")


def test_every_secret_header_of_the_event_is_masked_in_the_log(harness):
    record = event_for("uploads/a.jpg")["Records"][0]
    headers = record["event"]["requestParameters"]["requestHeaders"]
    headers.update({"x-cos-security-token": TOKEN, "X-Ci-Security-Token": TOKEN})
    harness.handle({"records": [record]})  # malformed: the masked event is logged
    (line,) = harness.lines
    assert line["message"] == "malformed event"
    assert TOKEN not in harness.stream.getvalue()
    assert '"x-cos-security-token": "***"' in line["event"]


def test_line_separators_in_keys_keep_each_log_line_one_line(harness):
    key = "uploads/a\u2028b\u2029c\u0085d.jpg"
    harness.handle(event_for(key))
    text = harness.stream.getvalue()
    assert len(text.splitlines()) == len(text.split("\n")) - 1  # no other line breaks
    (line,) = harness.outcomes()
    assert line["key"] == key
