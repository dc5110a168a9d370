"""One describer for every "must be X, got Y": config, serverless.yml and manifests alike."""

import json

import pytest

from picops.describe import SHOWN_CHARS, clip, describe_value, expected_type
from picops.errors import ConfigError, ManifestError
from picops.manifest import loads
from picops.serverless import parse_serverless


@pytest.mark.parametrize("value, shown", [
    (None, "nothing"), (True, "true (a boolean)"), (3, "3 (a number)"),
    ("x", "'x' (a string)"), ([1], "a list"), ({"a": 1}, "a mapping")])
def test_a_value_is_shown_with_its_type(value, shown):
    assert describe_value(value) == shown


def test_a_long_value_is_shown_clipped():
    shown = describe_value("x" * 10_000)
    assert shown == "'" + "x" * (SHOWN_CHARS - 1) + "... (a string)"
    assert describe_value(10 ** 500).endswith("... (a number)")
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "abc..."


def test_what_a_value_must_be_is_named_for_its_type():
    assert [expected_type(k) for k in (dict, list, str, bool, int)] == [
        "a JSON object", "a list", "a string", "true or false", "a whole number"]


def test_a_manifest_field_of_the_wrong_type_is_shown_like_a_config_value():
    doc = {"type": "picops-manifest", "version": "1"}
    with pytest.raises(ManifestError) as e:
        loads(json.dumps(doc).encode())
    assert "'version' must be a whole number, got '1' (a string)" in e.value.message


def test_a_serverless_field_of_the_wrong_type_is_shown_like_a_config_value():
    doc = {"component": "scf", "inputs": {"name": "f", "src": "./", "runtime": "Python3.7",
                                          "region": 7}}
    with pytest.raises(ConfigError) as e:
        parse_serverless(doc)
    assert any(p.message.endswith("got 7 (a number)") for p in e.value.problems)
