"""Issue 2's log contract, checked over every kind of outcome line at once.

Each record's outcome is one JSON line with at least level, message, request_id,
bucket, key, outcome, route and duration_ms, whatever happened to it; and the
uploader's Authorization header never reaches any line, not even the one that shows
a malformed event.
"""

import copy
import json

from .conftest import SOURCE, UPLOADER_SECRETS, event_for, load_event

#: Keys every outcome line carries (issue 2, "Logs and result").
LINE_KEYS = ("level", "message", "request_id", "bucket", "key", "outcome", "route",
             "duration_ms")


def test_every_outcome_line_has_the_same_leading_fields(harness):
    # GIVEN one event holding a record of each kind: processed, two skips, a malformed
    # record, a permanent CI failure, and a deletion
    event = event_for("uploads/ok.jpg", "uploads/folder/", "elsewhere/a.jpg",
                      "uploads/broken.jpg", "uploads/bad.jpg")
    event["Records"][1]["cos"]["cosObject"]["size"] = 0
    del event["Records"][3]["cos"]["cosObject"]["key"]
    removal = event_for("uploads/gone.jpg", event_name="cos:ObjectRemove:Delete")
    event["Records"].append(removal["Records"][0])
    harness.ci.script = ["ok", ("error", 400, "InvalidImageFormat")]

    summary = harness.handle(event)

    lines = harness.outcomes()
    assert [(ln["outcome"], ln.get("reason")) for ln in lines] == [
        ("processed", None), ("skipped", "folder_marker"), ("skipped", "no_route"),
        ("failed", None), ("failed", None), ("skipped", "manifests_off")]
    for line in lines:
        missing = [k for k in LINE_KEYS if k not in line]
        assert missing == [], (line, missing)
        assert line["request_id"] == "req-1"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["level"] == ("ERROR" if line["outcome"] == "failed" else "INFO")
        assert line["message"] == f"record {line['outcome']}"
    # route is the matching route's prefix, null when none matches (a folder marker has
    # no .jpg suffix) or nothing is known (the malformed record)
    assert [ln["route"] for ln in lines] == ["uploads/", None, None, None, "uploads/",
                                             "uploads/"]
    # a malformed record has no bucket or key to report, but the fields are there
    assert (lines[3]["bucket"], lines[3]["key"]) == (None, None)
    assert lines[3]["error"]["code"] == "MalformedEvent"
    assert (lines[5]["bucket"], lines[5]["key"], lines[5]["action"]) == (
        SOURCE, "uploads/gone.jpg", "delete")
    # failures carry the error's four fields; the summary holds the same results
    for line in (lines[3], lines[4]):
        assert {"code", "message", "status", "retryable"} <= set(line["error"])
    assert [r["route"] for r in summary["results"]] == [ln["route"] for ln in lines]
    assert json.loads(json.dumps(summary))["counts"] == {"processed": 1, "skipped": 3,
                                                         "failed": 2}


def test_a_malformed_cos_event_is_shown_masked(harness):
    # GIVEN a real upload event whose Records is an object instead of a list: the whole
    # record, Authorization header included, ends up in the "malformed event" line
    real = load_event("cos_put_real.json")
    event = {"Records": {"0": copy.deepcopy(real["Records"][0])},
             "authorization": UPLOADER_SECRETS[0]}

    summary = harness.handle(event)

    (line,) = harness.lines
    assert line["message"] == "malformed event" and line["level"] == "ERROR"
    assert summary["error"]["code"] == "MalformedEvent"
    shown = json.loads(line["event"])
    headers = shown["Records"]["0"]["event"]["requestParameters"]["requestHeaders"]
    assert headers == {"Authorization": "***"}
    assert shown["authorization"] == "***"
    assert shown["Records"]["0"]["cos"]["cosObject"]["key"] == \
        "/1250000000/uploads/uploads/2024/cat.jpg"  # the rest is kept, to debug with
    text = harness.stream.getvalue()
    for secret in UPLOADER_SECRETS:
        assert secret not in text


def test_a_malformed_page_event_is_shown_masked(harness):
    event = {"picops_backfill": {"version": 2, "bucket": SOURCE, "keys": [],
                                 "headers": {"Authorization": UPLOADER_SECRETS[0]}}}
    harness.handle(event)
    (line,) = harness.lines
    assert line["message"] == "malformed event"
    assert line["error"]["message"].startswith("picops_backfill.version: version 2")
    assert UPLOADER_SECRETS[0] not in harness.stream.getvalue()
    assert json.loads(line["event"])["picops_backfill"]["headers"] == {"Authorization": "***"}
