"""Hostile YAML files (issue 9): each must fail fast with a clear, placed error.

Shared by the loader's unit tests and the tests of every reader: the function's
cold start, ``picops validate`` and the emulator.
"""

from picops.yamlload import MAX_BYTES, MAX_DEPTH

#: A route list that contains itself: without a bound, walking it never ends.
RECURSIVE_ALIAS = ("routes: &r [ {prefix: a/, suffixes: [.jpg], rules: [{fileid: '/t/{name}', "
                   "rule: imageMogr2/format/png}]}, *r ]\n")

#: Nine levels of nine aliases: 9**9 (387 million) values from a few hundred bytes.
BILLION_LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "routes: *a8\n"

#: Collections nested far deeper than any picops file needs.
DEEP = "routes: " + "[" * (MAX_DEPTH * 50) + "]" * (MAX_DEPTH * 50) + "\n"

#: Over the size bound (comments only, so only the size can be wrong with it).
OVERSIZED = "# padding\n" * (MAX_BYTES // 10 + 1) + "routes: []\n"

#: (name, text, what the one problem's message says, its place starts with)
CASES = [
    ("recursive alias", RECURSIVE_ALIAS, "recursive alias", "line 1, column "),
    ("billion laughs", BILLION_LAUGHS, "aliases expand", "line "),
    ("deep nesting", DEEP, f"nested more than {MAX_DEPTH} levels", "line 1, column "),
    ("oversized", OVERSIZED, f"at most {MAX_BYTES} bytes", ""),
]
