"""The processed-on-upload mark: current, stale, foreign or absent, bound to its object."""

from picops import mark

HASH_A, HASH_B = "a" * 64, "b" * 64


def test_a_mark_is_current_only_for_its_object_and_rules():
    value = mark.make(HASH_A, "up-1250000000", "photos/猫 1+1.jpg")
    assert mark.state(value, HASH_A, "up-1250000000", "photos/猫 1+1.jpg") == mark.CURRENT
    assert mark.state(value, HASH_B, "up-1250000000", "photos/猫 1+1.jpg") == mark.STALE
    # Copied to another key or bucket, the metadata travels but the mark does not hold.
    assert mark.state(value, HASH_A, "up-1250000000", "photos/copy.jpg") == mark.FOREIGN
    assert mark.state(value, HASH_A, "other-1250000000", "photos/猫 1+1.jpg") == mark.FOREIGN


def test_malformed_or_missing_marks_never_count_as_processed():
    assert mark.state(None, HASH_A, "b-1", "k") == mark.ABSENT
    place = mark.place("b-1", "k")
    for value in ("", "yes", f"2.{HASH_A}.{place}", f"1.{HASH_A}", f"1.{HASH_A}.{place}.x",
                  f"1.{HASH_A}.{place.upper()}"):
        assert mark.state(value, HASH_A, "b-1", "k") == mark.FOREIGN, value


def test_read_finds_the_header_in_any_case_and_ignores_the_rest():
    value = mark.make(HASH_A, "b-1", "k")
    assert mark.read({"X-Cos-Meta-Picops-Processed": f" {value} "}) == value
    assert mark.read({"ETag": '"x"', "x-cos-meta-other": "1"}) is None
    assert mark.read(None) is None and mark.read(["x"]) is None
    assert mark.read({mark.MARK_HEADER: 3}) is None
    assert mark.metadata(HASH_A, "b-1", "k") == {mark.MARK_HEADER: value}
