"""The CLI against a running emulator: the target line, and a wrong key said plainly."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from picops_cli.main import cli
from tests.localcloud import SECRET_ID, SECRET_KEY, SOURCE_BUCKET, make_project, start_cloud

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO / "tests" / "data" / "images"


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # invoke runs functions/image_processor from here
    project = make_project(tmp_path)
    with start_cloud(project) as running:
        running.client().put_object(Bucket=SOURCE_BUCKET, Key="uploads/a.jpg",
                                    Body=(IMAGES / "rocket.jpg").read_bytes())
        assert running.wait_idle(60)
        yield running


def run(*args, env):
    base = {"COS_ENDPOINT": None, "PICOPS_CONFIG": None}
    base.update(env)
    return CliRunner().invoke(cli, [str(a) for a in args], env=base, catch_exceptions=False)


def test_invoke_against_the_emulator_names_it_first_and_processes(cloud, tmp_path):
    config = cloud.prepared.config_path
    result = run("invoke", "--bucket", SOURCE_BUCKET, "--key", "uploads/a.jpg", "--config",
                 config, "--endpoint", cloud.endpoint,
                 env={"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY})
    assert result.stdout.splitlines()[0] == f"target: local emulator at {cloud.endpoint}"
    assert result.exit_code == 0, result.output
    # the trigger processed the upload already: the synthesized event (no ETag) gets the
    # source's ETag with one HEAD, and its manifest on the emulator says it is up to date
    assert '"reason": "up_to_date"' in result.stdout


def test_invoke_escapes_c1_controls_and_line_separators_of_a_key(cloud):
    """A key is the uploader's: its C1 controls (U+009B is a one-byte CSI) and line
    separators reach the terminal escaped, and the summary stays JSON."""
    import json
    key = "uploads/csi\x9b2J\u2028x\u0085.jpg"
    cloud.client().put_object(Bucket=SOURCE_BUCKET, Key=key,
                              Body=(IMAGES / "rocket.jpg").read_bytes())
    assert cloud.wait_idle(60)
    result = run("invoke", "--bucket", SOURCE_BUCKET, "--key", key, "--config",
                 cloud.prepared.config_path, "--endpoint", cloud.endpoint,
                 env={"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY})
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in "\x9b\u2028\u0085")
    # after the target line and the function's own log lines: the indented summary
    start = result.stdout.index('{\n  "request_id"')
    summary, _ = json.JSONDecoder().raw_decode(result.stdout[start:])
    assert summary["results"][0]["key"] == key


def test_a_wrong_secret_key_is_one_line_saying_which_pair_to_export(cloud):
    config = cloud.prepared.config_path
    result = run("invoke", "--bucket", SOURCE_BUCKET, "--key", "uploads/a.jpg", "--config",
                 config, "--endpoint", cloud.endpoint,
                 env={"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": "wrong"})
    assert result.exit_code == 1
    hints = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert hints == [f"error: the emulator at {cloud.endpoint} refused the credentials "
                     "(SignatureDoesNotMatch): export the TENCENTCLOUD_SECRETID/"
                     "TENCENTCLOUD_SECRETKEY it was started with (its ready line names the "
                     "SecretId)"], result.output


def _cli(cwd, *args, columns=80, **env):
    import os
    import subprocess
    import sys

    full = dict(os.environ, COLUMNS=str(columns), TENCENTCLOUD_SECRETID=SECRET_ID,
                TENCENTCLOUD_SECRETKEY=SECRET_KEY, PYTHONIOENCODING="utf-8")
    full.pop("COS_ENDPOINT", None)
    full.pop("PICOPS_CONFIG", None)
    full.update(env)
    return subprocess.run([sys.executable, "-m", "picops_cli.main", *map(str, args)],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


def test_backfill_dry_run_at_80_columns_says_where_and_keeps_the_table_whole(cloud):
    project = cloud.prepared.config_path.parents[2]
    done = _cli(project, "backfill", "--bucket", SOURCE_BUCKET, "--prefix", "uploads/",
                "--dry-run", "--endpoint", cloud.endpoint, "--config", cloud.prepared.config_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"target: local emulator at {cloud.endpoint}"
    assert all(len(line) <= 80 for line in lines[:-1]), lines  # the JSON line is for machines
    total = [line for line in lines if line.startswith("total")]
    assert total and total[0].split()[1:3] == ["1", "1"]  # 1 object, up to date
    assert "…" not in done.stdout


def test_backfill_listing_error_is_one_line_before_any_table(cloud):
    project = cloud.prepared.config_path.parents[2]
    done = _cli(project, "backfill", "--bucket", "missing-1250000000", "--dry-run",
                "--endpoint", cloud.endpoint, "--config", cloud.prepared.config_path)
    assert done.returncode == 1
    first, last = done.stdout.splitlines()  # the target, and the JSON line for scripts
    assert first == f"target: local emulator at {cloud.endpoint}"
    assert last.startswith('{"dry_run": true, "objects": 0')
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "NoSuchBucket" in errors[0], done.stderr
    assert "Traceback" not in done.stderr and "total" not in done.stderr


def test_plan_against_a_bucket_says_where_it_reads(cloud, tmp_path):
    config = cloud.prepared.config_path
    new = tmp_path / "next.yaml"
    new.write_text(config.read_text().replace("thumbnail/64x", "thumbnail/48x"))
    done = _cli(config.parents[2], "plan", "--config", config, "--new", new, "--bucket",
                SOURCE_BUCKET, "--endpoint", cloud.endpoint)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == \
        f"target: local emulator at {cloud.endpoint} (read only)"
