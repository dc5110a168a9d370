"""All or nothing (the decision documented in picops_emulator/ci/service.py): when any rule
of a request fails, no rule's output is written, in any bucket, and the error names the
failing rule."""

import pytest

GOOD = [{"fileid": "a.png", "rule": "imageMogr2/thumbnail/50x/format/png"},
        {"fileid": "/b.webp", "rule": "imageMogr2/format/webp"}]


@pytest.mark.parametrize("bad, status, code, fragments", [
    ({"fileid": "c.jpg", "rule": "imageMogr2/thumbnail/20000x"}, 400,
     "ImageResolutionExceed", ["rules[3]", "9999"]),
    ({"fileid": "c.jpg", "rule": "style/missing"}, 404, "NoSuchStyle", ["rules[3]", "missing"]),
    ({"fileid": "c.jpg", "rule": "imageMogr2/thumbnail/nope"}, 400, "InvalidArgument",
     ["rules[3].rule", "nope"]),
    ({"fileid": "c/", "rule": "imageMogr2/strip"}, 400, "InvalidPicOperations",
     ["rules[3].fileid"]),
    ({"fileid": "c.jpg", "rule": "imageMogr2/strip", "bucket": "none-1250000000"}, 404,
     "NoSuchBucket", ["rules[3].bucket"]),
])
def test_a_failing_last_rule_leaves_no_output(ci, make_bucket, bad, status, code, fragments):
    other = make_bucket("other")
    ci.upload("p/rocket.jpg", "rocket.jpg")
    rules = GOOD + [dict(GOOD[0], bucket=other, fileid="/x.png"), bad]
    err = ci.process_error("p/rocket.jpg", ci.pic_operations(rules, is_pic_info=1))
    ci.assert_error(err, status, code, *fragments)
    assert ci.keys() == ["p/rocket.jpg"]
    assert ci.keys(other) == []


def test_a_failing_first_rule_leaves_no_output(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    rules = [{"fileid": "big.jpg", "rule": "imageMogr2/thumbnail/!1000p|imageMogr2/thumbnail/"
                                           "20000x"}] + GOOD
    err = ci.process_error("rocket.jpg", ci.pic_operations(rules))
    ci.assert_error(err, 400, "ImageResolutionExceed", "rules[0]")
    assert ci.keys() == ["rocket.jpg"]
    # The same good rules alone do write their outputs.
    ci.process("rocket.jpg", GOOD)
    assert ci.keys() == ["a.png", "b.webp", "rocket.jpg"]
