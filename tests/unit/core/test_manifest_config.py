"""The ``manifests:`` config section, and the reserved manifest prefix in validation:
no route, no source-bucket output and no serverless.yml trigger may reach a manifest."""

import textwrap
from pathlib import Path

import pytest
import yaml

from picops.config import load_config, parse_config
from picops.model import ManifestSettings
from picops.errors import ConfigError
from picops.serverless import check_against_config, parse_serverless

ROOT = Path(__file__).resolve().parents[3]
HOST = "uploads-1250000000.cos.ap-guangzhou.myqcloud.com"

ROUTES = """
routes:
  - prefix: uploads/
    suffixes: [.jpg]
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{key}
        rule: imageMogr2/thumbnail/400x
"""


def parse(text: str):
    return parse_config(textwrap.dedent(text))


def problems_of(text: str):
    with pytest.raises(ConfigError) as e:
        parse(text)
    return [str(p) for p in e.value.problems]


def route(prefix: str, suffixes=None, fileid="/t/{dir}/{name}", bucket="derived-1250000000") -> str:
    lines = [f"  - prefix: {prefix!r}"]
    if suffixes is not None:
        lines.append(f"    suffixes: [{', '.join(suffixes)}]")
    if bucket:
        lines.append(f"    bucket: {bucket}")
    lines += ["    rules:", f"      - fileid: {fileid}", "        rule: imageMogr2/strip"]
    return "routes:\n" + "\n".join(lines) + "\n"


# --- the section ---------------------------------------------------------------------------

def test_manifests_are_on_with_the_default_prefix_when_absent():
    assert parse(ROUTES).manifests == ManifestSettings(True, "_picops/manifests/")


def test_manifests_section_sets_both_fields():
    cfg = parse(ROUTES + "manifests:\n  enabled: false\n  prefix: meta/picops/\n")
    assert cfg.manifests == ManifestSettings(enabled=False, prefix="meta/picops/")
    assert parse(ROUTES + "manifests: {prefix: m/}\n").manifests == ManifestSettings(True, "m/")


@pytest.mark.parametrize("section, problem", [
    ("manifests: yes", "manifests: expected a mapping with enabled and/or prefix, got true"),
    ("manifests: {enabled: 1}", "manifests.enabled: expected true or false, got 1 (a number)"),
    ("manifests: {prefix: 7}", "manifests.prefix: expected a string such as "
                               "'_picops/manifests/', got 7 (a number)"),
    ("manifests: {prefix: meta}", "manifests.prefix: 'meta' must end with '/'"),
    ("manifests: {prefix: ''}", "manifests.prefix: '' must end with '/'"),
    ("manifests: {prefix: /meta/}", "manifests.prefix: '/meta/' starts with '/'"),
    ("manifests: {prefix: a//b/}", "manifests.prefix: 'a//b/' has an empty, '.' or '..' "
                                   "segment"),
    ("manifests: {prefix: a/../}", "manifests.prefix: 'a/../' has an empty, '.' or '..' "
                                   "segment"),
    ("manifests: {prefixx: m/}", "manifests.prefixx: unknown field 'prefixx' (expected one "
                                 "of: enabled, prefix)"),
])
def test_bad_manifests_sections_are_reported_in_place(section, problem):
    found = problems_of(ROUTES + section + "\n")
    assert any(p.startswith(problem) for p in found), found


def test_shipped_config_keeps_manifests_on():
    cfg = load_config(str(ROOT / "functions" / "image_processor" / "picops.yaml"))
    assert cfg.manifests == ManifestSettings(True, "_picops/manifests/")


# --- routes and outputs against the prefix ---------------------------------------------------

@pytest.mark.parametrize("prefix, suffixes", [
    ("", None),                    # every key
    ("_picops/", None),            # the prefix's parent
    ("", [".json"]),
    ("", [".JSON"]),               # suffixes compare in any case
    ("", ["n"]),                   # ".json" ends with it
    ("_", ["a.json"]),             # a key may end with it
])
def test_a_route_that_could_process_manifests_is_refused(prefix, suffixes):
    found = problems_of(route(prefix, suffixes))
    assert len(found) == 1, found
    assert found[0].startswith("routes[0].prefix: this route (prefix ")
    assert "could process manifests: picops keeps one per source object as " \
           "'_picops/manifests/<source key>.json'" in found[0]


def test_a_route_inside_the_reserved_prefix_is_refused_whatever_its_suffixes():
    (found,) = problems_of(route("_picops/manifests/photos/", [".jpg"]))
    assert found == ("routes[0].prefix: '_picops/manifests/photos/' is inside the manifest "
                     "prefix '_picops/manifests/' (manifests.prefix), which is reserved for "
                     "picops' manifests: nothing under it is ever processed")


@pytest.mark.parametrize("prefix, suffixes", [
    ("", [".jpg", ".png"]),        # manifests end in .json
    ("uploads/", None),            # another folder
    ("_picops/manifests", [".jpg"]),
])
def test_routes_that_cannot_reach_a_manifest_pass(prefix, suffixes):
    assert parse(route(prefix, suffixes)).routes[0].prefix == prefix


def test_a_moved_prefix_moves_the_check():
    text = route("", None)
    assert problems_of(text)
    moved = text + "manifests: {prefix: 'm/'}\n"
    assert problems_of(moved)  # "" still covers m/...json
    assert parse(route("uploads/", None) + "manifests: {prefix: 'uploads-meta/'}\n")
    assert problems_of(route("uploads/", None) + "manifests: {prefix: 'uploads/m/'}\n")


def test_manifests_off_lifts_the_reservation():
    cfg = parse(route("", None) + "manifests: {enabled: false}\n")
    assert cfg.routes[0].prefix == ""


def test_an_output_that_could_overwrite_a_manifest_is_refused():
    text = route("uploads/", [".jpg"], fileid="/_picops/manifests/{dir}/{name}.json", bucket=None)
    (found,) = problems_of(text)
    assert found.startswith("routes[0].rules[0]: output '/_picops/manifests/{dir}/{name}.json' "
                            "goes to the source bucket and its keys start with "
                            "'_picops/manifests/uploads/' and end with '.jpg.json', so it could "
                            "overwrite a manifest")
    # the same output in another bucket touches no manifest
    assert parse(text.replace("    rules:", "    bucket: derived-1250000000\n    rules:"))
    # nor does one under the prefix that can never end in .json
    assert parse(route("uploads/", [".jpg"], fileid="/_picops/manifests/{dir}/{name}.webp",
                       bucket=None))


# --- serverless.yml triggers ----------------------------------------------------------------

def trigger(prefix="", suffix="", events="cos:ObjectCreated:*", enable=True):
    params = {"bucket": HOST, "events": events, "enable": enable}
    if prefix or suffix:
        params["filter"] = {"prefix": prefix, "suffix": suffix}
    return {"cos": {"parameters": params}}


def spec(*triggers):
    return parse_serverless({
        "component": "scf", "name": "picops",
        "inputs": {"name": "fn", "src": "./build/package", "handler": "index.main_handler",
                   "runtime": "Python3.9", "region": "ap-guangzhou", "timeout": 60,
                   "events": list(triggers)}})


def manifest_problems(cfg, *triggers):
    return [str(p) for p in check_against_config(spec(*triggers), cfg)
            if "manifest" in p.message]


@pytest.mark.parametrize("events", ["cos:ObjectCreated:*", "cos:ObjectRemove:*",
                                    "cos:ObjectRemove:Delete"])
def test_a_trigger_covering_the_manifest_prefix_is_refused(events):
    cfg = parse(ROUTES)
    (found,) = manifest_problems(cfg, trigger("uploads/"), trigger("", "", events=events)
                                 if events != "cos:ObjectCreated:*" else trigger("_picops/"))
    assert found.startswith("serverless.yml: inputs.events[1].cos.parameters.filter: ")
    assert "fires on manifest keys ('_picops/manifests/<source key>.json'" in found


@pytest.mark.parametrize("flt", [("uploads/", ""), ("", ".jpg"), ("_picops/manifests/", ".png"),
                                 ("_picops/other/", "")])
def test_triggers_that_miss_every_manifest_key_pass(flt):
    cfg = parse(ROUTES)
    assert manifest_problems(cfg, trigger("uploads/"), trigger(*flt, events="cos:ObjectRemove:*")
                             ) == []


def test_disabled_triggers_and_disabled_manifests_are_not_checked():
    cfg = parse(ROUTES)
    assert manifest_problems(cfg, trigger("uploads/"), trigger("", enable=False,
                                                               events="cos:ObjectRemove:*")) == []
    off = parse(ROUTES + "manifests: {enabled: false}\n")
    assert manifest_problems(off, trigger("uploads/"), trigger("", events="cos:ObjectRemove:*")
                             ) == []


def test_created_and_remove_triggers_on_one_prefix_do_not_overlap():
    cfg = parse(ROUTES)
    assert check_against_config(spec(trigger("uploads/"), trigger("uploads/",
                                     events="cos:ObjectRemove:*")), cfg) == []
    two_removes = check_against_config(spec(trigger("uploads/"),
                                            trigger("uploads/", events="cos:ObjectRemove:*"),
                                            trigger("uploads/a", events="cos:ObjectRemove:*")),
                                       cfg)
    assert len(two_removes) == 1 and "overlaps inputs.events[1]" in two_removes[0].message


def test_shipped_serverless_yml_syncs_deletions_for_every_created_trigger():
    sls = parse_serverless(yaml.safe_load((ROOT / "serverless.yml").read_text()))
    cfg = load_config(str(ROOT / "functions" / "image_processor" / "picops.yaml"))
    assert check_against_config(sls, cfg) == []
    created = {(t.bucket, t.prefix, t.suffix) for t in sls.triggers
               if t.enable and t.events == "cos:ObjectCreated:*"}
    removed = {(t.bucket, t.prefix, t.suffix) for t in sls.triggers
               if t.enable and t.events == "cos:ObjectRemove:*"}
    assert created and created == removed


def test_an_output_to_another_watched_bucket_may_not_overwrite_a_manifest_there():
    """Manifests live in every bucket a trigger sends to picops: an explicit bucket that is
    watched is checked like the source bucket (an unwatched one holds no manifest)."""
    from picops.loopsafety import check_watched
    text = route("up/", [".jpg"], fileid="/_picops/manifests/d/{dir}/{name}.json",
                 bucket=None).replace("    rules:", "    bucket: derived-1250000000\n    rules:")
    cfg = parse(text)
    watched = spec(trigger("up/"), {"cos": {"parameters": {
        "bucket": "derived-1250000000.cos.ap-guangzhou.myqcloud.com",
        "events": "cos:ObjectCreated:*", "enable": True, "filter": {"prefix": "d/"}}}})
    (found,) = [str(p) for p in check_watched(cfg, watched.triggers)]
    assert found.startswith("routes[0].rules[0]: output '/_picops/manifests/d/{dir}/{name}.json'"
                            " goes to bucket derived-1250000000, whose uploads serverless.yml "
                            "trigger inputs.events[1] sends to picops")
    assert "could overwrite the manifest of a source there" in found
    assert check_watched(cfg, spec(trigger("up/")).triggers) == []
    off = parse(text + "manifests: {enabled: false}\n")
    assert check_watched(off, watched.triggers) == []
