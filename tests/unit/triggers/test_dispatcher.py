"""Asynchronous delivery with SCF's policy: retries, dead letters, loop guard, decision lines."""

import json
import logging
import os
import time
from pathlib import Path

import pytest

from picops_emulator.triggers.deadletter import read_dead_letters
from picops_emulator.triggers import dispatcher as dispatcher_module
from picops_emulator.triggers.dispatcher import TriggerDispatcher
from picops_emulator.triggers.journal import JournalInUse
from picops_emulator.triggers.records import attempt_bytes
from picops_emulator.triggers.events import build_cos_event

from .conftest import APPID, DERIVED, UPLOADS, change, make_spec, trigger_doc

ENDPOINT = "http://127.0.0.1:9"
CREDENTIALS = ("AKIDtestkey", "test-secret")
WAIT = 60  # generous upper bound for wait_idle on a loaded machine; never a speed check

ECHO = """
    def main_handler(event, context):
        print("got", event["Records"][0]["cos"]["cosObject"]["key"])
        return {"event": event, "context": context}
"""
ALWAYS_FAILS = """
    def main_handler(event, context):
        print("trying", context["request_id"])
        raise RuntimeError("CI said no")
"""


@pytest.fixture
def dispatcher_for(function_dir, tmp_path):
    made = []

    def make(source, triggers=None, spec_kwargs=None, **kwargs):
        kwargs.setdefault("retry_delays", (0.05, 0.05))
        spec = make_spec(triggers, **(spec_kwargs or {}))
        d = TriggerDispatcher(spec, function_dir(source), ENDPOINT, CREDENTIALS,
                              tmp_path / "data", **kwargs)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def decisions_of(d):
    return [entry["decision"] for entry in d.decisions]


def test_delivers_the_real_shaped_event_and_context(dispatcher_for):
    d = dispatcher_for(ECHO)
    c = change("uploads/中文 a+b.jpg")
    d.on_change(c)
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.outcome == "succeeded"
    assert [a.number for a in record.attempts] == [1]
    got = record.value
    assert got["event"] == record.event
    expected = build_cos_event(c, function_name=d.function_name, function_region="ap-guangzhou",
                               now=record.event["Records"][0]["event"]["eventTime"],
                               reqid=record.event["Records"][0]["event"]["reqid"])
    # identical to a freshly built event except the placeholder signature's time window
    for ev in (expected, got["event"]):
        ev["Records"][0]["event"]["requestParameters"]["requestHeaders"].pop("Authorization")
    assert got["event"] == expected
    ctx = got["context"]
    assert ctx["request_id"] == record.request_id
    assert ctx["function_name"] == d.function_name
    assert ctx["time_limit_in_ms"] == 3000 and ctx["memory_limit_in_mb"] == 256
    assert ctx["tencentcloud_appid"] == APPID and ctx["tencentcloud_region"] == "ap-guangzhou"
    assert record.logs == [f"got /{APPID}/uploads/uploads/中文 a+b.jpg"]
    assert record.generation == 0 and record.trigger_index == 0
    assert decisions_of(d) == ["matched", "delivered"]


def test_unmatched_change_is_logged_with_reasons_and_not_delivered(dispatcher_for):
    d = dispatcher_for(ECHO)
    d.on_change(change("elsewhere/a.jpg"))
    d.on_change(change("uploads/a.jpg", bucket=DERIVED))
    assert d.wait_idle(WAIT)
    assert d.invocations == []
    first, second = d.decisions
    assert first["decision"] == "no_trigger" and first["key"] == "elsewhere/a.jpg"
    assert first["reasons"] == [{"trigger": 0,
                                 "reason": "key does not start with filter prefix 'uploads/'"}]
    assert second["decision"] == "no_trigger" and "reasons" not in second


def test_failure_is_retried_twice_then_dead_lettered(dispatcher_for, tmp_path):
    d = dispatcher_for(ALWAYS_FAILS)
    d.on_change(change("uploads/bad.jpg"))
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.outcome == "dead_lettered"
    assert [a.number for a in record.attempts] == [1, 2, 3]
    assert all(not a.ok and a.failure.message == "RuntimeError: CI said no"
               for a in record.attempts)
    assert decisions_of(d) == ["matched", "failed", "retry_scheduled", "failed",
                               "retry_scheduled", "failed", "dead_lettered"]
    # each attempt's log lines are kept, the traceback included, as SCF's log shows it
    assert record.attempts[0].logs[0] == f"trying {record.request_id}"
    assert any("RuntimeError: CI said no" in line for line in record.attempts[0].logs)

    (entry,) = read_dead_letters(tmp_path / "data")
    assert entry["RequestId"] == record.request_id
    assert entry["ErrorCode"] == 430
    assert entry["ErrorMessage"] == "RuntimeError: CI said no"
    body = entry["Body"]
    assert body["RetryNum"] == 2 and body["AppId"] == APPID
    assert body["FunctionName"] == d.function_name and body["Namespace"] == "default"
    assert json.loads(body["ClientContext"]) == record.event
    assert entry["Attempts"] == 3 and [e["attempt"] for e in entry["Errors"]] == [1, 2, 3]
    assert entry["Errors"][0]["kind"] == "exception"
    assert entry["Bucket"] == UPLOADS and entry["Key"] == "uploads/bad.jpg"
    assert entry["Trigger"] == 0 and entry["Generation"] == 0
    assert entry["Time"].endswith("Z")
    dead = d.decisions[-1]
    assert dead["level"] == "ERROR" and dead["dead_letter_file"].endswith("dead-letter.jsonl")


def test_success_on_a_retry_is_not_dead_lettered(dispatcher_for, tmp_path):
    flag = tmp_path / "failed-once"
    d = dispatcher_for(f"""
        import os
        def main_handler(event, context):
            if not os.path.exists({str(flag)!r}):
                open({str(flag)!r}, "w").close()
                raise ValueError("first time")
            return "ok"
    """)
    d.on_change(change())
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.outcome == "succeeded" and record.value == "ok"
    assert [a.ok for a in record.attempts] == [False, True]
    assert record.attempts[0].failure.message == "ValueError: first time"
    assert read_dead_letters(tmp_path / "data") == []
    # the retry delivers the same event with the same request id
    retry = [e for e in d.decisions if e["decision"] == "retry_scheduled"][0]
    assert retry["delay_s"] == 0.05 and retry["request_id"] == record.request_id


def test_timeout_without_retries_goes_straight_to_dead_letter(dispatcher_for, tmp_path):
    d = dispatcher_for("""
        def main_handler(event, context):
            while True:
                pass
    """, retry_delays=(), spec_kwargs={"timeout": 1})
    d.on_change(change())
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.outcome == "dead_lettered" and len(record.attempts) == 1
    assert record.failure.kind == "timeout"
    (entry,) = read_dead_letters(tmp_path / "data")
    assert entry["ErrorCode"] == 433 and entry["Body"]["RetryNum"] == 0


def test_crash_exit_and_os_exit_are_failed_executions(dispatcher_for):
    d = dispatcher_for("""
        import os, sys
        def main_handler(event, context):
            key = event["Records"][0]["cos"]["cosObject"]["key"]
            if key.endswith("/sys-exit.jpg"):
                sys.exit(3)
            if key.endswith("/os-exit.jpg"):
                os._exit(9)
            return "fine"
    """, retry_delays=())
    for key in ("uploads/sys-exit.jpg", "uploads/os-exit.jpg", "uploads/fine.jpg"):
        d.on_change(change(key))
    assert d.wait_idle(WAIT)
    outcomes = {r.key: (r.outcome, r.failure.kind if r.failure else None) for r in d.invocations}
    assert outcomes == {"uploads/sys-exit.jpg": ("dead_lettered", "exit"),
                        "uploads/os-exit.jpg": ("dead_lettered", "crash"),
                        "uploads/fine.jpg": ("succeeded", None)}


def test_loop_guard_refuses_generations_past_the_maximum(dispatcher_for, caplog):
    d = dispatcher_for(ECHO, max_generation=3)
    caplog.set_level(logging.INFO, logger="picops_emulator.triggers")
    d.on_change(change("uploads/a_gen3.jpg", generation=3))
    d.on_change(change("uploads/a_gen4.jpg", generation=4))
    assert d.wait_idle(WAIT)
    assert [(r.key, r.generation, r.outcome) for r in d.invocations] == [
        ("uploads/a_gen3.jpg", 3, "succeeded")]
    guarded = [e for e in d.decisions if e["decision"] == "loop_guarded"]
    assert len(guarded) == 1
    line = guarded[0]
    assert line["level"] == "ERROR"
    assert (line["bucket"], line["key"], line["generation"], line["trigger"]) == (
        UPLOADS, "uploads/a_gen4.jpg", 4, 0)
    assert line["filter"]["prefix"] == "uploads/"
    assert "LOOP GUARD" in line["message"] and "max 3" in line["message"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and json.loads(errors[0].getMessage()) == line


def test_environment_is_serverless_variables_plus_scf_and_nothing_else(
        dispatcher_for, monkeypatch):
    monkeypatch.setenv("H5_EMULATOR_ONLY_SECRET", "must-not-leak")
    d = dispatcher_for("""
        import os
        def main_handler(event, context):
            print(" ".join(sorted(os.environ)))
            return {"env": dict(os.environ), "cwd": os.getcwd()}
    """, spec_kwargs={"variables": {"TARGET_BUCKET": DERIVED, "MODE": "demo"}},
        extra_env={"PICOPS_CONFIG": "/somewhere/picops.yaml"})
    d.on_change(change())
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    env, cwd = record.value["env"], record.value["cwd"]
    fn_dir = str(Path(d.invoker.function_dir))
    assert record.logs[0].split() == sorted(env)
    assert "H5_EMULATOR_ONLY_SECRET" not in env
    assert env["TARGET_BUCKET"] == DERIVED and env["MODE"] == "demo"
    assert env["PICOPS_CONFIG"] == "/somewhere/picops.yaml"
    assert env["COS_ENDPOINT"] == ENDPOINT
    assert env["TENCENTCLOUD_SECRETID"] == "AKIDtestkey"
    assert env["TENCENTCLOUD_SECRETKEY"] == "test-secret"
    assert env["TENCENTCLOUD_SESSIONTOKEN"] == ""
    assert env["TENCENTCLOUD_REGION"] == "ap-guangzhou"
    assert env["TENCENTCLOUD_APPID"] == APPID
    assert env["SCF_FUNCTIONNAME"] == d.function_name
    assert env["SCF_NAMESPACE"] == "default" and env["SCF_RUNTIME"] == "Python3.9"
    assert env["PYTHONPATH"] == fn_dir and os.path.realpath(cwd) == os.path.realpath(fn_dir)


def test_without_a_role_the_function_gets_no_credentials(dispatcher_for):
    # SCF only hands a function its role's keys; no role: no TENCENTCLOUD_SECRET*.
    d = dispatcher_for("""
        import os
        def main_handler(event, context):
            return sorted(k for k in os.environ if k.startswith("TENCENTCLOUD_"))
    """, spec_kwargs={"role": None})
    d.on_change(change())
    assert d.wait_idle(WAIT)
    names = d.invocations[0].value
    assert "TENCENTCLOUD_REGION" in names
    assert not {"TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY",
                "TENCENTCLOUD_SESSIONTOKEN"} & set(names)


def test_the_emulator_endpoint_wins_over_serverless_yml(dispatcher_for):
    # TENCENTCLOUD_*/SCF_* names are refused by picops.serverless itself (SCF reserves them)
    d = dispatcher_for("""
        import os
        def main_handler(event, context):
            return os.environ["COS_ENDPOINT"]
    """, spec_kwargs={"variables": {"COS_ENDPOINT": "https://elsewhere.example"}})
    d.on_change(change())
    assert d.wait_idle(WAIT)
    assert d.invocations[0].value == ENDPOINT


def test_function_log_lines_are_forwarded_with_a_prefix(dispatcher_for, caplog):
    caplog.set_level(logging.INFO, logger="picops_emulator.function")
    d = dispatcher_for(ECHO)
    d.on_change(change("uploads/x.jpg"))
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    lines = [r.getMessage() for r in caplog.records if r.name == "picops_emulator.function"]
    assert lines == [f"[{d.function_name} {record.request_id[:8]}] got /{APPID}/uploads/"
                     "uploads/x.jpg"]


def test_decision_lines_are_json_with_fixed_leading_keys(dispatcher_for, caplog):
    caplog.set_level(logging.INFO, logger="picops_emulator.triggers")
    d = dispatcher_for(ECHO)
    d.on_change(change())
    assert d.wait_idle(WAIT)
    lines = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == "picops_emulator.triggers"]
    assert [line["decision"] for line in lines] == ["matched", "delivered"]
    for line in lines:
        assert list(line)[:5] == ["level", "timestamp", "component", "decision", "message"]
        assert line["bucket"] == UPLOADS and line["key"] == "uploads/a.jpg"
    assert lines[1]["attempt"] == 1 and lines[1]["cold_start"] is True


def test_on_change_returns_while_the_function_is_still_running(dispatcher_for, tmp_path):
    gate = tmp_path / "gate"
    d = dispatcher_for(f"""
        import os, time
        def main_handler(event, context):
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.01)
            return "released"
    """, spec_kwargs={"timeout": 60})
    d.on_change(change())
    # the function cannot have finished: it waits for the gate, which is not there yet
    assert d.wait_idle(timeout=0) is False
    assert d.invocations[0].outcome == "pending"
    gate.touch()
    assert d.wait_idle(WAIT)
    assert d.invocations[0].outcome == "succeeded"


def test_close_defers_queued_and_running_deliveries_to_the_journal(dispatcher_for, tmp_path):
    d = dispatcher_for("""
        import time
        def main_handler(event, context):
            print("started")
            time.sleep(600)
    """, concurrency=1, spec_kwargs={"timeout": 600})
    d.on_change(change("uploads/1.jpg"))
    d.on_change(change("uploads/2.jpg"))
    d.close()
    outcomes = sorted((r.key, r.outcome) for r in d.invocations)
    assert outcomes == [("uploads/1.jpg", "deferred"), ("uploads/2.jpg", "deferred")]
    deferred = [e for e in d.decisions if e["decision"] == "deferred"]
    assert {e["key"] for e in deferred} == {"uploads/1.jpg", "uploads/2.jpg"}
    assert all(e["level"] == "WARNING" for e in deferred)
    assert read_dead_letters(tmp_path / "data") == []
    d.on_change(change("uploads/3.jpg"))  # after close: journaled, logged, no exception
    assert d.decisions[-1]["decision"] == "deferred"
    # nothing was lost: the next dispatcher on the data dir delivers all three
    again = dispatcher_for(ECHO)
    assert again.wait_idle(WAIT)
    assert sorted((r.key, r.outcome, len(r.attempts)) for r in again.invocations) == [
        ("uploads/1.jpg", "succeeded", 1), ("uploads/2.jpg", "succeeded", 1),
        ("uploads/3.jpg", "succeeded", 1)]
    assert decisions_of(again).count("replayed") == 3
    # and they are finished: a third start has nothing left to deliver
    again.close()
    third = dispatcher_for(ECHO)
    assert third.wait_idle(WAIT) and third.invocations == []


def test_a_retry_queued_at_shutdown_survives_with_its_attempt_count(dispatcher_for, tmp_path):
    d = dispatcher_for(ALWAYS_FAILS, retry_delays=(600, 600))
    d.on_change(change("uploads/bad.jpg"))
    assert _wait_for(lambda: "retry_scheduled" in decisions_of(d))
    d.close()
    (record,) = d.invocations
    assert record.outcome == "deferred" and len(record.attempts) == 1
    # the journal keeps the retry's due time: a restart does not run it early
    again = dispatcher_for(ALWAYS_FAILS, retry_delays=(0.05, 0.05))
    assert not again.wait_idle(0.5)  # the first retry is still due in ~600 s
    again.close()
    journal = tmp_path / "data" / "trigger-journal.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [line["op"] for line in lines] == ["event", "attempt"]
    lines[1]["due"] = 0  # as if the 600 s had passed
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    third = dispatcher_for(ALWAYS_FAILS, retry_delays=(0.05, 0.05))
    assert third.wait_idle(WAIT)
    (record,) = third.invocations
    # attempt 1 ran in the first run; 2 and 3 here: SCF's three attempts in total
    assert record.outcome == "dead_lettered"
    assert [a.number for a in record.attempts] == [1, 2, 3]
    (entry,) = read_dead_letters(tmp_path / "data")
    assert entry["Attempts"] == 3 and [e["attempt"] for e in entry["Errors"]] == [1, 2, 3]
    assert entry["Body"]["RetryNum"] == 2


def test_a_second_dispatcher_on_the_same_data_dir_is_refused(dispatcher_for):
    dispatcher_for(ECHO)
    with pytest.raises(JournalInUse, match="in use by another trigger dispatcher"):
        dispatcher_for(ECHO)


def test_records_are_bounded_in_bytes(dispatcher_for, monkeypatch):
    monkeypatch.setattr(dispatcher_module, "MAX_RETAINED_BYTES", 1024 * 1024)
    d = dispatcher_for("""
        def main_handler(event, context):
            for i in range(2000):
                print("z" * 1000)
            return {"blob": "v" * 200000}
    """)
    for i in range(12):
        d.on_change(change(f"uploads/{i}.jpg"))
    assert d.wait_idle(WAIT)
    records = d.invocations
    assert all(r.outcome == "succeeded" for r in records)
    held = sum(attempt_bytes(a) for r in records for a in r.attempts)
    assert held <= 1024 * 1024
    assert 0 < len(records) < 12  # the oldest went first
    assert records[-1].key == "uploads/11.jpg"
    value = records[-1].value
    assert isinstance(value, str) and len(value) < 1000  # a preview, not 200 KB


def _wait_for(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_broken_change_is_logged_not_raised(dispatcher_for):
    d = dispatcher_for(ECHO)
    d.on_change(change(key=None))
    assert d.decisions[-1]["decision"] == "error"
    assert d.decisions[-1]["level"] == "ERROR"
    assert d.invocations == []


def test_overlapping_triggers_deliver_once_and_warn(dispatcher_for):
    d = dispatcher_for(ECHO, triggers=[trigger_doc(prefix="uploads/"),
                                       trigger_doc(prefix="uploads/a", suffix=".jpg")])
    d.on_change(change("uploads/a.jpg"))
    assert d.wait_idle(WAIT)
    assert len(d.invocations) == 1 and d.invocations[0].trigger_index == 0
    warning = d.decisions[0]
    assert warning["decision"] == "overlapping_triggers" and warning["triggers"] == [0, 1]


def test_delete_events_reach_remove_triggers_only(dispatcher_for):
    d = dispatcher_for(ECHO, triggers=[trigger_doc(prefix="uploads/"),
                                       trigger_doc(events="cos:ObjectRemove:*")])
    d.on_change(change("uploads/a.jpg", event_name="cos:ObjectRemove:Delete", size=0, etag=""))
    assert d.wait_idle(WAIT)
    (record,) = d.invocations
    assert record.trigger_index == 1
    assert record.value["event"]["Records"][0]["event"]["eventName"] == "cos:ObjectRemove:Delete"


def test_many_changes_each_delivered_once_with_own_request_id(dispatcher_for):
    d = dispatcher_for(ECHO, concurrency=2)
    keys = [f"uploads/{i}.jpg" for i in range(6)]
    for key in keys:
        d.on_change(change(key))
    assert d.wait_idle(WAIT)
    records = d.invocations
    assert sorted(r.key for r in records) == keys
    assert all(r.outcome == "succeeded" for r in records)
    assert len({r.request_id for r in records}) == len(keys)
    # warm workers: at most one cold start per delivery thread
    assert sum(r.attempts[0].cold_start for r in records) <= 2


def test_decision_and_dead_letter_lines_stay_one_line_whatever_the_key(dispatcher_for, tmp_path,
                                                                       caplog):
    caplog.set_level(logging.INFO, logger="picops_emulator.triggers")
    d = dispatcher_for(ALWAYS_FAILS, retry_delays=())
    key = "uploads/a\u2028b\u2029c\u0085d.jpg"
    d.on_change(change(key))
    assert d.wait_idle(WAIT)
    lines = [r for r in caplog.records if r.name == "picops_emulator.triggers"]
    assert lines
    for record in lines:
        message = record.getMessage()
        assert len(message.splitlines()) == 1
        assert json.loads(message)["key"] == key
    text = (tmp_path / "data" / "dead-letter.jsonl").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 1
    assert read_dead_letters(tmp_path / "data")[0]["Key"] == key


def test_observers_see_every_queued_delivery_then_its_attempt(dispatcher_for):
    """A trigger's change, an SCF Invoke and a dead-letter replay: each is "queued" once
    before its "attempted"."""
    d = dispatcher_for(ECHO)
    seen = []
    d.add_observer(lambda stage, record: seen.append((stage, record.request_id)))
    d.on_change(change("uploads/a.jpg"))
    assert d.wait_idle(WAIT)
    (first,) = d.invocations
    d.invoke_async(first.event, "invoke-request-1")
    assert d.wait_idle(WAIT)
    replayed = d.redeliver(first.event, bucket=first.bucket, key=first.key,
                           event_name=first.event_name, trigger_index=first.trigger_index)
    assert d.wait_idle(WAIT)
    ids = [first.request_id, "invoke-request-1", replayed.request_id]
    assert seen == [(stage, i) for i in ids for stage in ("queued", "attempted")]
