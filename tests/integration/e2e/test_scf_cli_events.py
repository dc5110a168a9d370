"""Tencent's own COS events (``scf local generate-event cos put|post|delete`` of the SCF
CLI, committed in tests/events/scf_cli_cos_*.json) through the handler, against the
emulator over real HTTP with the real SDK.

Those templates carry no ``meta.ETag``, only the short ``"region": "gz"``, and the
delete template's name is ``"cos: ObjectRemove:Delete"`` (with a space): the
function must still process, find a duplicate up to date, and delete.
"""

import io
import json
import logging
from pathlib import Path

import pytest
import pyvips

from picops.events import event_kind, parse_record
from picops.handler import processor_from_env
from picops.logs import JsonLogger
from picops_emulator.ci.service import CiService
from picops_emulator.runner import start_in_thread
from picops_emulator.settings import EmulatorSettings
from tests.configs import TEST_WEBP_ROUTE

EVENTS = Path(__file__).resolve().parents[2] / "events"
SOURCE, DERIVED = "testpic-1253970026", "derived-1253970026"
SECRET_ID, SECRET_KEY = "AKIDscfCliEvents", "scfCliEventsKey"
CONFIG = TEST_WEBP_ROUTE


def fixture(kind: str) -> dict:
    return json.loads((EVENTS / f"scf_cli_cos_{kind}.json").read_text(encoding="utf-8"))


class HeadCount(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.heads = 0

    def emit(self, record):
        if '"HEAD /testfile' in record.getMessage():
            self.heads += 1


@pytest.fixture
def world(tmp_path):
    ci = CiService(qps=0)
    emulator = start_in_thread(EmulatorSettings(
        port=0, data_dir=tmp_path / "data", secret_id=SECRET_ID, secret_key=SECRET_KEY,
        region="ap-guangzhou", ci_backend=ci, buckets_to_create=(SOURCE, DERIVED),
        fsync=False))
    access = logging.getLogger("picops_emulator.access")
    counter, old_level = HeadCount(), access.level
    access.setLevel(logging.INFO)
    access.addHandler(counter)
    (tmp_path / "picops.yaml").write_text(CONFIG, encoding="utf-8")
    stream = io.StringIO()
    # TENCENTCLOUD_REGION elsewhere: the records' "gz" alone must give ap-guangzhou
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "TENCENTCLOUD_REGION": "ap-beijing", "COS_ENDPOINT": emulator.endpoint}
    processor = processor_from_env(env, str(tmp_path), logger=JsonLogger(stream))
    from qcloud_cos import CosConfig, CosS3Client
    client = CosS3Client(CosConfig(Region="ap-guangzhou", SecretId=SECRET_ID,
                                   SecretKey=SECRET_KEY, Scheme="http", IP="127.0.0.1",
                                   Port=emulator.port), retry=0)
    try:
        yield processor, client, counter, stream
    finally:
        access.removeHandler(counter)
        access.setLevel(old_level)
        emulator.stop()
        ci.close()


def results(summary):
    return [(r["outcome"], r.get("reason"), r.get("action")) for r in summary["results"]]


def test_the_scf_cli_templates_are_parsed_as_tencent_means_them():
    put, delete = fixture("put")["Records"][0], fixture("delete")["Records"][0]
    record = parse_record(put, 0, "ap-beijing")
    assert (record.bucket, record.key, record.etag, record.region) == (
        SOURCE, "testfile", "", "ap-guangzhou")
    assert record.is_created
    removed = parse_record(delete, 0, "")
    assert removed.is_removed and removed.event_name == "cos: ObjectRemove:Delete"
    assert event_kind(fixture("post")["Records"][0]["event"]["eventName"]) == "created"


def test_put_post_and_delete_templates_process_dedupe_and_delete(world):
    processor, client, counter, stream = world
    image = pyvips.Image.black(40, 30).new_from_image([10, 120, 200]).pngsave_buffer()
    etag = client.put_object(Bucket=SOURCE, Key="testfile", Body=image)["ETag"].strip('"')
    assert counter.heads == 0

    first = processor.handle(fixture("put"), {"request_id": "put"})
    assert results(first) == [("processed", None, None)], first
    # the ETag the event lacks, read once; then once more after CI, before the manifest
    # names it (the source must not have changed meanwhile)
    assert counter.heads == 2
    manifest = json.loads(client.get_object(
        Bucket=SOURCE, Key="_picops/manifests/testfile.json")["Body"].get_raw_stream().read())
    assert manifest["source"]["etag"] == etag != ""
    assert client.head_object(Bucket=DERIVED, Key="out/testfile.webp")

    # the same upload delivered again, and the POST template: up to date, no CI call
    again = processor.handle(fixture("put"), {"request_id": "again"})
    posted = processor.handle(fixture("post"), {"request_id": "post"})
    assert results(again) == results(posted) == [("skipped", "up_to_date", None)]

    client.delete_object(Bucket=SOURCE, Key="testfile")
    deleted = processor.handle(fixture("delete"), {"request_id": "delete"})
    assert results(deleted) == [("processed", None, "delete")], deleted
    listed = client.list_objects(Bucket=DERIVED).get("Contents", [])
    assert listed == []


def test_an_event_name_not_understood_is_a_warning_with_its_name(world):
    processor, _client, _counter, stream = world
    event = fixture("put")
    event["Records"][0]["event"]["eventName"] = "cos:ObjectTransformed:Put"
    summary = processor.handle(event, {"request_id": "odd"})
    assert results(summary) == [("skipped", "unknown_event", None)]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (line,) = [x for x in lines if x.get("key") == "testfile"]
    assert line["level"] == "WARNING"
    assert line["event_name"] == "cos:ObjectTransformed:Put"
    assert "not understood" in line["message"]


@pytest.mark.parametrize("name, kind", [
    ("cos:ObjectCreated:Put", "created"), ("cos: ObjectRemove:Delete", "removed"),
    (" cos:objectremove:DeleteMarkerCreated ", "removed"), ("cos:ObjectRestore:Post", "restored"),
    ("cos:ObjectCreated", None), ("oss:ObjectCreated:Put", None), ("", None),
    ("cos:ObjectCreated:", None)])
def test_event_names_are_matched_tolerantly(name, kind):
    assert event_kind(name) == kind
