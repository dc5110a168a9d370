"""``picops policy``: the CAM policy matches the config's buckets and prefixes exactly."""

import json
import textwrap

from click.testing import CliRunner

from picops.config import parse_config
from picops_cli.main import cli
from picops_cli.policy import Watched, build_policy
from tests.configs import SERVERLESS_HEAD

SRC = "photos-1250000001"
CONFIG = textwrap.dedent("""
    routes:
      - prefix: in/photos/
        suffixes: [.jpg]
        bucket: derived-1250000001
        rules:
          - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
            rule: imageMogr2/thumbnail/400x/format/webp
          - fileid: /fixed/{dir}/{name}.jpg
            rule: imageView2/1/w/300/h/300
      - prefix: in/avatars/
        rules:
          - fileid: /avatars-small/{dir}/{name}.png
            rule: imageView2/1/w/64/h/64/format/png
            bucket: small-1250000001
    manifests:
      prefix: _meta/manifests/
""")


def qcs(bucket, path, region="ap-shanghai"):
    return f"qcs::cos:{region}:uid/1250000001:{bucket}/{path}"


def test_every_grant_is_scoped_to_the_configs_buckets_and_prefixes():
    document, notes = build_policy(parse_config(CONFIG), [Watched(SRC, "ap-shanghai")])
    assert document["version"] == "2.0"
    read, write, manifests = document["statement"]
    assert all(s["effect"] == "allow" for s in document["statement"])
    # reads and CI's POST ?image_process on the watched route prefixes only
    assert read["action"] == ["name/cos:GetObject", "name/cos:HeadObject",
                              "name/cos:PostObject"]
    assert read["resource"] == [qcs(SRC, "in/photos/*"), qcs(SRC, "in/avatars/*")]
    # writes and deletion sync on each rule's output prefix, in its own target bucket
    assert write["action"] == ["name/cos:PutObject", "name/cos:DeleteObject"]
    assert write["resource"] == [qcs("derived-1250000001", "thumbs/in/photos/*"),
                                 qcs("derived-1250000001", "fixed/in/photos/*"),
                                 qcs("small-1250000001", "avatars-small/in/avatars/*")]
    # the manifest prefix of the source bucket: read, write, delete
    assert manifests["action"] == ["name/cos:GetObject", "name/cos:HeadObject",
                                   "name/cos:PutObject", "name/cos:DeleteObject"]
    assert manifests["resource"] == [qcs(SRC, "_meta/manifests/*")]
    assert notes == []
    text = json.dumps(document)
    assert "\"*\"" not in text and "qcs::cos:ap-shanghai:uid/1250000001:*" not in text


def test_no_manifest_grant_when_manifests_are_off_and_a_note_for_an_unbounded_rule():
    config = parse_config(textwrap.dedent("""
        routes:
          - prefix: ""
            bucket: out-1250000001
            rules:
              - fileid: /{dir}/{name}
                rule: imageMogr2/strip
        manifests:
          enabled: false
    """))
    document, notes = build_policy(config, [Watched(SRC, "ap-shanghai")])
    assert len(document["statement"]) == 2
    assert document["statement"][1]["resource"] == [qcs("out-1250000001", "*")]
    assert len(notes) == 1 and "whole bucket" in notes[0]


def test_the_command_prints_the_policy_of_the_files_it_is_given(tmp_path):
    (tmp_path / "picops.yaml").write_text(CONFIG)
    (tmp_path / "serverless.yml").write_text(SERVERLESS_HEAD.replace(
        "ap-guangzhou", "ap-shanghai") + textwrap.indent(textwrap.dedent(f"""\
        events:
          - cos:
              parameters:
                bucket: {SRC}.cos.ap-shanghai.myqcloud.com
                filter:
                  prefix: in/
                events: 'cos:ObjectCreated:*'
                enable: true
        """), "  "))
    result = CliRunner().invoke(cli, ["policy", "--config", str(tmp_path / "picops.yaml"),
                                      "--serverless", str(tmp_path / "serverless.yml")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == build_policy(parse_config(CONFIG), [Watched(SRC, "ap-shanghai")])[0]


def test_without_a_watched_bucket_the_command_says_why(tmp_path):
    (tmp_path / "picops.yaml").write_text(CONFIG)
    (tmp_path / "serverless.yml").write_text(SERVERLESS_HEAD)
    result = CliRunner().invoke(cli, ["policy", "--config", str(tmp_path / "picops.yaml"),
                                      "--serverless", str(tmp_path / "serverless.yml")])
    assert result.exit_code == 1
    assert "no enabled cos:ObjectCreated trigger names a source bucket" in result.output
