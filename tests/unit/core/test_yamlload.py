"""The one YAML loader: bounds, duplicate keys and placed messages, for every file picops reads."""

import pytest

from picops.config import parse_config
from picops.errors import ConfigError, Problem
from picops.yamlload import MAX_DEPTH, load_yaml
from tests.hostile_yaml import CASES, DEEP


def problems_of(text):
    problems = []
    doc = load_yaml(text, problems)
    return doc, problems


@pytest.mark.parametrize("name,text,message,where", CASES, ids=[c[0] for c in CASES])
def test_hostile_files_are_refused_with_one_placed_problem(name, text, message, where):
    doc, problems = problems_of(text)
    assert doc is None
    (problem,) = problems
    assert message in problem.message
    assert problem.where.startswith(where)


def test_the_recursive_alias_is_placed_at_its_anchor():
    _, (problem,) = problems_of("a: 1\nroutes: &r\n  - x\n  - *r\n")
    assert problem.where == "line 2, column 9" and "contains an alias to itself" in problem.message


def test_nesting_at_the_bound_is_read():
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    doc, problems = problems_of(text)
    assert problems == [] and isinstance(doc, list)


def test_nesting_past_the_bound_names_where_it_went_too_deep():
    _, (problem,) = problems_of("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert problem.where == f"line 1, column {MAX_DEPTH + 1}"


def test_aliases_that_stay_small_are_read():
    doc, problems = problems_of("base: &b {fileid: '/t/{name}'}\nrules: [*b, *b]\n")
    assert problems == [] and doc["rules"] == [{"fileid": "/t/{name}"}] * 2


def test_duplicate_keys_are_placed_at_line_and_column():
    _, problems = problems_of("inputs:\n  timeout: 60\n  memorySize: 128\n  timeout: 3\n")
    assert problems == [Problem("line 4, column 3", "duplicate key 'timeout' in one mapping")]


def test_syntax_errors_keep_their_place():
    _, (problem,) = problems_of("routes: [unclosed\nx: 1\n")
    assert problem.where.startswith("line ") and "invalid YAML" in problem.message


def test_a_routes_config_reports_the_bound_as_a_config_problem():
    with pytest.raises(ConfigError) as info:
        parse_config(DEEP, source="picops.yaml")
    (problem,) = info.value.problems
    assert info.value.source == "picops.yaml" and problem.where.startswith("line 1, column ")


# --- one reader for every file: the config, its sidecar builder and serverless.yml ----------

def _refusals(path):
    """What each of the three loaders says about the file at ``path``."""
    from picops.config import load_config
    from picops.serverless import load_serverless
    from picops.sidecar import build_sidecar

    said = {}
    for name, load in (("config", lambda: load_config(str(path))),
                       ("serverless", lambda: load_serverless(path)),
                       ("sidecar", lambda: build_sidecar(path.read_bytes(), str(path)))):
        with pytest.raises(ConfigError) as e:
            load()
        said[name] = e.value
    return said


def test_the_three_loaders_refuse_a_file_that_is_not_utf8_alike(tmp_path):
    path = tmp_path / "x.yml"
    path.write_bytes(b"routes: \xff\n")
    said = _refusals(path)
    assert [str(p) for p in said["config"].problems] == [str(p) for p in
                                                         said["sidecar"].problems]
    (problem,) = said["config"].problems
    assert problem.message.startswith("cannot read config file: 'utf-8' codec can't decode")
    assert said["config"].source == str(path)
    (placed,) = said["serverless"].problems
    assert placed.where == str(path)
    assert placed.message.startswith("cannot read the file: 'utf-8' codec can't decode")


def test_the_three_loaders_place_a_yaml_problem_alike(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    said = _refusals(path)
    for name in ("config", "sidecar"):
        (problem,) = said[name].problems
        assert problem.where == "line 2, column 1" and said[name].source == str(path)
    (placed,) = said["serverless"].problems
    assert placed.where == f"{path}: line 2, column 1"
    assert placed.message == said["config"].problems[0].message
