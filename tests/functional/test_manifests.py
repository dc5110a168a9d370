"""Manifests over the real SDK, HTTP stubbed by ``responses``: which requests are sent.

``FakeCos`` plays the COS object API (GET/PUT/HEAD/DELETE) over an in-memory store
and records every request; the lead's ``FakeCi`` answers ``POST ?image_process``.
Each test asserts the exact request sequence: a manifest GET before processing, no
CI call for a duplicate, DELETEs of exactly the outputs a manifest lists.
"""

import copy
import json
import re
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

import pytest
import responses

from picops.errors import TransientCloudError
from picops.manifest import ManifestOutput, build, dumps, loads, rules_hash

from .conftest import APPID, DERIVED, SOURCE, Harness, context, load_event
from .conftest import CONFIG as ROUTES

ETAG = "0d7316832fef232e5dcdcf81f39bfdba"
MKEY = "_picops/manifests/uploads/a.jpg.json"
THUMB, COVER = "thumbs/uploads/a_jpg_400.webp", "covers/uploads/a_jpg.jpg"
#: The sources the tests' create events name: stored before each test, as in a bucket.
SOURCES = ("uploads/a.jpg", "uploads/b.png", "uploads/bad.jpg", "uploads/good.jpg",
           "avatars/me.png")
HEAD_A = ("HEAD", SOURCE, "uploads/a.jpg")

# The handler tests' routes, with manifests on (the harness turns them off otherwise).
CONFIG = ROUTES + "manifests:\n  enabled: true\n"
# The same route with the cover dropped, the thumbnail kept and a new output added.
NEW_RULES = CONFIG.replace("""      - fileid: /covers/{dir}/{stem}_{ext}.jpg
        rule: imageView2/1/w/300/h/300/q/85
""", """      - fileid: /small/{dir}/{stem}_{ext}_100.webp
        rule: imageMogr2/thumbnail/100x/format/webp
""")


class FakeCos:
    """COS objects in memory. ``fail[(method, bucket, key)] = (status, code)`` scripts errors;
    ``before[(method, bucket, key)]`` lists functions run (and dropped) one per such request,
    before it is answered: another client acting between two steps of the function.

    The sources the tests' events name are stored with the events' ETag (``ETAG``); an
    object stored otherwise has the ETag ``"x"`` unless :meth:`upload` gives one.
    """

    def __init__(self):
        self.objects: Dict[Tuple[str, str], bytes] = {}
        self.etags: Dict[Tuple[str, str], str] = {}
        self.requests: List[Tuple[str, str, str]] = []
        self.timeouts: List[Optional[float]] = []  # each request's HTTP timeout, in order
        self.fail: Dict[Tuple[str, str, str], Tuple[int, str]] = {}
        self.before: Dict[Tuple[str, str, str], List[Callable[[], None]]] = {}
        for key in SOURCES:
            self.upload(key)

    def upload(self, key: str, etag: str = ETAG, body: bytes = b"jpeg bytes") -> None:
        """Store source ``key`` (as a client's upload would) with ``etag``."""
        self.objects[(SOURCE, key)] = body
        self.etags[(SOURCE, key)] = etag

    def remove(self, key: str) -> None:
        """Delete source ``key`` (as a client's delete would)."""
        self.objects.pop((SOURCE, key), None)

    def __call__(self, request):
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        bucket = headers["Host"].split(".cos.")[0]
        key = unquote(urlsplit(request.url).path)[1:]
        self.requests.append((request.method, bucket, key))
        self.timeouts.append(request.req_kwargs.get("timeout"))
        hooks = self.before.get((request.method, bucket, key))
        if hooks:
            hooks.pop(0)()
        scripted = self.fail.get((request.method, bucket, key))
        if scripted:
            return error(*scripted)
        place = (bucket, key)
        if request.method == "PUT":
            body = request.body
            self.objects[place] = body if isinstance(body, bytes) else body.encode()
            self.etags.pop(place, None)
            return 200, {"ETag": '"new"', "x-cos-request-id": "rid-put"}, ""
        if request.method == "DELETE":
            self.objects.pop(place, None)
            return 204, {"x-cos-request-id": "rid-del"}, ""
        if place not in self.objects:
            status, headers, body = error(404, "NoSuchKey")
            return status, headers, "" if request.method == "HEAD" else body
        data = self.objects[place]
        head = {"Content-Length": str(len(data)), "ETag": f'"{self.etags.get(place, "x")}"',
                "x-cos-request-id": "rid-get"}
        return 200, head, b"" if request.method == "HEAD" else data

    def manifest(self, key: str = MKEY):
        return loads(self.objects[(SOURCE, key)], key)

    def put_manifest(self, manifest, key: str = MKEY) -> None:
        self.objects[(SOURCE, key)] = dumps(manifest)

    def clear(self) -> None:
        self.requests.clear()
        self.timeouts.clear()


def error(status: int, code: str):
    # The SDK reads Code/Message only when Resource and RequestId are there too.
    body = (f"<?xml version='1.0' encoding='utf-8' ?><Error><Code>{code}</Code><Message>{code}"
            f" happened</Message><Resource>r</Resource><RequestId>rid-err</RequestId>"
            f"<TraceId>t</TraceId></Error>")
    return status, {"Content-Type": "application/xml", "x-cos-request-id": "rid-err"}, body


def event(key: str = "uploads/a.jpg", etag: Optional[str] = ETAG,
          event_name: str = "cos:ObjectCreated:Put", size: int = 1234) -> dict:
    base = load_event("cos_put_real.json")
    rec = copy.deepcopy(base["Records"][0])
    rec["cos"]["cosObject"].update(key=f"/{APPID}/uploads/{key}", size=size)
    if etag is None:
        rec["cos"]["cosObject"].pop("meta")
    else:
        rec["cos"]["cosObject"]["meta"]["ETag"] = f'"{etag}"'
    rec["event"]["eventName"] = event_name
    return {"Records": [rec]}


def delete_event(key: str = "uploads/a.jpg") -> dict:
    return event(key, etag=None, event_name="cos:ObjectRemove:Delete", size=0)


@pytest.fixture
def cos():
    return FakeCos()


@pytest.fixture
def world(tmp_path, ci_http, cos):
    """``world(config_text)`` -> a Harness whose COS and CI are the fakes (shared store)."""
    ci_http.add_callback(responses.POST, re.compile(r".*"), callback=lambda r: world.ci(r))
    for method in (responses.GET, responses.PUT, responses.DELETE, responses.HEAD):
        ci_http.add_callback(method, re.compile(r".*"), callback=cos)

    def world(config_text: str = CONFIG, **kwargs) -> Harness:
        folder = tmp_path / f"fn{len(made)}"
        folder.mkdir()
        h = Harness(folder, config_text=config_text, **kwargs)
        world.ci = h.ci
        made.append(h)
        return h

    made: List[Harness] = []
    return world


def requests_of(h: Harness, cos: FakeCos) -> List[Tuple[str, str, str]]:
    """COS requests plus CI calls, as (method, bucket, key)."""
    return cos.requests + [("POST", SOURCE, unquote(c["path"])[1:]) for c in h.ci.calls]


def outcome(h: Harness) -> dict:
    return h.outcomes()[-1]


# --- creates -------------------------------------------------------------------------------

def test_first_upload_reads_no_manifest_processes_then_writes_one(world, cos):
    h = world()
    summary = h.handle(event())

    # the source is HEADed after CI, before the manifest names its ETag
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A, ("PUT", SOURCE, MKEY)]
    assert len(h.ci.calls) == 1
    line = outcome(h)
    assert (line["outcome"], line["manifest"]) == ("processed", MKEY)
    assert summary["counts"] == {"processed": 1, "skipped": 0, "failed": 0}

    m = cos.manifest()
    route = h.processor.config.routes[0]
    assert (m.version, m.source_bucket, m.source_key, m.source_etag, m.route_prefix,
            m.rules_hash, m.complete) == (1, SOURCE, "uploads/a.jpg", ETAG, "uploads/",
                                          rules_hash(route), True)
    assert m.outputs == (ManifestOutput(DERIVED, THUMB, "etag0", "webp", 400, 267, 1000),
                         ManifestOutput(DERIVED, COVER, "etag1", "jpg", 400, 267, 1001))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m.created)


def test_duplicate_delivery_is_answered_from_the_manifest_without_calling_ci(world, cos):
    h = world()
    h.handle(event())
    cos.clear()
    calls_before = len(h.ci.calls)

    summary = h.handle(event())

    assert cos.requests == [("GET", SOURCE, MKEY)]   # one GET, nothing written
    assert len(h.ci.calls) == calls_before            # no POST ?image_process
    line = outcome(h)
    assert (line["outcome"], line["reason"], line["source_etag"]) == ("skipped", "up_to_date",
                                                                      ETAG)
    assert [o["key"] for o in line["outputs"]] == [THUMB, COVER]
    assert summary["counts"] == {"processed": 0, "skipped": 1, "failed": 0}


def test_overwritten_source_is_processed_again_and_its_manifest_replaced(world, cos):
    h = world()
    h.handle(event())
    cos.upload("uploads/a.jpg", "ffffffffffffffffffffffffffffffff")
    cos.clear()

    h.handle(event(etag="ffffffffffffffffffffffffffffffff"))

    # same rules: the outputs are overwritten in place, nothing to delete
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A, ("PUT", SOURCE, MKEY)]
    assert len(h.ci.calls) == 2
    assert cos.manifest().source_etag == "ffffffffffffffffffffffffffffffff"
    assert "removed_outputs" not in outcome(h)


def test_rules_change_replaces_outputs_and_keeps_the_dropped_ones(world, cos):
    world().handle(event())
    old = cos.manifest()
    cos.clear()

    h = world(NEW_RULES)
    h.handle(event())  # the same source, same ETag: the rules hash differs

    small = "small/uploads/a_jpg_100.webp"
    assert [r["fileid"] for r in h.ci.calls[0]["ops"]["rules"]] == ["/" + THUMB, "/" + small]
    # the cover is not this config's any more: nothing proves it is this source's (a
    # manifest is a file an uploader could write), so it is left, named, and unlisted
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A, ("PUT", SOURCE, MKEY)]
    line = outcome(h)
    assert line["outcome"] == "processed"
    assert line["kept_outputs"] == [{"bucket": DERIVED, "key": COVER}]
    assert "removed_outputs" not in line
    new = cos.manifest()
    assert [o.key for o in new.outputs] == [THUMB, small]
    assert new.rules_hash != old.rules_hash


def _forged(cos, outputs):
    """A manifest for uploads/a.jpg, listing ``outputs`` ((bucket, key) pairs)."""
    cos.put_manifest(build(SOURCE, "uploads/a.jpg", "old-etag", "old-rules", "uploads/",
                           [ManifestOutput(b, k, "e", "webp", 1, 1, 1) for b, k in outputs],
                           "2026-01-01T00:00:00Z"))


VICTIMS = [(DERIVED, "thumbs/uploads/victim_jpg_400.webp"), (SOURCE, "uploads/victim.jpg"),
           ("elsewhere-1250000000", "precious/data.bin")]


def test_an_overwrite_never_deletes_what_a_forged_manifest_lists(world, cos):
    _forged(cos, VICTIMS + [(DERIVED, THUMB)])
    for bucket, key in VICTIMS:
        cos.objects[(bucket, key)] = b"not yours"
    h = world()
    h.handle(event())
    assert not [r for r in cos.requests if r[0] == "DELETE"]
    assert all(cos.objects[place] == b"not yours" for place in VICTIMS)
    line = outcome(h)
    assert line["outcome"] == "processed"
    assert line["kept_outputs"] == [{"bucket": b, "key": k} for b, k in VICTIMS]
    assert [o.key for o in cos.manifest().outputs] == [THUMB, COVER]


def test_deleting_a_source_never_deletes_what_a_forged_manifest_lists(world, cos):
    _forged(cos, VICTIMS + [(DERIVED, THUMB)])
    cos.remove("uploads/a.jpg")
    for bucket, key in VICTIMS:
        cos.objects[(bucket, key)] = b"not yours"
    h = world()
    h.handle(delete_event())
    deletes = [r for r in cos.requests if r[0] == "DELETE"]
    assert deletes == [("DELETE", DERIVED, THUMB), ("DELETE", SOURCE, MKEY)]
    assert all(cos.objects[place] == b"not yours" for place in VICTIMS)
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["code"] == "NotOwnedOutput"
    assert line["error"]["retryable"] is False
    assert "uploads/victim.jpg" in line["error"]["message"]
    assert line["kept_outputs"] == [{"bucket": b, "key": k} for b, k in VICTIMS]


def test_a_partly_failed_run_writes_an_incomplete_manifest_and_is_redone(world, cos):
    h = world()
    h.ci.script = [("drop", 1)]
    h.handle(event())
    m = cos.manifest()
    assert not m.complete and [o.key for o in m.outputs] == [THUMB]
    assert outcome(h)["outcome"] == "failed"

    h.handle(event())  # the same delivery again: not up to date, so processed
    assert len(h.ci.calls) == 2
    assert outcome(h)["outcome"] == "processed"
    assert cos.manifest().complete


def test_a_part_way_run_keeps_old_outputs_listed(world, cos):
    world().handle(event())
    h = world(NEW_RULES)
    h.ci.script = [("drop", 1)]  # the new small output does not come back
    h.handle(event())
    m = cos.manifest()
    assert not m.complete
    # the old cover is not the new rules' output: no longer listed, named, never deleted
    assert [o.key for o in m.outputs] == [THUMB]
    assert outcome(h)["kept_outputs"] == [{"bucket": DERIVED, "key": COVER}]
    assert ("DELETE", DERIVED, COVER) not in cos.requests


def test_manifest_write_failure_fails_the_record_transiently(world, cos):
    h = world()
    cos.fail[("PUT", SOURCE, MKEY)] = (503, "ServiceUnavailable")
    with pytest.raises(TransientCloudError):
        h.handle(event())
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["retryable"] is True
    assert line["error"]["message"].startswith(f"cannot write manifest {SOURCE}/{MKEY}: ")
    assert [o["key"] for o in line["outputs"]] == [THUMB, COVER]


@pytest.mark.parametrize("body, message", [
    (b"{oops", f"manifest {SOURCE}/{MKEY} is not valid JSON"),
    (json.dumps({"type": "picops-manifest", "version": 7}).encode(),
     f"manifest {SOURCE}/{MKEY}: version 7 is not supported"),
])
def test_an_unreadable_manifest_fails_the_record_before_any_ci_call(world, cos, body, message):
    cos.objects[(SOURCE, MKEY)] = body
    h = world()
    summary = h.handle(event())
    assert cos.requests == [("GET", SOURCE, MKEY)] and h.ci.calls == []
    line = outcome(h)
    assert line["outcome"] == "failed" and line["level"] == "ERROR"
    assert line["error"]["code"] == "InvalidManifest" and line["error"]["retryable"] is False
    assert line["error"]["message"].startswith(message)
    assert summary["counts"]["failed"] == 1
    assert cos.objects[(SOURCE, MKEY)] == body  # left for a human to look at


def test_a_transient_manifest_read_error_is_retried_by_scf(world, cos):
    h = world()
    cos.fail[("GET", SOURCE, MKEY)] = (503, "ServiceUnavailable")
    with pytest.raises(TransientCloudError):
        h.handle(event())
    assert h.ci.calls == []
    assert outcome(h)["error"]["message"].startswith(f"cannot read manifest {SOURCE}/{MKEY}: ")


def test_without_an_etag_one_head_reads_it_and_a_duplicate_is_up_to_date(world, cos):
    # The SCF CLI's event templates carry no meta.ETag: the function HEADs the source
    # once before comparing, so the manifest never stores "" and a duplicate is current.
    cos.upload("uploads/a.jpg", "x")
    h = world()
    h.handle(event(etag=None))
    assert cos.requests[:2] == [("HEAD", SOURCE, "uploads/a.jpg"), ("GET", SOURCE, MKEY)]
    assert cos.manifest().source_etag == "x"  # the stored object's ETag
    cos.clear()
    h.handle(event(etag=None))
    assert len(h.ci.calls) == 1
    assert cos.requests == [("HEAD", SOURCE, "uploads/a.jpg"), ("GET", SOURCE, MKEY)]
    assert h.outcomes()[-1]["reason"] == "up_to_date"


def test_a_source_gone_before_its_etag_is_read_fails_permanently(world, cos):
    cos.remove("uploads/a.jpg")
    h = world()
    h.handle(event(etag=None))
    (line,) = h.outcomes()
    assert line["outcome"] == "failed" and line["error"]["status"] == 404
    assert line["error"]["retryable"] is False and h.ci.calls == []


def test_keys_under_the_manifest_prefix_are_never_processed(world, cos):
    h = world("""
        routes:
          - prefix: ""
            suffixes: [.jpg]
            bucket: derived-1250000000
            rules:
              - fileid: /t/{key}
                rule: imageMogr2/strip
        manifests: {enabled: true}
    """)
    h.handle(event("_picops/manifests/x.jpg"))
    assert cos.requests == [] and h.ci.calls == []
    assert outcome(h)["reason"] == "manifest_object"


def test_manifests_off_sends_no_manifest_request(world, cos):
    h = world(CONFIG.replace("enabled: true", "enabled: false"))
    h.handle(event())
    h.handle(event())
    h.handle(delete_event())
    assert cos.requests == [] and len(h.ci.calls) == 2
    assert "manifest" not in h.outcomes()[0]
    assert (outcome(h)["outcome"], outcome(h)["reason"]) == ("skipped", "manifests_off")


def test_a_configured_prefix_is_used(world, cos):
    h = world(CONFIG + "  prefix: meta/m/\n")
    h.handle(event())
    assert cos.requests == [("GET", SOURCE, "meta/m/uploads/a.jpg.json"), HEAD_A,
                            ("PUT", SOURCE, "meta/m/uploads/a.jpg.json")]


# --- deletes -------------------------------------------------------------------------------

def test_deleting_a_source_deletes_exactly_its_listed_outputs_then_the_manifest(world, cos):
    h = world()
    h.handle(event())
    cos.objects[(DERIVED, "thumbs/uploads/other_jpg_400.webp")] = b"keep me"
    cos.remove("uploads/a.jpg")
    cos.clear()

    summary = h.handle(delete_event())

    # the source is HEADed again after the last delete: still gone, nothing to hand over
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A,
                            ("DELETE", DERIVED, THUMB), ("DELETE", DERIVED, COVER),
                            ("DELETE", SOURCE, MKEY), HEAD_A]
    assert len(h.ci.calls) == 1  # only the upload's
    line = outcome(h)
    assert (line["outcome"], line["action"], line["manifest"]) == ("processed", "delete", MKEY)
    assert line["event_name"] == "cos:ObjectRemove:Delete"
    assert line["deleted"] == [{"bucket": DERIVED, "key": THUMB, "result": "deleted"},
                               {"bucket": DERIVED, "key": COVER, "result": "deleted"}]
    assert summary["counts"] == {"processed": 1, "skipped": 0, "failed": 0}
    assert (SOURCE, MKEY) not in cos.objects
    assert cos.objects[(DERIVED, "thumbs/uploads/other_jpg_400.webp")] == b"keep me"


def test_source_bucket_outputs_are_deleted_too(world, cos):
    h = world()
    h.handle(event("avatars/me.png"))
    cos.remove("avatars/me.png")
    cos.clear()
    h.handle(delete_event("avatars/me.png"))
    mkey = "_picops/manifests/avatars/me.png.json"
    assert cos.requests == [("GET", SOURCE, mkey), ("HEAD", SOURCE, "avatars/me.png"),
                            ("DELETE", SOURCE, "avatars-small/avatars/me_png.webp"),
                            ("DELETE", SOURCE, mkey), ("HEAD", SOURCE, "avatars/me.png")]


def test_delete_without_a_manifest_is_skipped_and_deletes_nothing(world, cos):
    h = world()
    h.handle(delete_event("uploads/never-processed.jpg"))
    assert cos.requests == [("GET", SOURCE, "_picops/manifests/uploads/never-processed.jpg.json"),
                            ("HEAD", SOURCE, "uploads/never-processed.jpg")]
    line = outcome(h)
    assert (line["outcome"], line["reason"], line["action"]) == ("skipped", "no_manifest",
                                                                 "delete")


def test_delete_of_a_source_that_exists_again_keeps_its_derivatives(world, cos):
    h = world()
    h.handle(event())
    cos.upload("uploads/a.jpg", "e2")  # re-uploaded: the delete event came late
    cos.clear()
    h.handle(delete_event())
    # the manifest is the older version's: the new version's own event is still to come
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A]
    assert outcome(h)["reason"] == "source_exists"
    assert h.ci.calls[1:] == []


def test_an_output_already_gone_is_fine(world, cos):
    h = world()
    h.handle(event())
    cos.remove("uploads/a.jpg")
    cos.fail[("DELETE", DERIVED, THUMB)] = (404, "NoSuchKey")
    h.handle(delete_event())
    line = outcome(h)
    assert line["outcome"] == "processed"
    assert [d["result"] for d in line["deleted"]] == ["deleted", "deleted"]
    assert (SOURCE, MKEY) not in cos.objects


def test_a_failed_output_delete_keeps_the_manifest_for_the_retry(world, cos):
    h = world()
    h.handle(event())
    cos.remove("uploads/a.jpg")
    cos.fail[("DELETE", DERIVED, THUMB)] = (503, "ServiceUnavailable")
    cos.clear()
    with pytest.raises(TransientCloudError):
        h.handle(delete_event())
    # every output tried, the manifest kept
    assert cos.requests[2:] == [("DELETE", DERIVED, THUMB), ("DELETE", DERIVED, COVER)]
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["retryable"] is True
    assert [d["result"] for d in line["deleted"]] == ["failed", "deleted"]
    assert (SOURCE, MKEY) in cos.objects

    del cos.fail[("DELETE", DERIVED, THUMB)]
    h.handle(delete_event())  # SCF's retry finishes the job
    assert outcome(h)["outcome"] == "processed" and (SOURCE, MKEY) not in cos.objects


@pytest.mark.parametrize("outputs, source_key, problem", [
    ([ManifestOutput(SOURCE, "uploads/a.jpg", "", "", None, None, None)], "uploads/a.jpg",
     "outputs[0] is the source object itself"),
    ([ManifestOutput(SOURCE, "_picops/manifests/b.jpg.json", "", "", None, None, None)],
     "uploads/a.jpg", "outputs[0] ('_picops/manifests/b.jpg.json') is under the manifest "
                      "prefix"),
    ([ManifestOutput(DERIVED, THUMB, "", "", None, None, None)], "uploads/b.jpg",
     f"it belongs to {SOURCE}/uploads/b.jpg, not {SOURCE}/uploads/a.jpg"),
])
def test_an_untrustworthy_manifest_deletes_nothing(world, cos, outputs, source_key, problem):
    cos.put_manifest(build(SOURCE, source_key, ETAG, "h", "uploads/", outputs,
                           "2024-01-01T00:00:00Z"))
    h = world()
    h.handle(delete_event())
    h.handle(event())
    assert [r for r in cos.requests if r[0] in ("DELETE", "PUT", "HEAD")] == []
    assert h.ci.calls == []
    lines = h.outcomes()
    assert len(lines) == 2  # the delete and the upload: the loop below checks both
    for line in lines:
        assert line["outcome"] == "failed" and line["error"]["code"] == "InvalidManifest"
        assert line["error"]["message"].startswith(f"manifest {SOURCE}/{MKEY} cannot be "
                                                   f"trusted: ")
        assert problem in line["error"]["message"]


def test_a_corrupt_manifest_on_delete_fails_naming_it_and_deletes_nothing(world, cos):
    cos.objects[(SOURCE, MKEY)] = b"\x00not json"
    h = world()
    h.handle(delete_event())
    assert cos.requests == [("GET", SOURCE, MKEY)]
    line = outcome(h)
    assert line["outcome"] == "failed" and MKEY in line["error"]["message"]


def test_restore_events_are_still_not_ours(world, cos):
    h = world()
    h.handle(event(event_name="cos:ObjectRestore:Completed"))
    assert cos.requests == [] and outcome(h)["reason"] == "not_created"


# --- races: the source changes while a record is handled -------------------------------------

E2 = "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
CI_A = ("POST", SOURCE, "uploads/a.jpg")


def test_an_overwrite_during_processing_is_processed_again_for_the_new_etag(world, cos):
    # Another client overwrites the source between the CI call and the check: the outputs
    # may be of either version, so the rules go again and the manifest names the new ETag.
    h = world()
    cos.before[HEAD_A] = [lambda: cos.upload("uploads/a.jpg", E2)]
    h.handle(event())
    assert requests_of(h, cos) == [("GET", SOURCE, MKEY), HEAD_A, HEAD_A, ("PUT", SOURCE, MKEY),
                                   CI_A, CI_A]
    assert [c["at"] for c in h.ci.calls] == sorted(c["at"] for c in h.ci.calls)
    m = cos.manifest()
    assert (m.source_etag, m.complete) == (E2, True)
    line = outcome(h)
    assert (line["outcome"], line["race"], line["rounds"], line["source_etag"]) == (
        "processed", "source_changed", 2, E2)
    assert line["ci_request_ids"] == ["rid-1", "rid-2"]
    # the event for the new version is now a duplicate: no third CI call
    h.handle(event(etag=E2))
    assert outcome(h)["reason"] == "up_to_date" and len(h.ci.calls) == 2


def test_a_late_event_for_an_older_version_never_names_the_older_etag(world, cos):
    h = world()
    cos.upload("uploads/a.jpg", E2)
    h.handle(event(etag=E2))              # the newer version's event ran first
    cos.clear()
    h.handle(event())                     # the older one's arrives late (a retry)
    assert cos.manifest().source_etag == E2 and cos.manifest().complete
    line = outcome(h)
    assert (line["race"], line["rounds"]) == ("source_changed", 2)


def test_a_source_that_keeps_changing_gets_an_incomplete_manifest_and_a_retry(world, cos):
    h = world()
    cos.before[HEAD_A] = [lambda n=n: cos.upload("uploads/a.jpg", f"{n}" * 32)
                          for n in range(1, 4)]
    with pytest.raises(TransientCloudError):  # the handler raises: SCF runs the event again
        h.handle(event())
    assert len(h.ci.calls) == 3           # SETTLE_ROUNDS, then it gives up for now
    m = cos.manifest()
    assert not m.complete and [o.key for o in m.outputs] == [THUMB, COVER]
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["code"] == "SourceChanged"
    assert line["error"]["retryable"] is True and line["rounds"] == 3
    h.handle(event(etag="3" * 32))        # SCF's retry (or the last version's event) settles
    assert cos.manifest().complete and cos.manifest().source_etag == "3" * 32


def test_a_change_found_with_no_time_for_another_round_leaves_an_incomplete_manifest(world,
                                                                                     cos):
    h = world()
    h.ci.call_seconds = 56.5                 # of the 57 s the 60 s limit leaves
    cos.before[HEAD_A] = [lambda: cos.upload("uploads/a.jpg", E2)]
    with pytest.raises(TransientCloudError):
        h.handle(event(), context(limit_ms=60000))
    assert len(h.ci.calls) == 1              # no time to send the rules again
    m = cos.manifest()
    # what round 1 wrote is listed (a later delete finds it), nothing is claimed current
    assert (m.complete, m.source_etag, [o.key for o in m.outputs]) == (False, E2,
                                                                       [THUMB, COVER])
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["code"] == "DeadlineExceeded"
    assert (line["race"], line["rounds"]) == ("source_changed", 2)
    h.ci.call_seconds = 0.0
    h.handle(event(etag=E2))                 # the retry, or the new version's own event
    assert cos.manifest().complete and len(h.ci.calls) == 2


def test_a_delete_during_processing_removes_every_output_and_writes_no_manifest(world, cos):
    h = world()
    cos.objects[(DERIVED, THUMB)] = cos.objects[(DERIVED, COVER)] = b"written by CI"
    cos.before[HEAD_A] = [lambda: cos.remove("uploads/a.jpg")]
    summary = h.handle(event())
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A, ("DELETE", DERIVED, THUMB),
                            ("DELETE", DERIVED, COVER), HEAD_A]
    assert (SOURCE, MKEY) not in cos.objects
    assert (DERIVED, THUMB) not in cos.objects and (DERIVED, COVER) not in cos.objects
    line = outcome(h)
    assert (line["outcome"], line["reason"]) == ("skipped", "source_deleted")
    assert [d["result"] for d in line["deleted"]] == ["deleted", "deleted"]
    assert line["outputs"] == []
    assert summary["counts"] == {"processed": 0, "skipped": 1, "failed": 0}


def test_a_failed_cleanup_after_a_racing_delete_is_retried(world, cos):
    h = world()
    cos.before[HEAD_A] = [lambda: cos.remove("uploads/a.jpg")]
    cos.fail[("DELETE", DERIVED, COVER)] = (503, "SlowDown")
    with pytest.raises(TransientCloudError):
        h.handle(event())
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["code"] == "SlowDown"
    assert (SOURCE, MKEY) not in cos.objects


def test_a_reupload_between_the_cleanup_and_its_check_is_processed(world, cos):
    # Deleted during processing, then uploaded again before the check that follows the
    # deletes: the new version's derivatives may have been among them, so it is processed.
    h = world()
    cos.before[HEAD_A] = [lambda: cos.remove("uploads/a.jpg"),
                          lambda: cos.upload("uploads/a.jpg", E2)]
    h.handle(event())
    assert requests_of(h, cos) == [("GET", SOURCE, MKEY), HEAD_A, ("DELETE", DERIVED, THUMB),
                                   ("DELETE", DERIVED, COVER), HEAD_A, HEAD_A,
                                   ("PUT", SOURCE, MKEY), CI_A, CI_A]
    assert cos.manifest().source_etag == E2 and cos.manifest().complete
    line = outcome(h)
    assert (line["outcome"], line["race"], line["rounds"]) == ("processed", "source_reuploaded",
                                                               2)
    assert len(line["deleted"]) == 2


def _written_v2(cos):
    """What the re-upload's own create leaves: its outputs and a complete manifest for E2."""
    cos.upload("uploads/a.jpg", E2)
    cos.objects[(DERIVED, THUMB)] = cos.objects[(DERIVED, COVER)] = b"v2"
    cos.put_manifest(build(SOURCE, "uploads/a.jpg", E2, "h", "uploads/",
                           [ManifestOutput(DERIVED, k, "e", "webp", 1, 1, 1)
                            for k in (THUMB, COVER)], "2026-01-01T00:00:00Z"))


def test_a_reupload_processed_during_a_delete_is_handed_to_the_create_path(world, cos):
    # The delete checks the source (gone), then the key is uploaded again and its create
    # runs to the end, then the delete removes those outputs and that manifest: the check
    # after the deletes sees the key again and processes the current version.
    h = world()
    h.handle(event())
    cos.remove("uploads/a.jpg")
    cos.before[("DELETE", DERIVED, THUMB)] = [lambda: _written_v2(cos)]
    cos.clear()
    h.handle(delete_event())
    assert requests_of(h, cos)[:7] == [("GET", SOURCE, MKEY), HEAD_A, ("DELETE", DERIVED, THUMB),
                                       ("DELETE", DERIVED, COVER), ("DELETE", SOURCE, MKEY),
                                       HEAD_A, ("GET", SOURCE, MKEY)]
    assert requests_of(h, cos)[7:] == [HEAD_A, ("PUT", SOURCE, MKEY), CI_A, CI_A]
    m = cos.manifest()
    assert (m.source_etag, m.complete) == (E2, True)
    line = outcome(h)
    assert (line["outcome"], line["action"], line["race"]) == ("processed", "delete",
                                                               "source_reuploaded")
    assert [d["key"] for d in line["deleted"]] == [THUMB, COVER]
    assert [o["key"] for o in line["outputs"]] == [THUMB, COVER]


def test_a_handed_over_delete_still_names_what_a_forged_manifest_listed(world, cos):
    _forged(cos, VICTIMS + [(DERIVED, THUMB)])
    for bucket, key in VICTIMS:
        cos.objects[(bucket, key)] = b"not yours"
    cos.remove("uploads/a.jpg")
    cos.before[("DELETE", DERIVED, THUMB)] = [lambda: cos.upload("uploads/a.jpg", E2)]
    h = world()
    h.handle(delete_event())
    assert all(cos.objects[place] == b"not yours" for place in VICTIMS)
    assert cos.manifest().source_etag == E2 and len(h.ci.calls) == 1
    line = outcome(h)
    assert (line["outcome"], line["race"]) == ("failed", "source_reuploaded")
    assert line["error"]["code"] == "NotOwnedOutput" and line["error"]["retryable"] is False
    assert line["kept_outputs"] == [{"bucket": b, "key": k} for b, k in VICTIMS]
    assert [o["key"] for o in line["outputs"]] == [THUMB, COVER]


def test_a_delete_retry_never_trusts_a_manifest_whose_outputs_are_gone(world, cos):
    # What an interrupted delete leaves after a re-upload's create: the source exists, its
    # manifest is complete for its ETag, but the outputs it lists were deleted.
    h = world()
    _written_v2(cos)
    del cos.objects[(DERIVED, THUMB)]
    h.handle(delete_event())
    assert cos.requests[:3] == [("GET", SOURCE, MKEY), HEAD_A, ("HEAD", DERIVED, THUMB)]
    assert len(h.ci.calls) == 1
    assert outcome(h)["race"] == "source_reuploaded" and cos.manifest().source_etag == E2


def test_a_late_delete_keeps_the_derivatives_of_a_current_source(world, cos):
    h = world()
    _written_v2(cos)
    h.handle(delete_event())
    assert cos.requests == [("GET", SOURCE, MKEY), HEAD_A, ("HEAD", DERIVED, THUMB),
                            ("HEAD", DERIVED, COVER)]
    assert outcome(h)["reason"] == "source_exists" and h.ci.calls == []


def test_a_late_delete_of_a_source_without_manifest_processes_it(world, cos):
    # The key exists but nothing describes its derivatives (a delete cut short after it
    # removed a re-upload's outputs and manifest): processing it is the only safe answer.
    h = world()
    h.handle(delete_event())
    assert cos.requests[:3] == [("GET", SOURCE, MKEY), HEAD_A, ("GET", SOURCE, MKEY)]
    assert len(h.ci.calls) == 1 and cos.manifest().source_etag == ETAG


# --- deletes and the deadline --------------------------------------------------------------

def _advance(h, seconds):
    def hook():
        h.clock.now += seconds
    return hook


def test_each_output_delete_gets_the_time_that_is_left(world, cos):
    h = world()
    h.handle(event())
    cos.remove("uploads/a.jpg")
    cos.clear()
    cos.before[("DELETE", DERIVED, THUMB)] = [_advance(h, 40.0)]  # a slow DELETE
    h.handle(delete_event(), context(limit_ms=60000))             # 57 s after the margin
    deletes = [t for r, t in zip(cos.requests, cos.timeouts) if r[0] == "DELETE"]
    assert deletes[0] == 30.0                    # CALL_TIMEOUT_S: plenty of time left
    assert deletes[1] == pytest.approx(17.0)     # what the slow one left, not 30 again
    assert outcome(h)["outcome"] == "processed"


def test_deletes_stop_at_the_deadline_keep_the_manifest_and_fail_retryable(world, cos):
    h = world()
    h.handle(event())
    cos.remove("uploads/a.jpg")
    cos.clear()
    cos.before[("DELETE", DERIVED, THUMB)] = [_advance(h, 56.9)]  # all but 0.1 s
    with pytest.raises(TransientCloudError):
        h.handle(delete_event(), context(limit_ms=60000))
    assert [r for r in cos.requests if r[0] == "DELETE"] == [("DELETE", DERIVED, THUMB)]
    line = outcome(h)
    assert line["outcome"] == "failed" and line["error"]["code"] == "DeadlineExceeded"
    assert line["error"]["retryable"] is True and "errors" not in line
    assert [d["result"] for d in line["deleted"]] == ["deleted", "failed"]
    assert line["deleted"][1]["error"]["code"] == "DeadlineExceeded"
    assert (SOURCE, MKEY) in cos.objects         # kept: the retry finishes the job
    h.handle(delete_event())
    assert outcome(h)["outcome"] == "processed" and (SOURCE, MKEY) not in cos.objects


# --- page events ---------------------------------------------------------------------------

def page(*keys, **fields) -> dict:
    body = {"version": 1, "bucket": SOURCE, "region": "ap-guangzhou",
            "keys": [{"key": k, "etag": f'"{ETAG}"', "size": 100} for k in keys]}
    body.update(fields)
    return {"picops_backfill": body}


def test_page_event_processes_each_key_skipping_current_ones(world, cos):
    h = world()
    h.handle(event())  # uploads/a.jpg is done already
    cos.clear()

    summary = h.handle(page("uploads/a.jpg", "uploads/b.png", "uploads/notes.txt",
                            "avatars/me.png"))

    assert [(r["index"], r["key"], r["outcome"], r.get("reason")) for r in summary["results"]] \
        == [(0, "uploads/a.jpg", "skipped", "up_to_date"), (1, "uploads/b.png", "processed", None),
            (2, "uploads/notes.txt", "skipped", "no_route"),
            (3, "avatars/me.png", "processed", None)]
    assert summary["counts"] == {"processed": 2, "skipped": 2, "failed": 0}
    assert [c["path"] for c in h.ci.calls[1:]] == ["/uploads/b.png", "/avatars/me.png"]
    assert cos.manifest("_picops/manifests/uploads/b.png.json").source_etag == ETAG  # unquoted
    assert all(line["event_name"] == "picops:backfill" for line in h.outcomes()[1:]
               if line["outcome"] == "skipped")


def test_a_failing_key_does_not_stop_the_page(world, cos):
    h = world()
    h.ci.script = [("error", 400, "InvalidImageFormat")]
    summary = h.handle(page("uploads/bad.jpg", "uploads/good.jpg"))
    assert [r["outcome"] for r in summary["results"]] == ["failed", "processed"]


@pytest.mark.parametrize("mutate, where", [
    (lambda b: b.update(version=2), "picops_backfill.version: version 2 is not supported"),
    (lambda b: b.update(bucket="uploads"), "picops_backfill.bucket: expected a bucket name"),
    (lambda b: b.update(keys=[]), "picops_backfill.keys: empty list"),
    (lambda b: b["keys"].append({"key": "x.jpg"}), "picops_backfill.keys[1].size: expected a "
                                                   "byte count, got None"),
    (lambda b: b["keys"].append({"key": "", "size": 1}), "picops_backfill.keys[1].key"),
    (lambda b: b["keys"].append("x.jpg"), "picops_backfill.keys[1]: expected an object"),
])
def test_malformed_page_events_are_logged_like_malformed_cos_events(world, cos, mutate, where):
    h = world()
    event_ = page("uploads/a.jpg")
    mutate(event_["picops_backfill"])
    summary = h.handle(event_, context())
    assert summary["error"]["code"] == "MalformedEvent"
    assert summary["error"]["message"].startswith(where)
    assert summary["results"] == [] and cos.requests == [] and h.ci.calls == []
    (line,) = [ln for ln in h.lines if ln["message"] == "malformed event"]
    assert line["level"] == "ERROR"


def test_page_region_defaults_to_the_functions(world, cos):
    h = world()
    body = page("uploads/a.jpg")
    del body["picops_backfill"]["region"]
    summary = h.handle(body)
    assert summary["counts"]["processed"] == 1


def test_process_object_is_callable_directly(world, cos):
    h = world()
    log = h.processor.log
    result = h.processor.process_object(SOURCE, "uploads/a.jpg", size=5, etag=ETAG,
                                        region="ap-guangzhou", deadline=1e9, log=log).to_line()
    assert result["outcome"] == "processed" and "index" not in result
    again = h.processor.process_object(SOURCE, "uploads/a.jpg", size=5, etag=f'"{ETAG}"',
                                       region="ap-guangzhou", deadline=1e9, log=log).to_line()
    assert again["reason"] == "up_to_date"
    cos.remove("uploads/a.jpg")
    gone = h.processor.delete_object(SOURCE, "uploads/a.jpg", region="ap-guangzhou",
                                     deadline=1e9, log=log).to_line()
    assert gone["outcome"] == "processed" and len(gone["deleted"]) == 2
