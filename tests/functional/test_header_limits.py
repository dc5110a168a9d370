"""A call whose Pic-Operations header would be over the limit fails its record before any
request (issue 9, verify's F6): permanent, naming the route, the rules and the size."""

import base64

from picops.header_limits import PIC_OPERATIONS_MAX_BYTES

from .conftest import event_for


def _config(count: int) -> str:
    text = base64.urlsafe_b64encode(("图" * 150).encode()).decode().rstrip("=")
    rules = "".join(f"      - fileid: /w{i}/{{key}}\n"
                    f"        rule: imageMogr2/format/png|watermark/2/text/{text}\n"
                    for i in range(count))
    return "routes:\n  - prefix: uploads/\n    bucket: derived-1250000000\n    rules:\n" + rules


LONG_KEY = "uploads/" + "图" * 270 + ".jpg"  # 822 bytes; 1630 once escaped in the header


def test_an_oversized_call_fails_the_record_with_no_request(make_harness, ci_http):
    h = make_harness(config_text=_config(5))
    assert h.handle(event_for(LONG_KEY)) is not None  # no raise: nothing to retry
    assert h.ci.calls == [] and len(ci_http.calls) == 0
    (line,) = h.outcomes()
    assert line["outcome"] == "failed"
    error = line["error"]
    assert error["code"] == "PicOperationsTooLarge" and error["retryable"] is False
    assert error["message"].startswith("routes[0].rules [0, 1, 2, 3, 4] make a "
                                       "Pic-Operations header of ")
    assert f"at most {PIC_OPERATIONS_MAX_BYTES}" in error["message"]


def test_the_same_config_processes_an_ascii_key(make_harness):
    h = make_harness(config_text=_config(5))
    h.handle(event_for("uploads/" + "a" * 800 + ".jpg"))
    assert len(h.ci.calls) == 1
    (line,) = h.outcomes()
    assert line["outcome"] == "processed"
