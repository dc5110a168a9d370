"""Routing: longest prefix, fileid rendering and CI resolution, call plans."""

import json

import pytest

from picops.errors import LoopRefusedError, OutputKeyError
from picops.routing import match, output_key, plan, render_fileid, resolve_ci_fileid
from picops.templates import key_fields

from .conftest import config

ROUTES = config("""
    routes:
      - prefix: ""
        suffixes: [.gif]
        bucket: derived-1250000000
        rules:
          - fileid: /gif/{dir}/{name}.png
            rule: imageMogr2/format/png
      - prefix: uploads/
        bucket: derived-1250000000
        rules:
          - fileid: /t/{key}
            rule: imageMogr2/format/png
      - prefix: uploads/photos/
        suffixes: [.jpg, .png]
        bucket: derived-1250000000
        rules:
          - fileid: /p/{key}
            rule: imageMogr2/format/webp
""")


@pytest.mark.parametrize("key, prefix", [
    ("uploads/photos/a.jpg", "uploads/photos/"),   # longest prefix wins
    ("uploads/photos/a.JPG", "uploads/photos/"),   # suffix any case
    ("uploads/photos/a.gif", "uploads/"),          # the longer route's suffix fails
    ("uploads/a.txt", "uploads/"),
    ("other/a.gif", ""),
    ("other/a.jpg", None),
])
def test_match_longest_prefix_among_matching_routes(key, prefix):
    route = match(ROUTES, key)
    assert (route.prefix if route else None) == prefix


@pytest.mark.parametrize("key, fields", [
    ("a/b/photo.tar.gz", ("a/b", "photo.tar.gz", "photo.tar", "gz")),
    ("photo.jpg", ("", "photo.jpg", "photo", "jpg")),
    ("a/noext", ("a", "noext", "noext", "")),
    ("a/.hidden", ("a", ".hidden", "", "hidden")),
    ("a/trailing.", ("a", "trailing.", "trailing", "")),
])
def test_key_fields(key, fields):
    f = key_fields(key)
    assert (f["dir"], f["name"], f["stem"], f["ext"]) == fields and f["key"] == key


@pytest.mark.parametrize("template, key, rendered", [
    ("/thumbs/{dir}/{stem}_400.webp", "up/2024/cat.jpg", "/thumbs/up/2024/cat_400.webp"),
    ("/thumbs/{dir}/{stem}_400.webp", "cat.jpg", "/thumbs/cat_400.webp"),   # no '//'
    ("{dir}/{stem}.webp", "cat.jpg", "cat.webp"),                             # no leading '/'
    ("{dir}/{stem}.webp", "a/cat.jpg", "a/cat.webp"),
    ("/{dir}/x.png", "cat.jpg", "/x.png"),            # the template's own root '/' stays
    ("/m/{key}", "a b/+%.jpg", "/m/a b/+%.jpg"),        # keys taken literally
    ("/e/{ext}/{stem}", "a/noext", "/e/noext"),         # empty {ext} segment dropped
    ("/e/{stem}.{ext}", "a/noext", "/e/noext."),        # not all-placeholder: kept
    ("/c/{name}", "a/猫.jpg", "/c/猫.jpg"),
])
def test_render_fileid(template, key, rendered):
    assert render_fileid(template, key) == rendered


@pytest.mark.parametrize("source, fileid, key", [
    ("p1/test1.jpg", "/p2/test2.jpg", "p2/test2.jpg"),     # CI's documented examples
    ("p1/test1.jpg", "p2/test2.jpg", "p1/p2/test2.jpg"),
    ("test.jpg", "out.jpg", "out.jpg"),
    ("a/b/c.jpg", "c.webp", "a/b/c.webp"),
])
def test_resolve_ci_fileid(source, fileid, key):
    assert resolve_ci_fileid(source, fileid) == key


@pytest.mark.parametrize("source, fileid, message", [
    ("a.jpg", "/", "resolves to an empty key"),
    ("a.jpg", "", "resolves to an empty key"),
    ("a.jpg", "/x/", "which ends with '/'"),
    ("a.jpg", "//x", "has an empty segment"),
    ("a.jpg", "/x/../y", "has a '..' segment"),
    ("a.jpg", "./y", "has a '.' segment"),
    ("a//b.jpg", "c.jpg", "has an empty segment"),    # the source's folder is copied
])
def test_resolve_ci_fileid_rejects(source, fileid, message):
    with pytest.raises(OutputKeyError, match=message):
        resolve_ci_fileid(source, fileid)


def test_output_key_rejects_key_that_would_climb():
    with pytest.raises(OutputKeyError, match=r"'\.\.' segment"):
        output_key("/t/{key}", "../../etc/passwd.jpg")


def test_plan_batches_rules_in_order_five_per_call():
    rules = "".join(f"      - fileid: /o/{{dir}}/{{name}}_{i}.webp\n"
                    f"        rule: imageMogr2/thumbnail/{100 + i}x/format/webp\n"
                    for i in range(7))
    cfg = config("routes:\n  - prefix: in/\n    pic_info: true\n"
                 "    bucket: derived-1250000000\n    rules:\n" + rules)
    p = plan(cfg, "uploads-1250000000", "in/a b.jpg")
    assert [len(c["rules"]) for c in p.calls] == [5, 2]
    assert [len(b) for b in p.batches] == [5, 2]
    sent = [r for c in p.calls for r in c["rules"]]
    assert [r["fileid"] for r in sent] == [f"/o/in/a b.jpg_{i}.webp" for i in range(7)]
    assert [r["rule"] for r in sent] == [f"imageMogr2/thumbnail/{100 + i}x/format/webp"
                                         for i in range(7)]
    assert all(r["bucket"] == "derived-1250000000" for r in sent)
    assert all(c["is_pic_info"] == 1 for c in p.calls)
    json.dumps(p.calls)  # ready for the header


def test_plan_sends_bucket_only_for_another_bucket_and_resolves_relative_fileids():
    cfg = config("""
        routes:
          - prefix: in/
            suffixes: [.jpg]
            rules:
              - fileid: small/{stem}_{ext}.webp
                rule: imageMogr2/format/webp
    """)
    p = plan(cfg, "uploads-1250000000", "in/2024/cat.jpg")
    assert p.calls == [{"is_pic_info": 0, "rules": [
        {"fileid": "/in/2024/small/cat_jpg.webp", "rule": "imageMogr2/format/webp"}]}]
    assert p.outputs[0].bucket == "uploads-1250000000"
    assert p.outputs[0].key == "in/2024/small/cat_jpg.webp"


def test_plan_none_without_route():
    assert plan(ROUTES, "uploads-1250000000", "nothing/here.txt") is None


def test_plan_rejects_unresolvable_output_but_keeps_the_others():
    cfg = config("""
        routes:
          - prefix: in/
            bucket: derived-1250000000
            rules:
              - fileid: /kkkkkkkkkkkkkkkkkkkk/{key}
                rule: imageMogr2/format/png
              - fileid: /n/{key}.png
                rule: imageMogr2/format/png
    """)
    key = "in/" + "y" * 826 + ".jpg"  # 833 bytes: the first output is 854, over COS's 850
    p = plan(cfg, "uploads-1250000000", key)
    assert [o.key for o in p.outputs] == [f"n/{key}.png"]
    assert [r.rule_index for r in p.rejected] == [0]
    assert p.rejected[0].error.code == "InvalidOutputKey"
    assert "at most 850" in p.rejected[0].error.message
    # all or nothing: the refusals are what the record fails with, each naming its rule
    (refusal,) = p.refusals()
    assert refusal is p.rejected[0].error
    assert refusal.to_dict()["rule"] == 0 and refusal.to_dict()["bucket"] == "derived-1250000000"
    assert not refusal.retryable
    assert plan(cfg, "uploads-1250000000", "in/a.jpg").refusals() == []
    with pytest.raises(OutputKeyError, match="empty"):
        output_key("/k/{key}", "in/x//y.jpg")  # a source folder with an empty segment


def test_plan_refuses_output_a_route_would_take_in_the_event_bucket():
    # Validation cannot see that derived-... is also an event source; the
    # run-time guard refuses the output when it is.
    cfg = config("""
        routes:
          - prefix: ""
            suffixes: [.jpg]
            bucket: derived-1250000000
            rules:
              - fileid: /copies/{dir}/{name}
                rule: imageMogr2/strip
    """)
    p = plan(cfg, "derived-1250000000", "a.jpg")
    assert p.outputs == () and p.calls == []
    assert isinstance(p.rejected[0].error, LoopRefusedError)
    assert "routes[0]" in p.rejected[0].error.message
    # from another bucket the same output is fine
    assert [o.key for o in plan(cfg, "uploads-1250000000", "a.jpg").outputs] == ["copies/a.jpg"]
