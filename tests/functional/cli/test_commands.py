"""The validate / explain / invoke commands, driven through click with real files."""

import json
import re
import textwrap
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from picops_cli.main import cli

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "functions" / "image_processor" / "picops.yaml"
SERVERLESS = REPO / "serverless.yml"


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def test_validate_accepts_the_shipped_pair():
    result = run("validate", "--config", CONFIG, "--serverless", SERVERLESS)
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "trigger(s) OK" in result.output


def test_validate_lists_every_problem_with_its_place_and_fails(tmp_path):
    bad = tmp_path / "picops.yaml"
    bad.write_text(textwrap.dedent("""
        routes:
          - prefix: in/
            bucket: not_a_bucket
            rules:
              - fileid: /out/{stem}.webp
                rule: imageMogr2/thumbnial/400x
              - fileid: /out/{colour}.jpg
                rule: imageView2/1/w/100/h/100
    """), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(bad), "--serverless",
                                      str(tmp_path / "none.yml")])
    assert result.exit_code == 1
    err = result.stderr
    assert "routes[0].rules[0].rule" in err and "thumbnial" in err
    assert "routes[0].rules[1].fileid" in err and "colour" in err
    assert "routes[0].bucket" in err


def test_validate_reports_a_route_no_trigger_covers(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace(
        "prefix: avatars/", "prefix: people/"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(config), "--serverless",
                                      str(SERVERLESS)])
    assert result.exit_code == 1
    assert "people/" in result.stderr


def test_explain_shows_route_outputs_and_the_exact_pic_operations():
    result = run("explain", "uploads/2024/cat photo.jpg", "--config", CONFIG, "--serverless",
                 SERVERLESS)
    assert result.exit_code == 0, result.output
    assert "bucket: uploads-1250000000" in result.output
    assert "derived-1250000000/thumbs/uploads/2024/cat photo_400.webp" in result.output
    payload = json.loads(result.output.split("Pic-Operations:\n", 1)[1].splitlines()[0])
    assert payload["rules"][0]["fileid"] == "/thumbs/uploads/2024/cat photo_400.webp"
    assert payload["rules"][0]["bucket"] == "derived-1250000000"


def test_explain_says_when_a_key_is_skipped():
    result = run("explain", "uploads/readme.txt", "--config", CONFIG, "--serverless",
                 SERVERLESS)
    assert result.exit_code == 0
    assert "skipped (no_route)" in result.output


@responses.activate
def test_invoke_runs_main_handler_on_a_synthesized_event(monkeypatch):
    # GIVEN the function pointed at an endpoint whose CI answers with one output per rule
    monkeypatch.setenv("COS_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", "AKIDtest")
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", "secret")
    monkeypatch.chdir(REPO)
    sent = []

    def answer(request):
        ops = json.loads(request.headers["Pic-Operations"])
        sent.append(ops)
        objs = "".join(
            f"<Object><Key>{r['fileid'].lstrip('/')}</Key><Location>x</Location>"
            f"<Format>webp</Format><Width>1</Width><Height>1</Height><Size>1</Size>"
            f"<Quality>80</Quality><ETag>\"e\"</ETag></Object>" for r in ops["rules"])
        body = (f"<UploadResult><OriginalInfo><Key>k</Key></OriginalInfo>"
                f"<ProcessResults>{objs}</ProcessResults></UploadResult>")
        return 200, {"x-cos-request-id": "req-1"}, body

    endpoint = re.compile(r"http://127\.0\.0\.1:9/.*")
    responses.add_callback(responses.POST, endpoint, callback=answer)
    # the handler first looks for the source's manifest (none yet), and writes one after
    missing = ("<Error><Code>NoSuchKey</Code><Message>m</Message><Resource>r</Resource>"
               "<RequestId>q</RequestId><TraceId>t</TraceId></Error>")
    responses.add(responses.GET, endpoint, status=404, body=missing,
                  headers={"x-cos-request-id": "q"})
    responses.add(responses.PUT, endpoint, status=200, headers={"ETag": '"m"',
                                                                  "x-cos-request-id": "q"})
    # WHEN invoke synthesizes an upload event for a routed key
    result = run("invoke", "--bucket", "uploads-1250000000", "--key", "uploads/a b+c.jpg",
                 "--size", "1000")
    # THEN the handler ran, called CI with the route's rules, and printed its summary
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{\n"):])
    assert summary["counts"]["processed"] == 1
    assert sent and sent[0]["rules"][0]["fileid"] == "/thumbs/uploads/a b+c_400.webp"


def test_invoke_refuses_both_an_event_file_and_a_key(tmp_path):
    event = tmp_path / "e.json"
    event.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["invoke", str(event), "--key", "k", "--bucket", "b-1"])
    assert result.exit_code == 2
    assert "not both" in result.output


@pytest.mark.parametrize("args", [["validate", "--help"], ["emulator", "--help"],
                                  ["demo", "--help"], ["preview", "--help"]])
def test_every_command_documents_itself(args):
    result = run(*args)
    assert result.exit_code == 0 and "Usage:" in result.output
