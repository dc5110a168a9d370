"""Which serverless.yml COS triggers fire for a committed change."""

import pytest

from picops_emulator.triggers.matching import (
    event_type_matches, matching_triggers, mismatch_reason, trigger_matches)

from .conftest import DERIVED, UPLOADS, change, make_spec, trigger_doc


def one_trigger(**kwargs):
    (trigger,) = make_spec([trigger_doc(**kwargs)]).triggers
    return trigger


@pytest.mark.parametrize("configured,actual,expected", [
    ("cos:ObjectCreated:*", "cos:ObjectCreated:Put", True),
    ("cos:ObjectCreated:*", "cos:ObjectCreated:Post", True),
    ("cos:ObjectCreated:*", "cos:ObjectCreated:Copy", True),
    ("cos:ObjectCreated:*", "cos:ObjectCreated:CompleteMultipartUpload", True),
    ("cos:ObjectCreated:*", "cos:ObjectRemove:Delete", False),
    ("cos:ObjectRemove:*", "cos:ObjectRemove:Delete", True),
    ("cos:ObjectRemove:*", "cos:ObjectCreated:Put", False),
    ("cos:ObjectCreated:Put", "cos:ObjectCreated:Put", True),
    ("cos:ObjectCreated:Put", "cos:ObjectCreated:Copy", False),
    ("cos:ObjectCreated:Post", "cos:ObjectCreated:Put", False),
    # a wildcard covers its own family only, not one that shares a leading string
    ("cos:ObjectCreated:*", "cos:ObjectCreatedX:Put", False),
])
def test_event_types_and_wildcards(configured, actual, expected):
    assert event_type_matches(configured, actual) is expected
    trigger = one_trigger(events=configured)
    assert trigger_matches(trigger, change("x.jpg", event_name=actual)) is expected


def test_prefix_and_suffix_filters():
    trigger = one_trigger(prefix="uploads/", suffix=".jpg")
    assert trigger_matches(trigger, change("uploads/a.jpg"))
    assert trigger_matches(trigger, change("uploads/deep/er/a.jpg"))
    assert not trigger_matches(trigger, change("other/a.jpg"))
    assert not trigger_matches(trigger, change("uploads/a.png"))
    assert not trigger_matches(trigger, change("uploadsX/a.jpg"))
    assert "prefix 'uploads/'" in mismatch_reason(trigger, change("other/a.jpg"))
    assert "suffix '.jpg'" in mismatch_reason(trigger, change("uploads/a.png"))


def test_suffix_is_case_sensitive():
    trigger = one_trigger(suffix=".jpg")
    assert not trigger_matches(trigger, change("uploads/A.JPG"))


def test_no_filter_matches_every_key_of_the_bucket():
    trigger = one_trigger()
    for key in ("a", "uploads/中文.jpg", "x/", " "):
        assert trigger_matches(trigger, change(key))


def test_disabled_trigger_never_fires():
    trigger = one_trigger(prefix="uploads/", enable=False)
    assert not trigger_matches(trigger, change("uploads/a.jpg"))
    assert "disabled" in mismatch_reason(trigger, change("uploads/a.jpg"))


def test_other_bucket_does_not_fire_even_with_same_name_other_appid():
    trigger = one_trigger(prefix="uploads/")
    assert not trigger_matches(trigger, change("uploads/a.jpg", bucket=DERIVED))
    assert not trigger_matches(trigger, change("uploads/a.jpg", bucket="uploads-1250000001"))
    assert "bucket" in mismatch_reason(trigger, change("uploads/a.jpg", bucket=DERIVED))


def test_region_of_the_request_is_not_compared():
    trigger = one_trigger(prefix="uploads/", region="ap-guangzhou")
    assert trigger_matches(trigger, change("uploads/a.jpg", region="ap-shanghai"))


def test_matching_triggers_in_serverless_order():
    spec = make_spec([
        trigger_doc(prefix="uploads/", suffix=".png"),
        trigger_doc(prefix="uploads/", suffix=".jpg"),
        trigger_doc(bucket=DERIVED, prefix="uploads/"),
        trigger_doc(prefix="", suffix=".jpg", events="cos:ObjectRemove:*"),
    ])
    got = matching_triggers(spec.triggers, change("uploads/a.jpg"))
    assert [t.index for t in got] == [1]
    got = matching_triggers(spec.triggers, change("uploads/a.jpg",
                                                  event_name="cos:ObjectRemove:Delete"))
    assert [t.index for t in got] == [3]
    assert matching_triggers(spec.triggers, change("uploads/a.gif")) == []
    assert UPLOADS in {t.bucket for t in spec.triggers}
