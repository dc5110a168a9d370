"""All or nothing per record, against the emulator (issue 9): a source whose route has one
output key COS cannot store is failed by the function before any CI call, so nothing is
written for it, and a redelivery makes no CI call either.

The shipped serverless.yml and picops.yaml, the function run from its built package,
the real trigger path; CI calls are counted at the emulator's CI backend (``CiCallLog``).
"""

import pytest

from picops.config import load_config
from picops.errors import OutputKeyError
from picops.manifest import manifest_key
from picops.upload import upload
from picops_emulator.notifications import ObjectChanged

from .conftest import REPO, image_path

SOURCE = "uploads-1250000000"
DERIVED = "derived-1250000000"
# The shipped uploads/ route: covers/uploads/<stem>_jpg_300x300.jpg is 851 bytes with an
# 820-byte stem; its thumbs, large and avif outputs (848, 847, 842) are valid, and so is
# the 832-byte source key.
LONG = "uploads/" + "s" * 820 + ".jpg"


def keys(cloud, bucket: str):
    page = cloud.client().list_objects(Bucket=bucket, MaxKeys=1000)
    return sorted(item["Key"] for item in page.get("Contents", []))


def results_for(cloud, key: str):
    return [r.value["results"][0] for r in cloud.dispatcher.invocations if r.key == key]


def test_one_invalid_output_key_means_no_ci_call_and_nothing_written(cloud, ci_calls):
    body = image_path("rocket.jpg").read_bytes()
    etag = cloud.client().put_object(Bucket=SOURCE, Key=LONG, Body=body)["ETag"].strip('"')
    assert cloud.wait_idle(60)

    (result,) = results_for(cloud, LONG)
    assert result["outcome"] == "failed", result
    assert result["outputs"] == [] and "ci_request_id" not in result
    error = result["error"]
    assert (error["code"], error["retryable"], error["rule"], error["bucket"]) == (
        "InvalidOutputKey", False, 2, DERIVED)
    assert "'/covers/{dir}/{stem}_{ext}_300x300.jpg' resolves to a key of 851 bytes" in \
        error["message"]
    assert len(ci_calls) == 0
    assert keys(cloud, DERIVED) == []
    assert keys(cloud, SOURCE) == [LONG]  # no manifest either
    assert manifest_key(LONG) not in keys(cloud, SOURCE)

    # a redelivery (or a backfill) meets the same refusal, again without a CI call
    cloud.dispatcher.on_change(ObjectChanged(bucket=SOURCE, key=LONG,
                                             event_name="cos:ObjectCreated:Put",
                                             size=len(body), etag=etag,
                                             content_type="image/jpeg"))
    assert cloud.wait_idle(60)
    assert [r["outcome"] for r in results_for(cloud, LONG)] == ["failed", "failed"]
    assert len(ci_calls) == 0 and keys(cloud, DERIVED) == []

    # the same route still processes a source whose outputs are all valid
    cloud.client().put_object(Bucket=SOURCE, Key="uploads/ok.jpg", Body=body)
    assert cloud.wait_idle(60)
    assert results_for(cloud, "uploads/ok.jpg")[0]["outcome"] == "processed"
    assert len(ci_calls) == 1 and len(keys(cloud, DERIVED)) == 4


def test_processing_on_upload_refuses_the_same_source_before_a_byte_is_sent(cloud,
                                                                          ci_calls):
    shipped = load_config(str(REPO / "functions" / "image_processor" / "picops.yaml"))
    with pytest.raises(OutputKeyError) as raised:
        upload(shipped, cloud.client(), SOURCE, LONG, image_path("rocket.jpg"))
    line = raised.value.outcome.to_line()
    assert line["outcome"] == "failed" and line["outputs"] == []
    assert (line["error"]["code"], line["error"]["rule"], line["error"]["bucket"]) == (
        "InvalidOutputKey", 2, DERIVED)
    assert len(ci_calls) == 0
    assert keys(cloud, SOURCE) == [] and keys(cloud, DERIVED) == []
