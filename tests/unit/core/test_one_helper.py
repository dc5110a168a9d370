"""One helper per job (issue 12): nothing beside the helper does its job by hand.

A module that unquotes an ETag by hand (``.strip('"')``) drifts from
``picops.etags.unquote_etag`` the day one of them learns something (whitespace inside the
quotes, ``W/``); the scan covers the function, the CLI and the emulator alike.
"""

import re
from pathlib import Path

import picops
import picops_cli
import picops_emulator

ROOTS = [Path(m.__file__).parent for m in (picops, picops_cli, picops_emulator)]
HELPER = Path(picops.__file__).parent / "etags.py"
# .strip('"'), .strip("\""), .rstrip('"') ...: taking quotes off a value by hand.
BY_HAND = re.compile(r"""\.[lr]?strip\(\s*(?:'"'|"\\"")\s*\)""")


def _sources():
    for root in ROOTS:
        yield from sorted(root.rglob("*.py"))


def test_the_scan_sees_the_helper_itself():
    assert BY_HAND.search(HELPER.read_text(encoding="utf-8"))
    assert BY_HAND.search("""x.strip('"')""") and BY_HAND.search('''x.rstrip("\\"")''')
    assert not BY_HAND.search("x.strip()") and not BY_HAND.search("x.strip('/')")


def test_only_the_etag_helper_strips_quotes():
    by_hand = [f"{path.name}:{n}" for path in _sources() if path != HELPER
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if BY_HAND.search(line)]
    assert by_hand == [], "use picops.etags.unquote_etag"
