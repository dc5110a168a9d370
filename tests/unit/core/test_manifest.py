"""Manifests, pure: keys, the rules hash, the JSON format and its checks, diffs."""

import hashlib
import json
import subprocess
import sys

import pytest

from picops.errors import ManifestError
from picops.manifest import (MANIFEST_VERSION, Manifest, ManifestOutput, build,
                             deletion_problems, dumps, is_current, loads,
                             manifest_key, merged_outputs, removed_outputs, rules_hash,
                             under_manifest_prefix)
from picops.model import DEFAULT_MANIFEST_PREFIX

from .conftest import config

DERIVED = "derived-1250000000"
SOURCE = "uploads-1250000000"

ROUTE_TEXT = """
    routes:
      - prefix: uploads/
        suffixes: [.jpg, .png]
        bucket: derived-1250000000
        pic_info: true
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp/quality/80
          - fileid: /covers/{dir}/{stem}_{ext}.jpg
            rule: imageView2/1/w/300/h/300/q/85
            bucket: covers-1250000000
"""
#: rules_hash of ROUTE_TEXT's route. A change here means every manifest in every
#: bucket goes stale (backfill redoes everything): bump RULES_HASH_SCHEME on purpose.
ROUTE_HASH = "5f7361fa97a9b5309a94be21e296d1499518d33dd22c2284946aba68a558e054"


def route_of(text: str):
    return config(text).routes[0]


def out(key: str, bucket: str = DERIVED, **kw) -> ManifestOutput:
    fields = dict(etag="e-" + key, format="webp", width=400, height=267, size=1234)
    fields.update(kw)
    return ManifestOutput(bucket=bucket, key=key, **fields)


def manifest(outputs=(), **kw) -> Manifest:
    fields = dict(source_bucket=SOURCE, source_key="uploads/a.jpg", source_etag="abc",
                  rules_hash=ROUTE_HASH, route_prefix="uploads/", outputs=tuple(outputs),
                  created="2024-05-01T12:00:00Z")
    fields.update(kw)
    return build(**fields)


# --- keys --------------------------------------------------------------------------------

@pytest.mark.parametrize("source_key, prefix, expected", [
    ("uploads/a.jpg", DEFAULT_MANIFEST_PREFIX, "_picops/manifests/uploads/a.jpg.json"),
    ("a b+c%20/中.png", DEFAULT_MANIFEST_PREFIX, "_picops/manifests/a b+c%20/中.png.json"),
    ("x.jpg", "meta/m/", "meta/m/x.jpg.json"),
])
def test_manifest_key_holds_the_source_key(source_key, prefix, expected):
    assert manifest_key(source_key, prefix) == expected
    assert under_manifest_prefix(manifest_key(source_key, prefix), prefix)


def test_manifest_key_of_a_very_long_source_key_is_hashed_to_fit_cos():
    long_key = "uploads/" + "长" * 300 + ".jpg"  # 908 bytes of UTF-8
    key = manifest_key(long_key)
    digest = hashlib.sha256(long_key.encode("utf-8")).hexdigest()
    assert key == f"_picops/manifests/_sha256/{digest}.json"
    assert len(key.encode()) <= 850
    short = "uploads/" + "a" * 800 + ".jpg"  # 812 bytes: prefix + key + .json = 835
    assert manifest_key(short) == "_picops/manifests/" + short + ".json"


def test_under_manifest_prefix_is_a_plain_prefix_test():
    assert under_manifest_prefix("_picops/manifests/anything")
    assert not under_manifest_prefix("_picops/manifest.json")
    assert not under_manifest_prefix("uploads/_picops/manifests/a.json")


# --- rules hash ------------------------------------------------------------------------------

def test_rules_hash_is_pinned_for_a_fixed_route():
    assert rules_hash(route_of(ROUTE_TEXT)) == ROUTE_HASH


def test_rules_hash_is_computed_once_per_route_object():
    from picops import manifest

    route, other = route_of(ROUTE_TEXT), route_of(ROUTE_TEXT.replace("quality/80", "quality/70"))
    assert rules_hash(route) == ROUTE_HASH and rules_hash(other) != ROUTE_HASH
    assert manifest._DIGESTS[id(route)] == (route, ROUTE_HASH)  # kept: answered from here
    assert rules_hash(route) == ROUTE_HASH and rules_hash(other) != ROUTE_HASH


def test_rules_hash_is_the_documented_recipe():
    # docs/manifest-format.md: sha256 of canonical JSON of scheme, pic_info, sorted rules
    doc = {"scheme": 1, "pic_info": True, "rules": [
        {"bucket": "covers-1250000000", "fileid": "/covers/{dir}/{stem}_{ext}.jpg",
         "rule": "imageView2/1/w/300/h/300/q/85"},
        {"bucket": DERIVED, "fileid": "/thumbs/{dir}/{stem}_{ext}_400.webp",
         "rule": "imageMogr2/thumbnail/400x/format/webp/quality/80"}]}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert hashlib.sha256(text.encode()).hexdigest() == ROUTE_HASH


def test_rules_hash_is_the_same_in_another_process():
    code = ("import sys, textwrap; from picops.config import parse_config; "
            "from picops.manifest import rules_hash; "
            "print(rules_hash(parse_config(textwrap.dedent(sys.argv[1])).routes[0]))")
    run = subprocess.run([sys.executable, "-c", code, ROUTE_TEXT], capture_output=True,
                         text=True, check=True, env={"PYTHONHASHSEED": "12345"})
    assert run.stdout.strip() == ROUTE_HASH


@pytest.mark.parametrize("old, new", [
    ("/thumbs/{dir}/{stem}_{ext}_400.webp", "/thumbs/{dir}/{stem}_{ext}_401.webp"),     # a fileid
    ("imageMogr2/thumbnail/400x/format/webp/quality/80",
     "imageMogr2/thumbnail/400x/format/webp/quality/81"),                   # a rule
    ("bucket: covers-1250000000", "bucket: other-1250000000"),              # a target bucket
    ("pic_info: true", "pic_info: false"),                                  # pic_info
])
def test_rules_hash_changes_with_each_thing_that_changes_outputs(old, new):
    assert old in ROUTE_TEXT
    assert rules_hash(route_of(ROUTE_TEXT.replace(old, new))) != ROUTE_HASH


def test_rules_hash_ignores_rule_order_and_the_route_filter():
    lines = ROUTE_TEXT.split("\n")
    first, second = lines[7:9], lines[9:12]
    swapped = "\n".join(lines[:7] + second + first + lines[12:])
    assert swapped != ROUTE_TEXT
    assert rules_hash(route_of(swapped)) == ROUTE_HASH
    refiltered = ROUTE_TEXT.replace("[.jpg, .png]", "[.jpg]").replace("uploads/", "photos/", 1)
    assert rules_hash(route_of(refiltered)) == ROUTE_HASH


def test_rules_hash_treats_an_explicit_source_bucket_unlike_no_bucket():
    # None means "whatever bucket the event came from": not the same as naming one
    text = """
        routes:
          - prefix: uploads/
            rules:
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/strip
    """
    named = text.replace("rules:", "bucket: uploads-1250000000\n            rules:")
    assert rules_hash(route_of(text)) != rules_hash(route_of(named))


# --- format ---------------------------------------------------------------------------------

def test_round_trip_keeps_every_field():
    m = manifest([out("thumbs/a_400.webp"), out("covers/a.jpg", bucket="covers-1250000000",
                                                format="jpg", width=None, height=None,
                                                size=None, etag="")],
                 source_key="uploads/中 文+%.jpg", complete=False)
    assert loads(dumps(m), "b/k") == m
    assert m.version == MANIFEST_VERSION == 1


def test_dumps_is_ascii_json_in_the_documented_shape():
    m = manifest([out("thumbs/a.webp")], source_key="uploads/\ud800.jpg")
    data = dumps(m)
    data.decode("ascii")  # a lone surrogate in a key still writes
    assert json.loads(data) == {
        "type": "picops-manifest", "version": 1,
        "source": {"bucket": SOURCE, "key": "uploads/\ud800.jpg", "etag": "abc"},
        "rules_hash": ROUTE_HASH, "route_prefix": "uploads/", "complete": True,
        "created": "2024-05-01T12:00:00Z",
        "outputs": [{"bucket": DERIVED, "key": "thumbs/a.webp", "etag": "e-thumbs/a.webp",
                     "format": "webp", "width": 400, "height": 267, "size": 1234}]}


def test_unknown_fields_are_ignored():
    doc = json.loads(dumps(manifest([out("t.webp")])))
    doc["written_by"] = "picops 9"
    doc["outputs"][0]["quality"] = 80
    assert loads(json.dumps(doc).encode()) == manifest([out("t.webp")])


def good_doc() -> dict:
    return json.loads(dumps(manifest([out("t.webp")])))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=2), "version 2 is not supported; this picops reads version 1 "
                                    "(written by a newer picops: upgrade this one)"),
    (lambda d: d.update(version=0), "version 0 is not supported"),
    (lambda d: d.update(version="1"), "'version' must be a whole number, got '1'"),
    (lambda d: d.update(version=True), "'version' must be a whole number"),
    (lambda d: d.pop("type"), "is not a picops manifest"),
    (lambda d: d.pop("rules_hash"), "'rules_hash' is missing"),
    (lambda d: d.update(rules_hash=""), "'rules_hash' must not be empty"),
    (lambda d: d.update(complete="yes"), "'complete' must be true or false"),
    (lambda d: d["source"].pop("key"), "source: 'key' is missing"),
    (lambda d: d.update(outputs={}), "'outputs' must be a list"),
    (lambda d: d["outputs"].append("x"), "outputs[1] must be a JSON object"),
    (lambda d: d["outputs"][0].update(width=-1), "outputs[0]: 'width' must be a whole number"),
    (lambda d: d["outputs"][0].update(size=1.5), "outputs[0]: 'size' must be a whole number"),
    (lambda d: d["outputs"][0].pop("height"), "outputs[0]: 'height' is missing"),
    (lambda d: d["outputs"][0].update(key="/abs"), "outputs[0]: 'key' '/abs' starts with '/'"),
    (lambda d: d["outputs"][0].update(bucket=""), "outputs[0]: 'bucket' must not be empty"),
])
def test_malformed_manifests_are_refused_naming_the_manifest(mutate, message):
    doc = good_doc()
    mutate(doc)
    with pytest.raises(ManifestError) as e:
        loads(json.dumps(doc).encode(), "uploads-1250000000/_picops/manifests/a.jpg.json")
    assert e.value.message.startswith("manifest uploads-1250000000/_picops/manifests/a.jpg.json")
    assert message in e.value.message
    assert e.value.code == "InvalidManifest" and not e.value.retryable


@pytest.mark.parametrize("data, message", [
    (b"{not json", "is not valid JSON"),
    (b"\xff\xfe", "is not valid JSON"),
    (b"[]", "is not a picops manifest"),
    (b'{"type": "something-else", "version": 1}', "is not a picops manifest"),
])
def test_non_manifests_are_refused(data, message):
    with pytest.raises(ManifestError, match=message):
        loads(data, "b/k")


# --- decisions ---------------------------------------------------------------------------

def test_is_current_needs_same_etag_same_hash_and_a_complete_manifest():
    m = manifest()
    assert is_current(m, "abc", ROUTE_HASH)
    assert not is_current(m, "abd", ROUTE_HASH)           # overwritten source
    assert not is_current(m, "abc", "0" * 64)             # rules changed
    assert not is_current(None, "abc", ROUTE_HASH)        # never processed
    assert not is_current(manifest(complete=False), "abc", ROUTE_HASH)  # part-way run
    assert not is_current(manifest(source_etag=""), "", ROUTE_HASH)     # ETag unknown


def test_removed_outputs_are_the_old_ones_the_new_plan_lacks_in_old_order():
    old = manifest([out("a.webp"), out("b.jpg"), out("c.avif"), out("b.jpg", bucket=SOURCE)])
    removed = removed_outputs(old, [(DERIVED, "b.jpg"), (DERIVED, "new.png")])
    assert [(o.bucket, o.key) for o in removed] == [
        (DERIVED, "a.webp"), (DERIVED, "c.avif"), (SOURCE, "b.jpg")]
    assert removed_outputs(old, [(o.bucket, o.key) for o in old.outputs]) == []


def test_merged_outputs_keep_old_ones_not_rewritten_then_the_new():
    old = manifest([out("a.webp", etag="old"), out("b.jpg")])
    merged = merged_outputs(old, [out("a.webp", etag="new"), out("n.png")])
    assert [(o.key, o.etag) for o in merged] == [
        ("b.jpg", "e-b.jpg"), ("a.webp", "new"), ("n.png", "e-n.png")]
    assert merged_outputs(None, [out("n.png")]) == [out("n.png")]


def test_build_drops_duplicate_places_keeping_the_last():
    m = manifest([out("a.webp", etag="1"), out("a.webp", etag="2")])
    assert [o.etag for o in m.outputs] == ["2"]


def test_deletion_problems_refuse_foreign_or_dangerous_manifests():
    good = manifest([out("thumbs/a.webp"), out("avatars-small/a.jpg", bucket=SOURCE)])
    assert deletion_problems(good, SOURCE, "uploads/a.jpg", DEFAULT_MANIFEST_PREFIX) == []
    assert deletion_problems(good, SOURCE, "uploads/b.jpg", DEFAULT_MANIFEST_PREFIX) == [
        f"it belongs to {SOURCE}/uploads/a.jpg, not {SOURCE}/uploads/b.jpg"]
    bad = manifest([out("uploads/a.jpg", bucket=SOURCE),
                    out("_picops/manifests/other.jpg.json", bucket=SOURCE),
                    out("uploads/a.jpg")])  # the same key in ANOTHER bucket is fine
    assert deletion_problems(bad, SOURCE, "uploads/a.jpg", DEFAULT_MANIFEST_PREFIX) == [
        "outputs[0] is the source object itself",
        "outputs[1] ('_picops/manifests/other.jpg.json') is under the manifest prefix "
        "'_picops/manifests/'"]


def test_output_from_a_handler_result_keeps_what_ci_reported():
    o = ManifestOutput.from_result({"key": "t.webp", "bucket": DERIVED, "location": "x",
                                    "format": "webp", "width": 400, "height": None,
                                    "size": 99, "quality": 80, "etag": None})
    assert o == ManifestOutput(DERIVED, "t.webp", "", "webp", 400, None, 99)
