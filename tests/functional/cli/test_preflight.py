"""The checks `backfill`, `upload` and `plan` run before any work (picops_cli.preflight),
and the exit-status rule the three share (picops_cli.report)."""

import pytest
from click.testing import CliRunner

from picops_cli import preflight
from picops_cli.backfill.command import backfill
from picops_cli.plan import plan
from picops_cli.report import exit_status
from picops_cli.upload import upload
from tests.configs import BACKFILL_ROUTES, SERVERLESS_HEAD, cos_events

# nothing listens on port 9: every command stops at its checks (exit 2), before a request
ENV = {"TENCENTCLOUD_SECRETID": "AKIDtest", "TENCENTCLOUD_SECRETKEY": "key",
       "TENCENTCLOUD_REGION": "", "COS_ENDPOINT": "http://127.0.0.1:9"}

# one upload trigger: src-1250000000, photos/
SERVERLESS = SERVERLESS_HEAD + cos_events("src-1250000000", "photos/", "cos:ObjectCreated:*")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(BACKFILL_ROUTES, encoding="utf-8")
    images = []
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        images.append(tmp_path / name)
        images[-1].write_bytes(b"not read: the checks fail first")
    return config, images


def _broken_serverless(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text("component: scf\nname: x\ninputs: [1, 2\n", encoding="utf-8")
    return path


def test_upload_without_bucket_and_a_broken_serverless_yml_lists_the_problem(tmp_path, files):
    # was: load_serverless raised from the bucket lookup, a traceback after the checks
    config, images = files
    serverless = _broken_serverless(tmp_path)
    result = CliRunner().invoke(upload, [str(images[0]), "--prefix", "photos/",
                                         "--config", str(config), "--serverless",
                                         str(serverless), "--region", "ap-guangzhou"], env=ENV)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: {serverless}: line 4, column 1: invalid YAML" in result.stderr
    assert "nothing was done" in result.stderr


@pytest.mark.parametrize("command", ["backfill", "upload", "plan"])
def test_a_broken_serverless_yml_is_named_once_per_problem(tmp_path, files, command):
    # was: "serverless.yml: serverless.yml: line 4, ..." (the file named twice)
    config, images = files
    serverless = _broken_serverless(tmp_path)
    args = {"backfill": (backfill, ["--bucket", "src-1250000000"]),
            "upload": (upload, [str(images[0]), "--bucket", "src-1250000000"]),
            "plan": (plan, ["--new", str(config), "--bucket", "src-1250000000"])}[command]
    result = CliRunner().invoke(args[0], args[1] + ["--config", str(config), "--serverless",
                                                    str(serverless), "--region",
                                                    "ap-guangzhou"], env=ENV)
    assert result.exit_code == 2, result.output
    problem = [line for line in result.stderr.splitlines() if "invalid YAML" in line]
    assert problem == [f"error: {serverless}: line 4, column 1: invalid YAML: while parsing "
                       "a flow sequence; did not find expected ',' or ']'"]


@pytest.mark.parametrize("command", ["backfill", "upload", "plan"])
def test_serverless_yml_is_read_once_per_command(tmp_path, files, monkeypatch, command):
    config, images = files
    (tmp_path / "serverless.yml").write_text(SERVERLESS, encoding="utf-8")
    reads = []
    real = preflight.load_serverless

    def counting(path):
        reads.append(path)
        return real(path)

    monkeypatch.setattr(preflight, "load_serverless", counting)
    # no --region: it comes from serverless.yml; upload's bucket from its trigger (per file)
    args = {"backfill": (backfill, ["--bucket", "src-1250000000"]),
            "upload": (upload, [str(p) for p in images] + ["--prefix", "photos/"]),
            "plan": (plan, ["--new", str(config), "--bucket", "src-1250000000"])}[command]
    result = CliRunner().invoke(args[0], args[1] + ["--config", str(config)], env=ENV)
    assert result.exit_code == 2, result.output  # nothing listens at the endpoint
    assert "nothing is listening at http://127.0.0.1:9" in result.stderr
    assert "--region" not in result.stderr and "--bucket" not in result.stderr
    assert reads == [preflight.DEFAULT_SERVERLESS]


def test_trigger_bucket_is_the_first_trigger_firing_on_the_key(tmp_path):
    (tmp_path / "serverless.yml").write_text(SERVERLESS, encoding="utf-8")
    spec = preflight.read_serverless(None).spec
    assert preflight.trigger_bucket("photos/a.jpg", spec) == "src-1250000000"
    assert preflight.trigger_bucket("docs/a.jpg", spec) is None
    assert preflight.trigger_bucket("photos/a.jpg", None) is None


def test_read_serverless_names_a_missing_given_file_and_skips_a_missing_default(tmp_path):
    assert preflight.read_serverless(None) is None
    missing = preflight.read_serverless(tmp_path / "absent.yml")
    assert missing.spec is None
    assert [str(p) for p in missing.problems] == [f"{tmp_path / 'absent.yml'}: not found"]


@pytest.mark.parametrize("failed, interrupted, status", [
    (False, False, 0), (True, False, 1), (False, True, 130), (True, True, 130)])
def test_exit_status_ctrl_c_wins_then_any_failure(failed, interrupted, status):
    assert exit_status(failed=failed, interrupted=interrupted) == status
