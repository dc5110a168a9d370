"""One escaper for one terminal line: the CLI, the emulator's readable log and the JSON
lines of picops.logs.json_line show the same characters raw and escape the same ones."""

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from picops.logs import json_line
from picops.printable import is_unsafe, printable
from picops_cli.terminal import printable as cli_printable
from picops_emulator.triggers.readable import safe as readable_safe

#: ESC, CR, LF, TAB, DEL, CSI, NEL, the separators, a right-to-left override, an isolate,
#: a zero-width joiner, a soft hyphen, the BOM, a tag character (beyond the BMP), a lone
#: surrogate
UNSAFE = ["\x1b", "\r", "\n", "\t", "\x7f", "\x9b", "\x85", "\u2028", "\u2029", "\u202e",
          "\u2066", "\u200d", "\xad", "\ufeff", "\U000e0001", "\ud800"]
SAFE = ["a", " ", "~", "é", "李", "\u3000", "🙂", "\u00a0"]

text = st.text(st.characters(), max_size=40)


def test_the_cli_and_the_readable_log_use_the_one_escaper():
    assert cli_printable is printable and readable_safe is printable


def test_unsafe_characters_are_the_controls_separators_format_and_surrogates():
    assert [c for c in UNSAFE if not is_unsafe(c)] == []
    assert [c for c in SAFE if is_unsafe(c)] == []


@settings(max_examples=300, deadline=None)
@given(text)
def test_printable_and_json_line_leave_the_same_characters_raw(value):
    shown = printable(value)
    line = json_line({"k": value})
    assert json.loads(line) == {"k": value}
    for out in (shown, line):
        assert not any(is_unsafe(c) for c in out), (value, out)
    kept = {c for c in value if not is_unsafe(c) and c not in '\\"'}
    assert kept <= set(shown) and kept <= set(line)
    assert shown.isprintable() or not any(
        unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") for c in shown)


def test_every_unsafe_character_is_escaped_in_both():
    for c in UNSAFE:
        assert printable(c).startswith("\\") and len(printable(c)) > 1
        assert json.loads(json_line(c)) == c and c not in json_line(c)
    assert printable("\U000e0001") == "\\U000e0001"
    assert json_line("\U000e0001") == '"\\udb40\\udc01"'
