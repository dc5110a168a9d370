"""A browser form upload (POST Object) fires the project's function as a PUT does.

The whole local cloud of ``make demo``: the project's own serverless.yml, picops.yaml and
functions/image_processor (from source, isolated), CI on libvips, auth on. The upload is a
signed multipart form built with ``requests``; the event must say
``cos:ObjectCreated:Post`` and every derivative of the uploads/ route must appear.
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pyvips
import requests

from picops_emulator import local

REPO = Path(__file__).resolve().parents[3]
SECRET_ID = "AKIDpicopsPostTrigger"
SECRET_KEY = "picopsPostTriggerSecretKey"
SOURCE = "uploads-1250000000"
DERIVED = "derived-1250000000"
WAIT = 120  # an upper bound for a loaded machine, never a speed check


@pytest.fixture
def cloud(tmp_path):
    started = local.start(local.LocalOptions(
        serverless_path=REPO / "serverless.yml",
        function_dir=REPO / "functions" / "image_processor",
        config_path=REPO / "functions" / "image_processor" / "picops.yaml",
        data_dir=tmp_path / "cloud", port=0, secret_id=SECRET_ID, secret_key=SECRET_KEY,
        retry_delays=(0.05, 0.05), fsync=False))
    yield started
    started.stop()


def signed_form(key: str) -> list:
    now = int(time.time())
    key_time = f"{now - 60};{now + 600}"
    doc = {"expiration": datetime.fromtimestamp(now + 600, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "conditions": [
        {"bucket": SOURCE}, ["starts-with", "$key", "uploads/"],
        {"q-sign-algorithm": "sha1"}, {"q-ak": SECRET_ID}, {"q-sign-time": key_time}]}
    text = json.dumps(doc).encode()
    sign_key = hmac.new(SECRET_KEY.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    signature = hmac.new(sign_key.encode(), hashlib.sha1(text).hexdigest().encode(),
                         hashlib.sha1).hexdigest()
    return [("key", key), ("Content-Type", "image/jpeg"),
            ("policy", base64.b64encode(text).decode()), ("q-sign-algorithm", "sha1"),
            ("q-ak", SECRET_ID), ("q-key-time", key_time), ("q-signature", signature)]


def test_form_upload_fires_the_function_with_a_post_event(cloud):
    photo = (REPO / "tests" / "data" / "images" / "rocket.jpg").read_bytes()  # 640x427
    parts = [(name, (None, value)) for name, value in signed_form("uploads/web/${filename}")]
    parts.append(("file", ("rocket.jpg", photo, "image/jpeg")))
    response = requests.post(f"{cloud.endpoint}/", files=parts,
                             headers={"Host": f"{SOURCE}.cos.ap-guangzhou.myqcloud.com"})
    assert response.status_code == 204, response.text
    assert cloud.wait_idle(WAIT)

    records = [r for r in cloud.dispatcher.invocations if r.key == "uploads/web/rocket.jpg"]
    assert len(records) == 1, [(r.key, r.outcome) for r in cloud.dispatcher.invocations]
    record = records[0]
    assert record.outcome == "succeeded", (record.failure, record.logs)
    assert record.event_name == "cos:ObjectCreated:Post"
    (event,) = record.event["Records"]
    assert event["event"]["eventName"] == "cos:ObjectCreated:Post"
    assert event["cos"]["cosObject"]["key"] == "/1250000000/uploads/uploads/web/rocket.jpg"
    assert event["cos"]["cosObject"]["meta"]["ETag"] == response.headers["ETag"]

    result = record.value["results"][0]
    assert result["outcome"] == "processed", result
    expected = {
        "thumbs/uploads/web/rocket_jpg_400.webp": ("webp", 400, 267),
        "large/uploads/web/rocket_jpg_1200.jpg": ("jpeg", 640, 427),
        "covers/uploads/web/rocket_jpg_300x300.jpg": ("jpeg", 300, 300),
        "avif/uploads/web/rocket_jpg.avif": ("heif", 640, 427),
    }
    assert {o["key"] for o in result["outputs"]} == set(expected)
    client = cloud.client()
    for key, (loader, width, height) in expected.items():
        data = client.get_object(Bucket=DERIVED, Key=key)["Body"].get_raw_stream().read()
        image = pyvips.Image.new_from_buffer(data, "")
        assert (image.width, image.height) == (width, height), key
        assert image.get("vips-loader").startswith(loader), key
