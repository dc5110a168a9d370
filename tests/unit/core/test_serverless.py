"""serverless.yml: the spec the emulator runs, and its checks against the routes."""

import copy
from pathlib import Path

import pytest
import yaml

from picops.config import load_config
from picops.errors import ConfigError
from picops.serverless import check_against_config, parse_serverless

from .conftest import config

ROOT = Path(__file__).resolve().parents[3]
HOST = "uploads-1250000000.cos.ap-guangzhou.myqcloud.com"


def trigger(prefix="", suffix="", events="cos:ObjectCreated:*", enable=True, bucket=HOST):
    params = {"bucket": bucket, "events": events, "enable": enable}
    if prefix or suffix:
        params["filter"] = {"prefix": prefix, "suffix": suffix}
    return {"cos": {"parameters": params}}


def doc(*triggers, **inputs):
    d = {"component": "scf", "name": "picops",
         "inputs": {"name": "fn", "src": "./build/package", "handler": "index.main_handler",
                    "runtime": "Python3.9", "region": "ap-guangzhou", "memorySize": 256,
                    "timeout": 60, "environment": {"variables": {"PICOPS_CONFIG": "picops.yaml"}},
                    "events": list(triggers)}}
    d["inputs"].update(inputs)
    return d


def problems_of(d):
    with pytest.raises(ConfigError) as e:
        parse_serverless(d)
    return [str(p) for p in e.value.problems]


def test_shipped_serverless_yml_matches_shipped_config():
    spec = parse_serverless(yaml.safe_load((ROOT / "serverless.yml").read_text()))
    assert (spec.component, spec.handler, spec.runtime, spec.src) == (
        "scf", "index.main_handler", "Python3.7", "./build/package")
    assert spec.timeout >= 30 and spec.memory >= 128
    assert all(t.enable for t in spec.triggers)
    # uploads fire processing; deletes fire the manifest-driven clean-up (issue 5)
    assert {t.events for t in spec.triggers} == {"cos:ObjectCreated:*", "cos:ObjectRemove:*"}
    cfg = load_config(str(ROOT / "functions" / "image_processor" / "picops.yaml"))
    assert check_against_config(spec, cfg) == []


def test_spec_fields():
    spec = parse_serverless(doc(trigger("in/", ".jpg"), {"timer": {"parameters": {}}}))
    assert spec.name == "fn" and spec.region == "ap-guangzhou" and spec.memory == 256
    assert spec.environment == {"PICOPS_CONFIG": "picops.yaml"}
    (t,) = spec.triggers  # the timer is not ours
    assert (t.bucket_host, t.bucket, t.region, t.prefix, t.suffix, t.events, t.enable, t.index) \
        == (HOST, "uploads-1250000000", "ap-guangzhou", "in/", ".jpg", "cos:ObjectCreated:*",
            True, 0)
    assert t.fires_on("in/a.jpg") and not t.fires_on("in/a.png")


def test_defaults_and_src_object_form():
    d = doc(trigger())
    for k in ("handler", "memorySize", "timeout"):
        del d["inputs"][k]
    d["inputs"]["src"] = {"src": "./build/package", "exclude": ["tests/**"]}
    spec = parse_serverless(d)
    assert (spec.handler, spec.memory, spec.timeout, spec.src) == (
        "index.main_handler", 128, 3, "./build/package")


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(component="express"), "serverless.yml: component: expected 'scf'"),
    (lambda d: d["inputs"].update(runtime="Python3.6"),
     "serverless.yml: inputs.runtime: Python3.6 is too old for the function's code (it needs "
     "Python 3.7+); write Python3.7"),
    (lambda d: d["inputs"].update(runtime="Python3.12"),
     "serverless.yml: inputs.runtime: 'Python3.12' is not a runtime SCF offers for this "
     "function: write Python3.7"),
    (lambda d: d["inputs"].update(handler="index"),
     "serverless.yml: inputs.handler: expected '<module>.<function>'"),
    (lambda d: d["inputs"].update(timeout=901),
     "serverless.yml: inputs.timeout: expected a whole number of seconds in 1..900"),
    (lambda d: d["inputs"]["environment"]["variables"].update(TENCENTCLOUD_X="1"),
     "serverless.yml: inputs.environment.variables.TENCENTCLOUD_X: names starting with"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].update(bucket="uploads"),
     "serverless.yml: inputs.events[0].cos.parameters.bucket: expected "
     "'<name>-<appid>.cos.<region>.myqcloud.com'"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].update(
        bucket="uploads-1250000000.cos.ap-beijing.myqcloud.com"),
     "serverless.yml: inputs.events[0].cos.parameters.bucket: bucket region ap-beijing differs"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].pop("enable"),
     "serverless.yml: inputs.events[0].cos.parameters.enable: expected true or false"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].update(events="cos:Created"),
     "serverless.yml: inputs.events[0].cos.parameters.events: expected one COS event type"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].update(filter={"prefix": 3}),
     "serverless.yml: inputs.events[0].cos.parameters.filter.prefix: expected a string"),
])
def test_each_problem(mutate, expected):
    d = doc(trigger("in/"))
    mutate(d)
    problems = problems_of(d)
    assert any(p.startswith(expected) for p in problems), problems


def test_plain_bucket_name_takes_function_region():
    spec = parse_serverless(doc(trigger(bucket="uploads-1250000000")))
    assert spec.triggers[0].region == "ap-guangzhou"


def test_several_problems_at_once():
    d = doc(trigger("in/"), trigger(enable="yes"))
    d["inputs"]["runtime"] = "Nodejs12.16"
    assert len(problems_of(copy.deepcopy(d))) == 2


ROUTES_TEXT = """
    routes:
      - prefix: uploads/
        suffixes: [.jpg, .png]
        bucket: derived-1250000000
        rules:
          - fileid: /t/{dir}/{name}
            rule: imageMogr2/strip
      - prefix: uploads/banners/
        bucket: derived-1250000000
        rules:
          - fileid: /b/{dir}/{name}
            rule: imageMogr2/strip
"""
ROUTES = config(ROUTES_TEXT)


@pytest.mark.parametrize("triggers", [
    [trigger("uploads/")],                                # nested prefixes share one trigger
    [trigger("up")],
])
def test_routes_covered(triggers):
    assert check_against_config(parse_serverless(doc(*triggers)), ROUTES) == []


def test_an_unfiltered_trigger_covers_the_routes_but_would_fire_on_manifests():
    problems = check_against_config(parse_serverless(doc(trigger(""))), ROUTES)
    assert len(problems) == 1 and "_picops/manifests/" in problems[0].message
    no_manifests = config(ROUTES_TEXT + "    manifests: {enabled: false}\n")
    assert check_against_config(parse_serverless(doc(trigger(""))), no_manifests) == []


def test_route_suffixes_covered_by_separate_suffix_triggers():
    cfg = config("""
        routes:
          - prefix: uploads/
            suffixes: [.jpg, .png]
            bucket: derived-1250000000
            rules:
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/strip
    """)
    spec = parse_serverless(doc(trigger("uploads/", ".jpg"), trigger("uploads/", ".png")))
    assert check_against_config(spec, cfg) == []
    spec = parse_serverless(doc(trigger("uploads/", ".jpg")))
    (p,) = check_against_config(spec, cfg)
    assert str(p).startswith("serverless.yml: inputs.events: routes[0] (prefix 'uploads/') is "
                             "not covered for '.png'")


@pytest.mark.parametrize("triggers, uncovered", [
    ([trigger("uploads/banners/")], "routes[0]"),
    ([trigger("uploads/", enable=False)], "routes[0]"),
    ([trigger("uploads/", events="cos:ObjectCreated:Put")], "routes[0]"),
    ([trigger("uploads/", ".jpg")], "routes[0]"),
    ([], "routes[0]"),
])
def test_routes_not_covered(triggers, uncovered):
    problems = check_against_config(parse_serverless(doc(*triggers)), ROUTES)
    assert problems and problems[0].where == "serverless.yml: inputs.events"
    assert problems[0].message.startswith(f"{uncovered} (prefix 'uploads/') is not covered")


@pytest.mark.parametrize("a, b", [
    (trigger("uploads/"), trigger("uploads/banners/")),
    (trigger(""), trigger("x/", ".jpg")),
    (trigger("u", ".jpg"), trigger("up", "a.jpg")),
    (trigger("uploads/"), trigger("uploads/", events="cos:ObjectCreated:Put")),
])
def test_overlapping_triggers_on_one_bucket(a, b):
    problems = check_against_config(parse_serverless(doc(a, b)), ROUTES)
    overlap = [p for p in problems if "overlaps" in p.message]
    assert len(overlap) == 1
    assert overlap[0].where == "serverless.yml: inputs.events[1].cos.parameters.filter"
    assert overlap[0].message.startswith("overlaps inputs.events[0] on bucket uploads-1250000000")


@pytest.mark.parametrize("a, b", [
    (trigger("uploads/", ".jpg"), trigger("uploads/", ".png")),
    (trigger("uploads/"), trigger("uploadz/")),
    (trigger("uploads/"), trigger("uploads/", events="cos:ObjectRemove:*")),
    (trigger("uploads/"), trigger("uploads/", bucket="other-1250000000.cos.ap-guangzhou."
                                                     "myqcloud.com")),
])
def test_non_overlapping_triggers(a, b):
    problems = check_against_config(parse_serverless(doc(a, b)), ROUTES)
    assert not [p for p in problems if "overlaps" in p.message]


def test_trigger_firing_on_an_output_is_a_problem():
    spec = parse_serverless(doc(trigger("uploads/"), trigger(
        "t/", bucket="derived-1250000000.cos.ap-guangzhou.myqcloud.com")))
    problems = check_against_config(spec, ROUTES)
    assert [p.where for p in problems] == ["routes[0].rules[0]"]
    assert "inputs.events[1]" in problems[0].message


# --- what sls deploy (the scf component's schema) and SCF would refuse -------------------

from picops.serverless import check_deployable  # noqa: E402


def deployable_problems(d):
    return [str(p) for p in check_deployable(parse_serverless(d))]


def test_the_shipped_serverless_yml_is_deployable():
    spec = parse_serverless(yaml.safe_load((ROOT / "serverless.yml").read_text()))
    assert check_deployable(spec) == []
    assert spec.role and spec.runtime == "Python3.7"


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["inputs"].pop("role", None),
     "serverless.yml: inputs.role: missing: without an execution role SCF gives the function "
     "no TENCENTCLOUD_SECRETID"),
    (lambda d: d["inputs"].update(runtime="Python3.9"),
     "serverless.yml: inputs.runtime: Python3.9 is refused by `sls deploy` (the scf component "
     "v0.9.10 input schema allows Python2.7, Python3.6, Python3.7 among Python runtimes); "
     "write Python3.7"),
    (lambda d: d["inputs"].update(runtime="Python3.10"),
     "serverless.yml: inputs.runtime: Python3.10 is refused by `sls deploy`"),
    (lambda d: d["inputs"].update(name="-bad name"),
     "serverless.yml: inputs.name: '-bad name' does not match the scf component v0.9.10"),
    (lambda d: d["inputs"]["events"][0]["cos"]["parameters"].update(bucket="uploads-1250000000"),
     "serverless.yml: inputs.events[0].cos.parameters.bucket: 'uploads-1250000000': write the "
     "bucket's host, 'uploads-1250000000.cos.ap-guangzhou.myqcloud.com'"),
])
def test_each_deploy_problem_names_the_field_and_what_to_write(mutate, expected):
    d = doc(trigger("in/"))
    d["inputs"]["runtime"] = "Python3.7"
    d["inputs"]["role"] = "picops-role"
    assert deployable_problems(copy.deepcopy(d)) == []
    mutate(d)
    problems = deployable_problems(d)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("memory, hint", [(200, "write 256"), (100, "write 128"),
                                          (4096, ""), (0, ""), ("256", "")])
def test_memory_sizes_outside_the_allow_list_are_refused(memory, hint):
    d = doc(trigger("in/"))
    d["inputs"]["memorySize"] = memory
    (problem,) = [p for p in problems_of(d) if "memorySize" in p]
    assert "64 or a multiple of 128 up to 3072" in problem and hint in problem


@pytest.mark.parametrize("memory", [64, 128, 384, 3072])
def test_memory_sizes_of_the_allow_list_pass(memory):
    d = doc(trigger("in/"))
    d["inputs"]["memorySize"] = memory
    assert parse_serverless(d).memory == memory
