"""Hostile config files fail fast, with a clear error naming the file and the line, in every
reader: the function's cold start, ``picops validate`` and the emulator (issue 9)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from picops.errors import ConfigError
from picops.handler import FailedProcessor, processor_from_env
from picops_cli.main import cli
from picops_emulator.local import LocalOptions, prepare
from tests.hostile_yaml import CASES

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "functions" / "image_processor" / "picops.yaml"
SERVERLESS = REPO / "serverless.yml"
ENV = {"TENCENTCLOUD_SECRETID": "a", "TENCENTCLOUD_SECRETKEY": "b",
       "TENCENTCLOUD_REGION": "ap-guangzhou"}
IDS = [c[0] for c in CASES]

#: serverless.yml with a second ``timeout:`` (plain safe_load keeps the last one, 3 s).
DUPLICATE_TIMEOUT = SERVERLESS.read_text(encoding="utf-8").replace(
    "  timeout: 60\n", "  timeout: 60\n  timeout: 3\n")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,text,message,where", CASES, ids=IDS)
def test_cold_start_refuses_a_hostile_config(tmp_path, name, text, message, where):
    write(tmp_path, "picops.yaml", text)
    processor = processor_from_env(ENV, str(tmp_path))
    assert isinstance(processor, FailedProcessor)
    (problem,) = processor.error.problems
    assert processor.error.source == str(tmp_path / "picops.yaml")
    assert message in problem.message and problem.where.startswith(where)
    with pytest.raises(ConfigError, match=message):
        processor.handle({"Records": []}, {})


@pytest.mark.parametrize("hostile", ["picops.yaml", "serverless.yml"])
@pytest.mark.parametrize("name,text,message,where", CASES, ids=IDS)
def test_validate_refuses_a_hostile_file(tmp_path, hostile, name, text, message, where):
    """The hostile text as the config (beside the shipped serverless.yml), then as the
    serverless.yml (beside the shipped config)."""
    path = write(tmp_path, hostile, text)
    files = {"picops.yaml": CONFIG, "serverless.yml": SERVERLESS, hostile: path}
    result = CliRunner().invoke(cli, ["validate", "--config", str(files["picops.yaml"]),
                                      "--serverless", str(files["serverless.yml"])])
    assert result.exit_code == 1
    assert f"error: {path}: {where}" in result.stderr and message in result.stderr


def test_validate_refuses_a_duplicate_timeout_in_serverless_yml(tmp_path):
    path = write(tmp_path, "serverless.yml", DUPLICATE_TIMEOUT)
    result = CliRunner().invoke(cli, ["validate", "--config", str(CONFIG), "--serverless",
                                      str(path)])
    assert result.exit_code == 1
    line = DUPLICATE_TIMEOUT.splitlines().index("  timeout: 3") + 1
    assert (f"error: {path}: line {line}, column 3: duplicate key 'timeout' in one mapping"
            in result.stderr)


@pytest.mark.parametrize("name,text,message,where", CASES, ids=IDS)
def test_the_emulator_refuses_a_hostile_serverless_yml(tmp_path, name, text, message, where):
    path = write(tmp_path, "serverless.yml", text)
    with pytest.raises(ConfigError) as info:
        prepare(LocalOptions(serverless_path=path, config_path=CONFIG, auth=False))
    (problem,) = info.value.problems
    assert problem.where.startswith(f"{path}: {where}".rstrip(": ")) and message in problem.message


def test_the_emulator_refuses_a_duplicate_timeout(tmp_path):
    path = write(tmp_path, "serverless.yml", DUPLICATE_TIMEOUT)
    with pytest.raises(ConfigError, match="duplicate key 'timeout'"):
        prepare(LocalOptions(serverless_path=path, config_path=CONFIG, auth=False))


@pytest.mark.parametrize("name,text,message,where", CASES, ids=IDS)
def test_the_emulator_refuses_a_hostile_config(tmp_path, name, text, message, where):
    path = write(tmp_path, "picops.yaml", text)
    with pytest.raises(ConfigError) as info:
        prepare(LocalOptions(serverless_path=SERVERLESS, config_path=path, auth=False))
    (problem,) = info.value.problems
    assert info.value.source == str(path)
    assert message in problem.message and problem.where.startswith(where)


def test_a_relative_picops_config_names_one_file_everywhere(tmp_path, monkeypatch):
    """Function, CLI and emulator read a relative PICOPS_CONFIG from the function's folder."""
    from picops.config import config_path
    from picops_cli.defaults import FUNCTION_DIR, default_config_path
    from picops_emulator.local import resolve_config_path

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PICOPS_CONFIG", "picops.yaml")
    function_dir = REPO / FUNCTION_DIR
    expected = function_dir / "picops.yaml"
    assert Path(config_path({"PICOPS_CONFIG": "picops.yaml"}, str(function_dir))) == expected
    assert (REPO / default_config_path()) == expected
    assert resolve_config_path(LocalOptions(), function_dir) == expected
