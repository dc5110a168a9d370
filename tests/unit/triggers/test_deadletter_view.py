"""The dead-letter file as a frequent reader sees it: appended lines only, a line still
being written left for later, a replaced or shrunk file read again from its start."""

import os

from picops_emulator.triggers.deadletter import DeadLetterFile, DeadLetterView, FILE_NAME


def test_the_view_follows_appends_and_replacements(tmp_path):
    view = DeadLetterView(tmp_path)
    assert view.entries() == [] and view.count() == 0   # no file yet
    letters = DeadLetterFile(tmp_path)
    letters.append({"RequestId": "a", "Key": "k\u2028\u0085"})
    letters.append({"RequestId": "b"})
    assert [e["RequestId"] for e in view.entries()] == ["a", "b"]
    assert view.entries()[0]["Key"] == "k\u2028\u0085"
    with open(tmp_path / FILE_NAME, "ab") as fh:
        fh.write(b'{"RequestId": "c"')              # an append in progress
    assert view.count() == 2
    with open(tmp_path / FILE_NAME, "ab") as fh:
        fh.write(b'}\n')
    assert [e["RequestId"] for e in view.entries()] == ["a", "b", "c"]
    replacement = tmp_path / "other.jsonl"
    replacement.write_text('{"RequestId": "z"}\n{"RequestId": "y"}\n{"RequestId": "x"}\n'
                           '{"RequestId": "w"}\n')
    os.replace(replacement, tmp_path / FILE_NAME)   # another file of another size
    assert [e["RequestId"] for e in view.entries()] == ["z", "y", "x", "w"]
    (tmp_path / FILE_NAME).write_text('{"RequestId": "n"}\n')  # the same file, shrunk
    assert [e["RequestId"] for e in view.entries()] == ["n"]
    (tmp_path / FILE_NAME).unlink()
    assert view.count() == 0


def test_read_dead_letters_leaves_out_a_line_still_being_appended(tmp_path):
    from picops_emulator.triggers.deadletter import FILE_NAME, read_dead_letters
    (tmp_path / FILE_NAME).write_bytes(b'{"Key": "a"}\n{"Key": "b", "Err')
    assert read_dead_letters(tmp_path) == [{"Key": "a"}]
    assert read_dead_letters(tmp_path / "none") == []
