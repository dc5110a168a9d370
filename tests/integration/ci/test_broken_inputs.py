"""Every broken file of the corpus is a 400 InvalidImageFormat: never a 500, never a hang,
never an output. The client gives up after 30 s, so a hang fails the test instead of
waiting for pytest's own timeout."""

import json

import pytest

BROKEN = ["truncated.jpg", "empty.jpg", "not_an_image.jpg"]
RULES = [{"fileid": "out.png", "rule": "imageMogr2/format/png"},
         {"fileid": "small.jpg", "rule": "imageMogr2/thumbnail/64x"}]


@pytest.fixture
def patient_ci(ci, client_for, emulator):
    ci.client = client_for(emulator, Timeout=30)
    return ci


@pytest.mark.parametrize("name", BROKEN)
@pytest.mark.parametrize("is_pic_info", [0, 1])
def test_image_process_of_a_broken_file(patient_ci, name, is_pic_info):
    ci = patient_ci
    ci.upload(f"in/{name}", name)
    err = ci.process_error(f"in/{name}", ci.pic_operations(RULES, is_pic_info))
    ci.assert_error(err, 400, "InvalidImageFormat", "-62999")
    assert ci.keys() == [f"in/{name}"]


@pytest.mark.parametrize("name", BROKEN)
def test_put_object_of_a_broken_file(patient_ci, name):
    ci = patient_ci
    body = ci.image_bytes(name)
    err = ci.error(lambda: ci.client.ci_put_object(
        Bucket=ci.bucket, Key=name, Body=body,
        PicOperations=json.dumps({"is_pic_info": 1, "rules": RULES})))
    ci.assert_error(err, 400, "InvalidImageFormat", "-62999")
    assert ci.keys() == [name]  # the upload itself is stored, as COS stores any PUT


def test_messages_say_what_is_wrong(patient_ci):
    ci = patient_ci
    for name in BROKEN:
        ci.upload(name, name)
    messages = {name: ci.process_error(name, ci.pic_operations(RULES)).get_error_msg()
                for name in BROKEN}
    assert "truncated" in messages["truncated.jpg"]
    assert "empty" in messages["empty.jpg"]
    assert "not an image" in messages["not_an_image.jpg"]
    assert all("rules[0]" in m for m in messages.values()), messages
