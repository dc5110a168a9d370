"""Backfill throughput against the local emulator at concurrency 1, 2, 4 and 8.

Run: ``python -m bench.bench_backfill`` (also part of ``make bench``).

Setup: the emulator (COS + CI on libvips) runs in its own process, as it would beside a
real CLI, so the CLI's threads and the server do not share one interpreter lock. The
bucket holds, per (round, concurrency), its own prefix of fresh JPEG sources (320x240);
the route writes two derivatives of each (a WebP thumbnail and a small JPEG: one CI call
per object) to another bucket. A measurement is one ``picops backfill --prefix ...``
(the command's own code path: listing, manifest reads, ``Processor.process_object``,
manifest writes, the rate limiter set high enough never to wait), timed from start to
summary; throughput = objects processed / seconds.

The concurrency levels are interleaved round by round (:mod:`bench.timing`'s rule: the
machine's noise hits them alike) and each one's median is reported, with its speed-up
over concurrency 1. "Saturates" names the first level after which doubling the workers
gains less than :data:`GAIN_THRESHOLD`. Prints a table; there is no pass/fail target
(exit 0), since the figure describes this machine.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List

LEVELS = (1, 2, 4, 8)
ROUNDS = 3
OBJECTS = 48            # per measurement
GAIN_THRESHOLD = 0.15   # doubling the workers must gain more than this to count
SOURCE, DERIVED = "bench-src-1250000000", "bench-derived-1250000000"
SECRET_ID, SECRET_KEY, REGION = "AKIDbenchBackfill", "benchBackfillKey", "ap-guangzhou"
CONFIG = """
routes:
  - prefix: ""
    suffixes: [.jpg]
    bucket: bench-derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_160.webp
        rule: imageMogr2/thumbnail/160x/format/webp/quality/80
      - fileid: /small/{dir}/{stem}_{ext}_64.jpg
        rule: imageMogr2/thumbnail/64x64/format/jpg/quality/85
"""


def _serve(data_dir: str, conn) -> None:
    """The child process: an emulator with the CI backend until the pipe says stop."""
    from picops_emulator.ci.service import CiService
    from picops_emulator.runner import start_in_thread
    from picops_emulator.settings import EmulatorSettings

    ci = CiService(qps=0)  # measure the emulator, not CI's 100/s account ceiling
    running = start_in_thread(EmulatorSettings(
        port=0, data_dir=Path(data_dir), secret_id=SECRET_ID, secret_key=SECRET_KEY,
        region=REGION, ci_backend=ci, buckets_to_create=(SOURCE, DERIVED), fsync=False))
    conn.send(running.port)
    conn.recv()
    running.stop()
    ci.close()


def _source_jpeg(i: int) -> bytes:
    import pyvips

    base = pyvips.Image.xyz(320, 240)
    img = (base[0] * 0.8).bandjoin([base[1], base[0] * 0.3 + base[1] * 0.5]) + (i % 7) * 9
    return img.cast("uchar").write_to_buffer(".jpg[Q=85]")


def _measure(config, endpoint: str, prefix: str, concurrency: int) -> float:
    """Seconds of one backfill over ``prefix``; checks every object was processed."""
    from rich.console import Console

    from picops_cli.backfill.command import run_backfill
    from picops_cli.backfill.runner import RunOptions

    quiet = Console(file=io.StringIO())
    options = RunOptions(bucket=SOURCE, region=REGION, prefix=prefix, concurrency=concurrency)
    t0 = time.perf_counter()
    status = run_backfill(config, options, rate=1e6, out=quiet, err=quiet)
    seconds = time.perf_counter() - t0
    output = quiet.file.getvalue()
    if status != 0 or f'"processed": {OBJECTS},' not in output:
        raise RuntimeError(f"backfill of {prefix} did not process {OBJECTS} objects:\n"
                           f"{output[-2000:]}")
    return seconds


def run() -> Dict[int, List[float]]:
    from qcloud_cos import CosConfig, CosS3Client

    from picops.config import parse_config

    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="picops-bench-backfill-") as tmp:
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(os.path.join(tmp, "data"), child),
                             daemon=True)
        server.start()
        try:
            port = parent.recv()
            endpoint = f"http://127.0.0.1:{port}"
            env = {"TENCENTCLOUD_SECRETID": SECRET_ID, "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
                   "TENCENTCLOUD_REGION": REGION, "COS_ENDPOINT": endpoint,
                   "XDG_CACHE_HOME": os.path.join(tmp, "cache")}
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                client = CosS3Client(CosConfig(Region=REGION, SecretId=SECRET_ID,
                                               SecretKey=SECRET_KEY, Scheme="http",
                                               IP="127.0.0.1", Port=port), retry=0)
                bodies = [_source_jpeg(i) for i in range(7)]
                prefixes = {}
                for r in range(ROUNDS + 1):  # round 0 warms up
                    for c in LEVELS:
                        prefix = f"r{r}/c{c}/"
                        prefixes[(r, c)] = prefix
                        for i in range(OBJECTS):
                            client.put_object(Bucket=SOURCE, Key=f"{prefix}p{i:03d}.jpg",
                                              Body=bodies[i % len(bodies)])
                config = parse_config(CONFIG)
                samples: Dict[int, List[float]] = {c: [] for c in LEVELS}
                for r in range(ROUNDS + 1):
                    for c in LEVELS:
                        seconds = _measure(config, endpoint, prefixes[(r, c)], c)
                        if r:
                            samples[c].append(seconds)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        finally:
            parent.send("stop")
            server.join(30)
    return samples


def saturation(rates: Dict[int, float]) -> str:
    for low, high in zip(LEVELS, LEVELS[1:]):
        gain = rates[high] / rates[low] - 1
        if gain < GAIN_THRESHOLD:
            return (f"saturates at concurrency {low}: {high} workers add only {gain:+.0%} "
                    f"(threshold {GAIN_THRESHOLD:.0%})")
    return f"still scaling at concurrency {LEVELS[-1]}"


def main() -> int:
    print(f"backfill throughput, emulator in its own process, {os.cpu_count()} core(s); "
          f"{OBJECTS} objects (320x240 JPEG, 2 derivatives, 1 CI call each) per run, "
          f"median of {ROUNDS} interleaved rounds")
    samples = run()
    rates = {c: OBJECTS / statistics.median(s) for c, s in samples.items()}
    print(f"{'concurrency':>11}  {'median s':>9}  {'objects/s':>9}  {'speed-up':>8}")
    for c in LEVELS:
        print(f"{c:>11}  {statistics.median(samples[c]):>9.2f}  {rates[c]:>9.1f}  "
              f"{rates[c] / rates[1]:>7.2f}x")
    print(saturation(rates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
