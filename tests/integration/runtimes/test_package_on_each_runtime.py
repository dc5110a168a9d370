"""The built package on each supported runtime's CPython, against the emulator.

For every supported SCF runtime whose CPython this machine has (the others are
skipped and listed at the end of the run by tests/conftest.py), the local cloud
runs the function as SCF would: the package built for that runtime (cached under
build/runtimes), on that CPython, with no site-packages and only SCF's variables.
Through real uploads and deletes over HTTP, and Tencent's own SCF CLI event
templates sent through the emulated SCF Invoke API:

* an upload is processed (its derivative exists);
* the same event delivered again is up to date (no CI call);
* a delete deletes the derivative;
* the SCF CLI's put template (no ETag, short region) is up to date after one HEAD,
  and its delete template (``cos: ObjectRemove:Delete``) is understood as a delete.
"""

import json
import uuid
from pathlib import Path

import pytest
import pyvips

from picops import runtimes
from picops_cli.package import find_python
from picops_emulator import local
from picops_emulator.triggers.dispatcher import INVOKE_EVENT_NAME
from tests.configs import TEST_WEBP_ROUTE, cos_events, serverless_head

REPO = Path(__file__).resolve().parents[3]
EVENTS = REPO / "tests" / "events"
SOURCE, DERIVED = "testpic-1253970026", "derived-1253970026"
SECRET_ID, SECRET_KEY = "AKIDruntimes", "runtimesSecretKey"
CONFIG = TEST_WEBP_ROUTE
WAIT = 120


def serverless(runtime: str) -> str:
    return (serverless_head(runtime=runtime) + "  memorySize: 256\n  timeout: 60\n"
            + cos_events(SOURCE, "test", "cos:ObjectCreated:*", "cos:ObjectRemove:*"))


@pytest.fixture(params=list(runtimes.SUPPORTED), ids=list(runtimes.SUPPORTED))
def cloud(request, tmp_path):
    runtime = runtimes.SUPPORTED[request.param]
    python = find_python(runtime)
    if python is None:
        pytest.skip(f"no CPython {runtime.dotted} here (listed in the run's summary)")
    (tmp_path / "serverless.yml").write_text(serverless(runtime.name), encoding="utf-8")
    (tmp_path / "picops.yaml").write_text(CONFIG, encoding="utf-8")
    cloud = local.start(local.LocalOptions(
        serverless_path=tmp_path / "serverless.yml", config_path=tmp_path / "picops.yaml",
        function_dir=REPO / "functions" / "image_processor", python=python,
        data_dir=tmp_path / "data", port=0, secret_id=SECRET_ID, secret_key=SECRET_KEY,
        retry_delays=(0.05, 0.05), fsync=False))
    try:
        yield cloud, runtime, python
    finally:
        cloud.stop()


def records_for(cloud, key):
    return [r for r in cloud.dispatcher.invocations if r.key == key]


def outcomes(record):
    return [(r["outcome"], r.get("reason"), r.get("action")) for r in record.value["results"]]


def invoke(cloud, event):
    """Queue ``event`` as an SCF Invoke (Event) on the function's workers; wait for it."""
    request_id = str(uuid.uuid4())
    cloud.dispatcher.invoke_async(event, request_id)
    assert cloud.wait_idle(WAIT)
    (record,) = [r for r in cloud.dispatcher.invocations if r.request_id == request_id]
    assert record.event_name == INVOKE_EVENT_NAME
    assert record.outcome == "succeeded", record.failure
    return record


def template(kind):
    return json.loads((EVENTS / f"scf_cli_cos_{kind}.json").read_text(encoding="utf-8"))


def test_the_package_on_the_runtimes_cpython_processes_dedupes_and_deletes(cloud):
    cloud, runtime, python = cloud
    launch = cloud.prepared.launch
    assert (launch.mode, launch.python, launch.site) == ("package", python, False)
    assert (launch.function_dir / "index.py").is_file()
    client = cloud.client()
    image = pyvips.Image.black(48, 32).new_from_image([200, 60, 20]).pngsave_buffer()

    # an upload is processed, on this runtime
    client.put_object(Bucket=SOURCE, Key="testphoto.png", Body=image)
    assert cloud.wait_idle(WAIT)
    (upload,) = records_for(cloud, "testphoto.png")
    assert upload.outcome == "succeeded", upload.failure
    assert outcomes(upload) == [("processed", None, None)]
    env = json.loads(upload.context["environment"])
    assert "TENCENTCLOUD_SECRETID" not in env  # the role's keys are process env, not context
    assert client.head_object(Bucket=DERIVED, Key="out/testphoto.png.webp")

    # the same event delivered again: up to date
    again = invoke(cloud, upload.event)
    assert outcomes(again) == [("skipped", "up_to_date", None)]

    # a delete deletes the derivative
    client.delete_object(Bucket=SOURCE, Key="testphoto.png")
    assert cloud.wait_idle(WAIT)
    removal = [r for r in records_for(cloud, "testphoto.png") if r.event_name.startswith(
        "cos:ObjectRemove")]
    assert len(removal) == 1 and outcomes(removal[0]) == [("processed", None, "delete")]
    assert client.list_objects(Bucket=DERIVED, Prefix="out/testphoto").get("Contents") is None


def test_the_scf_cli_templates_on_the_runtimes_cpython(cloud):
    cloud, runtime, python = cloud
    client = cloud.client()
    image = pyvips.Image.black(40, 30).new_from_image([10, 120, 200]).pngsave_buffer()
    client.put_object(Bucket=SOURCE, Key="testfile", Body=image)
    assert cloud.wait_idle(WAIT)
    (upload,) = records_for(cloud, "testfile")
    assert outcomes(upload) == [("processed", None, None)]

    # Tencent's put template: no ETag, "gz" only -> one HEAD, up to date
    put = invoke(cloud, template("put"))
    assert outcomes(put) == [("skipped", "up_to_date", None)]
    post = invoke(cloud, template("post"))
    assert outcomes(post) == [("skipped", "up_to_date", None)]

    # Tencent's delete template ("cos: ObjectRemove:Delete"): understood as a delete
    client.delete_object(Bucket=SOURCE, Key="testfile")
    assert cloud.wait_idle(WAIT)
    assert client.list_objects(Bucket=DERIVED, Prefix="out/testfile").get("Contents") is None
    deleted = invoke(cloud, template("delete"))
    assert outcomes(deleted) == [("skipped", "no_manifest", "delete")]
