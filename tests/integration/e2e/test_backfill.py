"""`picops backfill` / `picops plan` against the emulator, through the real COS SDK.

Each test starts an emulator (COS + the CI backend, no triggers: backfill is how objects
that no trigger saw get processed) and drives the click commands in-process.

How work is counted, on the emulator's side:
- CI calls: the CI backend is wrapped by ``CountingCi``, which counts every
  ``POST ?image_process`` per source key before passing it on;
- writes and deletes: a store listener records every committed change;
- requests: the emulator's aiohttp access log (logger ``picops_emulator.access``) is
  captured, one line per HTTP request, so a dry run can be shown to send only GETs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import textwrap
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import pyvips
from click.testing import CliRunner
from qcloud_cos import CosConfig, CosS3Client

from picops.config import load_config
from picops_cli.backfill import command as backfill_module
from picops_cli.backfill import fanout
from picops_cli.backfill.command import backfill
from picops_cli.backfill.fanout import FanOut
from picops_cli.plan import plan
from picops_emulator.ci.service import CiService
from picops_emulator.runner import start_in_thread
from picops_emulator.settings import EmulatorSettings
from tests.configs import BACKFILL_ROUTES, change_photo_rules

REPO = Path(__file__).resolve().parents[3]
SOURCE, DERIVED = "src-1250000000", "derived-1250000000"
SECRET_ID, SECRET_KEY, REGION = "AKIDpicopsBackfill", "picopsBackfillKey", "ap-guangzhou"

CONFIG = BACKFILL_ROUTES + """\
  - prefix: banners/
    suffixes: [.png]
    bucket: derived-1250000000
    rules:
"""
BANNER_WIDTHS = (8, 16, 24, 32, 40, 48)  # six rules: two CI calls per banner
CONFIG += "".join(f"      - fileid: /banners/{{dir}}/{{stem}}_{{ext}}_{w}.jpg\n"
                  f"        rule: imageMogr2/thumbnail/{w}x/format/jpg\n" for w in BANNER_WIDTHS)

# A rules change: thumbs rule changed, small dropped, medium added.
NEW_CONFIG = change_photo_rules(CONFIG)


class CountingCi:
    """The emulator's CI backend, counting ``image_process`` calls per source key."""

    def __init__(self, inner: CiService):
        self.inner = inner
        self.operations = inner.operations
        self.calls: Counter = Counter()

    async def handle(self, ctx):
        if ctx.operation == "image_process":
            self.calls[ctx.key] += 1
        return await self.inner.handle(ctx)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class AccessLog(logging.Handler):
    """Request lines from the emulator's access log."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: List[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def methods(self) -> Counter:
        return Counter(m.group(1) for line in self.lines
                       for m in [re.search(r'"([A-Z]+) /', line)] if m)


class World:
    def __init__(self, tmp_path: Path, monkeypatch):
        self.tmp = tmp_path
        # no CI QPS ceiling: the test counts calls exactly (SlowDown has its own test)
        self.ci = CountingCi(CiService(qps=0))
        self.emulator = start_in_thread(EmulatorSettings(
            port=0, data_dir=tmp_path / "data", secret_id=SECRET_ID, secret_key=SECRET_KEY,
            region=REGION, ci_backend=self.ci, buckets_to_create=(SOURCE, DERIVED),
            fsync=False))
        self.changes: List[Tuple[str, str, str]] = []
        self.emulator.add_listener(lambda c: self.changes.append((c.event_name, c.bucket,
                                                                  c.key)))
        self.client = CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID,
                                            SecretKey=SECRET_KEY, Scheme="http",
                                            IP="127.0.0.1", Port=self.emulator.port), retry=0)
        self.cache = tmp_path / "cache"
        for name, value in {"TENCENTCLOUD_SECRETID": SECRET_ID,
                            "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                            "TENCENTCLOUD_REGION": REGION,
                            "COS_ENDPOINT": self.emulator.endpoint,
                            "XDG_CACHE_HOME": str(self.cache)}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN", raising=False)
        monkeypatch.delenv("PICOPS_CONFIG", raising=False)
        monkeypatch.chdir(tmp_path)  # no ./serverless.yml here: triggers are not involved
        self.config = self.write_config("picops.yaml", CONFIG)
        self.access = AccessLog()
        logger = logging.getLogger("picops_emulator.access")
        self._old_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self.access)

    def close(self):
        logger = logging.getLogger("picops_emulator.access")
        logger.removeHandler(self.access)
        logger.setLevel(self._old_level)
        self.emulator.stop()
        self.ci.inner.close()

    def write_config(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=SOURCE, Key=key, Body=body)

    def keys(self, bucket: str) -> Dict[str, str]:
        """key -> ETag of everything in ``bucket``."""
        out, marker = {}, ""
        while True:
            page = self.client.list_objects(Bucket=bucket, Marker=marker, MaxKeys=1000)
            for item in page.get("Contents", []):
                out[item["Key"]] = item["ETag"]
            if page.get("IsTruncated") != "true":
                return out
            marker = page["NextMarker"]

    def image(self, bucket: str, key: str) -> pyvips.Image:
        body = self.client.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read()
        return pyvips.Image.new_from_buffer(body, "")

    def run(self, *args, config: Path = None, hooks=()):
        argv = ["--bucket", SOURCE, "--config", str(config or self.config)] + [str(a)
                                                                             for a in args]
        backfill_module.result_hooks[:] = list(hooks)
        try:
            result = CliRunner().invoke(backfill, argv, catch_exceptions=False)
        finally:
            backfill_module.result_hooks[:] = []
        return result

    def checkpoints(self) -> List[Path]:
        return sorted((self.cache / "picops" / "backfill").glob("*.json")) \
            if (self.cache / "picops" / "backfill").exists() else []


def summary_of(result) -> dict:
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def world(tmp_path, monkeypatch):
    w = World(tmp_path, monkeypatch)
    yield w
    w.close()


def make_images():
    """Small distinct test images: 64x48, a gradient plus a per-image offset."""
    base = pyvips.Image.xyz(64, 48)
    rgb = (base[0] * 4).bandjoin([base[1] * 5, (base[0] + base[1]) * 2]).cast("uchar")
    jpgs = [(rgb + i * 20).cast("uchar").write_to_buffer(".jpg[Q=80]") for i in range(3)]
    pngs = [(rgb + i * 30).cast("uchar").write_to_buffer(".png") for i in range(3)]
    return jpgs, pngs


def populate(world: World, photos: int, avatars: int = 0, banners: int = 0) -> List[str]:
    """Upload sources across routes (plus objects no route takes); the routed keys."""
    jpgs, pngs = make_images()
    keys = []
    for i in range(photos):
        key = f"photos/{i % 4}/p{i:03d}{' a+b' if i % 5 == 0 else ''}.jpg"
        world.put(key, jpgs[i % len(jpgs)])
        keys.append(key)
    for i in range(avatars):
        key = f"avatars/a{i:03d}.png"
        world.put(key, pngs[i % len(pngs)])
        keys.append(key)
    for i in range(banners):
        key = f"banners/b{i:02d}.png"
        world.put(key, pngs[i % len(pngs)])
        keys.append(key)
    world.put("photos/", b"")                  # folder marker
    world.put("photos/empty.jpg", b"")         # zero bytes
    world.put("notes/readme.txt", b"hello")    # no route
    return keys


def expected_outputs(key: str, config: str = "old") -> Dict[Tuple[str, str], Tuple[str, int, int]]:
    """(bucket, key) -> (vips loader prefix, width, height) for a 64x48 source."""
    stem, ext = key.rsplit("/", 1)[1].rsplit(".", 1)
    stem = f"{stem}_{ext}"  # the fileids keep the whole name: {stem}_{ext}
    folder = key.rsplit("/", 1)[0]
    if key.startswith("photos/"):
        if config == "old":
            return {(DERIVED, f"thumbs/{folder}/{stem}_32.webp"): ("webp", 32, 24),
                    (DERIVED, f"small/{folder}/{stem}_16.jpg"): ("jpeg", 16, 12)}
        return {(DERIVED, f"thumbs/{folder}/{stem}_32.webp"): ("webp", 40, 30),
                (DERIVED, f"medium/{folder}/{stem}_48.jpg"): ("jpeg", 48, 36)}
    if key.startswith("avatars/"):
        return {(SOURCE, f"avatars-small/{folder}/{stem}_24.png"): ("png", 24, 24)}
    return {(DERIVED, f"banners/{folder}/{stem}_{w}.jpg"): ("jpeg", w, w * 3 // 4)
            for w in BANNER_WIDTHS}


def check_outputs(world: World, keys: List[str], config: str = "old") -> None:
    stored = {b: world.keys(b) for b in (SOURCE, DERIVED)}
    for key in keys:
        for (bucket, out), (loader, w, h) in expected_outputs(key, config).items():
            assert out in stored[bucket], (key, bucket, out)
            img = world.image(bucket, out)
            assert (img.width, img.height) == (w, h), (out, img.width, img.height)
            assert img.get("vips-loader").startswith(loader), out


# --- the tests -------------------------------------------------------------------------

def test_backfill_processes_every_routed_object_once_and_a_rerun_makes_no_ci_call(world):
    keys = populate(world, photos=160, avatars=40, banners=10)

    # the default ceiling (100 CI calls/s) would make this test wait on the limiter
    result = world.run("--concurrency", 4, "--rate", 1000)
    assert result.exit_code == 0, result.output
    assert summary_of(result) == {
        "processed": 210, "up_to_date": 0,
        "skipped": {"empty_object": 1, "folder_marker": 1, "no_route": 1}, "failed": {}}
    # one CI call per photo and avatar (two rules, one rule), two per banner (six rules)
    assert world.ci.calls == Counter({k: 2 if k.startswith("banners/") else 1 for k in keys})
    check_outputs(world, keys)
    manifests = [k for k in world.keys(SOURCE) if k.startswith("_picops/manifests/")]
    assert len(manifests) == 210
    assert world.checkpoints() == []  # a completed run removes its checkpoint
    assert "backfill summary" in result.output and "processed" in result.output

    # the second run finds every manifest current: no CI call, nothing written
    world.changes.clear()
    calls_before = world.ci.total
    again = world.run("--concurrency", 4, "--rate", 1000)
    assert again.exit_code == 0, again.output
    assert summary_of(again) == {
        "processed": 0, "up_to_date": 210,
        # the avatars' outputs sit in the source bucket: the loop guard skips them
        "skipped": {"empty_object": 1, "folder_marker": 1, "loop_guard": 40, "no_route": 1},
        "failed": {}}
    assert world.ci.total == calls_before
    assert world.changes == []


def test_a_corrupt_image_fails_alone_and_the_run_exits_1(world):
    keys = populate(world, photos=20)
    world.put("photos/corrupt.jpg", (REPO / "tests/data/images/not_an_image.jpg").read_bytes())

    result = world.run()
    assert result.exit_code == 1, result.output
    summary = summary_of(result)
    assert summary["processed"] == 20 and summary["failed"] == {"InvalidImageFormat": 1}
    assert "failed: photos/corrupt.jpg: InvalidImageFormat" in result.output
    check_outputs(world, keys)
    # a failure still completes the run: no checkpoint, and a rerun retries only it
    assert world.checkpoints() == []
    rerun = world.run()
    assert summary_of(rerun)["up_to_date"] == 20 and rerun.exit_code == 1
    assert world.ci.calls["photos/corrupt.jpg"] == 2


def test_an_unreadable_manifest_fails_its_object_and_nothing_is_deleted(world):
    keys = populate(world, photos=6)
    assert world.run().exit_code == 0
    victim = keys[2]
    world.put(f"_picops/manifests/{victim}.json", b"{garbage")
    world.put(victim, b"\xff\xd8" + make_images()[0][1][2:])  # new content, new ETag
    world.changes.clear()

    result = world.run()
    assert result.exit_code == 1, result.output
    assert summary_of(result) == {"processed": 0, "up_to_date": 5, "skipped": {
        "empty_object": 1, "folder_marker": 1, "no_route": 1}, "failed": {"InvalidManifest": 1}}
    assert f"failed: {victim}: InvalidManifest" in result.output
    assert world.changes == []  # no output deleted, no manifest rewritten


def test_ctrl_c_finishes_in_flight_objects_and_a_rerun_resumes_without_repeating(world):
    keys = populate(world, photos=40)
    seen = []

    def ctrl_c_after_ten(outcome):
        seen.append(outcome.key)
        if len(seen) == 10:
            raise KeyboardInterrupt

    first = world.run("--concurrency", 2, hooks=[ctrl_c_after_ten])
    assert first.exit_code == 130, first.output
    assert "interrupted" in first.output
    done_first = summary_of(first)
    # ten outcomes, then only the in-flight ones (at most 2 x concurrency) finish
    assert done_first["failed"] == {}
    assert 10 <= sum(done_first["skipped"].values()) + done_first["processed"] <= 14
    (cp_path,) = world.checkpoints()
    checkpoint = json.loads(cp_path.read_text())
    assert checkpoint["bucket"] == SOURCE and checkpoint["done_through"]
    processed_first = set(world.ci.calls)

    second = world.run("--concurrency", 2)
    assert second.exit_code == 0, second.output
    assert f"resumed after {checkpoint['done_through']} (" in second.output
    done_second = summary_of(second)
    # every object processed exactly once over both runs; the ones done above the
    # watermark in the first run are found up to date, not sent again
    assert world.ci.calls == Counter({k: 1 for k in keys})
    assert done_first["processed"] + done_second["processed"] == 40
    assert set(world.ci.calls) - processed_first == {
        k for k in keys if k not in processed_first}
    assert all(k > checkpoint["done_through"] for k in set(world.ci.calls) - processed_first)
    assert world.checkpoints() == []
    check_outputs(world, keys)


def test_limit_stops_early_keeps_the_checkpoint_and_reruns_continue(world):
    keys = populate(world, photos=25)
    first = world.run("--limit", 10)
    assert first.exit_code == 0, first.output
    assert summary_of(first)["processed"] == 10 and "stopped at --limit" in first.output
    assert len(world.checkpoints()) == 1

    second = world.run("--limit", 10)
    assert summary_of(second)["processed"] == 10
    third = world.run()
    assert summary_of(third)["processed"] == 5 and third.exit_code == 0
    assert world.ci.calls == Counter({k: 1 for k in keys})
    assert world.checkpoints() == []


def test_dry_run_and_plan_show_a_rules_change_then_backfill_replaces_and_removes(world):
    keys = populate(world, photos=12, avatars=4)
    assert world.run().exit_code == 0
    new = world.write_config("new.yaml", NEW_CONFIG)

    # --- dry run: the plan, and nothing written anywhere --------------------------------
    before = {b: world.keys(b) for b in (SOURCE, DERIVED)}
    calls, changes = world.ci.total, len(world.changes)
    world.access.lines.clear()
    dry = world.run("--dry-run", config=new)
    assert dry.exit_code == 0, dry.output
    plan_doc = summary_of(dry)
    assert plan_doc["dry_run"] is True
    assert plan_doc["routes"]["photos/"] == {
        "objects": 12, "up_to_date": 0, "to_process": 12, "created": 12, "replaced": 12,
        "kept": 12, "refused": 0, "ci_calls": 12}
    assert plan_doc["routes"]["avatars/"]["up_to_date"] == 4
    assert plan_doc["ci_calls"] == 12
    photo = keys[1]
    stem_dir = photo.rsplit(".", 1)[0] + "_" + photo.rsplit(".", 1)[1]
    name = photo.rsplit("/", 1)[1].replace(".", "_")
    folder = photo.rsplit("/", 1)[0]
    assert f"  ~ {DERIVED}/thumbs/{stem_dir}_32.webp" in dry.output
    assert (f"  = {DERIVED}/small/{folder}/{name}_16.jpg (kept: these rules no longer "
            "write it)") in dry.output
    assert f"  + {DERIVED}/medium/{folder}/{name}_48.jpg" in dry.output
    methods = world.access.methods()
    # only reads: a listing, then manifests, and a HEAD (the processed-on-upload mark) of
    # each object to process
    assert set(methods) == {"GET", "HEAD"} and methods["GET"] >= 12
    assert world.ci.total == calls and len(world.changes) == changes
    assert {b: world.keys(b) for b in (SOURCE, DERIVED)} == before
    assert world.checkpoints() == []

    # --- picops plan: the config diff and the stored objects it affects --------------------
    planned = CliRunner().invoke(plan, ["--config", str(world.config), "--new", str(new),
                                        "--bucket", SOURCE], catch_exceptions=False)
    assert planned.exit_code == 0, planned.output
    doc = summary_of(planned)
    photos = next(r for r in doc["routes"] if r["route"] == "photos/")
    assert photos["status"] == "changed" and photos["rules_hash_changed"]
    assert doc["bucket"]["routes"]["photos/"]["to_process"] == 12
    assert doc["bucket"]["routes"]["avatars/"]["up_to_date"] == 4
    assert doc["bucket"]["unrouted"] == 0
    assert world.ci.total == calls and len(world.changes) == changes

    # a config without the avatars/ route: their sources are no longer routed (kept as is)
    dropped = world.write_config("dropped.yaml", NEW_CONFIG.replace(
        """  - prefix: avatars/
    suffixes: [.png]
    rules:
      - fileid: /avatars-small/{dir}/{stem}_{ext}_24.png
        rule: imageView2/1/w/24/h/24/format/png
""", ""))
    planned = CliRunner().invoke(plan, ["--config", str(world.config), "--new", str(dropped),
                                        "--bucket", SOURCE], catch_exceptions=False)
    doc = summary_of(planned)
    assert doc["bucket"]["unrouted"] == 4 and "avatars/" not in doc["bucket"]["routes"]
    assert next(r for r in doc["routes"] if r["route"] == "avatars/")["status"] == "removed"

    # --- the real run: replaced, created; the dropped outputs kept (never deleted on a
    # manifest's word), named in the lines and no longer listed ----------------------------
    result = world.run(config=new)
    assert result.exit_code == 0, result.output
    assert summary_of(result)["processed"] == 12 and summary_of(result)["up_to_date"] == 4
    derived = world.keys(DERIVED)
    small = {f"small/{k.rsplit('/', 1)[0]}/{k.rsplit('/', 1)[1].replace('.', '_')}_16.jpg"
             for k in keys if k.startswith("photos/")}
    assert {k for k in derived if k.startswith("small/")} == small
    check_outputs(world, [k for k in keys if k.startswith("photos/")], config="new")
    check_outputs(world, [k for k in keys if k.startswith("avatars/")])
    deleted = {k for e, b, k in world.changes if e.startswith("cos:ObjectRemove") and b == DERIVED}
    assert deleted == set()


def load_function(monkeypatch, config: Path):
    """functions/image_processor/index.py, imported afresh with the test's environment."""
    monkeypatch.setenv("PICOPS_CONFIG", str(config))
    spec = importlib.util.spec_from_file_location(
        "picops_backfill_fanout_index", REPO / "functions" / "image_processor" / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fan_out_page_events_run_in_the_function_handler(world, monkeypatch):
    keys = populate(world, photos=15, avatars=5, banners=2)
    index = load_function(monkeypatch, world.config)
    invocations = []

    def invoke(event):
        invocations.append(event)
        out = index.main_handler(event, {"request_id": f"fanout-{len(invocations)}",
                                         "time_limit_in_ms": 60000})
        return out["request_id"]

    # the CLI path, with the SCF transport swapped for a direct call of the handler
    monkeypatch.setattr(fanout, "scf_invoker", lambda *a, **k: invoke)
    changes = len(world.changes)
    dry = world.run("--fan-out", "picops-image-processor", "--page-size", 7, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert summary_of(dry)["pages"] == 4 and "would be sent" in dry.output
    assert invocations == [] and world.ci.total == 0 and len(world.changes) == changes

    result = world.run("--fan-out", "picops-image-processor", "--page-size", 7, "--rate", 1000)
    assert result.exit_code == 0, result.output
    doc = summary_of(result)
    assert doc["pages"] == 4 and doc["keys"] == 22
    assert doc["skipped"] == {"empty_object": 1, "folder_marker": 1, "no_route": 1}
    assert [len(e["picops_backfill"]["keys"]) for e in invocations] == [7, 7, 7, 1]
    assert all(e["picops_backfill"]["bucket"] == SOURCE and
               e["picops_backfill"]["region"] == REGION for e in invocations)
    check_outputs(world, keys)
    assert world.ci.total == 15 + 5 + 2 * 2
    assert world.checkpoints() == []

    # pages sent again: every key's manifest is current, the function makes no CI call
    calls = world.ci.total
    job = FanOut(load_config(str(world.config)), world.client, invoke, bucket=SOURCE,
                 region=REGION, page_size=50, rate=1000)
    again = job.run()
    assert again.completed and again.pages == 1 and again.keys == 22
    assert world.ci.total == calls


def test_a_bucket_that_cannot_be_listed_is_an_error_with_a_summary(world):
    result = CliRunner().invoke(backfill, ["--bucket", "missing-1250000000", "--config",
                                           str(world.config)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "cannot list bucket missing-1250000000" in result.output
    assert "NoSuchBucket" in result.output
    assert summary_of(result) == {"processed": 0, "up_to_date": 0, "skipped": {}, "failed": {}}
    assert world.checkpoints() == []
