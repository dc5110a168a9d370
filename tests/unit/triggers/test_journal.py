"""The trigger journal: appends survive, finished entries go, torn lines are skipped."""

import json

import pytest

from picops_emulator.triggers.journal import (COMPACT_SLACK_LINES, FILE_NAME, JournalInUse,
                                              TriggerJournal)


def lines_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_open_entries_survive_and_finished_ones_are_gone(tmp_path):
    j = TriggerJournal(tmp_path)
    assert j.open() == []
    j.add("a", {"key": "a"})
    j.add("b", {"key": "b"})
    j.add("c", {"key": "c"})
    j.failed("b", {"attempt": 1, "message": "boom"}, due=123.5)
    j.done("a", "succeeded")
    j.failed("c", {"attempt": 1}, None)
    j.done("c", "dead_lettered")
    j.close()  # what a kill leaves is the same file: every append was already written

    again = TriggerJournal(tmp_path)
    (entry,) = again.open()
    assert entry.id == "b" and entry.record == {"key": "b"}
    assert entry.errors == [{"attempt": 1, "message": "boom"}] and entry.due == 123.5
    # rewritten with only what is open
    assert [line["op"] for line in lines_of(tmp_path / FILE_NAME)] == ["event", "attempt"]
    again.close()


def test_a_torn_last_line_is_skipped(tmp_path):
    j = TriggerJournal(tmp_path)
    j.open()
    j.add("a", {"key": "a"})
    j.close()
    with open(tmp_path / FILE_NAME, "ab") as fh:
        fh.write(b'{"op":"event","id":"b","rec')  # a kill in mid-append
    again = TriggerJournal(tmp_path)
    assert [e.id for e in again.open()] == ["a"]
    again.add("c", {"key": "c"})  # appends after the rewrite stay readable
    again.close()
    third = TriggerJournal(tmp_path)
    assert [e.id for e in third.open()] == ["a", "c"]
    third.close()


def test_the_file_is_compacted_while_running(tmp_path):
    j = TriggerJournal(tmp_path, fsync=False)
    j.open()
    j.add("keep", {"key": "keep"})
    for i in range(COMPACT_SLACK_LINES):
        j.add(str(i), {"key": i})
        j.done(str(i), "succeeded")
    assert len((tmp_path / FILE_NAME).read_text().splitlines()) < COMPACT_SLACK_LINES + 10
    j.close()
    again = TriggerJournal(tmp_path)
    assert [e.id for e in again.open()] == ["keep"]
    again.close()


def test_line_separators_in_keys_do_not_split_a_line(tmp_path):
    j = TriggerJournal(tmp_path)
    j.open()
    key = "uploads/a\u2028b\u2029c\u0085d\ne.jpg"
    j.add("a", {"key": key})
    j.close()
    assert len((tmp_path / FILE_NAME).read_bytes().splitlines()) == 1
    again = TriggerJournal(tmp_path)
    assert again.open()[0].record["key"] == key
    again.close()


def test_one_owner_at_a_time(tmp_path):
    j = TriggerJournal(tmp_path)
    j.open()
    with pytest.raises(JournalInUse):
        TriggerJournal(tmp_path).open()
    j.close()
    TriggerJournal(tmp_path).open()


class _NoWalk(dict):
    """The open entries, refusing to be walked: done() must not visit the others."""

    def values(self):
        raise AssertionError("the journal walked every open entry")

    def __iter__(self):
        raise AssertionError("the journal walked every open entry")


def test_done_does_not_walk_the_open_entries(tmp_path):
    j = TriggerJournal(tmp_path, fsync=False)
    j.open()
    for i in range(1000):
        j.add(str(i), {"key": i})
    j.failed("7", {"attempt": 1}, 5.0)
    j._open = _NoWalk(j._open)
    for i in range(0, 1000, 2):  # far below the compaction threshold: no rewrite is due
        j.done(str(i), "succeeded")
    j._open = dict(j._open)
    assert j.open_count == 500
    j.close()
    again = TriggerJournal(tmp_path)
    reopened = again.open()
    assert [e.id for e in reopened] == [str(i) for i in range(1, 1000, 2)]
    assert next(e for e in reopened if e.id == "7").errors == [{"attempt": 1}]
    again.close()


def test_compaction_keeps_exactly_the_open_entries_lines(tmp_path):
    """The running count of open lines stays true through adds, failures, a repeated id
    and finishes: the compacted file holds the lines of the open entries and nothing else."""
    j = TriggerJournal(tmp_path, fsync=False)
    j.open()
    j.add("keep", {"key": "keep"})
    j.failed("keep", {"attempt": 1}, 9.0)
    j.add("twice", {"key": "first"})
    j.failed("twice", {"attempt": 1}, None)
    j.add("twice", {"key": "second"})  # the same id again: the new entry replaces the old
    for i in range(COMPACT_SLACK_LINES):
        j.add(str(i), {"key": i})
        j.failed(str(i), {"attempt": 1}, None)
        j.done(str(i), "dead_lettered")
    ops = [(line["op"], line["id"]) for line in lines_of(tmp_path / FILE_NAME)]
    assert ops[:3] == [("event", "keep"), ("attempt", "keep"), ("event", "twice")]
    # compacted (the rewrite keeps 3 lines); never more than the threshold allows
    assert len(ops) <= 2 * 3 + COMPACT_SLACK_LINES + 3
    j.close()
    again = TriggerJournal(tmp_path)
    entries = {e.id: e for e in again.open()}
    assert set(entries) == {"keep", "twice"}
    assert entries["twice"].record == {"key": "second"} and entries["twice"].errors == []
    again.close()
