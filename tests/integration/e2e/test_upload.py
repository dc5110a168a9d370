"""Processing on upload (``picops.upload``) against the whole local cloud.

Everything is real: the SDK over HTTP, ``ci_put_object`` and Complete Multipart Upload
with ``Pic-Operations``, the serverless.yml triggers firing the function in its own
process, libvips. CI calls are counted at the emulator's CI backend (``CiCallLog``).
"""

import io
import json
from dataclasses import replace

import pyvips
import pytest

from picops import mark
from picops.config import load_config
from picops.handler import processor_from_env
from picops.logs import JsonLogger
from picops.manifest import manifest_key, rules_hash
from picops.errors import CloudError
from picops.upload import Uploader, upload
from picops_emulator.notifications import ObjectChanged

from .conftest import (CHANGED, FAILING, REPO, SECRET_ID, SECRET_KEY, WIDTHS, CiCallLog,
                       image_path, thumbs)
from .test_lifecycle import DERIVED, SOURCE, image_at, listing, manifest_of, results_for

def test_upload_returns_outputs_that_exist_and_the_trigger_makes_no_ci_call(upload_cloud,
                                                                            config_file):
    cloud = upload_cloud
    ci = CiCallLog(cloud)
    config = load_config(str(config_file))
    key = "uploads/a/rocket.jpg"
    result = upload(config, cloud.client(), SOURCE, key, image_path("rocket.jpg"))

    assert result.outcome == "processed", result.to_line()
    assert [o["key"] for o in result.outputs] == thumbs("uploads/a", "rocket")
    assert result.original["width"] == 640 and result.event_name == "picops:upload"
    assert ci.calls == [("put", SOURCE, key), ("image_process", SOURCE, key)]
    derived = listing(cloud, DERIVED)
    for out, width in zip(result.outputs, WIDTHS):
        assert out["bucket"] == DERIVED and derived[out["key"]] == out["etag"]
        assert image_at(cloud, DERIVED, out["key"]).width == width == out["width"]
    head = cloud.client().head_object(Bucket=SOURCE, Key=key)
    assert mark.state(mark.read(head), rules_hash(config.routes[0]), SOURCE, key) == \
        mark.CURRENT

    assert cloud.wait_idle(60)
    (fired,) = results_for(cloud, key)
    assert (fired["outcome"], fired["reason"]) == ("skipped", "processed_on_upload"), fired
    assert len(ci) == 2  # the trigger made no CI call
    assert listing(cloud, DERIVED) == derived


def test_the_upload_writes_the_manifest_the_trigger_path_writes(upload_cloud, config_file):
    cloud = upload_cloud
    config = load_config(str(config_file))
    upload(config, cloud.client(), SOURCE, "uploads/api/rocket.jpg", image_path("rocket.jpg"))
    cloud.client().put_object(Bucket=SOURCE, Key="uploads/fn/rocket.jpg",
                              Body=image_path("rocket.jpg").read_bytes())
    assert cloud.wait_idle(60)
    (fired,) = results_for(cloud, "uploads/fn/rocket.jpg")
    assert fired["outcome"] == "processed"

    by_api, by_fn = manifest_of(cloud, "uploads/api/rocket.jpg"), \
        manifest_of(cloud, "uploads/fn/rocket.jpg")
    same = ("source_bucket", "source_etag", "rules_hash", "route_prefix", "complete", "version")
    assert [getattr(by_api, f) for f in same] == [getattr(by_fn, f) for f in same]
    # The same rules on the same bytes: the same derivatives, byte for byte.
    assert [replace(o, key="") for o in by_api.outputs] == \
        [replace(o, key="") for o in by_fn.outputs]
    assert [o.key for o in by_api.outputs] == thumbs("uploads/api", "rocket")


def test_deleting_an_uploaded_source_deletes_its_derivatives(upload_cloud, config_file):
    cloud = upload_cloud
    config = load_config(str(config_file))
    key = "uploads/gone.jpg"
    upload(config, cloud.client(), SOURCE, key, image_path("rocket.jpg"))
    assert cloud.wait_idle(60)
    cloud.client().delete_object(Bucket=SOURCE, Key=key)
    assert cloud.wait_idle(60)
    (removed,) = results_for(cloud, key, "cos:ObjectRemove:")
    assert removed["outcome"] == "processed", removed
    assert {d["key"] for d in removed["deleted"]} == set(thumbs("uploads", "gone"))
    assert listing(cloud, DERIVED) == {}
    assert manifest_key(key) not in listing(cloud, SOURCE)


def test_a_failing_first_call_fails_the_upload_with_the_ci_error(upload_cloud, config_file):
    cloud = upload_cloud
    ci = CiCallLog(cloud)
    config = load_config(str(config_file))
    with pytest.raises(CloudError) as caught:
        upload(config, cloud.client(), SOURCE, "uploads/text.jpg", b"not an image at all")
    err = caught.value
    assert (err.code, err.status, err.retryable) == ("InvalidImageFormat", 400, False)
    assert err.outcome.outcome == "failed" and err.outcome.outputs == []
    assert ci.calls == [("put", SOURCE, "uploads/text.jpg")]
    assert cloud.wait_idle(60)
    # No manifest, no derivative, and no marked object left without its derivatives.
    assert listing(cloud, SOURCE) == {} and listing(cloud, DERIVED) == {}
    assert len(ci) == 1


def test_a_rule_failing_in_a_later_call_rolls_back_what_the_first_call_wrote(cloud_factory,
                                                                              tmp_path):
    path = tmp_path / "failing.yaml"
    path.write_text(FAILING, encoding="utf-8")
    cloud = cloud_factory(config_path=path)
    ci = CiCallLog(cloud)
    key = "uploads/rocket.jpg"
    with pytest.raises(CloudError) as caught:
        upload(load_config(str(path)), cloud.client(), SOURCE, key, image_path("rocket.jpg"))
    err = caught.value
    assert (err.code, err.status) == ("ImageResolutionExceed", 400)
    assert "20000" in err.message or "9999" in err.message
    assert ci.calls == [("put", SOURCE, key), ("image_process", SOURCE, key)]
    rolled = {(d["bucket"], d["key"]): d["result"] for d in err.outcome.to_line()["deleted"]}
    assert rolled == {**{(DERIVED, k): "deleted" for k in thumbs("uploads", "rocket")[:5]},
                      (SOURCE, key): "deleted"}
    assert cloud.wait_idle(60)
    assert listing(cloud, SOURCE) == {} and listing(cloud, DERIVED) == {}
    assert len(ci) == 2


def _refire(cloud, key):
    """Deliver the object's ObjectCreated again, with its stored metadata, as COS would."""
    head = cloud.client().head_object(Bucket=SOURCE, Key=key)
    meta = {k.lower(): v for k, v in head.items() if k.lower().startswith("x-cos-meta-")}
    cloud.dispatcher.on_change(ObjectChanged(
        bucket=SOURCE, key=key, event_name="cos:ObjectCreated:Put",
        size=int(head["Content-Length"]), etag=head["ETag"].strip('"'),
        content_type="image/jpeg", meta=meta))


def _processor(cloud, config_path):
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint,
           "PICOPS_CONFIG": str(config_path)}
    return processor_from_env(env, str(REPO / "functions" / "image_processor"),
                              logger=JsonLogger(io.StringIO()))


def _page(keys):
    return {"picops_backfill": {"version": 1, "bucket": SOURCE, "region": "ap-guangzhou",
                                "keys": [{"key": k, "size": 1} for k in keys]}}


def test_a_rules_change_makes_the_next_trigger_and_backfill_reprocess(cloud_factory,
                                                                      config_file, tmp_path):
    first = cloud_factory(config_path=config_file)
    config = load_config(str(config_file))
    for name in ("t", "b"):
        upload(config, first.client(), SOURCE, f"uploads/{name}.jpg", image_path("rocket.jpg"))
    assert first.wait_idle(60)
    first.stop()

    changed = tmp_path / "changed.yaml"
    changed.write_text(CHANGED, encoding="utf-8")
    cloud = cloud_factory(config_path=changed)
    ci = CiCallLog(cloud)
    _refire(cloud, "uploads/t.jpg")  # the event carries the (now stale) mark
    assert cloud.wait_idle(60)
    (fired,) = results_for(cloud, "uploads/t.jpg")
    assert fired["outcome"] == "processed", fired
    assert "thumbs/uploads/t_jpg_60.jpg" in {o["key"] for o in fired["outputs"]}
    # the old width is not the new rules' output: kept (never deleted on a manifest's word)
    assert fired["kept_outputs"] == [{"bucket": DERIVED, "key": "thumbs/uploads/t_jpg_56.jpg"}]

    # A backfill page (no metadata in it: the mark is read with a HEAD).
    summary = _processor(cloud, changed).handle(_page(["uploads/b.jpg"]),
                                                {"time_limit_in_ms": 60000})
    assert summary["counts"] == {"processed": 1, "skipped": 0, "failed": 0}, summary
    assert len(ci) == 4  # two calls each
    assert manifest_of(cloud, "uploads/b.jpg").rules_hash == \
        rules_hash(load_config(str(changed)).routes[0])


def test_backfill_skips_a_marked_object_even_without_its_manifest(upload_cloud, config_file):
    cloud = upload_cloud
    ci = CiCallLog(cloud)
    config = load_config(str(config_file))
    key = "uploads/m.jpg"
    upload(config, cloud.client(), SOURCE, key, image_path("rocket.jpg"))
    assert cloud.wait_idle(60)
    # As if the trigger ran before the upload's manifest was written.
    cloud.client().delete_object(Bucket=SOURCE, Key=manifest_key(key))
    summary = _processor(cloud, config_file).handle(_page([key]), {"time_limit_in_ms": 60000})
    (line,) = summary["results"]
    assert (line["outcome"], line["reason"]) == ("skipped", "processed_on_upload"), line
    assert len(ci) == 2  # the upload's own calls only


def _large_png() -> bytes:
    """About 2.5 MB of PNG that does not compress: three parts of 1 MiB."""
    noise = pyvips.Image.gaussnoise(1000, 800, mean=128, sigma=60).cast("uchar")
    return noise.bandjoin([noise.rot180(), noise.fliphor()]).pngsave_buffer(compression=0)


def test_a_multipart_upload_with_processing(upload_cloud, config_file):
    cloud = upload_cloud
    ci = CiCallLog(cloud)
    config = load_config(str(config_file))
    body = _large_png()
    key = "uploads/big.png"
    uploader = Uploader(config, cloud.client(), multipart_threshold=1024 * 1024,
                        part_size=1024 * 1024)
    result = uploader.upload(SOURCE, key, body)

    assert result.outcome == "processed", result.to_line()
    assert ci.calls == [("complete_multipart", SOURCE, key), ("image_process", SOURCE, key)]
    head = cloud.client().head_object(Bucket=SOURCE, Key=key)
    assert head["ETag"].strip('"').endswith("-3") and int(head["Content-Length"]) == len(body)
    assert result.source_etag == head["ETag"].strip('"')
    assert manifest_of(cloud, key).source_etag == result.source_etag
    for out, width in zip(result.outputs, WIDTHS):
        assert image_at(cloud, DERIVED, out["key"]).width == width
    assert cloud.wait_idle(60)
    (fired,) = results_for(cloud, key)
    assert fired["event_name"] == "cos:ObjectCreated:CompleteMultipartUpload"
    assert (fired["outcome"], fired["reason"]) == ("skipped", "processed_on_upload")
    assert len(ci) == 2


def test_picops_backfill_counts_marked_objects_as_processed_on_upload(upload_cloud,
                                                                      config_file, tmp_path,
                                                                      monkeypatch):
    from rich.console import Console

    from picops_cli.backfill.command import run_backfill
    from picops_cli.backfill.runner import RunOptions

    cloud = upload_cloud
    config = load_config(str(config_file))
    for name in ("x", "y"):
        upload(config, cloud.client(), SOURCE, f"uploads/{name}.jpg", image_path("rocket.jpg"))
    assert cloud.wait_idle(60)
    cloud.client().delete_object(Bucket=SOURCE, Key=manifest_key("uploads/y.jpg"))
    ci = CiCallLog(cloud)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "COS_ENDPOINT": cloud.endpoint}
    for dry_run in (True, False):
        out = Console(file=io.StringIO(), width=200)
        status = run_backfill(config, RunOptions(bucket=SOURCE, region="ap-guangzhou",
                                                 prefix="uploads/", dry_run=dry_run),
                              rate=100.0, env=env, out=out, err=out)
        last = out.file.getvalue().strip().splitlines()[-1]
        assert status == 0, out.file.getvalue()
        if dry_run:
            assert '"up_to_date": 1' in last and '"to_process": 0' in last, last
        else:
            assert json.loads(last) == {"processed": 0, "up_to_date": 1, "skipped": {
                "processed_on_upload": 1}, "failed": {}}
    assert len(ci) == 0


def test_a_copy_of_an_uploaded_object_is_processed_by_the_trigger(upload_cloud, config_file):
    """COS copies user metadata with the object; the mark names its own object only."""
    cloud = upload_cloud
    config = load_config(str(config_file))
    upload(config, cloud.client(), SOURCE, "uploads/orig.jpg", image_path("rocket.jpg"))
    assert cloud.wait_idle(60)
    ci = CiCallLog(cloud)
    cloud.client().copy_object(Bucket=SOURCE, Key="uploads/copy.jpg", CopySource={
        "Bucket": SOURCE, "Key": "uploads/orig.jpg", "Region": "ap-guangzhou"})
    head = cloud.client().head_object(Bucket=SOURCE, Key="uploads/copy.jpg")
    assert mark.read(head) is not None  # the metadata travelled
    assert cloud.wait_idle(60)
    (fired,) = results_for(cloud, "uploads/copy.jpg")
    assert fired["outcome"] == "processed", fired
    assert [o["key"] for o in fired["outputs"]] == thumbs("uploads", "copy")
    assert len(ci) == 2
