"""Config problems the commands report, each with its file and place (issue 9): ``picops
emulator`` at start, as ``picops validate`` and the live reload do (verify's F5), and
``picops validate`` on a route whose calls can be over the Pic-Operations limit (F6)."""

import base64
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


def test_validate_names_a_route_whose_calls_can_be_over_the_header_limit(tmp_path):
    """verify's F6 config (5 rules, 800 CJK characters of watermark text each), which
    ``picops validate`` accepted and every upload of the route then failed on."""
    text = base64.urlsafe_b64encode(("图" * 800).encode()).decode().rstrip("=")
    rules = "".join(f"      - fileid: /w{i}/{{dir}}/{{name}}.jpg\n"
                    f"        rule: imageMogr2/auto-orient|watermark/2/text/{text}/fontsize/20\n"
                    for i in range(5))
    config = tmp_path / "f6.yaml"
    config.write_text("routes:\n  - prefix: uploads/\n    suffixes: [.jpg]\n"
                      "    bucket: derived-1250000000\n    rules:\n" + rules, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(config), "--serverless",
                                      str(REPO / "serverless.yml")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines()
              if "Pic-Operations" in line]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"error: {config}: routes[0].rules: with output keys of 850 "
                                "bytes, rules [0, 1, 2, 3, 4] make a Pic-Operations header of ")
    assert "at most 8192" in errors[0]
