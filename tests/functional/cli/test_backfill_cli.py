"""`picops backfill` and `picops plan` at the command line: validation before any work
(exit 2, every problem listed) and the config diff of `picops plan`."""

import json
import textwrap

import pytest
from click.testing import CliRunner

from picops.config import parse_config
from picops_cli.backfill.command import backfill
from picops_cli.plan import diff_configs, plan
from tests.configs import BACKFILL_ROUTES, change_photo_rules

CURRENT = BACKFILL_ROUTES + """\
  - prefix: docs/
    bucket: derived-1250000000
    rules:
      - fileid: /docs-thumbs/{dir}/{name}.jpg
        rule: imageMogr2/thumbnail/100x/format/jpg
"""

# photos/ rules changed, docs/ dropped, banners/ added
NEW = change_photo_rules(BACKFILL_ROUTES) + """\
  - prefix: banners/
    bucket: derived-1250000000
    rules:
      - fileid: /banners/{dir}/{name}_64.jpg
        rule: imageMogr2/thumbnail/64x/format/jpg
"""

ENV = {"TENCENTCLOUD_SECRETID": "AKIDtest", "TENCENTCLOUD_SECRETKEY": "key",
       "TENCENTCLOUD_REGION": "ap-guangzhou", "COS_ENDPOINT": "http://127.0.0.1:9"}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # ./serverless.yml is checked when present: run where there is none unless a test
    # writes one
    monkeypatch.chdir(tmp_path)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_backfill_lists_every_problem_and_exits_2_before_doing_anything(tmp_path):
    bad = write(tmp_path, "bad.yaml", """
        routes:
          - prefix: photos/
            rules:
              - fileid: /out/{stem}.webp
                rule: imageMogr2/thumbnial/400x
          - prefix: loop/
            rules:
              - fileid: loop/{stem}_small.jpg
                rule: imageMogr2/thumbnail/10x
    """)
    env = {k: "" for k in ENV}  # no credentials either
    result = CliRunner().invoke(backfill, ["--bucket", "Not_A_Bucket", "--config", str(bad),
                                           "--serverless", str(tmp_path / "none.yml"),
                                           "--region", "ap-guangzhou"], env=env)
    assert result.exit_code == 2, result.output
    err = result.output
    assert "thumbnial" in err                       # grammar
    assert "possible loop" in err                   # loop safety
    assert "--bucket" in err and "Not_A_Bucket" in err
    assert "TENCENTCLOUD_SECRETID" in err           # credentials
    assert "none.yml: not found" in err
    assert "nothing was done" in err


def test_backfill_refuses_outputs_a_trigger_would_fire_on(tmp_path):
    config = write(tmp_path, "picops.yaml", """
        routes:
          - prefix: photos/
            bucket: derived-1250000000
            rules:
              - fileid: /thumbs/{dir}/{name}.jpg
                rule: imageMogr2/thumbnail/32x
    """)
    # the derived bucket has a trigger on thumbs/: the outputs would fire the function.
    # Only loop safety is checked: no trigger covers photos/, and that is fine for backfill.
    serverless = write(tmp_path, "serverless.yml", """
        component: scf
        name: t
        inputs:
          name: t
          src: ./build
          handler: index.main_handler
          runtime: Python3.9
          region: ap-guangzhou
          events:
            - cos:
                parameters:
                  bucket: derived-1250000000.cos.ap-guangzhou.myqcloud.com
                  filter:
                    prefix: thumbs/
                  events: 'cos:ObjectCreated:*'
                  enable: true
    """)
    result = CliRunner().invoke(backfill, ["--bucket", "src-1250000000", "--config", str(config),
                                           "--serverless", str(serverless)], env=ENV)
    assert result.exit_code == 2, result.output
    assert "possible loop" in result.output and "serverless.yml trigger" in result.output
    assert "not covered" not in result.output


def test_backfill_refuses_a_trigger_that_would_fire_on_its_manifests(tmp_path):
    config = write(tmp_path, "picops.yaml", CURRENT)
    # an unfiltered trigger on the source bucket: every manifest backfill writes there
    # (_picops/manifests/...) would fire the function
    serverless = write(tmp_path, "serverless.yml", """
        component: scf
        name: t
        inputs:
          name: t
          src: ./build
          handler: index.main_handler
          runtime: Python3.9
          region: ap-guangzhou
          events:
            - cos:
                parameters:
                  bucket: src-1250000000.cos.ap-guangzhou.myqcloud.com
                  events: 'cos:ObjectCreated:*'
                  enable: true
    """)
    result = CliRunner().invoke(backfill, ["--bucket", "src-1250000000", "--config", str(config),
                                           "--serverless", str(serverless)], env=ENV)
    assert result.exit_code == 2, result.output
    assert f"{serverless}: inputs.events[0].cos.parameters.filter" in result.output
    assert "fires on manifest keys" in result.output
    assert "nothing was done" in result.output


def test_page_size_needs_fan_out(tmp_path):
    config = write(tmp_path, "picops.yaml", CURRENT)
    result = CliRunner().invoke(backfill, ["--bucket", "src-1250000000", "--config", str(config),
                                           "--page-size", "10"], env=ENV)
    assert result.exit_code == 2 and "--page-size" in result.output


def test_usage_errors_from_click_exit_2(tmp_path):
    config = write(tmp_path, "picops.yaml", CURRENT)
    for args in (["--concurrency", "0"], ["--rate", "0"], ["--limit", "0"], []):
        extra = [] if args == [] else ["--bucket", "src-1250000000"]
        result = CliRunner().invoke(backfill, ["--config", str(config)] + extra + args, env=ENV)
        assert result.exit_code == 2, (args, result.output)


def test_diff_names_added_removed_and_changed_outputs_per_route():
    diffs, notes = diff_configs(parse_config(CURRENT), parse_config(NEW))
    by_route = {d.prefix: d for d in diffs}
    photos = by_route["photos/"]
    assert photos.status == "changed" and photos.hash_changed
    kinds = {(c.kind, c.fileid) for c in photos.changes}
    assert kinds == {("changed", "/thumbs/{dir}/{stem}_{ext}_32.webp"),
                     ("removed", "/small/{dir}/{stem}_{ext}_16.jpg"),
                     ("added", "/medium/{dir}/{stem}_{ext}_48.jpg")}
    assert by_route["avatars/"].status == "unchanged" and not by_route["avatars/"].hash_changed
    assert by_route["banners/"].status == "added"
    assert by_route["docs/"].status == "removed"
    assert [d.prefix for d in diffs] == ["photos/", "avatars/", "banners/", "docs/"]
    assert notes == []


def test_diff_sees_a_target_bucket_change_and_pic_info_but_not_equal_rules():
    moved = CURRENT.replace("      - fileid: /avatars-small/{dir}/{stem}_{ext}_24.png\n",
                            "      - fileid: /avatars-small/{dir}/{stem}_{ext}_24.png\n"
                            "        bucket: derived-1250000000\n")
    moved = moved.replace("    bucket: derived-1250000000\n    rules:\n      - fileid: /thumbs",
                          "    bucket: derived-1250000000\n    pic_info: true\n    rules:\n"
                          "      - fileid: /thumbs")
    diffs, _ = diff_configs(parse_config(CURRENT), parse_config(moved))
    by_route = {d.prefix: d for d in diffs}
    (change,) = by_route["avatars/"].changes
    assert change.kind == "changed" and "bucket (source) -> derived-1250000000" in change.describe()
    photos = by_route["photos/"]
    assert photos.changes == [] and photos.hash_changed and "pic_info" in photos.notes[0]
    assert by_route["docs/"].status == "unchanged"


def test_plan_command_prints_the_diff_and_one_json_line(tmp_path):
    current = write(tmp_path, "current.yaml", CURRENT)
    new = write(tmp_path, "new.yaml", NEW.replace("routes:", "manifests:\n  prefix: _m/\nroutes:"))
    result = CliRunner().invoke(plan, ["--config", str(current), "--new", str(new),
                                       "--serverless", str(tmp_path / "absent.yml")], env=ENV)
    # an explicitly named serverless.yml that is missing is a usage error
    assert result.exit_code == 2 and "absent.yml: not found" in result.output

    result = CliRunner().invoke(plan, ["--config", str(current), "--new", str(new)], env=ENV)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    doc = json.loads(lines[-1])
    photos = next(r for r in doc["routes"] if r["route"] == "photos/")
    assert [c["fileid"] for c in photos["added"]] == ["/medium/{dir}/{stem}_{ext}_48.jpg"]
    assert [c["fileid"] for c in photos["removed"]] == ["/small/{dir}/{stem}_{ext}_16.jpg"]
    assert photos["changed"][0]["before"]["rule"] == "imageMogr2/thumbnail/32x/format/webp"
    assert photos["changed"][0]["after"]["rule"] == "imageMogr2/thumbnail/40x/format/webp"
    assert any("manifests change" in n for n in doc["notes"])
    assert "route 'photos/' ['.jpg', '.png']: changed" in result.output
    assert "+ /medium/{dir}/{stem}_{ext}_48.jpg" in result.output


def test_plan_validates_both_configs(tmp_path):
    current = write(tmp_path, "current.yaml", CURRENT)
    new = write(tmp_path, "new.yaml", NEW.replace("thumbnail/40x", "thumbnial/40x"))
    result = CliRunner().invoke(plan, ["--config", str(current), "--new", str(new)], env=ENV)
    assert result.exit_code == 2 and "new.yaml" in result.output and "thumbnial" in result.output
