"""The engine's limits as emulator settings (picops_emulator/settings.py): which names a run
may set, how values are read, and that every bad text is reported with its name and value."""

from dataclasses import fields

import pytest

from picops.errors import ConfigError
from picops_emulator.imaging.limits import CEILINGS, CI_LIMITS, DEFAULT_LIMITS, Limits
from picops_emulator.settings import (EmulatorSettings, changed_ceilings, limit_problems,
                                      parse_limit, parse_limits)


def test_every_limit_is_either_a_ceiling_or_one_of_cis_fixed_limits():
    names = [f.name for f in fields(Limits)]
    assert sorted(names) == sorted([*CEILINGS, *CI_LIMITS])
    assert not set(CEILINGS) & set(CI_LIMITS)


@pytest.mark.parametrize("text, expected", [
    ("max_request_seconds=60", ("max_request_seconds", 60.0)),
    ("max_request_seconds=90s", ("max_request_seconds", 90.0)),
    ("max_request_seconds=0.5", ("max_request_seconds", 0.5)),
    ("max_jpeg_scans=1000", ("max_jpeg_scans", 1000)),
    ("max_request_memory=2GiB", ("max_request_memory", 2 << 30)),
    ("max_request_memory=768mib", ("max_request_memory", 768 << 20)),
    ("max_request_memory=1.5GiB", ("max_request_memory", 3 << 29)),
    ("max_request_memory=1000000", ("max_request_memory", 1_000_000)),
    ("max_request_work=40G", ("max_request_work", 40e9)),
    ("max_request_work=2e10", ("max_request_work", 2e10)),
    (" max_request_work = 5T ", ("max_request_work", 5e12)),
])
def test_each_ceiling_reads_a_number_in_its_unit(text, expected):
    name, value = parse_limit(text)
    assert (name, value) == expected
    assert type(value) is type(getattr(DEFAULT_LIMITS, name))


@pytest.mark.parametrize("text, fragments", [
    ("max_request_seconds", ["'max_request_seconds' is not NAME=VALUE"]),
    ("=60", ["is not NAME=VALUE"]),
    ("max_request_secs=60", ["'max_request_secs' is not a ceiling",
                             "max_jpeg_scans, max_request_memory, max_request_work, "
                             "max_request_seconds"]),
    ("max_input_side=40000", ["max_input_side is one of CI's documented limits (30000)",
                              "fixed"]),
    ("max_frames=1000", ["max_frames is one of CI's documented limits (300)"]),
    ("max_request_memory=lots", ["max_request_memory='lots' is not a number of bytes",
                                 "KiB, MiB, GiB", "e.g. max_request_memory=2GiB"]),
    ("max_request_memory=2GB", ["max_request_memory='2GB' is not a number of bytes"]),
    ("max_request_seconds=-1", ["max_request_seconds='-1': must be a positive"]),
    ("max_request_seconds=0", ["max_request_seconds='0': must be a positive"]),
    ("max_request_seconds=1e999", ["max_request_seconds='1e999': must be a positive, "
                                   "finite"]),
    ("max_request_seconds=nan", ["max_request_seconds='nan' is not a number of seconds"]),
    ("max_jpeg_scans=150.5", ["max_jpeg_scans='150.5': must be a whole number of scans"]),
    ("max_jpeg_scans=2k", ["max_jpeg_scans='2k' is not a number of scans, e.g."]),
])
def test_a_bad_text_is_refused_naming_its_name_and_value(text, fragments):
    with pytest.raises(ValueError) as caught:
        parse_limit(text)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_parse_limits_applies_each_text_and_reports_every_bad_one():
    limits = parse_limits(["max_request_seconds=60", "max_jpeg_scans=500",
                           "max_request_seconds=120"])
    assert limits == Limits(max_request_seconds=120.0, max_jpeg_scans=500)  # the last wins
    assert parse_limits([]) == DEFAULT_LIMITS
    with pytest.raises(ConfigError) as caught:
        parse_limits(["max_request_seconds=60", "max_input_bytes=1", "nope", "max_jpeg_scans=x"])
    assert [p.where for p in caught.value.problems] == [
        "--limit max_input_bytes=1", "--limit nope", "--limit max_jpeg_scans=x"]


def test_settings_refuse_a_changed_ci_limit_and_a_ceiling_that_is_not_positive():
    ok = dict(secret_id="a", secret_key="b")
    EmulatorSettings(**ok, limits=Limits(max_request_seconds=300.0)).validate()
    assert limit_problems(DEFAULT_LIMITS) == []
    bad = Limits(max_input_side=40_000, max_request_seconds=0.0,
                 max_request_work=float("inf"))
    with pytest.raises(ConfigError) as caught:
        EmulatorSettings(**ok, limits=bad).validate()
    assert [str(p) for p in caught.value.problems] == [
        "limits.max_input_side: is CI's documented limit (30000) and is fixed, not 40000",
        "limits.max_request_work: inf is not a positive number of sample operations",
        "limits.max_request_seconds: 0.0 is not a positive number of seconds",
    ]


def test_changed_ceilings_names_each_raised_one_beside_its_default():
    assert changed_ceilings(DEFAULT_LIMITS) == []
    assert changed_ceilings(parse_limits(["max_request_memory=2GiB",
                                          "max_request_seconds=60"])) == [
        "max_request_memory=2048MiB (default 512MiB)",
        "max_request_seconds=60 (default 30)"]
