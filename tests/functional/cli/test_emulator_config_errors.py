"""``picops emulator`` names the file of each config problem at start, as ``picops validate``
and the live reload do (issue 9, verify's F5)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from picops_cli.main import cli
from tests.hostile_yaml import CASES

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name, text, said, place", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_config_is_named_with_its_file(tmp_path, name, text, said, place):
    config = tmp_path / "hostile.yaml"
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "emulator", "--no-auth", "--port", "0", "--data-dir", str(tmp_path / "data"),
        "--config", str(config), "--serverless", str(REPO / "serverless.yml")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"error: {config}: {place}"), errors[0]
    assert said in errors[0]
