"""The emulator's readable output: one line per invocation, CJK as characters, failures red."""

import io
import json
import logging

from picops_emulator.triggers import records as rec
from picops_emulator.triggers.invoker import FunctionFailure
from picops_emulator.triggers.readable import (
    ReadableLog, decision_line, function_line, invocation_line, safe)

KEY = "uploads/照片/猫.jpg"


def _record(outcome=rec.SUCCEEDED, key=KEY):
    return rec.InvocationRecord(request_id="3f2a1b4c-0000", bucket="uploads-1250000000",
                                key=key, event_name="cos:ObjectCreated:Put", trigger_index=0,
                                generation=0, event={}, context={}, created=0.0,
                                outcome=outcome)


def _processed(key=KEY):
    return {"key": key, "bucket": "uploads-1250000000", "outcome": "processed",
            "outputs": [{"bucket": "derived-1250000000", "key": "thumbs/照片/猫_400.webp",
                         "format": "webp", "width": 400, "height": 266, "size": 14240}]}


def test_a_processed_record_is_one_line_with_its_outputs_and_cjk_kept():
    attempt = rec.AttemptRecord(number=1, started=0.0, ok=True, duration_s=0.412,
                                cold_start=True, value={"results": [_processed()]})
    text, style = invocation_line(_record(), attempt, "picops-image-processor")
    assert "\n" not in text and style == "ok"
    assert "picops-image-processor 3f2a1b4c" in text
    assert f"{KEY} processed -> derived-1250000000: thumbs/照片/猫_400.webp 400x266 webp " \
           "14.2 kB" in text
    assert text.endswith("412 ms (cold start)")


def test_a_failed_record_is_red_with_its_error_code_and_message():
    failed = {"key": KEY, "outcome": "failed", "error": {
        "code": "InvalidImageFormat", "message": "input is not an image", "status": 400}}
    attempt = rec.AttemptRecord(number=1, started=0.0, ok=True, duration_s=0.1,
                                cold_start=False, value={"results": [failed]})
    text, style = invocation_line(_record(), attempt, "fn")
    assert style == "fail"
    assert f"{KEY} FAILED InvalidImageFormat: input is not an image" in text
    out = io.StringIO()
    log = ReadableLog(out, colour=True, function_name="fn")
    record = _record()
    record.attempts.append(attempt)
    log.observe("attempted", record)
    assert out.getvalue().startswith("\x1b[31m") and out.getvalue().endswith("\x1b[0m\n")


def test_a_failed_attempt_says_retry_then_dead_letter_and_uses_the_logged_outcomes():
    logged = json.dumps({"level": "ERROR", "message": "record failed", "key": KEY,
                         "outcome": "failed", "error": {"code": "SlowDown",
                                                        "message": "too fast"}})
    failure = FunctionFailure("exception", "TransientCiError: 1 record(s) failed transiently")
    attempt = rec.AttemptRecord(number=1, started=0.0, ok=False, duration_s=0.2,
                                cold_start=False, failure=failure, logs=[logged])
    text, style = invocation_line(_record(rec.RETRYING), attempt, "fn", (1.0, 2.0))
    assert style == "warn"
    assert f"{KEY} FAILED SlowDown: too fast" in text
    assert "attempt 1 FAILED: TransientCiError" in text and "retrying in 1 s" in text
    last = rec.AttemptRecord(number=3, started=0.0, ok=False, duration_s=0.2,
                             cold_start=False, failure=failure)
    text, style = invocation_line(_record(rec.DEAD_LETTERED), last, "fn", (1.0, 2.0))
    assert style == "fail" and "dead-lettered after 3 attempt(s)" in text
    assert KEY in text


def test_function_json_lines_are_text_with_their_non_ascii_decoded():
    line = json.dumps({"level": "WARNING", "timestamp": "t", "message": "slow CI",
                       "request_id": "r", "key": KEY})  # ASCII JSON: \\u escapes
    assert "\\u" in line
    text, style = function_line(line)
    assert text == f"WARNING slow CI (key={KEY})" and style == "warn"
    assert function_line(json.dumps({"message": "record processed", "outcome": "processed"})
                         ) is None  # the invocation line sums it up
    assert function_line("plain print 你好") == ("plain print 你好", "ok")


def test_control_characters_cannot_forge_lines_or_move_the_cursor():
    assert safe("a\nb\x1b[2Jc\u2028") == "a\\x0ab\\x1b[2Jc\\u2028"
    assert safe("gpj.\u202ecat") == "gpj.\\u202ecat"  # a right-to-left override
    assert safe("照片/猫.jpg") == "照片/猫.jpg"
    attempt = rec.AttemptRecord(number=1, started=0.0, ok=True, duration_s=0.1,
                                cold_start=False, value={"results": [_processed("x\ny.jpg")]})
    text, _ = invocation_line(_record(key="x\ny.jpg"), attempt, "fn")
    assert "\n" not in text and "x\\x0ay.jpg" in text


def test_only_news_among_the_decisions_is_shown():
    assert decision_line({"decision": "matched", "level": "INFO", "message": "m"}) is None
    assert decision_line({"decision": "no_trigger", "level": "INFO", "message": "m"}) is None
    assert decision_line({"decision": "failed", "level": "WARNING", "message": "m"}) is None
    assert decision_line({"decision": "loop_guarded", "level": "ERROR",
                          "message": "LOOP GUARD: ..."}) == ("LOOP GUARD: ...", "fail")
    assert decision_line({"decision": "redelivered", "level": "INFO", "message": "again"}) == (
        "again", "ok")


def test_the_handler_renders_forwarded_function_lines_by_request_id():
    out = io.StringIO()
    logger = logging.getLogger("picops-test-readable")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = ReadableLog(out, colour=False).handler()
    logger.addHandler(handler)
    try:
        logger.info("[fn 3f2a] hi", extra={"picops_line": "打印 hi",
                                           "picops_request_id": "3f2a1b4c-xx"})
        logger.info("{}", extra={"picops_decision": {"decision": "matched", "level": "INFO"}})
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == "  3f2a1b4c | 打印 hi\n"
