"""End to end: SDK upload -> COS trigger (serverless.yml) -> isolated function -> CI -> derivatives.

Everything is real: the SDK over HTTP with signatures checked, the project's own
serverless.yml and picops.yaml, the function's source run in its own process,
libvips producing the pixels. Images are compared by dimensions, format and pixel
tolerance, never by bytes.
"""

import json
import textwrap

import pyvips
import pytest

from picops_emulator.triggers.deadletter import read_dead_letters

from .conftest import REPO, image_path

SOURCE = "uploads-1250000000"
DERIVED = "derived-1250000000"
#: The routes config for tests that run their own function folder (from source).
CONFIG = REPO / "functions" / "image_processor" / "picops.yaml"


def upload(cloud, key: str, name: str) -> None:
    cloud.client().put_object(Bucket=SOURCE, Key=key, Body=image_path(name).read_bytes())


def fetch(cloud, bucket: str, key: str) -> bytes:
    return cloud.client().get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()


def only_record(cloud, key: str):
    records = [r for r in cloud.dispatcher.invocations if r.key == key]
    assert len(records) == 1, [(r.key, r.outcome) for r in cloud.dispatcher.invocations]
    return records[0]


def mean_abs_diff(a: pyvips.Image, b: pyvips.Image) -> float:
    a = a.colourspace("srgb")[0:3]
    b = b.colourspace("srgb")[0:3].resize(a.width / b.width, vscale=a.height / b.height)
    return (a.cast("float") - b.cast("float")).abs().avg()


def test_upload_writes_every_derivative_of_its_route(cloud):
    # GIVEN the project's config: uploads/ -> four derivatives in the derived bucket
    # WHEN a photo is uploaded through the SDK
    upload(cloud, "uploads/photos/rocket.jpg", "rocket.jpg")
    assert cloud.wait_idle(60)

    # THEN the function ran once, processed it, and every output exists with the
    # dimensions and format its rule asks for
    rec = only_record(cloud, "uploads/photos/rocket.jpg")
    assert rec.outcome == "succeeded" and len(rec.attempts) == 1
    result = rec.value["results"][0]
    assert result["outcome"] == "processed", result
    expected = {
        "thumbs/uploads/photos/rocket_jpg_400.webp": ("webp", 400, 267),
        "large/uploads/photos/rocket_jpg_1200.jpg": ("jpeg", 640, 427),  # 1200x1200> never enlarges
        "covers/uploads/photos/rocket_jpg_300x300.jpg": ("jpeg", 300, 300),
        "avif/uploads/photos/rocket_jpg.avif": ("heif", 640, 427),
    }
    assert {o["key"] for o in result["outputs"]} == set(expected)
    original = pyvips.Image.new_from_file(str(image_path("rocket.jpg")))
    for key, (loader_format, width, height) in expected.items():
        img = pyvips.Image.new_from_buffer(fetch(cloud, DERIVED, key), "")
        assert (img.width, img.height) == (width, height), key
        assert img.get("vips-loader").startswith(loader_format), key
        if key.startswith(("thumbs/", "large/", "avif/")):  # same framing as the source
            assert mean_abs_diff(img, original) < 12, key


def test_keys_with_spaces_plus_percent_and_cjk_round_trip(cloud):
    key = "uploads/相册 2024/a+b%20 (1).png"
    upload(cloud, key, "coffee_alpha.png")
    assert cloud.wait_idle(60)
    result = only_record(cloud, key).value["results"][0]
    assert result["outcome"] == "processed", result
    thumb = "thumbs/uploads/相册 2024/a+b%20 (1)_png_400.webp"
    assert thumb in {o["key"] for o in result["outputs"]}
    img = pyvips.Image.new_from_buffer(fetch(cloud, DERIVED, thumb), "")
    assert (img.width, img.height) == (400, 267)
    assert img.hasalpha()  # RGBA in, WebP keeps the alpha


def test_exif_rotated_upload_gives_upright_derivatives(cloud):
    upload(cloud, "uploads/cat.jpg", "chelsea_exif6.jpg")  # stored 300x451, displays 451x300
    assert cloud.wait_idle(60)
    result = only_record(cloud, "uploads/cat.jpg").value["results"][0]
    sizes = {o["key"]: (o["width"], o["height"]) for o in result["outputs"]}
    assert sizes["thumbs/uploads/cat_jpg_400.webp"] == (400, 266)
    thumb = pyvips.Image.new_from_buffer(fetch(cloud, DERIVED, "thumbs/uploads/cat_jpg_400.webp"),
                                         "")
    upright = pyvips.Image.new_from_file(str(image_path("chelsea.png")))
    assert mean_abs_diff(thumb, upright) < 12


def test_non_image_upload_fails_once_with_a_clear_error_and_is_not_retried(cloud):
    upload(cloud, "uploads/notes.jpg", "not_an_image.jpg")
    assert cloud.wait_idle(60)
    rec = only_record(cloud, "uploads/notes.jpg")
    # a permanent error is an outcome, not an exception: SCF must not retry it
    assert rec.outcome == "succeeded" and len(rec.attempts) == 1
    result = rec.value["results"][0]
    assert result["outcome"] == "failed"
    assert result["error"]["code"] == "InvalidImageFormat"
    assert result["error"]["status"] == 400 and result["error"]["retryable"] is False
    assert read_dead_letters(cloud.prepared.options.data_dir) == []
    lines = [json.loads(x) for x in rec.logs if x.startswith("{")]
    assert any(line.get("outcome") == "failed" and line.get("key") == "uploads/notes.jpg"
               for line in lines)


def write_function(folder, body: str) -> None:
    folder.mkdir()
    (folder / "index.py").write_text(textwrap.dedent(body), encoding="utf-8")


def test_crashing_function_is_retried_twice_then_dead_lettered(cloud_factory, tmp_path):
    fn = tmp_path / "crashing"
    write_function(fn, """
        def main_handler(event, context):
            raise RuntimeError("boom from the function")
    """)
    cloud = cloud_factory(function_dir=fn, config_path=CONFIG)
    upload(cloud, "uploads/rocket.jpg", "rocket.jpg")
    assert cloud.wait_idle(60)
    rec = only_record(cloud, "uploads/rocket.jpg")
    assert rec.outcome == "dead_lettered"
    assert len(rec.attempts) == 3  # the first execution and SCF's two retries
    assert all("boom from the function" in a.failure.message for a in rec.attempts)
    letters = read_dead_letters(cloud.prepared.options.data_dir)
    assert len(letters) == 1
    assert letters[0]["Key"] == "uploads/rocket.jpg" and letters[0]["Attempts"] == 3
    # the emulator is still up and serving
    assert cloud.client().head_object(Bucket=SOURCE, Key="uploads/rocket.jpg")


def test_loop_unsafe_function_is_stopped_by_the_generation_guard(cloud_factory, tmp_path):
    # GIVEN a function that (unlike picops) writes its output back under the watched prefix
    fn = tmp_path / "looping"
    write_function(fn, """
        import json, os
        from urllib.parse import urlparse
        from qcloud_cos import CosConfig, CosS3Client

        def main_handler(event, context):
            cos = event["Records"][0]["cos"]
            bucket = cos["cosBucket"]["name"] + "-" + cos["cosBucket"]["appid"]
            key = cos["cosObject"]["key"].split("/", 3)[3]
            ep = urlparse(os.environ["COS_ENDPOINT"])
            client = CosS3Client(CosConfig(
                Region="ap-guangzhou", SecretId=os.environ["TENCENTCLOUD_SECRETID"],
                SecretKey=os.environ["TENCENTCLOUD_SECRETKEY"], Scheme="http",
                IP=ep.hostname, Port=ep.port), retry=0)
            name = key.rsplit("/", 1)[-1]
            ops = {"rules": [{"fileid": "/uploads/again-" + name,
                              "rule": "imageMogr2/thumbnail/!90p"}]}
            client.ci_image_process(Bucket=bucket, Key=key, PicOperations=json.dumps(ops))
            return "wrote uploads/again-" + name
    """)
    cloud = cloud_factory(function_dir=fn, config_path=CONFIG, max_generation=2)
    # WHEN one image is uploaded
    upload(cloud, "uploads/rocket.jpg", "rocket.jpg")
    assert cloud.wait_idle(60)
    # THEN the chain upload -> output -> output stops after max_generation, loudly
    delivered = sorted(r.generation for r in cloud.dispatcher.invocations)
    assert delivered == [0, 1, 2]
    guarded = [d for d in cloud.dispatcher.decisions if d["decision"] == "loop_guarded"]
    assert len(guarded) == 1 and guarded[0]["level"] == "ERROR"
    assert "again-again-again-rocket.jpg" in guarded[0]["message"]


@pytest.mark.parametrize("name", ["truncated.jpg", "empty.jpg"])
def test_broken_corpus_files_never_crash_the_pipeline(cloud, name):
    key = f"uploads/broken-{name}"
    upload(cloud, key, name)
    assert cloud.wait_idle(60)
    rec = only_record(cloud, key)
    assert rec.outcome == "succeeded" and len(rec.attempts) == 1
    result = rec.value["results"][0]
    if name == "empty.jpg":
        assert (result["outcome"], result["reason"]) == ("skipped", "empty_object")
    else:
        assert result["outcome"] == "failed"
        assert result["error"]["code"] == "InvalidImageFormat"

