"""Reading serverless.yml for the emulator, and the buckets it must create at start."""

import textwrap
from pathlib import Path

import pytest

from picops.config import load_config, parse_config
from picops.model import is_bucket_name
from picops.errors import ConfigError
from picops_emulator.triggers.loader import buckets_to_create, default_function_dir, load_serverless

from tests.configs import SERVERLESS_HEAD

from .conftest import DERIVED, UPLOADS, make_spec, trigger_doc

SERVERLESS = SERVERLESS_HEAD + f"""\
  memorySize: 256
  timeout: 60
  environment:
    variables:
      TARGET_BUCKET: {DERIVED}
  events:
    - cos:
        parameters:
          bucket: {UPLOADS}.cos.ap-guangzhou.myqcloud.com
          filter:
            prefix: uploads/
          events: 'cos:ObjectCreated:*'
          enable: true
"""


def write(tmp_path, text, name="serverless.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_serverless_reads_the_scf_component(tmp_path):
    spec = load_serverless(write(tmp_path, SERVERLESS))
    assert spec.handler == "index.main_handler" and spec.timeout == 60 and spec.memory == 256
    assert spec.environment == {"TARGET_BUCKET": DERIVED}
    (trigger,) = spec.triggers
    assert (trigger.bucket, trigger.prefix, trigger.events, trigger.enable) == (
        UPLOADS, "uploads/", "cos:ObjectCreated:*", True)


def test_yaml_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "component: scf\ninputs:\n  name: [unclosed\n  x: 1\n")
    with pytest.raises(ConfigError) as info:
        load_serverless(path)
    (problem,) = info.value.problems
    assert problem.where.startswith(f"{path}: line ")
    assert "invalid YAML" in problem.message


def test_schema_problems_are_placed_in_the_file(tmp_path):
    path = write(tmp_path, SERVERLESS.replace("enable: true", "enable: maybe"))
    with pytest.raises(ConfigError) as info:
        load_serverless(path)
    assert any(p.where == f"{path}: inputs.events[0].cos.parameters.enable"
               for p in info.value.problems)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_serverless(tmp_path / "absent.yml")


def test_default_function_dir_is_beside_serverless_yml(tmp_path):
    assert default_function_dir(tmp_path / "serverless.yml") == (
        tmp_path.resolve() / "functions" / "image_processor")


def test_buckets_from_triggers_and_routes_config():
    spec = make_spec([trigger_doc(prefix="uploads/"),
                      trigger_doc(bucket="archive-1250000000", enable=False)])
    config = parse_config(textwrap.dedent("""
        routes:
          - prefix: uploads/
            bucket: derived-1250000000
            rules:
              - fileid: /thumbs/{dir}/{name}.webp
                rule: imageMogr2/thumbnail/400x/format/webp
              - fileid: /covers/{dir}/{name}.jpg
                rule: imageView2/1/w/300/h/300
                bucket: covers-1250000000
    """))
    assert buckets_to_create(spec, config) == {
        UPLOADS, "archive-1250000000", DERIVED, "covers-1250000000"}
    assert buckets_to_create(spec) == {UPLOADS, "archive-1250000000"}


def test_the_projects_own_files_load():
    repo = Path(__file__).resolve().parents[3]
    spec = load_serverless(repo / "serverless.yml")
    function_dir = default_function_dir(repo / "serverless.yml")
    module = spec.handler.rpartition(".")[0]
    assert (function_dir / f"{module}.py").is_file()
    config = load_config(str(function_dir / "picops.yaml"))
    buckets = buckets_to_create(spec, config)
    assert {t.bucket for t in spec.triggers} <= buckets
    assert all(is_bucket_name(b) for b in buckets) and len(buckets) >= 2
