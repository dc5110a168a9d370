"""All or nothing per record (issue 9): a source with any output the function refuses (a key
COS cannot store, a loop) fails before any request, so it is never half processed.

Sending the other rules would leave a record that is never up to date: every redelivery
and backfill would call CI for them again and fail again. Every HTTP request the SDK
makes is recorded by ``responses``, so "no request" is measured, not inferred.
"""

import textwrap

from picops import routing
from picops.config import parse_config
from picops_cli.backfill.plan import plan_object

from .conftest import CONFIG, DERIVED, SOURCE, event_for
from .test_header_limits import LONG_KEY, _config as watermarks

# manifests on: the path that reads and writes them, which must not be reached either
MANIFESTS_ON = CONFIG + "manifests:\n  enabled: true\n"
# thumbs/uploads/<stem>_jpg_400.webp is 28 bytes + the stem: 851 with an 823-byte stem,
# while covers/uploads/<stem>_jpg.jpg (846) and the source key (835) are valid.
LONG = "uploads/" + "s" * 823 + ".jpg"
# Three rules: the first too long for LONG, the second valid, the third loop-refused (it
# writes into the source bucket under the route's own prefix).
THREE_RULES = """
    routes:
      - prefix: uploads/
        suffixes: [.jpg, .jpeg, .png]
        bucket: derived-1250000000
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp
          - fileid: /covers/{dir}/{stem}_{ext}.jpg
            rule: imageView2/1/w/300/h/300/q/85
          - fileid: /uploads/copies/{dir}/{name}
            bucket: uploads-1250000000
            rule: imageMogr2/strip
    manifests:
      enabled: true
"""


def test_an_output_key_over_850_bytes_fails_the_record_before_any_request(make_harness,
                                                                          ci_http):
    h = make_harness(config_text=MANIFESTS_ON)
    for _ in range(2):  # a redelivery meets the same refusal: still no request
        summary = h.handle(event_for(LONG))
        assert summary["counts"]["failed"] == 1  # permanent: the handler does not raise
    assert len(ci_http.calls) == 0  # no CI call, no manifest GET or PUT, no HEAD
    assert h.ci.calls == []
    first, again = h.outcomes()
    assert first["error"] == again["error"] and again["outputs"] == []
    assert (first["outcome"], first["route"], first["outputs"]) == ("failed", "uploads/", [])
    error = first["error"]
    assert (error["code"], error["retryable"], error["rule"], error["bucket"]) == (
        "InvalidOutputKey", False, 0, DERIVED)
    assert "'/thumbs/{dir}/{stem}_{ext}_400.webp' resolves to a key of 851 bytes" in \
        error["message"]
    assert "errors" not in first  # one refused output, one error
    assert "manifest" not in first or first["manifest"] is None


def test_every_refused_output_is_named_with_its_rule(make_harness, ci_http):
    h = make_harness(config_text=THREE_RULES)
    h.handle(event_for(LONG))
    assert len(ci_http.calls) == 0
    (line,) = h.outcomes()
    assert line["outcome"] == "failed" and line["outputs"] == []
    named = [(e["code"], e["rule"], e["bucket"], e["retryable"]) for e in line["errors"]]
    assert named == [("InvalidOutputKey", 0, DERIVED, False),
                     ("LoopRefused", 2, SOURCE, False)]
    assert "uploads/copies/uploads/" in line["errors"][1]["message"]


def test_a_refused_record_leaves_the_other_records_of_its_event_alone(make_harness):
    h = make_harness()  # manifests off: one CI call per good record, nothing else
    summary = h.handle(event_for(LONG, "uploads/a.jpg"))
    (call,) = h.ci.calls
    assert call["path"] == "/uploads/a.jpg"
    assert [line["outcome"] for line in h.outcomes()] == ["failed", "processed"]
    assert (summary["counts"]["failed"], summary["counts"]["processed"]) == (1, 1)


def test_an_oversized_call_stops_the_calls_that_would_fit_too(make_harness, ci_http):
    """Six rules: a first call of five over the Pic-Operations limit, a second of one that
    fits. Sending the second alone would leave the record half processed."""
    h = make_harness(config_text=watermarks(6))
    fits = routing.plan(h.processor.services.config, SOURCE, LONG_KEY)
    assert (len(fits.rejected), len(fits.calls)) == (1, 1)  # the call that would fit
    h.handle(event_for(LONG_KEY))
    assert h.ci.calls == [] and len(ci_http.calls) == 0
    (line,) = h.outcomes()
    assert (line["outcome"], line["outputs"]) == ("failed", [])
    assert (line["error"]["code"], line["error"]["rule"], line["error"]["bucket"]) == (
        "PicOperationsTooLarge", 0, SOURCE)


def test_the_dry_run_plan_counts_a_refused_source_as_changing_nothing():
    p = plan_object(parse_config(textwrap.dedent(THREE_RULES)), SOURCE, LONG, stored=None)
    assert (p.created, p.replaced, p.kept, p.ci_calls) == ((), (), (), 0)
    assert [b for b, _ in p.refused] == [DERIVED, SOURCE]
    # one output too long, the other valid: still nothing created, no call
    config = parse_config(textwrap.dedent(CONFIG))
    p = plan_object(config, SOURCE, LONG, stored=None)
    assert (p.created, p.ci_calls, [b for b, _ in p.refused]) == ((), 0, [DERIVED])
    # a source whose outputs are all valid: planned as before
    ok = plan_object(config, SOURCE, "uploads/a.jpg", stored=None)
    assert ok.refused == () and ok.ci_calls == 1 and len(ok.created) == 2


def test_send_calls_never_sends_a_plan_with_a_refused_output(make_harness):
    """The one place CI calls are sent holds the rule too, whoever calls it."""
    from picops.create import Source, send_calls
    from picops.outcome import Outcome, RecordOutcome

    h = make_harness(config_text=THREE_RULES)
    svc = h.processor.services
    plan = routing.plan(svc.config, SOURCE, LONG)
    outcome = RecordOutcome(Outcome.PROCESSED, bucket=SOURCE, key=LONG)
    send_calls(svc, Source(SOURCE, LONG, "e", "ap-guangzhou"), plan, svc.clock() + 60,
               outcome)
    assert h.ci.calls == [] and outcome.outcome == Outcome.FAILED
    assert [e.code for e in outcome.errors] == ["InvalidOutputKey", "LoopRefused"]
