"""The ownership proof: a config is refused when two different source keys it accepts can
write the same output, and every refusal names the rules (and an example when found)."""

import textwrap
from itertools import product

import pytest
import yaml

from picops.config import load_config
from picops.errors import ConfigError
from picops.ownership import _candidate_keys, check_config, owned_outputs
from picops.routing import OutputKeyError, match, output_key

SHIPPED = "functions/image_processor/picops.yaml"


def config_of(tmp_path, text, name="picops.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text) + "\nmanifests: {enabled: false}\n")
    return path


def problems_of(tmp_path, text):
    try:
        load_config(str(config_of(tmp_path, text)))
    except ConfigError as e:
        return [str(p) for p in e.problems]
    return []


def route(prefix, fileids, suffixes="[.jpg, .png]", bucket="derived-1250000000"):
    rules = "".join(f"      - fileid: {f}\n        rule: imageMogr2/format/webp\n"
                    for f in fileids)
    suffix_line = f"    suffixes: {suffixes}\n" if suffixes else ""
    bucket_line = f"    bucket: {bucket}\n" if bucket else ""
    return f"  - prefix: {prefix}\n{suffix_line}{bucket_line}    rules:\n{rules}"


@pytest.mark.parametrize("fileids, suffixes", [
    (["/thumbs/{dir}/{name}_400.webp"], "[.jpg, .png]"),
    (["/thumbs/{dir}/{name}_400.webp"], None),
    (["/thumbs/{key}.webp"], None),
    (["/thumbs/{key}/400.webp"], None),
    (["thumbs/{name}.webp"], None),  # relative: the source folder comes first
    (["/thumbs/{dir}/{stem}_{ext}_400.webp"], "[.jpg, .jpeg, .png]"),
    (["/thumbs/{dir}/{stem}.{ext}.webp"], "[.jpg, .png]"),
    (["/thumbs/{dir}/{ext}/{stem}.webp"], "[.jpg, .png]"),
    (["/thumbs/{dir}/{name}_400.webp", "/thumbs/{dir}/{name}_800.webp",
      "/covers/{dir}/{name}.jpg"], "[.jpg]"),
])
def test_injective_rules_pass(tmp_path, fileids, suffixes):
    assert problems_of(tmp_path, "routes:\n" + route("uploads/", fileids, suffixes)) == []


@pytest.mark.parametrize("fileid, suffixes, words, example", [
    ("/thumbs/{dir}/{stem}_400.webp", "[.jpg, .png]", "drops the extension",
     "'uploads/x.jpg' and 'uploads/x.png' both write 'thumbs/uploads/x_400.webp'"),
    ("/thumbs/{dir}/{stem}_400.webp", "[.jpg]", "drops the extension",
     "'uploads/x.jpg' and 'uploads/x.JPG' both write 'thumbs/uploads/x_400.webp'"),
    ("/thumbs/{name}_400.webp", "[.jpg]", "source folder",
     "'uploads/x.jpg' and 'uploads/a/x.jpg' both write 'thumbs/x.jpg_400.webp'"),
    ("/thumbs/{dir}{name}.webp", None, "shares a path segment", "both write"),
    ("/thumbs/{dir}/{stem}_{ext}.webp", None, "without a separator", ""),
    ("/thumbs/{dir}/{stem}{ext}.webp", "[.jpg]", "without a separator", ""),
    ("/thumbs/{dir}/{stem}.{ext}.webp", None, "every name has an extension", ""),
    ("/thumbs/{dir}/{ext}/{name}.webp", None, "can render empty", ""),
])
def test_colliding_rules_are_refused_with_place_and_example(tmp_path, fileid, suffixes, words,
                                                           example):
    (problem,) = problems_of(tmp_path, "routes:\n" + route("uploads/", [fileid], suffixes))
    assert problem.startswith("routes[0].rules[0]: output ")
    assert words in problem
    assert example in problem  # when the small search finds a real pair, it is named


def test_two_routes_with_one_fileid_into_one_bucket(tmp_path):
    ok = "routes:\n" + route("a/", ["/t/{dir}/{name}.webp"]) + route("b/", ["/t/{dir}/{name}.webp"])
    assert problems_of(tmp_path, ok) == []
    bad = "routes:\n" + route("a/", ["/t/{name}.webp"]) + route("b/", ["/t/{name}.webp"])
    problems = problems_of(tmp_path, bad)
    assert any(p.startswith("routes[1].rules[0]") and "routes[0].rules[0]" in p
               and "both write" in p for p in problems)


def test_rules_of_different_routes_that_can_meet(tmp_path):
    text = "routes:\n" + route("a/", ["/t/{dir}/{name}.webp"]) + route(
        "b/", ["/t/{dir}/{stem}_{ext}.webp"])
    (problem,) = problems_of(tmp_path, text)
    assert problem.startswith("routes[1].rules[0]") and "routes[0].rules[0]" in problem
    assert "cannot prove" in problem


def test_rules_into_different_buckets_never_meet(tmp_path):
    text = "routes:\n" + route("a/", ["/t/{dir}/{name}.webp"], bucket="one-1250000000") + \
        route("b/", ["/t/{dir}/{stem}_{ext}.webp"], bucket="two-1250000000")
    assert problems_of(tmp_path, text) == []


def test_a_rule_writing_what_another_writes_is_refused(tmp_path):
    text = "routes:\n" + route("a/", ["/t/{dir}/{name}", "/t/{key}"], suffixes=None)
    (problem,) = problems_of(tmp_path, text)
    assert problem.startswith("routes[0].rules[1]") and "same output as routes[0].rules[0]" \
        in problem


def test_the_shipped_config_is_proven():
    config = load_config(SHIPPED)
    assert check_config(config) == []


def test_the_proof_agrees_with_an_exhaustive_search_on_small_keys(tmp_path):
    """For every accepted config here, no two of many small keys share an output."""
    fileids = ["/t/{dir}/{name}.webp", "/t/{dir}/{stem}_{ext}.webp", "/u/{key}", "v/{name}",
               "/w/{dir}/{stem}.{ext}.webp", "/t/{dir}/{stem}.webp", "/t/{name}.webp"]
    accepted = refused = 0
    for i, (f1, f2) in enumerate(product(fileids, repeat=2)):
        path = config_of(tmp_path, "routes:\n" + route("a/", [f1]) + route(
            "a/b/", [f2], "[.png, .jpeg]"), name=f"c{i}.yaml")
        try:
            config = load_config(str(path))
        except ConfigError:
            refused += 1
            continue
        accepted += 1
        outputs = {}
        for prefix, suffixes in (("a/", (".jpg", ".png")), ("a/b/", (".png", ".jpeg"))):
            for key in _candidate_keys(prefix, suffixes):
                r = match(config, key)
                if r is None:
                    continue
                for rule in r.rules:
                    try:
                        out = (rule.bucket, output_key(rule.fileid, key))
                    except OutputKeyError:
                        continue
                    assert outputs.setdefault(out, key) == key, (f1, f2, out)
        assert outputs, (f1, f2)  # the search really compared outputs of this config
    # both verdicts occur, so the search checks accepted configs and the proof refuses some
    assert accepted and refused, (accepted, refused)


def test_owned_outputs_are_what_the_config_writes_for_that_key():
    config = load_config(SHIPPED)
    owned = owned_outputs(config, "uploads-1250000000", "uploads/cat.jpg")
    assert len(owned) == 4 and all(b == "derived-1250000000" for b, _ in owned)
    assert owned_outputs(config, "uploads-1250000000", "other/cat.jpg") == set()
    doc = yaml.safe_load(open(SHIPPED))
    assert doc["routes"]


def test_an_output_key_cos_cannot_store_is_refused_before_any_ci_call():
    config = load_config(SHIPPED)
    from picops.routing import plan

    long_key = "uploads/" + "d" * 820 + ".jpg"  # a source COS takes; some outputs too long
    p = plan(config, "uploads-1250000000", long_key)
    refused = {r.rule_index for r in p.rejected}
    assert refused == {2} and "COS keys are at most 850" in p.rejected[0].error.message
    written = {o.rule_index for o in p.outputs}
    assert written | refused == {0, 1, 2, 3} and all(
        len(o.key.encode()) <= 850 for o in p.outputs)
    with pytest.raises(OutputKeyError, match="control character U\\+001B"):
        output_key("/t/{dir}/{name}", "uploads/a\x1bb.jpg")
