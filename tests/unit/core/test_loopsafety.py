"""Loop safety: unsafe configs are rejected naming the rule; safe ones pass."""

import re
import textwrap

import pytest

from picops import loopsafety
from picops.config import parse_config
from picops.errors import ConfigError, LoopRefusedError
from picops.serverless import CosTrigger

from .conftest import config


def route_yaml(prefix, fileid, suffixes=None, bucket=None):
    lines = [f"  - prefix: '{prefix}'"]
    if suffixes is not None:
        lines.append(f"    suffixes: [{', '.join(suffixes)}]")
    lines += ["    rules:", f"      - fileid: '{fileid}'", "        rule: imageMogr2/strip"]
    if bucket:
        lines.append(f"        bucket: {bucket}")
    return "\n".join(lines) + "\n"


def loop_problems(*routes):
    # The output proof alone: the manifest prefix's own reservation (a route with prefix ""
    # could also process manifests) is tested in test_manifest_config.py, the ownership
    # proof's problems ("routes[i].rules[j]: output '...': ...") in test_ownership.py.
    text = "manifests: {enabled: false}\nroutes:\n" + "".join(route_yaml(*r) for r in routes)
    try:
        parse_config(text)
    except ConfigError as e:
        return [str(p) for p in e.problems if not OWNERSHIP.match(str(p))]
    return []


OWNERSHIP = re.compile(r"routes\[\d+\]\.rules\[\d+\]: output '")


@pytest.mark.parametrize("routes", [
    # the brief's example: relative to the source's folder, so still under uploads/
    [("uploads/", "{dir}/thumbs/{stem}.webp")],
    [("uploads/", "{dir}/thumbs/{stem}.webp", [".jpg", ".webp"])],
    [("uploads/", "{stem}_t.jpg", [".jpg"])],          # "_t.jpg" still ends with .jpg
    [("", "/out/{name}")],                              # prefix "" watches everything
    [("up", "/uploads/x/{name}")],                      # "uploads/x/" starts with "up"
    [("uploads/", "/{key}.webp")],                      # {key} starts with uploads/
])
def test_unsafe_configs_are_rejected_naming_the_rule(routes):
    problems = loop_problems(*routes)
    assert len(problems) == 1, problems
    assert problems[0].startswith("routes[0].rules[0]: possible loop: output ")
    assert "cannot prove it safe" in problems[0]
    assert "routes[0] (prefix" in problems[0]


def test_the_proof_is_conservative():
    # "{name}" at the bucket root never contains "/", so it can never start with
    # "in/"; the shape only knows "anything ending in .jpg", so the rule is
    # rejected rather than trusted. Writing under a fixed folder fixes it.
    problems = loop_problems(("in/", "/{name}", [".jpg"]))
    assert len(problems) == 1 and "cannot prove it safe" in problems[0]
    assert loop_problems(("in/", "/out/{name}", [".jpg"])) == []


def test_output_caught_by_another_route_names_both():
    problems = loop_problems(("a/", "/b/{name}"), ("b/", "/c/{name}", None, "derived-1250000000"))
    assert len(problems) == 1
    assert problems[0].startswith("routes[0].rules[0]: possible loop")
    assert "routes[1] (prefix 'b/')" in problems[0]


@pytest.mark.parametrize("routes", [
    [("uploads/", "{dir}/thumbs/{stem}.webp", [".jpg", ".png"])],   # suffix excluded
    [("uploads/", "/thumbs/{dir}/{stem}.webp")],                     # outside the prefix
    [("uploads/", "/uploads-small/{stem}.jpg")],                     # sibling prefix
    [("uploads/", "{stem}.{ext}.webp", [".jpg"])],                   # ".jpg.webp"
    [("", "/static/banner.png", [".jpg"])],                          # one fixed key
    [("", "/x/{name}", None, "derived-1250000000")],                 # another bucket
    [("a/", "/b/{name}"), ("c/", "/d/{name}")],
    [("in/", "_small/{stem}.webp", [".jpg"]), ("in/_small/", "/t/{name}", [".png"],
                                               "derived-1250000000")],
])
def test_safe_configs_are_accepted(routes):
    assert loop_problems(*routes) == []


def test_shape_describes_what_it_knows():
    shape = loopsafety.output_shape("uploads/", (".jpg",), "/thumbs/{dir}/{stem}_s.webp")
    assert shape.lead == "thumbs/uploads/"
    assert shape.tails == ("_s.webp",)
    assert shape.describe() == "its keys start with 'thumbs/uploads/' and end with '_s.webp'"
    exact = loopsafety.output_shape("", None, "/a/b.png")
    assert exact.exact == "a/b.png" and exact.describe() == "its key is always 'a/b.png'"


def test_a_dir_followed_only_by_a_vanishing_segment_has_no_slash_after_it():
    # "a/b/A" has no extension: "{ext}" renders empty and its segment is dropped, so
    # the output is "a/a/b", with no "/" after the folder (found by Hypothesis).
    # The ownership proof refuses this fileid ({ext} can vanish, so two keys can share an
    # output); the loop proof must still be sound for it, so the rule is swapped in after
    # validation.
    valid = config("""
        routes:
          - prefix: a/b/
            rules:
              - fileid: /a/{dir}/{name}
                rule: imageMogr2/strip
        """)
    route = valid.routes[0]
    rule = route.rules[0]._replace(fileid="/a/{dir}/{ext}")
    cfg = valid._replace(routes=(route._replace(rules=(rule,)),))
    shape = loopsafety.output_shape("a/b/", None, "/a/{dir}/{ext}")
    assert shape.admits("a/a/b") and shape.admits("a/a/b/jpg")
    assert loopsafety.is_derivative(cfg, "a/a/b")


def test_ext_and_stem_known_from_suffixes():
    shape = loopsafety.output_shape("in/", (".jpg", "_raw.png"), "/o/{stem}-{ext}")
    # stem and ext are combined independently: an over-approximation, never less
    assert set(shape.tails) == {"-jpg", "-png", "_raw-jpg", "_raw-png"}


def trig(bucket, prefix="", suffix="", enable=True, events="cos:ObjectCreated:*", index=0):
    return CosTrigger(bucket_host=f"{bucket}.cos.ap-guangzhou.myqcloud.com", bucket=bucket,
                      region="ap-guangzhou", prefix=prefix, suffix=suffix, events=events,
                      enable=enable, index=index)


WATCH = config("""
    routes:
      - prefix: uploads/
        suffixes: [.jpg]
        bucket: derived-1250000000
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}.jpg
            rule: imageMogr2/thumbnail/100x
      - prefix: avatars/
        suffixes: [.jpg]
        rules:
          - fileid: /avatars-small/{dir}/{stem}_{ext}.jpg
            rule: imageMogr2/thumbnail/64x
""")


def test_check_watched_flags_trigger_on_target_bucket():
    problems = loopsafety.check_watched(WATCH, [trig("uploads-1250000000", "uploads/"),
                                                trig("derived-1250000000", "", index=1)])
    # routes[0] writes into derived-..., which the second trigger watches whole;
    # that trigger also makes derived-... a source of avatars/ keys, whose
    # outputs stay in the source bucket: both can fire it again.
    assert [p.where for p in problems] == ["routes[0].rules[0]", "routes[1].rules[0]"]
    assert "inputs.events[1]" in problems[0].message
    assert "bucket derived-1250000000" in problems[0].message


def test_check_watched_flags_source_bucket_trigger_whose_prefix_catches_the_output():
    # prefix "avatars" (no slash) also matches "avatars-small/..."
    problems = loopsafety.check_watched(WATCH, [trig("uploads-1250000000", "avatars")])
    assert [p.where for p in problems] == ["routes[1].rules[0]"]


@pytest.mark.parametrize("triggers", [
    [trig("uploads-1250000000", "uploads/"), trig("uploads-1250000000", "avatars/", index=1)],
    [trig("derived-1250000000", "incoming/")],                   # does not see thumbs/
    [trig("derived-1250000000", "", enable=False)],              # disabled
    [trig("derived-1250000000", "", events="cos:ObjectRemove:*")],
    [trig("derived-1250000000", "", suffix=".png")],
])
def test_check_watched_accepts_triggers_that_cannot_fire_on_outputs(triggers):
    assert loopsafety.check_watched(WATCH, triggers) == []


def test_is_derivative_recognises_outputs_only():
    cfg = config("""
        routes:
          - prefix: uploads/
            suffixes: [.jpg]
            rules:
              - fileid: thumbs/{stem}_{ext}.webp
                rule: imageMogr2/format/webp
    """)
    assert loopsafety.is_derivative(cfg, "uploads/2024/thumbs/cat_jpg.webp")
    assert loopsafety.is_derivative(cfg, "uploads/thumbs/cat_JPG.webp")
    assert not loopsafety.is_derivative(cfg, "uploads/2024/cat.jpg")
    assert not loopsafety.is_derivative(cfg, "other/thumbs/cat.webp")
    assert not loopsafety.is_derivative(cfg, "uploads/2024/thumbs/cat_jpg.png")


def test_is_derivative_only_counts_rules_writing_to_the_event_bucket():
    cfg = config("""
        routes:
          - prefix: ""
            suffixes: [.jpg]
            bucket: derived-1250000000
            rules:
              - fileid: /{key}
                rule: imageMogr2/strip
    """)
    assert not loopsafety.is_derivative(cfg, "a/b.jpg", "uploads-1250000000")
    assert loopsafety.is_derivative(cfg, "a/b.jpg", "derived-1250000000")
    assert loopsafety.is_derivative(cfg, "a/b.jpg")  # any bucket


def test_refuse_output_only_in_the_event_bucket():
    cfg = config(textwrap.dedent("""
        routes:
          - prefix: in/
            bucket: derived-1250000000
            rules:
              - fileid: /in/copy/{dir}/{name}
                rule: imageMogr2/strip
    """))
    loopsafety.refuse_output(cfg, "uploads-1250000000", "derived-1250000000",
                             "in/copy/in/a.jpg")
    with pytest.raises(LoopRefusedError) as e:
        loopsafety.refuse_output(cfg, "derived-1250000000", "derived-1250000000",
                                 "in/copy/in/a.jpg")
    assert e.value.code == "LoopRefused"
