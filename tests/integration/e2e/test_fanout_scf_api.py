"""`picops backfill --fan-out` end to end through SCF's Invoke API, emulated.

The CLI sends each page through the official Tencent Cloud SDK (``ScfClient.Invoke``,
TC3-HMAC-SHA256 signed, ``InvocationType=Event``) to ``--scf-endpoint``: the local
cloud, which answers as API 3.0 does and runs every page event on its function
workers (the package built for serverless.yml's runtime on that CPython). The
serverless.yml here declares no trigger, so only the fan-out can process anything.
"""

import json
import textwrap

import pyvips
import pytest
from click.testing import CliRunner

from picops_cli.backfill.command import backfill
from picops_emulator.triggers.dispatcher import INVOKE_EVENT_NAME

from .conftest import REPO, SECRET_ID, SECRET_KEY
from tests.configs import SERVERLESS_HEAD

BUCKET = "uploads-1250000000"
FUNCTION = "picops-image-processor"
AVATARS = 5


@pytest.fixture
def fanout_cloud(cloud_factory, tmp_path):
    serverless = tmp_path / "serverless.yml"
    serverless.write_text(SERVERLESS_HEAD + textwrap.indent("memorySize: 256\ntimeout: 60\n",
                                                             "  "))
    cloud = cloud_factory(serverless_path=serverless,
                          function_dir=REPO / "functions" / "image_processor")
    client = cloud.client()
    client.create_bucket(Bucket=BUCKET)  # no trigger names it; the routes only name targets
    for i in range(AVATARS):
        body = pyvips.Image.black(40 + i, 30).new_from_image([i * 40, 90, 200])
        client.put_object(Bucket=BUCKET, Key=f"avatars/a{i}.png",
                          Body=body.pngsave_buffer(), ContentType="image/png")
    return cloud, serverless


def run_fanout(cloud, serverless, tmp_path, monkeypatch, secret_key=SECRET_KEY, *extra,
               scf_endpoint=True):
    for name, value in {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": secret_key,
                        "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint,
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN", raising=False)
    monkeypatch.delenv("PICOPS_CONFIG", raising=False)
    monkeypatch.delenv("PICOPS_SCF_ENDPOINT", raising=False)
    args = ["--bucket", BUCKET, "--prefix", "avatars/", "--fan-out", FUNCTION,
            "--page-size", "2", "--rate", "1000",
            *(["--scf-endpoint", cloud.endpoint] if scf_endpoint else []),
            "--config", str(REPO / "functions" / "image_processor" / "picops.yaml"),
            "--serverless", str(serverless), *extra]
    return CliRunner().invoke(backfill, args, catch_exceptions=False)


def test_fan_out_invokes_through_the_sdk_and_the_emulator_runs_the_pages(
        fanout_cloud, tmp_path, monkeypatch):
    cloud, serverless = fanout_cloud
    assert cloud.prepared.launch.mode in ("package", "source")
    assert cloud.wait_idle(30) and cloud.dispatcher.invocations == []  # no trigger here

    result = run_fanout(cloud, serverless, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["pages"] == 3 and summary["keys"] == AVATARS

    assert cloud.wait_idle(120)
    records = cloud.dispatcher.invocations
    assert [r.event_name for r in records] == [INVOKE_EVENT_NAME] * 3
    assert all(r.outcome == "succeeded" for r in records), [r.failure for r in records]
    pages = [r.event["picops_backfill"] for r in records]
    assert sorted(k["key"] for p in pages for k in p["keys"]) == [
        f"avatars/a{i}.png" for i in range(AVATARS)]
    processed = sum(r.value["counts"]["processed"] for r in records)
    assert processed == AVATARS
    # the request id the API answered is the invocation's own (context and record)
    assert all(r.context["request_id"] == r.request_id for r in records)

    listed = cloud.client().list_objects(Bucket=BUCKET, Prefix="avatars-small/")
    keys = sorted(o["Key"] for o in listed.get("Contents", []))
    assert keys == sorted([f"avatars-small/avatars/a{i}_png_128.jpg" for i in range(AVATARS)]
                          + [f"avatars-small/avatars/a{i}_png_64.webp" for i in range(AVATARS)])

    # pages sent again: every manifest is current, nothing is processed twice
    again = run_fanout(cloud, serverless, tmp_path, monkeypatch)
    assert again.exit_code == 0, again.output
    assert cloud.wait_idle(120)
    later = cloud.dispatcher.invocations[3:]
    assert len(later) == 3 and all(r.outcome == "succeeded" for r in later)
    assert sum(r.value["counts"]["processed"] for r in later) == 0


def test_a_wrong_key_is_refused_by_the_tc3_signature_check(fanout_cloud, tmp_path,
                                                            monkeypatch):
    cloud, serverless = fanout_cloud
    result = run_fanout(cloud, serverless, tmp_path, monkeypatch, "not-the-secret-key")
    # listing signs with the same wrong key: COS refuses it first
    assert result.exit_code != 0
    assert cloud.dispatcher.invocations == []


def test_an_unknown_function_is_refused_by_name(fanout_cloud, tmp_path, monkeypatch):
    cloud, serverless = fanout_cloud
    for name, value in {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                        "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint,
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(backfill, [
        "--bucket", BUCKET, "--prefix", "avatars/", "--fan-out", "no-such-function",
        "--scf-endpoint", cloud.endpoint, "--serverless", str(serverless),
        "--config", str(REPO / "functions" / "image_processor" / "picops.yaml")],
        catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "ResourceNotFound.Function" in result.output or "no function" in result.output
    assert cloud.dispatcher.invocations == []


def test_a_local_cos_target_sends_the_invocations_to_the_emulator_too(
        fanout_cloud, tmp_path, monkeypatch):
    """COS_ENDPOINT at the emulator and no --scf-endpoint: the pages go to the emulator's
    SCF API on the same URL, never to Tencent Cloud's SCF."""
    cloud, serverless = fanout_cloud
    assert cloud.wait_idle(30)
    result = run_fanout(cloud, serverless, tmp_path, monkeypatch, scf_endpoint=False)
    assert result.exit_code == 0, result.output
    assert f"SCF Invoke: {cloud.endpoint}" in result.output
    assert "tencentcloudapi.com" not in result.output
    assert cloud.wait_idle(120)
    assert [r.event_name for r in cloud.dispatcher.invocations] == [INVOKE_EVENT_NAME] * 3
