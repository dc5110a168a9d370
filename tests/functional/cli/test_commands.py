"""The validate / explain / invoke commands, driven through click with real files."""

import json
import re
import textwrap
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from picops_cli import target as targets
from picops_cli.main import cli
from tests.configs import SERVERLESS_HEAD

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
    assert "derived-1250000000/thumbs/uploads/2024/cat photo_jpg_400.webp" in result.output
    payload = json.loads(result.output.split("Pic-Operations:\n", 1)[1].splitlines()[0])
    assert payload["rules"][0]["fileid"] == "/thumbs/uploads/2024/cat photo_jpg_400.webp"
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
    # the HTTP is stubbed below: nothing listens on the port itself
    monkeypatch.setattr(targets, "unreachable", lambda target: None)
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
    # the synthesized event has no ETag: the handler HEADs the source for it, then looks
    # for the source's manifest (none yet), and writes one after
    responses.add(responses.HEAD, endpoint, status=200, headers={"ETag": '"src"',
                                                                   "x-cos-request-id": "h"})
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
    assert sent and sent[0]["rules"][0]["fileid"] == "/thumbs/uploads/a b+c_jpg_400.webp"


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


# --- validate: every serverless.yml check, through the command --------------------------

UPLOADS_HOST = "uploads-1250000000.cos.ap-guangzhou.myqcloud.com"
DERIVED_HOST = "derived-1250000000.cos.ap-guangzhou.myqcloud.com"


def serverless_with(tmp_path, *triggers):
    """A serverless.yml with these (bucket host, prefix, event) COS triggers, all enabled."""
    events = "".join(f"""
            - cos:
                parameters:
                  bucket: {host}
                  filter:
                    prefix: {prefix!r}
                  events: '{event}'
                  enable: true""" for host, prefix, event in triggers)
    path = tmp_path / "serverless.yml"
    path.write_text(SERVERLESS_HEAD + "  events:" + textwrap.indent(textwrap.dedent(events), "  ")
                    + "\n", encoding="utf-8")
    return path


COVERING = ((UPLOADS_HOST, "uploads/", "cos:ObjectCreated:*"),
            (UPLOADS_HOST, "avatars/", "cos:ObjectCreated:*"))


def validate_with(tmp_path, *extra):
    return CliRunner().invoke(cli, ["validate", "--config", str(CONFIG), "--serverless",
                                    str(serverless_with(tmp_path, *COVERING, *extra))])


def test_validate_accepts_covering_triggers_written_here(tmp_path):
    # the helper's baseline: the tests below fail for their one extra trigger only
    result = validate_with(tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 trigger(s) OK" in result.output


def test_validate_reports_overlapping_triggers(tmp_path):
    # a nested prefix with its own trigger: COS refuses the second filter
    result = validate_with(tmp_path, (UPLOADS_HOST, "uploads/banners/", "cos:ObjectCreated:*"))
    assert result.exit_code == 1
    assert re.search(r"error: .*serverless\.yml: inputs\.events\[2\]\.cos\.parameters\.filter: "
                     r"overlaps inputs\.events\[0\] on bucket uploads-1250000000",
                     result.stderr), result.stderr
    assert "1 problem(s) found" in result.stderr


def test_validate_reports_a_trigger_that_fires_on_an_output(tmp_path):
    # the uploads/ route writes /thumbs/... to the derived bucket, which this trigger watches
    result = validate_with(tmp_path, (DERIVED_HOST, "thumbs/", "cos:ObjectCreated:*"))
    assert result.exit_code == 1
    assert re.search(r"error: routes\[0\]\.rules\[0\]: possible loop: output "
                     r"'/thumbs/\{dir\}/\{stem\}_\{ext\}_400\.webp' lands in bucket "
                     r"derived-1250000000 "
                     r".*serverless\.yml trigger inputs\.events\[2\]", result.stderr), \
        result.stderr


def test_validate_reports_a_trigger_that_fires_on_manifests(tmp_path):
    result = validate_with(tmp_path, (UPLOADS_HOST, "_picops/", "cos:ObjectRemove:*"))
    assert result.exit_code == 1
    assert "inputs.events[2].cos.parameters.filter: cos:ObjectRemove:* trigger" in result.stderr
    assert "fires on manifest keys" in result.stderr


def test_validate_refuses_a_serverless_file_that_is_not_there(tmp_path):
    result = CliRunner().invoke(cli, ["validate", "--config", str(CONFIG), "--serverless",
                                      str(tmp_path / "serverles.yml")])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'serverles.yml'}: not found" in result.stderr


def test_validate_without_a_serverless_file_checks_the_config_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./serverless.yml: the default is optional
    result = CliRunner().invoke(cli, ["validate", "--config", str(CONFIG)])
    assert result.exit_code == 0, result.output
    assert "triggers not checked" in result.stderr


# --- explain ------------------------------------------------------------------------------

def test_explain_prints_the_header_byte_for_byte(tmp_path):
    from picops.routing import pic_operations_header

    result = run("explain", "avatars/李 雷.png", "--config", CONFIG, "--serverless", SERVERLESS)
    assert result.exit_code == 0, result.output
    line = result.output.split("Pic-Operations:\n", 1)[1].splitlines()[0].strip()
    payload = {"is_pic_info": 0, "rules": [
        {"fileid": "/avatars-small/avatars/李 雷_png_128.jpg",
         "rule": "imageView2/1/w/128/h/128/q/85"},
        {"fileid": "/avatars-small/avatars/李 雷_png_64.webp",
         "rule": "imageView2/1/w/64/h/64/format/webp"}]}
    assert line == pic_operations_header(payload)
    assert "\\u674e \\u96f7" in line  # non-ASCII as the handler sends it
    assert "uploads-1250000000/avatars-small/avatars/李 雷_png_128.jpg" in result.output


def test_explain_lists_outputs_the_function_would_refuse(tmp_path):
    config = tmp_path / "picops.yaml"
    config.write_text(textwrap.dedent("""
        routes:
          - prefix: in/
            bucket: uploads-1250000000
            rules:
              - fileid: /in/copies/{dir}/{name}
                rule: imageMogr2/strip
              - fileid: /out/{dir}/{name}
                rule: imageMogr2/strip
    """), encoding="utf-8")
    result = run("explain", "in/a.jpg", "--bucket", "uploads-1250000000", "--config", config)
    assert result.exit_code == 1, result.output  # the record would fail: a non-zero exit
    assert "uploads-1250000000/out/in/a.jpg" in result.output
    assert "! routes[0].rules[0] -> uploads-1250000000: refused (LoopRefused)" in result.output
    assert ("no CI call is sent (all or nothing per record); the record would fail: 1 "
            "output(s) refused") in result.output
    assert '"fileid":"/in/copies/in/a.jpg"' not in result.output
    assert "ci_image_process call" not in result.output  # not even the valid output's


@pytest.mark.parametrize("key, reason", [
    ("uploads/2024/", "folder_marker"),
    ("_picops/manifests/uploads/a.jpg.json", "manifest_object"),
    ("avatars-small/avatars/me_jpg_128.jpg", "loop_guard"),
])
def test_explain_skips_as_the_function_does(key, reason):
    result = run("explain", key, "--bucket", "uploads-1250000000", "--config", CONFIG,
                 env={"COS_ENDPOINT": None})
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()[:2]
    assert first == "target: Tencent Cloud COS (nothing is sent)"
    assert second.startswith(f"{key}: skipped ({reason}): ")


# --- invoke on an event file ----------------------------------------------------------------

def fake_cos_and_ci(sent):
    """Stub the endpoint: CI answers one output per rule; no manifest yet; PUTs succeed;
    the source, HEADed after CI, still has the event's ETag."""
    def answer(request):
        ops = json.loads(request.headers["Pic-Operations"])
        sent.append((request.url, ops))
        objs = "".join(
            f"<Object><Key>{r['fileid'].lstrip('/')}</Key><Location>x</Location>"
            f"<Format>webp</Format><Width>1</Width><Height>1</Height><Size>1</Size>"
            f"<Quality>80</Quality><ETag>\"e\"</ETag></Object>" for r in ops["rules"])
        return 200, {"x-cos-request-id": "ci-1"}, (
            f"<UploadResult><ProcessResults>{objs}</ProcessResults></UploadResult>")

    endpoint = re.compile(r"http://127\.0\.0\.1:9/.*")
    responses.add_callback(responses.POST, endpoint, callback=answer)
    responses.add(responses.GET, endpoint, status=404, headers={"x-cos-request-id": "q"},
                  body="<Error><Code>NoSuchKey</Code><Message>m</Message><Resource>r"
                       "</Resource><RequestId>q</RequestId><TraceId>t</TraceId></Error>")
    responses.add(responses.PUT, endpoint, status=200, headers={"ETag": '"m"',
                                                                  "x-cos-request-id": "q"})
    responses.add(responses.HEAD, endpoint, status=200, headers={
        "ETag": '"0d7316832fef232e5dcdcf81f39bfdba"', "x-cos-request-id": "q"})


@responses.activate
def test_invoke_runs_main_handler_on_an_event_file(monkeypatch, tmp_path):
    monkeypatch.setenv("COS_ENDPOINT", "http://127.0.0.1:9")
    # the HTTP is stubbed below: nothing listens on the port itself
    monkeypatch.setattr(targets, "unreachable", lambda target: None)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", "AKIDtest")
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", "secret")
    monkeypatch.delenv("PICOPS_CONFIG", raising=False)
    monkeypatch.chdir(REPO)
    sent = []
    fake_cos_and_ci(sent)
    # a real-shaped two-record event: a photo, and a folder marker
    event = json.loads((REPO / "tests" / "events" / "cos_multi_record.json").read_text("utf-8"))
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")

    result = run("invoke", path)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{\n"):])
    assert summary["counts"] == {"processed": 2, "skipped": 1, "failed": 0}
    assert [(r["key"], r["outcome"]) for r in summary["results"]] == [
        ("uploads/2024/cat.jpg", "processed"), ("uploads/2024/", "skipped"),
        ("avatars/me.png", "processed")]
    assert [url.split("?")[0] for url, _ in sent] == [
        "http://127.0.0.1:9/uploads/2024/cat.jpg", "http://127.0.0.1:9/avatars/me.png"]
    # the function's own outcome lines went to stdout too, before the summary
    lines = [json.loads(ln) for ln in result.output.splitlines() if ln.startswith('{"level"')]
    assert [ln["outcome"] for ln in lines] == ["processed", "skipped", "processed"]


def test_invoke_says_when_an_event_file_is_not_json(tmp_path):
    path = tmp_path / "event.json"
    path.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["invoke", str(path)])
    assert result.exit_code == 1
    assert "event.json: not valid JSON" in result.output


def test_validate_notes_imagemogr2_rules_without_auto_orient_but_passes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./serverless.yml: triggers not checked
    cfg = tmp_path / "picops.yaml"
    cfg.write_text(textwrap.dedent("""
        routes:
          - prefix: in/
            bucket: derived-1250000000
            rules:
              - fileid: /t/{dir}/{name}.webp
                rule: imageMogr2/thumbnail/400x/format/webp
              - fileid: /o/{dir}/{name}.webp
                rule: imageMogr2/auto-orient/thumbnail/400x/format/webp
              - fileid: /v/{dir}/{name}.jpg
                rule: imageView2/1/w/100/h/100
    """), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "auto-orient" in line]
    assert len(notes) == 1 and notes[0].startswith("note: routes[0].rules[0]: no auto-orient")


def test_the_shipped_config_needs_no_orientation_advice():
    result = run("validate", "--config", CONFIG, "--serverless", SERVERLESS)
    assert result.exit_code == 0 and "auto-orient" not in result.stderr
