"""Commands say where they write, and a newcomer's mistakes get one line saying what to do."""

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from picops_cli import target as targets
from picops_cli.main import cli

REPO = Path(__file__).resolve().parents[3]
CREDS = {"TENCENTCLOUD_SECRETID": "AKIDx", "TENCENTCLOUD_SECRETKEY": "k"}
NO_CREDS = {"TENCENTCLOUD_SECRETID": None, "TENCENTCLOUD_SECRETKEY": None}


def run(*args, env=None):
    base = {"COS_ENDPOINT": None, "PICOPS_CONFIG": None}
    base.update(env or {})
    return CliRunner().invoke(cli, [str(a) for a in args], env=base, catch_exceptions=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and "Usage:" not in result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def at_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_invoke_bucket_without_appid_is_refused_as_backfill_does():
    result = run("invoke", "--bucket", "uploads", "--key", "uploads/a.jpg", env=CREDS)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith("error: --bucket: 'uploads' is not a bucket name of the form "
                           "name-appid")


def test_nothing_listening_at_the_endpoint_says_start_the_emulator():
    port = closed_port()
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a.jpg",
                 "--endpoint", f"http://127.0.0.1:{port}", env=CREDS)
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == f"target: local emulator at http://127.0.0.1:{port}"
    line = one_error_line(result)
    assert line.startswith(f"error: nothing is listening at http://127.0.0.1:{port}: start "
                           "the emulator with `make emulator`")


def test_endpoint_defaults_to_cos_endpoint_and_a_bad_url_is_named():
    port = closed_port()
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a.jpg",
                 env=dict(CREDS, COS_ENDPOINT=f"http://127.0.0.1:{port}"))
    assert result.stdout.startswith(f"target: local emulator at http://127.0.0.1:{port}\n")
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a.jpg",
                 "--endpoint", "127.0.0.1:9000", env=CREDS)
    assert result.exit_code == 2 and "--endpoint: '127.0.0.1:9000' is not an endpoint" in \
        result.output


def test_no_credentials_for_the_emulator_says_what_to_export():
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a.jpg",
                 "--endpoint", "http://127.0.0.1:9000", env=NO_CREDS)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith("error: no credentials for the emulator: export "
                           "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY")
    assert "execution role" not in line


def test_no_credentials_for_tencent_cloud_says_so_and_offers_the_emulator():
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a.jpg",
                 env=NO_CREDS)
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == "target: Tencent Cloud COS (ap-guangzhou)"
    assert "no credentials for Tencent Cloud" in one_error_line(result)


def test_explain_says_where_and_exits_non_zero_when_the_record_would_fail(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text("routes:\n  - prefix: in/\n    bucket: uploads-1250000000\n"
                      "    rules:\n      - fileid: /in/copies/{dir}/{name}\n"
                      "        rule: imageMogr2/strip\n", encoding="utf-8")
    result = run("explain", "in/a.jpg", "--bucket", "uploads-1250000000", "--config", config,
                 "--endpoint", "http://127.0.0.1:9000")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == \
        "target: local emulator at http://127.0.0.1:9000 (nothing is sent)"
    assert result.output.rstrip().endswith(
        "no CI call is sent (all or nothing per record); the record would fail: 1 output(s) "
        "refused")


def test_confirmation_is_asked_only_for_tencent_cloud_on_a_terminal(monkeypatch):
    cloud = targets.Target(None, "ap-guangzhou")
    local = targets.Target("http://127.0.0.1:9000", "ap-guangzhou")
    asked = []
    monkeypatch.setattr(targets.click, "confirm", lambda *a, **k: asked.append(a) or False)
    monkeypatch.setattr(targets, "on_terminal", lambda: True)
    targets.confirm_cloud_write(local, "backfill", yes=False)
    targets.confirm_cloud_write(cloud, "backfill", yes=True)
    assert asked == []
    with pytest.raises(targets.click.Abort):
        targets.confirm_cloud_write(cloud, "backfill uploads-1250000000", yes=False)
    assert asked and "Tencent Cloud (ap-guangzhou)" in asked[0][0]


@pytest.mark.parametrize("args", [["validate"], ["explain", "uploads/a.jpg"],
                                  ["backfill", "--bucket", "uploads-1250000000", "--dry-run",
                                   "--region", "ap-guangzhou"]])
def test_config_not_found_names_where_it_looked_and_how_to_name_one(tmp_path, monkeypatch,
                                                                     args):
    monkeypatch.chdir(tmp_path)  # not the project's folder
    result = run(*args, env=CREDS)
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if "routes config not found" in line]
    assert len(lines) == 1, result.output
    line = lines[0]
    assert "functions/image_processor/picops.yaml (the default; no --config, $PICOPS_CONFIG " \
           f"not set), from {tmp_path}" in line
    assert line.endswith("name the file with --config PATH or PICOPS_CONFIG=PATH")
    assert "Traceback" not in result.output


def test_config_not_found_via_the_variable_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("validate", env={"PICOPS_CONFIG": "nope.yaml"})
    assert result.exit_code == 1
    # a relative PICOPS_CONFIG names a file in the function's folder, as on SCF
    assert one_error_line(result).startswith(
        "error: routes config not found: tried functions/image_processor/nope.yaml "
        "($PICOPS_CONFIG=nope.yaml, taken from the function's folder "
        "functions/image_processor as on SCF; no --config)")


def test_emulator_outside_the_project_says_which_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("emulator", "--port", "0", "--data-dir", tmp_path / "d", env=CREDS)
    assert result.exit_code == 1
    assert one_error_line(result).startswith(
        "error: serverless.yml not found: tried serverless.yml (the default; no "
        "--serverless)")
    (tmp_path / "serverless.yml").write_text((REPO / "serverless.yml").read_text())
    result = run("emulator", "--port", "0", "--data-dir", tmp_path / "d", env=CREDS)
    assert result.exit_code == 1
    assert "routes config not found: tried " in one_error_line(result)
    assert not (tmp_path / "d").exists()  # refused before anything was created


def test_a_deeply_nested_event_file_is_one_line_not_a_traceback(tmp_path):
    event = tmp_path / "deep.json"
    event.write_text("[" * 100_000 + "]" * 100_000)
    result = run("invoke", event, env=CREDS)
    assert result.exit_code == 2
    assert one_error_line(result) == (f"error: {event}: JSON nested too deeply to be an "
                                      "event (an SCF event is a few levels deep)")


def test_picops_config_as_serverless_yml_sets_it_resolves_in_the_function_folder():
    """serverless.yml sets PICOPS_CONFIG=picops.yaml: the function's folder, from the root."""
    env = {**CREDS, "PICOPS_CONFIG": "picops.yaml"}
    validated = run("validate", env=env)
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith("functions/image_processor/picops.yaml: OK")
    explained = run("explain", "avatars/a.png", "--endpoint", "http://127.0.0.1:9", env=env)
    assert explained.exit_code == 0, explained.output
    assert "route:  routes[" in explained.stdout


def test_upload_takes_endpoint_and_says_where_first(tmp_path):
    port = closed_port()
    image = tmp_path / "a.jpg"
    image.write_bytes(b"not sent")
    result = run("upload", image, "--key", "uploads/a.jpg", "--endpoint",
                 f"http://127.0.0.1:{port}", env={**CREDS, "COS_ENDPOINT": "http://127.0.0.1:1"})
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == f"target: local emulator at http://127.0.0.1:{port}"
    assert f"nothing is listening at http://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output
    result = run("upload", image, "--key", "uploads/a.jpg", "--endpoint",
                 f"http://127.0.0.1:{port}", env=NO_CREDS)
    assert "no credentials for the emulator: export TENCENTCLOUD_SECRETID" in result.stderr
