"""COS's key rule, shared by the function's output-key check and the emulator's writes."""

import pytest

from picops.cos_keys import MAX_KEY_BYTES, bad_character, key_bytes
from picops.errors import PicopsError
from picops.routing import output_key
from picops_emulator.errors import EmulatorError
from picops_emulator.naming import check_key


@pytest.mark.parametrize("char, words", [
    ("\x1b", "the control character U+001B"),
    ("\x7f", "the control character U+007F"),
    ("\ud800", "U+D800 (a lone surrogate"),
    ("\udfff", "U+DFFF (a lone surrogate"),
    ("\ufffe", "U+FFFE (a noncharacter"),
    ("\uffff", "U+FFFF (a noncharacter"),
])
def test_a_character_no_listing_or_path_can_carry_is_named_with_its_place(char, words):
    at, what = bad_character(f"abc{char}d")
    assert at == 3 and what.startswith(words)


@pytest.mark.parametrize("key", ["a b", "中文/😀", "x\u0085y", "a\u2028b", "\ufffd", "\U0010fffd"])
def test_text_keys_pass(key):
    assert bad_character(key) is None


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\ud800", "\ufffe"])
def test_the_function_and_the_emulator_refuse_the_same_keys(char):
    """One rule: an output key the function would send, the emulator would store."""
    with pytest.raises(EmulatorError) as emulator:
        check_key(f"out/x{char}.jpg")
    with pytest.raises(PicopsError) as function:
        output_key(f"/out/x{char}.jpg", "uploads/a.jpg")
    what = bad_character(char)[1]
    assert what in emulator.value.message and what in str(function.value)


def test_length_is_counted_in_utf8_bytes_at_the_same_bound():
    assert key_bytes("中") == 3 and key_bytes("\ud800") == 3
    with pytest.raises(EmulatorError, match="KeyTooLong|bytes"):
        check_key("中" * (MAX_KEY_BYTES // 3 + 1))
    assert check_key("a" * MAX_KEY_BYTES)
