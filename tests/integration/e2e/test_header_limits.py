"""verify's F6 end to end: a route whose calls fit for ASCII keys but not for a key of CJK
characters (sent as \\u escapes). The function, run as deployed by the emulator's trigger,
fails the record permanently before any CI call, naming the route, its rules and the size;
nothing is written, and SCF does not retry it."""

import base64

from picops.header_limits import PIC_OPERATIONS_MAX_BYTES

from .conftest import CiCallLog, image_path

SOURCE = "uploads-1250000000"
DERIVED = "derived-1250000000"
TEXT = base64.urlsafe_b64encode(("图" * 150).encode()).decode().rstrip("=")
RULES = "routes:\n  - prefix: uploads/\n    suffixes: [.jpg]\n    bucket: derived-1250000000\n" \
        "    rules:\n" + "".join(
            f"      - fileid: /w{i}/{{key}}\n"
            f"        rule: imageMogr2/auto-orient|watermark/2/text/{TEXT}/fontsize/20\n"
            for i in range(5))


def test_an_oversized_call_fails_before_ci_and_writes_nothing(cloud_factory, tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(RULES, encoding="utf-8")
    cloud = cloud_factory(config_path=config)
    ci = CiCallLog(cloud)
    key = "uploads/" + "图" * 270 + ".jpg"
    cloud.client().put_object(Bucket=SOURCE, Key=key,
                              Body=image_path("rocket.jpg").read_bytes())
    assert cloud.wait_idle(60)
    results = [r.value["results"][0] for r in cloud.dispatcher.invocations if r.key == key]
    assert len(results) == 1, results  # permanent: not retried
    (result,) = results
    assert result["outcome"] == "failed", result
    error = result["error"]
    assert error["code"] == "PicOperationsTooLarge" and error["retryable"] is False
    assert error["message"].startswith("routes[0].rules [0, 1, 2, 3, 4] make a "
                                       "Pic-Operations header of ")
    assert f"at most {PIC_OPERATIONS_MAX_BYTES}" in error["message"]
    assert len(ci) == 0
    assert cloud.client().list_objects(Bucket=DERIVED).get("Contents", []) == []
