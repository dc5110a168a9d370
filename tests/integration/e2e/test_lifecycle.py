"""A source's whole life against the emulator: manifest, duplicates, overwrite, rules
change, deletion, and page events.

Everything is real: SDK uploads and deletes over HTTP, the serverless.yml triggers
(ObjectCreated and ObjectRemove), the function run from source in its own process,
libvips making the pixels. CI calls are counted at the emulator's CI backend
(``CiCallLog``), so "no CI call" is measured, not inferred from log lines.
"""

import io
import textwrap
from typing import Dict, List

import pyvips
import pytest

from picops.config import load_config
from picops.handler import processor_from_env
from picops.logs import JsonLogger
from picops.manifest import Manifest, loads, manifest_key, rules_hash
from picops_emulator.notifications import ObjectChanged

from .conftest import REPO, SECRET_ID, SECRET_KEY, CiCallLog, image_path

SOURCE = "uploads-1250000000"
DERIVED = "derived-1250000000"

# Small and fast: two derivatives per upload, webp and jpg only.
RULES_A = """
routes:
  - prefix: uploads/
    suffixes: [.jpg, .png]
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_200.webp
        rule: imageMogr2/thumbnail/200x/format/webp
      - fileid: /covers/{dir}/{stem}_{ext}_100.jpg
        rule: imageView2/1/w/100/h/100/q/80
  - prefix: backlog/
    suffixes: [.jpg]
    bucket: derived-1250000000
    rules:
      - fileid: /backlog-thumbs/{dir}/{stem}_{ext}_64.webp
        rule: imageMogr2/thumbnail/64x/format/webp
"""
# The thumbnail kept, the cover dropped, a new small output added.
RULES_B = RULES_A.replace("""      - fileid: /covers/{dir}/{stem}_{ext}_100.jpg
        rule: imageView2/1/w/100/h/100/q/80
""", """      - fileid: /small/{dir}/{stem}_{ext}_50.webp
        rule: imageMogr2/thumbnail/50x/format/webp
""")


def write_config(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def upload(cloud, key: str, name: str) -> str:
    """Upload a corpus image; its ETag (unquoted)."""
    headers = cloud.client().put_object(Bucket=SOURCE, Key=key,
                                        Body=image_path(name).read_bytes())
    return headers["ETag"].strip('"')


def listing(cloud, bucket: str) -> Dict[str, str]:
    """Every key of ``bucket`` with its ETag."""
    out, marker = {}, ""
    while True:
        page = cloud.client().list_objects(Bucket=bucket, Marker=marker, MaxKeys=1000)
        for item in page.get("Contents", []):
            out[item["Key"]] = item["ETag"].strip('"')
        if page.get("IsTruncated") != "true":
            return out
        marker = page["NextMarker"]


def manifest_of(cloud, key: str) -> Manifest:
    mkey = manifest_key(key)
    body = cloud.client().get_object(Bucket=SOURCE, Key=mkey)["Body"].get_raw_stream().read()
    return loads(body, mkey)


def image_at(cloud, bucket: str, key: str) -> pyvips.Image:
    data = cloud.client().get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()
    return pyvips.Image.new_from_buffer(data, "")


def results_for(cloud, key: str, event_prefix: str = "cos:ObjectCreated:") -> List[dict]:
    """The function's result for ``key``, one per delivery of that kind, in order."""
    return [r.value["results"][0] for r in cloud.dispatcher.invocations
            if r.key == key and r.event_name.startswith(event_prefix)]


def refire(cloud, key: str, etag: str, size: int) -> None:
    """Deliver the same ObjectCreated change again through the real trigger path."""
    cloud.dispatcher.on_change(ObjectChanged(bucket=SOURCE, key=key,
                                             event_name="cos:ObjectCreated:Put", size=size,
                                             etag=etag, content_type="image/jpeg"))


def test_upload_writes_its_derivatives_and_a_manifest_listing_them(cloud, ci_calls):
    key = "uploads/photos/rocket.jpg"
    etag = upload(cloud, key, "rocket.jpg")
    assert cloud.wait_idle(60)

    (result,) = results_for(cloud, key)
    assert result["outcome"] == "processed", result
    assert result["manifest"] == "_picops/manifests/uploads/photos/rocket.jpg.json"
    assert len(ci_calls) == 1

    m = manifest_of(cloud, key)
    shipped = load_config(str(REPO / "functions" / "image_processor" / "picops.yaml"))
    assert (m.source_bucket, m.source_key, m.source_etag, m.route_prefix, m.complete) == (
        SOURCE, key, etag, "uploads/", True)
    assert m.rules_hash == rules_hash(shipped.routes[0])
    assert {o.key for o in m.outputs} == {
        "thumbs/uploads/photos/rocket_jpg_400.webp", "large/uploads/photos/rocket_jpg_1200.jpg",
        "covers/uploads/photos/rocket_jpg_300x300.jpg", "avif/uploads/photos/rocket_jpg.avif"}
    derived = listing(cloud, DERIVED)
    for o in m.outputs:
        # what the manifest says is what is stored
        assert o.bucket == DERIVED and derived[o.key] == o.etag, o
        head = cloud.client().head_object(Bucket=DERIVED, Key=o.key)
        assert int(head["Content-Length"]) == o.size
        img = image_at(cloud, DERIVED, o.key)
        assert (img.width, img.height) == (o.width, o.height)


def test_duplicate_deliveries_make_no_ci_call(cloud, ci_calls):
    key = "uploads/dup.jpg"
    etag = upload(cloud, key, "rocket.jpg")
    assert cloud.wait_idle(60)
    assert len(ci_calls) == 1
    before = listing(cloud, DERIVED)
    size = image_path("rocket.jpg").stat().st_size

    refire(cloud, key, etag, size)
    refire(cloud, key, etag, size)
    assert cloud.wait_idle(60)

    assert len(ci_calls) == 1  # zero extra CI calls
    first, *again = results_for(cloud, key)
    assert first["outcome"] == "processed" and len(again) == 2
    for r in again:
        assert (r["outcome"], r["reason"], r["source_etag"]) == ("skipped", "up_to_date", etag)
        assert {o["key"] for o in r["outputs"]} == {o["key"] for o in first["outputs"]}
    assert listing(cloud, DERIVED) == before


def test_overwrite_with_other_content_replaces_the_outputs(cloud_factory, tmp_path):
    cloud = cloud_factory(config_path=write_config(tmp_path, "a.yaml", RULES_A))
    ci = CiCallLog(cloud)
    key = "uploads/person.jpg"
    upload(cloud, key, "rocket.jpg")
    assert cloud.wait_idle(60)
    thumb = "thumbs/uploads/person_jpg_200.webp"
    old_thumb = listing(cloud, DERIVED)[thumb]
    img = image_at(cloud, DERIVED, thumb)
    assert (img.width, img.height) == (200, 133)

    etag = upload(cloud, key, "grace_hopper.jpg")  # 512x600 instead of 640x427
    assert cloud.wait_idle(60)

    assert len(ci) == 2
    assert [r["outcome"] for r in results_for(cloud, key)] == ["processed", "processed"]
    img = image_at(cloud, DERIVED, thumb)
    assert (img.width, img.height) == (200, 234)
    assert listing(cloud, DERIVED)[thumb] != old_thumb
    m = manifest_of(cloud, key)
    assert m.source_etag == etag
    assert {o.key for o in m.outputs} == {thumb, "covers/uploads/person_jpg_100.jpg"}


def test_rules_change_replaces_outputs_and_keeps_the_dropped_ones(cloud_factory, tmp_path):
    first = cloud_factory(config_path=write_config(tmp_path, "a.yaml", RULES_A))
    key = "uploads/r.jpg"
    upload(first, key, "rocket.jpg")
    upload(first, "uploads/other.jpg", "chelsea_exif6.jpg")
    assert first.wait_idle(60)
    old = manifest_of(first, key)
    cover = "covers/uploads/r_jpg_100.jpg"
    assert cover in {o.key for o in old.outputs}
    before = listing(first, DERIVED)
    first.stop()

    # the same data, the new rules
    cloud = cloud_factory(config_path=write_config(tmp_path, "b.yaml", RULES_B))
    ci = CiCallLog(cloud)
    upload(cloud, key, "rocket.jpg")  # same bytes, same ETag: only the rules hash differs
    assert cloud.wait_idle(60)

    assert len(ci) == 1
    (result,) = results_for(cloud, key)
    assert result["outcome"] == "processed", result
    # the cover is not the new rules' output: left in place (a manifest never decides what
    # is deleted), named, and no longer listed
    assert result["kept_outputs"] == [{"bucket": DERIVED, "key": cover}]
    assert "removed_outputs" not in result
    new = manifest_of(cloud, key)
    assert new.source_etag == old.source_etag and new.rules_hash != old.rules_hash
    small = "small/uploads/r_jpg_50.webp"
    assert {o.key for o in new.outputs} == {"thumbs/uploads/r_jpg_200.webp", small}
    after = listing(cloud, DERIVED)
    # exactly: the cover kept, the small output new, everything else (other.jpg's) as it was
    assert set(after) == set(before) | {small}
    assert {k: v for k, v in after.items() if "other" in k} == \
        {k: v for k, v in before.items() if "other" in k}
    assert image_at(cloud, DERIVED, small).width == 50


def test_deleting_sources_deletes_exactly_their_derivatives_and_manifests(cloud):
    # uploads/ writes to the derived bucket, avatars/ into the source bucket itself
    upload(cloud, "uploads/gone.jpg", "rocket.jpg")
    upload(cloud, "uploads/kept.jpg", "rocket.jpg")
    upload(cloud, "avatars/gone.png", "chelsea.png")
    upload(cloud, "avatars/kept.png", "chelsea.png")
    cloud.client().put_object(Bucket=DERIVED, Key="thumbs/uploads/gone_jpg_400.webp.bak",
                              Body=b"a bystander")
    assert cloud.wait_idle(60)
    source_before, derived_before = listing(cloud, SOURCE), listing(cloud, DERIVED)
    gone_upload = {o.key for o in manifest_of(cloud, "uploads/gone.jpg").outputs}
    gone_avatar = {o.key for o in manifest_of(cloud, "avatars/gone.png").outputs}
    assert len(gone_upload) == 4 and gone_avatar == {"avatars-small/avatars/gone_png_128.jpg",
                                                     "avatars-small/avatars/gone_png_64.webp"}

    client = cloud.client()
    client.delete_object(Bucket=SOURCE, Key="uploads/gone.jpg")
    client.delete_objects(Bucket=SOURCE, Delete={"Object": [{"Key": "avatars/gone.png"}],
                                                 "Quiet": "true"})
    assert cloud.wait_idle(60)

    for key, outputs in (("uploads/gone.jpg", gone_upload), ("avatars/gone.png", gone_avatar)):
        (result,) = results_for(cloud, key, "cos:ObjectRemove:")
        assert (result["outcome"], result["action"]) == ("processed", "delete"), result
        assert {d["key"] for d in result["deleted"]} == outputs
    assert set(listing(cloud, DERIVED)) == set(derived_before) - gone_upload
    assert set(listing(cloud, SOURCE)) == set(source_before) - gone_avatar - {
        "uploads/gone.jpg", "avatars/gone.png", manifest_key("uploads/gone.jpg"),
        manifest_key("avatars/gone.png")}


def test_deleting_a_never_processed_object_deletes_nothing(cloud):
    cloud.client().put_object(Bucket=SOURCE, Key="uploads/readme.txt", Body=b"not an image")
    assert cloud.wait_idle(60)
    source_before, derived_before = listing(cloud, SOURCE), listing(cloud, DERIVED)
    cloud.client().delete_object(Bucket=SOURCE, Key="uploads/readme.txt")
    assert cloud.wait_idle(60)
    (result,) = results_for(cloud, "uploads/readme.txt", "cos:ObjectRemove:")
    assert (result["outcome"], result["reason"]) == ("skipped", "no_manifest")
    assert listing(cloud, DERIVED) == derived_before
    assert set(listing(cloud, SOURCE)) == set(source_before) - {"uploads/readme.txt"}


@pytest.fixture
def backlog_cloud(cloud_factory, tmp_path):
    """A cloud whose backlog/ route has no trigger: objects there wait for a backfill."""
    return cloud_factory(config_path=write_config(tmp_path, "a.yaml", RULES_A))


def test_page_events_process_what_is_missing_and_skip_what_is_current(backlog_cloud,
                                                                       tmp_path):
    cloud = backlog_cloud
    ci = CiCallLog(cloud)
    for i in range(3):
        upload(cloud, f"backlog/{i}.jpg", "rocket.jpg")
    assert cloud.wait_idle(60)
    assert len(ci) == 0  # no trigger watches backlog/
    listed = cloud.client().list_objects(Bucket=SOURCE, Prefix="backlog/")["Contents"]
    page = {"picops_backfill": {"version": 1, "bucket": SOURCE, "region": "ap-guangzhou",
                                "keys": [{"key": o["Key"], "etag": o["ETag"],
                                          "size": int(o["Size"])} for o in listed]}}
    env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
           "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": cloud.endpoint,
           "PICOPS_CONFIG": str(tmp_path / "a.yaml")}
    processor = processor_from_env(env, str(REPO / "functions" / "image_processor"),
                                   logger=JsonLogger(io.StringIO()))
    context = {"request_id": "page-1", "time_limit_in_ms": 60000}

    summary = processor.handle(page, context)
    assert summary["counts"] == {"processed": 3, "skipped": 0, "failed": 0}, summary
    assert len(ci) == 3
    assert {f"backlog-thumbs/backlog/{i}_jpg_64.webp" for i in range(3)} <= set(
        listing(cloud, DERIVED))

    again = processor.handle(page, context)  # a re-sent page: all current
    assert [r["reason"] for r in again["results"]] == ["up_to_date"] * 3
    assert len(ci) == 3
