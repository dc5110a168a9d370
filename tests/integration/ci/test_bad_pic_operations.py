"""A bad ``Pic-Operations`` header, a missing target bucket or source: the SDK gets a complete
COS error (status, code, request id) whose message names the field, and nothing is written."""

import json

import pytest

GOOD_RULE = {"fileid": "out.jpg", "rule": "imageMogr2/thumbnail/50x"}


def header(doc) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


@pytest.mark.parametrize("doc, code, fragments", [
    ("{not json", "InvalidPicOperations", ["Pic-Operations", "JSON"]),
    ('[{"fileid": "a.jpg", "rule": "imageMogr2/strip"}]', "InvalidPicOperations",
     ["must be a JSON object, got a list"]),
    ('"rules"', "InvalidPicOperations", ["must be a JSON object, got 'rules' (a string)"]),
    ({"rules": [GOOD_RULE], "rule": "imageMogr2/strip"}, "InvalidPicOperations",
     ["unknown field", "rule"]),
    ({"rules": [dict(GOOD_RULE, Fileid="x.jpg")]}, "InvalidPicOperations",
     ["rules[0]", "unknown field", "Fileid"]),
    ({"rules": [GOOD_RULE] * 6}, "InvalidPicOperations", ["rules", "6 rules", "5", "-60997"]),
    ({"rules": {"fileid": "a.jpg", "rule": "imageMogr2/strip"}}, "InvalidPicOperations",
     ["Pic-Operations.rules", "list", "got a mapping"]),
    ({"rules": {}}, "InvalidPicOperations", ["Pic-Operations.rules", "list", "got a mapping"]),
    ({"rules": ""}, "InvalidPicOperations", ["Pic-Operations.rules", "list", "got '' (a string)"]),
    ({"rules": ["imageMogr2/strip"]}, "InvalidPicOperations",
     ["rules[0]", "object", "got 'imageMogr2/strip' (a string)"]),
    ({"rules": [GOOD_RULE, {"rule": "imageMogr2/strip"}]}, "InvalidPicOperations",
     ["rules[1].fileid", "required"]),
    ({"rules": [{"fileid": "a.jpg"}]}, "InvalidPicOperations", ["rules[0].rule", "required"]),
    ({"rules": [{"fileid": "a.jpg", "rule": ""}]}, "InvalidPicOperations",
     ["rules[0].rule", "required"]),
    ({"rules": [{"fileid": 7, "rule": "imageMogr2/strip"}]}, "InvalidPicOperations",
     ["rules[0].fileid"]),
    ({"rules": [{"fileid": "thumbs/", "rule": "imageMogr2/strip"}]}, "InvalidPicOperations",
     ["rules[0].fileid", "thumbs/", "ends with '/'"]),
    ({"rules": [{"fileid": "../escape.jpg", "rule": "imageMogr2/strip"}]},
     "InvalidPicOperations", ["rules[0].fileid", "'..'"]),
    ({"rules": [{"fileid": "/a/../b.jpg", "rule": "imageMogr2/strip"}]},
     "InvalidPicOperations", ["rules[0].fileid", "'..'"]),
    ({"rules": [dict(GOOD_RULE, bucket=12)]}, "InvalidPicOperations",
     ["rules[0].bucket", "got 12 (a number)"]),
    ({"rules": [dict(GOOD_RULE, bucket="")]}, "InvalidPicOperations",
     ["rules[0].bucket", "got '' (a string)"]),
    ({"is_pic_info": 2, "rules": [GOOD_RULE]}, "InvalidPicOperations",
     ["is_pic_info", "got 2 (a number)"]),
    ({"is_pic_info": "1", "rules": [GOOD_RULE]}, "InvalidPicOperations",
     ["is_pic_info", "got '1' (a string)"]),
    ({"rules": [{"fileid": "a.jpg", "rule": "imageMogr2/thumbnail/abc"}]}, "InvalidArgument",
     ["rules[0].rule", "thumbnail", "'abc'", "-60998"]),
    ({"rules": [GOOD_RULE, {"fileid": "a.jpg", "rule": "imageMogr2/quality/500"}]},
     "InvalidArgument", ["rules[1].rule", "quality", "500"]),
    ({"rules": [{"fileid": "a.jpg", "rule": "imageMogr3/thumbnail/50x"}]}, "InvalidArgument",
     ["rules[0].rule", "imageMogr3"]),
])
def test_bad_header_is_refused_naming_the_field(ci, doc, code, fragments):
    ci.upload("p/rocket.jpg", "rocket.jpg")
    err = ci.process_error("p/rocket.jpg", header(doc))
    ci.assert_error(err, 400, code, *fragments)
    assert ci.keys() == ["p/rocket.jpg"]


def test_missing_header_is_refused(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    err = ci.process_error("rocket.jpg", None)
    ci.assert_error(err, 400, "InvalidPicOperations", "Pic-Operations", "missing")
    assert ci.keys() == ["rocket.jpg"]


def test_missing_target_bucket_is_no_such_bucket(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    err = ci.process_error("rocket.jpg", header({"rules": [
        GOOD_RULE, dict(GOOD_RULE, bucket="absent-1250000000")]}))
    ci.assert_error(err, 404, "NoSuchBucket", "rules[1].bucket", "absent-1250000000")
    assert ci.keys() == ["rocket.jpg"]


def test_missing_source_key_is_no_such_key(ci):
    err = ci.process_error("nowhere/ghost.jpg", header({"rules": [GOOD_RULE]}))
    ci.assert_error(err, 404, "NoSuchKey", "nowhere/ghost.jpg")
    assert ci.keys() == []


def test_source_bucket_missing_is_no_such_bucket(ci):
    err = ci.process_error("a.jpg", header({"rules": [GOOD_RULE]}), bucket="gone-1250000000")
    ci.assert_error(err, 404, "NoSuchBucket", "gone-1250000000")


@pytest.mark.parametrize("depth", [40, 3000])
def test_deeply_nested_json_is_a_400_not_a_500(ci, depth):
    ci.upload("rocket.jpg", "rocket.jpg")
    deep = '{"rules": [' + "[" * depth + "]" * depth + "]}"
    err = ci.process_error("rocket.jpg", deep)
    ci.assert_error(err, 400, "InvalidPicOperations", "Pic-Operations", f"nested {depth + 2}")
    assert ci.keys() == ["rocket.jpg"]


@pytest.mark.parametrize("fileid", ["out\nput.jpg", "/tab\there.jpg", "esc\u001b.jpg",
                                    "del\u007f.jpg"])
def test_an_output_key_with_a_control_character_is_refused_before_any_rule_runs(ci, fileid):
    """A CI output follows the key rule of every write: nothing listable but unreadable."""
    ci.upload("rocket.jpg", "rocket.jpg")
    err = ci.process_error("rocket.jpg", header({"rules": [
        GOOD_RULE, {"fileid": fileid, "rule": "imageMogr2/strip"}]}))
    ci.assert_error(err, 400, "InvalidArgument", "rules[1].fileid", "control character")
    assert ci.keys() == ["rocket.jpg"]


@pytest.mark.parametrize("fileid", ["/ci/x\\ud800.jpg", "/ci/\\udfff\\ud800.jpg",
                                    "/ci/x\\uffff.jpg"])
def test_an_output_key_no_listing_or_path_could_name_is_refused_before_any_rule_runs(ci, fileid):
    """A JSON escape can name a lone surrogate or a noncharacter: such a key could be
    listed but never read or deleted, so it is refused like a control character."""
    ci.upload("rocket.jpg", "rocket.jpg")
    raw = '{"rules": [%s, {"fileid": "%s", "rule": "imageMogr2/strip"}]}' % (
        json.dumps(GOOD_RULE), fileid)
    err = ci.process_error("rocket.jpg", raw)
    ci.assert_error(err, 400, "InvalidArgument", "rules[1].fileid", "U+")
    assert ci.keys() == ["rocket.jpg"]
