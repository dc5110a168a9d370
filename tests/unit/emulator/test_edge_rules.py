"""The pure rules behind the emulator's edge: keys, XML text, JSON depth, redaction."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from picops.redact import is_secret_name
from picops_emulator import cosxml
from picops_emulator.requestjson import MAX_JSON_DEPTH, json_depth, loads_shallow
from picops_emulator.cos.auth import REDACTED, redact_target
from picops_emulator.errors import EmulatorError
from picops_emulator.naming import check_key
from picops_emulator.settings import EmulatorSettings


@pytest.mark.parametrize("code", list(range(0x20)) + [0x7F])
def test_every_control_character_is_refused_in_a_key_naming_its_place(code):
    with pytest.raises(EmulatorError) as err:
        check_key(f"ab{chr(code)}c")
    assert err.value.code == "InvalidArgument"
    assert f"U+{code:04X} at position 2" in err.value.message


@pytest.mark.parametrize("key", ["a b", "中文/😀", "x\u0085y", "tilde~", "a\u2028b"])
def test_printable_and_non_ascii_keys_pass(key):
    assert check_key(key) == key


def test_xml_text_makes_any_string_well_formed():
    nasty = "".join(chr(c) for c in range(0x20)) + "\ud800\ufffe\uffff ok"
    body = cosxml.document("R", [("K", nasty)])
    text = ET.fromstring(body).findtext("K")
    assert text.endswith(" ok") and "\\x01" in text and "\\ud800" in text
    assert "\t" in text and "\n" in text  # what XML can carry is kept as it is
    error = cosxml.error_body("InvalidArgument", "m\x00", "b/\x1bkey", "rid", "tid")
    assert ET.fromstring(error).findtext("Resource") == "b/\\x1bkey"


@pytest.mark.parametrize("text, depth", [
    ("{}", 1), ('{"a": [[1], {"b": []}]}', 4), ('"[[[[["', 0), ('["\\"[[", []]', 2),
    ("[" * 100 + "]" * 100, 100),
])
def test_json_depth_counts_nesting_outside_strings(text, depth):
    assert json_depth(text) == depth


def test_loads_shallow_refuses_past_the_bound_before_parsing():
    assert loads_shallow("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    with pytest.raises(ValueError, match=f"nested {MAX_JSON_DEPTH + 1} levels"):
        loads_shallow("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(ValueError, match="nested 100000 levels"):
        loads_shallow("[" * 100000)  # json.loads would raise RecursionError here


def test_redact_target_hides_secret_query_values_only():
    raw = ("/k?q-ak=AKID&x-cos-security-token=SeSsIoN%2F1&q-signature=SiGnAtUrE&"
           "X-Cos-Security-Token=SeSsIoN2&prefix=a")
    shown = redact_target(raw)
    assert "SeSsIoN" not in shown and "SiGnAtUrE" not in shown
    assert shown.count(REDACTED) == 3 and "q-ak=AKID" in shown and "prefix=a" in shown
    assert redact_target("/plain") == "/plain"


@pytest.mark.parametrize("name", ["sign", "q-signature", "x-cos-security-token",
                                  "X-Ci-Security-Token", "Cookie", "Authorization"])
def test_the_emulator_hides_what_the_function_masks(name):
    """One list of secret names (picops.redact) for the function's logs and the emulator's
    messages and access lines."""
    assert is_secret_name(name)
    assert redact_target(f"/k?{name}=SeCrEt&prefix=a") == f"/k?{name}={REDACTED}&prefix=a"


def test_idle_timeout_must_be_positive():
    settings = EmulatorSettings(secret_id="a", secret_key="b", idle_timeout_seconds=0)
    assert [p.where for p in settings.problems()] == ["idle_timeout_seconds"]
