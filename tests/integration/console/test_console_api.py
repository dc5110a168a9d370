"""The console's API over real HTTP: who may use it, and what it shows of a real upload."""

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from picops_emulator.cos.common import CHUNK
from picops_emulator.storage import Store
from picops_emulator.triggers import deadletter
from tests.localcloud import DERIVED_BUCKET, SOURCE_BUCKET, make_project, start_cloud

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"
KEY = "uploads/照片/rocket.jpg"


@pytest.fixture
def cloud(tmp_path):
    with start_cloud(make_project(tmp_path)) as running:
        yield running


def _get(cloud, path, with_token=True, headers=None, **params):
    if with_token:
        params["token"] = cloud.console.token
    return requests.get(cloud.endpoint + "/_picops" + path, params=params,
                        headers=headers or {}, timeout=30)


def _upload(cloud, key=KEY, name="rocket.jpg"):
    client = cloud.client()
    client.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=(IMAGES / name).read_bytes(),
                      ContentType="image/jpeg")
    assert cloud.wait_idle(60)


@pytest.mark.parametrize("path,params", [
    ("/", {}), ("/static/console.js", {}), ("/static/cjk.otf", {}), ("/api/state", {}),
    ("/api/folder", {"bucket": SOURCE_BUCKET}), ("/api/invocations", {}),
    ("/api/dead-letters", {}), ("/object", {"bucket": SOURCE_BUCKET, "key": KEY}),
])
def test_every_console_request_needs_the_token(cloud, path, params):
    missing = _get(cloud, path, with_token=False, **params)
    assert missing.status_code == 403, missing.text
    token = cloud.console.token
    wrong = dict(params, token=token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert _get(cloud, path, with_token=False, **wrong).status_code == 403
    assert _get(cloud, path, with_token=False, headers={"X-Picops-Token": "nope"},
                **params).status_code == 403
    # the same request with the token gets past the check (the object is not there: 404)
    assert _get(cloud, path, **params).status_code == (404 if path == "/object" else 200)


def test_the_page_and_api_answer_with_the_token_and_the_ready_url_has_it(cloud):
    assert cloud.console_url == f"{cloud.endpoint}/_picops/?token={cloud.console.token}"
    page = requests.get(cloud.console_url, timeout=30)
    assert page.status_code == 200 and "picops console" in page.text
    assert cloud.console.token in page.text  # the page's requests carry it
    assert page.headers["Referrer-Policy"] == "no-referrer"
    by_header = _get(cloud, "/api/state", with_token=False,
                     headers={"X-Picops-Token": cloud.console.token})
    assert by_header.status_code == 200
    assert {b["name"] for b in by_header.json()["buckets"]} == {SOURCE_BUCKET, DERIVED_BUCKET}


def test_a_foreign_host_never_reaches_the_console(cloud):
    # a DNS-rebinding page reaches 127.0.0.1 under its own name: that is not the console,
    # even with the right token (it goes to the COS edge, which wants a signature)
    r = requests.get(cloud.endpoint + "/_picops/api/state",
                     params={"token": cloud.console.token},
                     headers={"Host": "attacker.example:9000"}, timeout=30)
    assert r.status_code >= 400
    assert "buckets" not in r.text
    assert ET.fromstring(r.content).findtext("Code")


def test_a_bucket_key_under_picops_is_still_cos(cloud):
    # manifests live under _picops/ in the source bucket: the SDK must still reach them
    client = cloud.client()
    client.put_object(Bucket=SOURCE_BUCKET, Key="_picops/notes.txt", Body=b"hello")
    body = client.get_object(Bucket=SOURCE_BUCKET, Key="_picops/notes.txt")["Body"]
    assert body.get_raw_stream().read() == b"hello"


def test_replay_post_needs_the_header_token_and_a_loopback_origin(cloud):
    url = cloud.endpoint + "/_picops/api/dead-letters/replay"
    body = json.dumps({"index": 0})
    in_query = requests.post(url, params={"token": cloud.console.token}, data=body, timeout=30)
    assert in_query.status_code == 403  # a cross-site form could put it in the URL
    foreign = requests.post(url, data=body, timeout=30, headers={
        "X-Picops-Token": cloud.console.token, "Origin": "http://attacker.example"})
    assert foreign.status_code == 403
    ok = requests.post(url, data=body, timeout=30,
                       headers={"X-Picops-Token": cloud.console.token})
    assert ok.status_code == 404  # allowed, but there is no entry 0 yet


def test_source_view_shows_every_derivative_with_pixels_format_bytes_quality_and_rule(cloud):
    _upload(cloud)
    folder = _get(cloud, "/api/folder", bucket=SOURCE_BUCKET, prefix="uploads/照片/").json()
    [obj] = folder["objects"]
    assert obj["key"] == KEY and obj["size"] == (IMAGES / "rocket.jpg").stat().st_size
    assert obj["content_type"] == "image/jpeg" and len(obj["etag"]) == 32 and obj["source"]
    top = _get(cloud, "/api/folder", bucket=SOURCE_BUCKET, prefix="").json()
    assert [f["prefix"] for f in top["folders"]] == ["_picops/", "uploads/"]

    view = _get(cloud, "/api/source", bucket=SOURCE_BUCKET, key=KEY).json()
    assert (view["original"]["width"], view["original"]["height"]) == (640, 427)
    assert view["original"]["format"] == "jpeg"
    cards = {d["key"]: d for d in view["derivatives"]}
    assert set(cards) == {"thumbs/uploads/照片/rocket_jpg_64.webp",
                          "squares/uploads/照片/rocket_jpg_32.png"}
    thumb = cards["thumbs/uploads/照片/rocket_jpg_64.webp"]
    assert (thumb["width"], thumb["height"], thumb["format"]) == (64, 43, "webp")
    assert thumb["rule"] == "imageMogr2/thumbnail/64x/format/webp"
    assert thumb["rule_place"] == "routes[0].rules[0]"
    assert thumb["bucket"] == DERIVED_BUCKET and thumb["exists"] and thumb["size"] > 0
    assert isinstance(thumb["quality"], int)
    square = cards["squares/uploads/照片/rocket_jpg_32.png"]
    assert (square["width"], square["height"], square["format"]) == (32, 32, "png")
    assert view["manifest"]["up_to_date"] is True
    # the links open the bytes the derivative has
    raw = _get(cloud, "/object", bucket=DERIVED_BUCKET, key=thumb["key"])
    assert raw.status_code == 200 and raw.headers["Content-Type"] == "image/webp"
    assert len(raw.content) == thumb["size"]
    assert "sandbox" in raw.headers["Content-Security-Policy"]


def test_invocations_newest_first_with_outcomes_and_logs(cloud):
    _upload(cloud, "uploads/a.jpg")
    _upload(cloud, "uploads/b.jpg")
    doc = _get(cloud, "/api/invocations").json()
    keys = [i["key"] for i in doc["invocations"]]
    assert keys[:2] == ["uploads/b.jpg", "uploads/a.jpg"]
    first = doc["invocations"][0]
    assert first["outcome"] == "succeeded" and first["retries"] == 0
    assert first["results"][0]["outcome"] == "processed"
    assert len(first["results"][0]["outputs"]) == 2
    detail = _get(cloud, "/api/invocation", id=first["request_id"]).json()
    assert detail["event"]["Records"][0]["cos"]["cosObject"]["key"].endswith("uploads/b.jpg")
    [attempt] = detail["attempt_list"]
    assert any('"record processed"' in line for line in attempt["logs"])


def test_a_dead_letter_is_listed_and_replayed_through_the_api(cloud, tmp_path):
    project = cloud.prepared.function_dir.parent.parent
    (project / "functions" / "image_processor" / "FAIL").write_text("x")
    _upload(cloud, "uploads/dead.jpg")
    entries = _get(cloud, "/api/dead-letters").json()["dead_letters"]
    [entry] = entries
    assert entry["key"] == "uploads/dead.jpg" and entry["attempts"] == 3
    assert "told to fail" in entry["error_message"]
    (project / "functions" / "image_processor" / "FAIL").unlink()
    r = requests.post(cloud.endpoint + "/_picops/api/dead-letters/replay", timeout=30,
                      data=json.dumps({"index": entry["index"], "request_id": entry["request_id"]}),
                      headers={"X-Picops-Token": cloud.console.token})
    assert r.status_code == 202, r.text
    assert cloud.wait_idle(60)
    replayed = r.json()["request_id"]
    inv = _get(cloud, "/api/invocation", id=replayed).json()
    assert inv["outcome"] == "succeeded" and inv["key"] == "uploads/dead.jpg"
    assert _get(cloud, "/api/dead-letters").json()["dead_letters"][0]["replays"] == [replayed]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = _get(cloud, "/api/source", bucket=SOURCE_BUCKET, key="uploads/dead.jpg").json()
        if view["derivatives"]:
            break
        time.sleep(0.1)
    assert len(view["derivatives"]) == 2


def test_the_cjk_font_is_served_with_the_token_and_the_style_sheet_names_it_with_it(cloud):
    css = _get(cloud, "/static/console.css")
    assert css.status_code == 200
    assert f"/_picops/static/cjk.otf?token={cloud.console.token}" in css.text
    assert "{{TOKEN}}" not in css.text
    font = _get(cloud, "/static/cjk.otf")
    assert font.status_code == 200
    assert font.headers["Content-Type"] == "font/otf"
    assert font.content[:4] == b"OTTO"  # an OpenType (CFF) font file


class _ReadSizes:
    """An object's open file that records how much each read asked for."""

    def __init__(self, fh, sizes):
        self._fh, self._sizes = fh, sizes

    def read(self, size=-1):
        self._sizes.append(size)
        return self._fh.read(size)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def test_an_object_is_streamed_not_read_whole(cloud, monkeypatch):
    body = bytes(range(256)) * 4096 * 3  # 3 MiB
    cloud.client().put_object(Bucket=SOURCE_BUCKET, Key="big.bin", Body=body)
    sizes = []
    open_object = Store.open_object

    def recording(self, bucket, key):
        meta, fh = open_object(self, bucket, key)
        return meta, _ReadSizes(fh, sizes)

    monkeypatch.setattr(Store, "open_object", recording)
    got = _get(cloud, "/object", bucket=SOURCE_BUCKET, key="big.bin")
    assert got.status_code == 200 and got.content == body
    assert got.headers["Content-Length"] == str(len(body))
    assert got.headers["Content-Disposition"] == "attachment"
    assert sizes and all(0 < size <= CHUNK for size in sizes), sizes


def test_state_reads_the_dead_letter_file_again_only_when_it_grew(cloud, monkeypatch):
    reads = []
    real_open = open

    def counting_open(path, mode="r", *args, **kwargs):
        if Path(path).name == deadletter.FILE_NAME and not set(mode) & set("aw+"):
            reads.append(mode)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(deadletter, "open", counting_open, raising=False)
    letters = deadletter.DeadLetterFile(cloud.prepared.options.data_dir)
    letters.append({"RequestId": "first", "Key": "uploads/a.jpg"})
    assert [_get(cloud, "/api/state").json()["dead_letters"] for _ in range(5)] == [1] * 5
    assert len(reads) == 1
    letters.append({"RequestId": "second", "Key": "uploads/b.jpg"})
    assert _get(cloud, "/api/state").json()["dead_letters"] == 2
    listed = _get(cloud, "/api/dead-letters").json()["dead_letters"]
    assert [e["request_id"] for e in listed] == ["second", "first"]  # newest first
    assert len(reads) == 2
