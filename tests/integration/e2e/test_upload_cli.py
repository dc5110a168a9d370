"""``picops upload`` against the whole local cloud, driven in-process with click's runner."""

import json

from click.testing import CliRunner

from picops_cli.upload import upload

from .conftest import REPO, SECRET_ID, SECRET_KEY, WIDTHS, CiCallLog, image_path
from .test_lifecycle import DERIVED, SOURCE, listing, results_for


def _run(cloud, *args):
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint}
    return CliRunner().invoke(upload, [str(a) for a in args], env=env)


def test_upload_many_files_reports_each_outcome_and_exits_1_on_a_failure(upload_cloud,
                                                                        config_file, tmp_path):
    cloud = upload_cloud
    ci = CiCallLog(cloud)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is text, not a JPEG")
    notes = tmp_path / "notes.txt"
    notes.write_text("no route takes .txt")
    log = tmp_path / "upload.log"
    result = _run(cloud, image_path("rocket.jpg"), image_path("chelsea.png"), bad, notes,
                  "--prefix", "uploads/cli/", "--config", config_file,
                  "--serverless", REPO / "serverless.yml", "--log", log)

    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"processed": 2, "skipped": {"no_route": 1},
                       "failed": {"InvalidImageFormat": 1}}
    assert "upload summary" in result.stdout
    assert "failed: uploads/cli/broken.jpg: InvalidImageFormat" in result.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted((x["key"], x["outcome"]) for x in lines) == [
        ("uploads/cli/broken.jpg", "failed"), ("uploads/cli/chelsea.png", "processed"),
        ("uploads/cli/notes.txt", "skipped"), ("uploads/cli/rocket.jpg", "processed")]
    derived = listing(cloud, DERIVED)
    for stem in ("rocket_jpg", "chelsea_png"):
        assert {f"thumbs/uploads/cli/{stem}_{w}.jpg" for w in WIDTHS} <= set(derived)
    # Neither the skipped file nor the failed one is left in the bucket.
    assert {k for k in listing(cloud, SOURCE) if not k.startswith("_picops/")} == {
        "uploads/cli/rocket.jpg", "uploads/cli/chelsea.png"}
    assert cloud.wait_idle(60)
    for key in ("uploads/cli/rocket.jpg", "uploads/cli/chelsea.png"):
        (fired,) = results_for(cloud, key)
        assert fired["reason"] == "processed_on_upload"
    assert len(ci) == 5  # two calls per image, one for the broken file


def test_the_bucket_defaults_to_the_trigger_covering_the_key(upload_cloud, config_file):
    cloud = upload_cloud
    result = _run(cloud, image_path("rocket.jpg"), "--key", "uploads/k/r.jpg",
                  "--config", config_file, "--serverless", REPO / "serverless.yml")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"target: local emulator at {cloud.endpoint}"
    assert json.loads(result.stdout.splitlines()[-1]) == {"processed": 1, "skipped": {},
                                                          "failed": {}}
    assert "uploads/k/r.jpg" in listing(cloud, SOURCE)


def test_usage_errors_exit_2_and_upload_nothing(upload_cloud, config_file):
    cloud = upload_cloud
    result = _run(cloud, image_path("rocket.jpg"), image_path("chelsea.png"),
                  "--key", "uploads/x.jpg", "--config", config_file,
                  "--serverless", REPO / "serverless.yml")
    assert result.exit_code == 2
    assert "--key: names one object; 2 files given" in result.stderr
    result = _run(cloud, image_path("rocket.jpg"), "--key", "elsewhere/x.jpg",
                  "--config", config_file, "--serverless", REPO / "serverless.yml")
    assert result.exit_code == 2
    assert "no serverless.yml upload trigger covers 'elsewhere/x.jpg'" in result.stderr
    assert listing(cloud, SOURCE) == {}


def test_ctrl_c_lets_started_files_finish_and_uploads_no_other(upload_cloud, config_file,
                                                               monkeypatch):
    from picops_cli import upload as command

    cloud = upload_cloud
    real_wait = command.wait
    calls = []

    def interrupted_wait(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(command, "wait", interrupted_wait)
    names = ("rocket.jpg", "chelsea.png", "grace_hopper.jpg")
    result = _run(cloud, *(image_path(n) for n in names), "--prefix", "uploads/i/",
                  "--concurrency", "1", "--config", config_file,
                  "--serverless", REPO / "serverless.yml")
    assert result.exit_code == 130, result.stderr
    assert "interrupted: files not started were not uploaded" in result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    uploaded = {k for k in listing(cloud, SOURCE) if not k.startswith("_picops/")}
    # At most the one file already started; whatever was started finished and is counted.
    assert uploaded <= {"uploads/i/rocket.jpg"}
    assert summary == {"processed": len(uploaded), "skipped": {}, "failed": {}}
