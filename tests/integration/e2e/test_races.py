"""Races between the records of one key, forced in a set order against the emulator.

SCF runs events at once and delivers them again; COS events can come late. Each test
here runs two function processors (the real handler code in this process, the real SDK,
the emulator's COS and CI over HTTP, libvips pixels) and makes one of them stop at a
chosen call, at which point another client and the other processor act to the end.
The route has no trigger, so nothing else runs. At the end the stored state is checked
against what the source's final version must give.
"""

import io
import time
import textwrap
from typing import Callable, Dict, List, Optional

import pyvips
import pytest

from picops.ci_client import make_cos_client
from picops.config import load_config
from picops.handler import processor_from_env
from picops.logs import JsonLogger
from picops.manifest import loads, manifest_key
from picops.upload import upload

from .conftest import REPO, SECRET_ID, SECRET_KEY, image_path

SOURCE, DERIVED = "uploads-1250000000", "derived-1250000000"
KEY = "races/photo.jpg"
RULES = """
routes:
  - prefix: races/
    suffixes: [.jpg]
    bucket: derived-1250000000
    rules:
      - fileid: /race-thumbs/{dir}/{stem}_{ext}_64.jpg
        rule: imageMogr2/thumbnail/64x/format/jpg
      - fileid: /race-covers/{dir}/{stem}_{ext}_32.png
        rule: imageMogr2/thumbnail/32x/format/png
"""
OUTPUTS = ("race-thumbs/races/photo_jpg_64.jpg", "race-covers/races/photo_jpg_32.png")
# Two versions of the key with different shapes, so every derivative tells which one it
# was made from by its height alone.
V1, V2 = "rocket.jpg", "grace_hopper.jpg"


class Hooked:
    """An SDK client that runs ``hooks[name]`` (popped, one per call) around its calls:
    ``after ci_image_process`` and ``before delete_object`` are where a record stops."""

    def __init__(self, client, hooks: Dict[str, List[Callable[[], None]]]):
        self._client, self._hooks = client, hooks

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _run(self, moment: str) -> None:
        pending = self._hooks.get(moment)
        if pending:
            pending.pop(0)()

    def ci_image_process(self, **kwargs):
        result = self._client.ci_image_process(**kwargs)
        self._run("after ci_image_process")
        return result

    def ci_put_object(self, **kwargs):
        result = self._client.ci_put_object(**kwargs)
        self._run("after ci_put_object")
        return result

    def delete_object(self, **kwargs):
        if kwargs.get("Bucket") == DERIVED:
            self._run("before delete_object")
        return self._client.delete_object(**kwargs)


class Record:
    """One function processor whose SDK client is :class:`Hooked`."""

    def __init__(self, cloud, config_dir):
        self.hooks: Dict[str, List[Callable[[], None]]] = {}
        self.log = JsonLogger(io.StringIO())
        env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
               "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint,
               "PICOPS_CONFIG": str(config_dir / "races.yaml")}
        self.processor = processor_from_env(
            env, str(REPO / "functions" / "image_processor"), logger=self.log,
            client_factory=lambda env_, region: Hooked(make_cos_client(env_, region),
                                                       self.hooks))

    def create(self, etag: str, size: int) -> dict:
        return self.processor.process_object(
            SOURCE, KEY, size=size, etag=etag, region="ap-guangzhou",
            deadline=time.monotonic() + 60, log=self.log,
            event_name="cos:ObjectCreated:Put").to_line()

    def delete(self) -> dict:
        return self.processor.delete_object(SOURCE, KEY, region="ap-guangzhou",
                                            deadline=time.monotonic() + 60, log=self.log,
                                            event_name="cos:ObjectRemove:Delete").to_line()


@pytest.fixture
def world(cloud_factory, tmp_path):
    (tmp_path / "races.yaml").write_text(textwrap.dedent(RULES), encoding="utf-8")
    cloud = cloud_factory(config_path=tmp_path / "races.yaml")
    cloud.config_dir = tmp_path
    return cloud, Record(cloud, tmp_path), Record(cloud, tmp_path)


def put(cloud, name: str) -> dict:
    """Upload a corpus image as KEY; its ETag (unquoted) and size."""
    body = image_path(name).read_bytes()
    etag = cloud.client().put_object(Bucket=SOURCE, Key=KEY, Body=body)["ETag"].strip('"')
    return {"etag": etag, "size": len(body)}


def manifest(cloud) -> Optional[object]:
    try:
        got = cloud.client().get_object(Bucket=SOURCE, Key=manifest_key(KEY))
    except Exception:  # noqa: BLE001 - 404: none
        return None
    return loads(got["Body"].get_raw_stream().read(), manifest_key(KEY))


def derived(cloud) -> Dict[str, pyvips.Image]:
    out = {}
    for key in OUTPUTS:
        try:
            got = cloud.client().get_object(Bucket=DERIVED, Key=key)
        except Exception:  # noqa: BLE001 - 404: absent
            continue
        out[key] = pyvips.Image.new_from_buffer(got["Body"].get_raw_stream().read(), "")
    return out


def heights_of(name: str) -> Dict[str, int]:
    """What each output's height must be when made from corpus image ``name``."""
    img = pyvips.Image.new_from_file(str(image_path(name)))
    return {key: max(1, int(img.height * width / img.width + 0.5))
            for key, width in zip(OUTPUTS, (64, 32))}


def current_etag(cloud) -> str:
    return cloud.client().head_object(Bucket=SOURCE, Key=KEY)["ETag"].strip('"')


def assert_converged_to(cloud, name: str) -> None:
    """The key holds ``name``; its derivatives are made from it, its manifest names it."""
    m = manifest(cloud)
    assert m is not None and m.complete
    assert m.source_etag == current_etag(cloud)
    outs = derived(cloud)
    assert {k: v.height for k, v in outs.items()} == heights_of(name)
    assert sorted(o.key for o in m.outputs) == sorted(OUTPUTS)


def test_an_older_versions_record_finishing_last_names_the_current_etag(world):
    # A (the upload of V1) has its outputs back from CI; before it writes its manifest,
    # the key is overwritten with V2 and B (V2's record) runs to the end. A finishes last.
    cloud, a, b = world
    v1 = put(cloud, V1)
    events = {}

    def overwrite_and_run_b():
        events["v2"] = v2 = put(cloud, V2)
        events["b"] = b.create(**v2)

    a.hooks["after ci_image_process"] = [overwrite_and_run_b]
    line = a.create(**v1)
    assert events["b"]["outcome"] == "processed"
    assert_converged_to(cloud, V2)
    assert line["outcome"] == "processed", line
    assert (line["race"], line["rounds"], line["source_etag"]) == (
        "source_changed", 2, events["v2"]["etag"])


def test_a_delete_during_processing_leaves_no_derivative_and_no_manifest(world):
    # A (the upload of V1) has its outputs back; the key is deleted and the delete's
    # record runs to the end (no manifest yet: nothing for it to delete). A finishes last.
    cloud, a, d = world
    v1 = put(cloud, V1)
    done = {}

    def delete_and_run_d():
        cloud.client().delete_object(Bucket=SOURCE, Key=KEY)
        done["d"] = d.delete()

    a.hooks["after ci_image_process"] = [delete_and_run_d]
    line = a.create(**v1)
    assert done["d"]["reason"] == "no_manifest"
    assert derived(cloud) == {} and manifest(cloud) is None
    assert (line["outcome"], line["reason"]) == ("skipped", "source_deleted"), line
    assert [x["result"] for x in line["deleted"]] == ["deleted", "deleted"]


def test_a_reupload_processed_during_a_delete_keeps_its_derivatives(world):
    # V1 is processed, then deleted. Its delete record checks the key (gone) and is about
    # to delete the outputs when V2 is uploaded and V2's record runs to the end: the
    # delete then removes V2's outputs and manifest. Its check after the deletes finds the
    # key again and hands over to the create path.
    cloud, a, d = world
    assert a.create(**put(cloud, V1))["outcome"] == "processed"
    cloud.client().delete_object(Bucket=SOURCE, Key=KEY)
    seen = {}

    def reupload_and_run_a():
        seen["v2"] = v2 = put(cloud, V2)
        seen["a"] = a.create(**v2)

    d.hooks["before delete_object"] = [reupload_and_run_a]
    line = d.delete()
    assert seen["a"]["outcome"] == "processed"
    assert_converged_to(cloud, V2)
    assert (line["outcome"], line["action"], line["race"]) == ("processed", "delete",
                                                               "source_reuploaded"), line
    assert [x["key"] for x in line["deleted"]] == list(OUTPUTS)


def test_an_upload_with_processing_overwritten_before_its_manifest_names_the_current_etag(world):
    # picops.upload sends V1 with its rules; before it writes the manifest, another client
    # overwrites the key with V2 and V2's record runs to the end.
    cloud, _a, b = world
    seen = {}

    def overwrite_and_run_b():
        seen["v2"] = v2 = put(cloud, V2)
        seen["b"] = b.create(**v2)

    hooks = {"after ci_put_object": [overwrite_and_run_b]}
    config = load_config(str(cloud.config_dir / "races.yaml"))
    result = upload(config, Hooked(cloud.client(), hooks), SOURCE, KEY,
                    image_path(V1)).to_line()
    assert seen["b"]["outcome"] == "processed"
    assert_converged_to(cloud, V2)
    assert (result["outcome"], result["race"], result["rounds"]) == (
        "processed", "source_changed", 2), result
