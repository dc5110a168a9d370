"""The Pic-Operations size limit: the function's plan refuses an oversized call before any
request, and validation reports a route whose rules can make one (issue 9, verify's F6)."""

import base64

import pytest

from picops.errors import ConfigError
from picops.header_limits import HEADER_MAX_BYTES, PIC_OPERATIONS_MAX_BYTES
from picops.routing import pic_operations_header, plan

from .conftest import config


def watermark(chars: int) -> str:
    text = base64.urlsafe_b64encode(("图" * chars).encode()).decode().rstrip("=")
    return f"imageMogr2/format/png|watermark/2/text/{text}/fontsize/20"


def routes(rule: str, count: int = 5, fileid: str = "/w{i}/{key}") -> str:
    rules = "".join(f"      - fileid: {fileid.format(i=i, key='{key}')}\n"
                    f"        rule: {rule}\n" for i in range(count))
    return ("routes:\n  - prefix: in/\n    bucket: derived-1250000000\n    rules:\n"
            + rules)


def test_the_limits_are_8_kib_and_measured_in_bytes():
    assert PIC_OPERATIONS_MAX_BYTES == HEADER_MAX_BYTES == 8192


def test_validate_names_the_route_the_rules_and_the_size():
    # F6's config: 5 rules with long watermark text (800 CJK characters each)
    with pytest.raises(ConfigError) as caught:
        config(routes(watermark(800)))
    [problem] = [p for p in caught.value.problems if "Pic-Operations" in p.message]
    assert problem.where == "routes[0].rules"
    assert "rules [0, 1, 2, 3, 4]" in problem.message
    assert "output keys of 850 bytes" in problem.message
    assert f"at most {PIC_OPERATIONS_MAX_BYTES}" in problem.message
    size = int(problem.message.split("header of ")[1].split(" bytes")[0])
    assert size > PIC_OPERATIONS_MAX_BYTES


def test_validate_checks_each_call_of_five_rules_on_its_own():
    # 7 rules: calls [0..4] and [5, 6]; only the first is over the limit
    rule = watermark(350)
    with pytest.raises(ConfigError) as caught:
        config(routes(rule, count=7))
    found = [p.message for p in caught.value.problems if "Pic-Operations" in p.message]
    assert len(found) == 1 and "rules [0, 1, 2, 3, 4]" in found[0]


def test_validate_accepts_a_route_just_under_the_limit_with_850_byte_keys():
    cfg = config(routes(watermark(150)))
    key = "in/" + "k" * (850 - len("/w0/") - len("in/") + 1)
    p = plan(cfg, "uploads-1250000000", key)
    assert not p.rejected and len(p.calls) == 1
    assert len(pic_operations_header(p.calls[0])) <= PIC_OPERATIONS_MAX_BYTES
    assert p.headers == (pic_operations_header(p.calls[0]),)  # serialised once, as sent


def test_plan_refuses_an_oversized_call_before_sending_and_names_route_rules_size():
    # valid for ASCII keys, but a key of CJK characters travels as \\u escapes (6 bytes
    # each for 3 of UTF-8), so its calls are larger than validation's estimate
    cfg = config(routes(watermark(150)))
    key = "in/" + "图" * 270 + ".jpg"
    p = plan(cfg, "uploads-1250000000", key)
    assert p.calls == [] and p.batches == () and p.outputs == ()
    [refused] = p.rejected
    assert refused.rule_index == 0 and refused.bucket == "uploads-1250000000"
    error = refused.error
    assert error.code == "PicOperationsTooLarge" and not error.retryable
    assert error.message.startswith("routes[0].rules [0, 1, 2, 3, 4] make a Pic-Operations "
                                    "header of ")
    assert f"at most {PIC_OPERATIONS_MAX_BYTES}" in error.message


def test_plan_keeps_the_calls_under_the_limit():
    # 6 rules: the first call (5 rules) is over, the second (1 rule) goes
    cfg = config(routes(watermark(150), count=6))
    key = "in/" + "图" * 270 + ".jpg"
    p = plan(cfg, "uploads-1250000000", key)
    assert [o.rule_index for o in p.outputs] == [5]
    assert [[r["fileid"] for r in c["rules"]] for c in p.calls] == [[f"/w5/{key}"]]
    assert [r.rule_index for r in p.rejected] == [0]
