"""``picops emulator --limit NAME=VALUE``: parsed by the emulator's settings, handed to the
local cloud as its engine limits, and refused (usage error, exit 2) naming the bad name and
value."""

from click.testing import CliRunner

from picops_cli.main import cli
from picops_emulator import local
from picops_emulator.imaging.limits import CEILINGS, DEFAULT_LIMITS, Limits


def _run(monkeypatch, *args):
    seen = []
    monkeypatch.setattr(local, "serve", lambda options, **wiring: seen.append(options))
    result = CliRunner().invoke(cli, ["emulator", "--no-auth", *args])
    return result, seen


def test_each_limit_reaches_the_local_cloud(monkeypatch):
    result, seen = _run(monkeypatch, "--limit", "max_request_seconds=60",
                        "--limit", "max_request_memory=2GiB", "--limit", "max_jpeg_scans=400",
                        "--limit", "max_request_work=40G")
    assert result.exit_code == 0, result.output
    assert seen[0].limits == Limits(max_request_seconds=60.0, max_request_memory=2 << 30,
                                    max_jpeg_scans=400, max_request_work=40e9)


def test_without_limit_the_defaults_apply(monkeypatch):
    result, seen = _run(monkeypatch)
    assert result.exit_code == 0, result.output
    assert seen[0].limits == DEFAULT_LIMITS == local.LocalOptions().limits


def test_bad_limits_are_a_usage_error_naming_each_name_and_value(monkeypatch):
    result, seen = _run(monkeypatch, "--limit", "max_input_side=40000",
                        "--limit", "max_request_seconds=soon", "--limit", "max_scans=9")
    assert result.exit_code == 2 and seen == []
    text = " ".join(result.output.split())
    assert "Invalid value for '--limit'" in text
    assert ("--limit max_input_side=40000: max_input_side is one of CI's documented limits "
            "(30000) and is fixed") in text
    assert "--limit max_request_seconds=soon: max_request_seconds='soon' is not a number" in text
    assert "--limit max_scans=9: 'max_scans' is not a ceiling" in text


def test_help_names_every_ceiling(monkeypatch):
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    text = " ".join(result.output.split())
    assert "--limit NAME=VALUE" in text
    for name in CEILINGS:
        assert name in text
