"""Backfill against a local cloud whose CI ceiling is below the backfill's own ``--rate``.

The local cloud (``LocalOptions(ci_qps=CI_QPS)``) answers 503 SlowDown over CI_QPS
persistent-processing requests per second; the backfill is told it may send RATE, 25
times more. The ceiling is low enough (and its burst of one second's worth small enough)
that four workers exceed it even on a loaded machine, where each call is slow. What must
happen: CI refuses some calls (counted at the CI backend), the backfill's limiter halves
its rate on each SlowDown and sends the refused call again once it may (the handler's
client retries with backoff on top), and in the end every object is processed once, with
all its derivatives, exit 0 and nothing failed.

The sources sit in a bucket no trigger watches, so only the backfill processes them.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from typing import List

import pyvips
from click.testing import CliRunner

from picops_cli.backfill.command import backfill
from picops_emulator.errors import EmulatorError

from .conftest import SECRET_ID, SECRET_KEY

CI_QPS, RATE = 2, 50
OBJECTS = 40
SOURCE, DERIVED = "slowdown-1250000000", "derived-1250000000"

CONFIG = """
routes:
  - prefix: photos/
    suffixes: [.png]
    bucket: derived-1250000000
    rules:
      - fileid: /slow/{dir}/{name}_16.webp
        rule: imageMogr2/thumbnail/16x/format/webp
      - fileid: /slow/{dir}/{name}_8.png
        rule: imageMogr2/thumbnail/8x/format/png
"""


class CiOutcomes:
    """What the cloud's CI backend answered: admitted image_process calls per key, and
    every SlowDown refusal (wraps ``handle`` on this one backend instance)."""

    def __init__(self, cloud):
        self.admitted: Counter = Counter()
        self.slow_downs: List[str] = []
        backend = cloud.prepared.ci
        original = backend.handle

        async def observed(ctx):
            try:
                response = await original(ctx)
            except EmulatorError as e:
                if e.code == "SlowDown":
                    self.slow_downs.append(ctx.key)
                raise
            if ctx.operation == "image_process":
                self.admitted[ctx.key] += 1
            return response

        backend.handle = observed


def small_png(i: int) -> bytes:
    base = pyvips.Image.xyz(32, 24)
    return ((base[0] * 6 + i).bandjoin([base[1] * 8, base[0] + base[1] + 2 * i])
            .cast("uchar").write_to_buffer(".png"))


def listing(client, bucket: str) -> List[str]:
    keys, marker = [], ""
    while True:
        page = client.list_objects(Bucket=bucket, Marker=marker, MaxKeys=1000)
        keys += [item["Key"] for item in page.get("Contents", [])]
        if page.get("IsTruncated") != "true":
            return keys
        marker = page["NextMarker"]


def test_backfill_above_cis_ceiling_slows_down_and_processes_everything(
        cloud_factory, tmp_path, monkeypatch):
    config = tmp_path / "picops.yaml"
    config.write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    cloud = cloud_factory(config_path=config, ci_qps=CI_QPS)
    assert cloud.prepared.ci.ceiling.qps == CI_QPS
    ci = CiOutcomes(cloud)
    client = cloud.client()
    client.create_bucket(Bucket=SOURCE)
    keys = [f"photos/p{i:02d}.png" for i in range(OBJECTS)]
    for i, key in enumerate(keys):
        client.put_object(Bucket=SOURCE, Key=key, Body=small_png(i))

    for name, value in {"TENCENTCLOUD_SECRETID": SECRET_ID,
                        "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                        "TENCENTCLOUD_REGION": cloud.prepared.settings.region,
                        "COS_ENDPOINT": cloud.endpoint,
                        "XDG_CACHE_HOME": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN", raising=False)
    monkeypatch.delenv("PICOPS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(backfill, ["--bucket", SOURCE, "--config", str(config),
                                           "--concurrency", "4", "--rate", str(RATE)],
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary == {"processed": OBJECTS, "up_to_date": 0, "skipped": {}, "failed": {}}
    # CI refused some calls, and the backfill's limiter heard about it
    assert ci.slow_downs, "the backfill never went over the CI ceiling"
    slowed = re.search(r"slowed down (\d+) time\(s\) on SlowDown", result.output)
    assert slowed and int(slowed.group(1)) >= 1, result.output
    # every refused call was retried until CI admitted it; each object was processed once
    assert set(ci.slow_downs) <= set(keys)
    assert ci.admitted == Counter({k: 1 for k in keys})
    made = re.search(r"(\d+) CI call\(s\) made", result.output)
    assert made and int(made.group(1)) == OBJECTS + len(ci.slow_downs), result.output

    derived = set(listing(client, DERIVED))
    for key in keys:
        for out, loader, width in ((f"slow/{key}_16.webp", "webp", 16),
                                   (f"slow/{key}_8.png", "png", 8)):
            assert out in derived, out
            body = client.get_object(Bucket=DERIVED, Key=out)["Body"].get_raw_stream().read()
            image = pyvips.Image.new_from_buffer(body, "")
            assert image.width == width and image.get("vips-loader").startswith(loader)
    manifests = [k for k in listing(client, SOURCE) if k.startswith("_picops/manifests/")]
    assert len(manifests) == OBJECTS
