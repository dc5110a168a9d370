"""Config validation: every problem at once, each placed, each message precise."""

import textwrap

import pytest

from picops.config import config_path, load_config, parse_config
from picops.errors import ConfigError

GOOD = """
routes:
  - prefix: uploads/
    suffixes: [.JPG, .png]
    bucket: derived-1250000000
    pic_info: true
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
        rule: imageMogr2/thumbnail/400x/format/webp
      - fileid: /covers/{dir}/{stem}_{ext}.jpg
        rule: imageView2/1/w/300/h/300/q/85
        bucket: covers-1250000000
  - prefix: ""
    suffixes: [.gif]
    rules:
      - fileid: /gif-previews/{dir}/{name}.png
        rule: imageMogr2/format/png
"""


def problems_of(text: str):
    with pytest.raises(ConfigError) as e:
        parse_config(textwrap.dedent(text), source="picops.yaml")
    return [str(p) for p in e.value.problems]


def test_good_config_builds_the_model():
    config = parse_config(textwrap.dedent(GOOD))
    first, second = config.routes
    assert (first.prefix, first.suffixes, first.bucket, first.pic_info, first.index) == (
        "uploads/", (".jpg", ".png"), "derived-1250000000", True, 0)
    assert [r.index for r in first.rules] == [0, 1]
    # a rule's bucket: its own, else its route's
    assert [r.bucket for r in first.rules] == ["derived-1250000000", "covers-1250000000"]
    assert str(first.rules[0].parsed) == "imageMogr2/thumbnail/400x/format/webp"
    assert second.prefix == "" and second.bucket is None and not second.pic_info
    assert second.rules[0].bucket is None


def test_suffixes_match_case_insensitively():
    config = parse_config(textwrap.dedent(GOOD))
    assert config.routes[0].matches("uploads/a.jpg")
    assert config.routes[0].matches("uploads/a.PNG")
    assert not config.routes[0].matches("uploads/a.gif")
    assert not config.routes[0].matches("other/a.jpg")


@pytest.mark.parametrize("text, expected", [
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/thumbnial/400x\n",
     "routes[0].rules[0].rule: unknown imageMogr2 parameter 'thumbnial'"),
    ("routes:\n  - prefix: a/\n    bucket: Derived\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].bucket: 'Derived' is not a bucket name of the form name-appid"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n        bucket: derived\n",
     "routes[0].rules[0].bucket: 'derived' is not a bucket name of the form name-appid"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{nam}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: '/t/{nam}': unknown placeholder '{nam}' (known: {key}, {dir}, "
     "{name}, {stem}, {ext})"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{dir}/{name}/\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: '/t/{dir}/{name}/' ends with '/'"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/../{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: '/t/../{name}' has a '..' segment"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t//{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: '/t//{name}' has an empty segment ('//')"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: ''\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: empty fileid"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{name\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].rules[0].fileid: '/t/{name': unbalanced brace in '{name'"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: " + "|".join(["imageMogr2/strip"] * 11) + "\n",
     "routes[0].rules[0].rule: rule has 11 stages; CI allows at most 10"),
    ("routes:\n  - prefix: a/\n    rulez: []\n",
     "routes[0].rulez: unknown field 'rulez' (expected one of: prefix, suffixes, bucket, "
     "pic_info, rules)"),
    ("routes:\n  - prefix: a/\n    rules: []\n",
     "routes[0].rules: expected a non-empty list of rules, got a list"),
    ("routes:\n  - rules:\n      - fileid: /t/{dir}/{name}\n        rule: imageMogr2/format/png\n",
     "routes[0].prefix: missing (use \"\" to match every key)"),
    ("routes:\n  - prefix: 2024\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].prefix: expected a string, got 2024 (a number)"),
    ("routes:\n  - prefix: /uploads/\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].prefix: '/uploads/' starts with '/': object keys never do"),
    ("routes:\n  - prefix: a/\n    suffixes: .jpg\n    rules:\n      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].suffixes: expected a non-empty list of suffixes such as [.jpg, .png], got "
     "'.jpg' (a string)"),
    ("routes:\n  - prefix: a/\n    pic_info: yes please\n    rules:\n"
     "      - fileid: /t/{dir}/{name}\n"
     "        rule: imageMogr2/format/png\n",
     "routes[0].pic_info: expected true or false, got 'yes please' (a string)"),
    ("routes:\n  - prefix: a/\n    rules:\n      - fileid: /t/{dir}/{name}\n",
     "routes[0].rules[0].rule: missing"),
    ("routes:\n  - prefix: a/\n    rules:\n      - /t/{dir}/{name}\n",
     "routes[0].rules[0]: expected a mapping with fileid and rule, got '/t/{dir}/{name}' "
     "(a string)"),
    ("route: []\n", "route: unknown field 'route' (expected one of: routes, manifests)"),
    ("routes: {}\n", "routes: expected a list of routes, got a mapping"),
    ("routes: []\n", "routes: empty: no object would be processed"),
    ("", "empty config: expected a mapping with 'routes'"),
    ("- a\n", "expected a mapping with 'routes', got a list"),
])
def test_each_problem_message(text, expected):
    problems = problems_of(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_yaml_syntax_error_has_its_line():
    problems = problems_of("routes:\n  - prefix: a/\n    rules: [\n  bad: : x\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 4, column ")
    assert "invalid YAML" in problems[0]


def test_duplicate_yaml_key_is_reported_with_its_line_and_column():
    problems = problems_of("""\
        routes:
          - prefix: a/
            rules:
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/format/png
            rules:
              - fileid: /u/{dir}/{name}
                rule: imageMogr2/format/png
        """)
    assert problems == ["line 6, column 5: duplicate key 'rules' in one mapping"]


def test_every_problem_is_reported_at_once():
    problems = problems_of("""\
        routes:
          - prefix: a/
            bucket: NOPE
            rules:
              - fileid: /t/{nope}
                rule: imageMogr2/thumbnial/1x
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/format/png
                colour: red
          - prefix: b/
            rules:
              - fileid: '{name}.webp'
                rule: imageMogr2/format/webp
        """)
    wheres = [p.split(":")[0] for p in problems]
    assert wheres == ["routes[0].bucket", "routes[0].rules[0].fileid", "routes[0].rules[0].rule",
                      "routes[0].rules[1].colour", "routes[1].rules[0]"]
    assert "possible loop" in problems[-1]


def test_config_error_message_lists_source_and_count():
    with pytest.raises(ConfigError) as e:
        parse_config("routes: []\n", source="my.yaml")
    assert str(e.value).startswith("my.yaml: 1 problem(s)\n")
    assert e.value.code == "InvalidConfig" and not e.value.retryable


@pytest.mark.parametrize("a, b, overlap", [
    ("", "", True),
    ("[.jpg]", "", True),
    ("[.jpg]", "[.JPG]", True),
    ("[.jpg]", "[_raw.jpg]", True),
    ("[.jpg]", "[.png]", False),
    ("[.jpg, .jpeg]", "[.png, .gif]", False),
])
def test_duplicate_prefixes_with_overlapping_suffixes(a, b, overlap):
    def route(s):
        line = f"    suffixes: {s}\n" if s else ""
        return (f"  - prefix: up/\n{line}    bucket: derived-1250000000\n    rules:\n"
                f"      - fileid: /t/{{dir}}/{{name}}\n        rule: imageMogr2/format/png\n")
    text = "routes:\n" + route(a) + route(b)
    if overlap:
        problems = problems_of(text)
        assert len(problems) == 1
        assert problems[0].startswith("routes[1].prefix: duplicate route: prefix 'up/' is also "
                                      "routes[0]'s")
    else:
        assert len(parse_config(text).routes) == 2


def test_same_output_twice_in_a_route_is_rejected():
    problems = problems_of("""\
        routes:
          - prefix: a/
            bucket: derived-1250000000
            rules:
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/format/png
              - fileid: /t/{dir}/{name}
                rule: imageMogr2/format/webp
        """)
    assert problems == ["routes[0].rules[1].fileid: '/t/{dir}/{name}' is already the output of "
                        "routes[0].rules[0] in the same bucket"]


def test_load_config_reads_files(tmp_path):
    path = tmp_path / "picops.yaml"
    path.write_text(textwrap.dedent(GOOD), encoding="utf-8")
    config = load_config(str(path))
    assert config.source == str(path) and len(config.routes) == 2


def test_load_config_missing_file(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(str(tmp_path / "nope.yaml"))
    assert e.value.source.endswith("nope.yaml")
    assert str(e.value.problems[0]) == "cannot read config file: No such file or directory"


def test_config_path_default_env_and_relative(tmp_path):
    d = str(tmp_path)
    assert config_path({}, d) == str(tmp_path / "picops.yaml")
    assert config_path({"PICOPS_CONFIG": "conf/prod.yaml"}, d) == str(tmp_path / "conf/prod.yaml")
    assert config_path({"PICOPS_CONFIG": "/etc/picops.yaml"}, d) == "/etc/picops.yaml"


def test_shipped_example_config_is_valid():
    from pathlib import Path
    root = Path(__file__).resolve().parents[3]
    config = load_config(str(root / "functions" / "image_processor" / "picops.yaml"))
    assert any(r.prefix == "uploads/" for r in config.routes)
    assert any(r.bucket is None for r in config.routes)  # a route writing to its own bucket
