"""Time from the start of an upload to all its derivatives present, two ways, one run.

Run: ``python -m bench.bench_upload`` (also part of ``make bench``).

Candidates, against the whole local cloud (emulator + CI on libvips + the serverless.yml
triggers running the function from source in a warm worker process, as ``make demo``):

* ``picops upload``: :meth:`picops.upload.Uploader.upload`, the code ``picops upload``
  runs per file (``ci_put_object`` with the route's rules, the manifest written). The
  derivatives exist when it returns; the clock stops after one HEAD per derivative
  confirms it.
* ``upload + trigger``: a plain ``put_object``; COS fires the trigger, the function
  calls ``ci_image_process`` and writes the manifest. The clock stops when a HEAD finds
  every derivative (polled every :data:`POLL_S`), as an application waiting for them
  would.

Both upload the same JPEG under fresh keys (so no manifest short-cuts either), once at
1600x1200 (CI's pixel work dominates) and once at 480x360 (the path's own overhead
shows); the route makes two derivatives (WebP 400 px wide, JPEG at most 1200 px wide),
one CI call. The candidates alternate round by round (:mod:`bench.timing`'s rule);
medians and their ratio are printed per size. No pass/fail target: the figure
describes this machine (exit 0).
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

ROUNDS = 40
WARMUP = 3
POLL_S = 0.005
SOURCE, DERIVED = "uploads-1250000000", "derived-1250000000"
SECRET_ID, SECRET_KEY = "AKIDbenchUpload", "benchUploadKey"
REPO = Path(__file__).resolve().parents[1]
CONFIG = """
routes:
  - prefix: uploads/
    suffixes: [.jpg]
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_400.webp
        rule: imageMogr2/thumbnail/400x/format/webp
      - fileid: /large/{dir}/{stem}_{ext}_1200.jpg
        rule: imageView2/2/w/1200/format/jpg
"""


def _source_jpeg(width: int, height: int) -> bytes:
    import pyvips

    base = pyvips.Image.xyz(width, height)
    img = (base[0] * 0.15).bandjoin([base[1] * 0.2, (base[0] + base[1]) * 0.08])
    return img.cast("uchar").write_to_buffer(".jpg[Q=88]")


def _outputs(key: str) -> List[str]:
    stem = key.rsplit("/", 1)[1][:-4] + "_jpg"
    return [f"thumbs/uploads/bench/{stem}_400.webp", f"large/uploads/bench/{stem}_1200.jpg"]


def _present(client, keys: List[str]) -> bool:
    from qcloud_cos.cos_exception import CosServiceError

    for k in keys:
        try:
            client.head_object(Bucket=DERIVED, Key=k)
        except CosServiceError as e:
            if e.get_status_code() == 404:
                return False
            raise
    return True


SIZES = ((1600, 1200), (480, 360))


def run() -> Dict[str, Dict[str, List[float]]]:
    from picops.config import parse_config
    from picops.upload import Uploader
    from picops_emulator import local

    config = parse_config(CONFIG)
    counter = itertools.count()
    with tempfile.TemporaryDirectory(prefix="picops-bench-upload-") as tmp:
        config_path = Path(tmp) / "picops.yaml"
        config_path.write_text(CONFIG, encoding="utf-8")
        cloud = local.start(local.LocalOptions(
            serverless_path=REPO / "serverless.yml",
            function_dir=REPO / "functions" / "image_processor", config_path=config_path,
            data_dir=Path(tmp) / "cloud", port=0, secret_id=SECRET_ID, secret_key=SECRET_KEY,
            fsync=False, ci_qps=0))
        try:
            client = cloud.client()
            uploader = Uploader(config, client)

            def with_upload(body: bytes) -> None:
                key = f"uploads/bench/u{next(counter)}.jpg"
                result = uploader.upload(SOURCE, key, body)
                if result.outcome != "processed" or not _present(client, _outputs(key)):
                    raise RuntimeError(f"upload of {key} did not process: {result.to_line()}")

            def with_trigger(body: bytes) -> None:
                key = f"uploads/bench/t{next(counter)}.jpg"
                client.put_object(Bucket=SOURCE, Key=key, Body=body)
                deadline = time.monotonic() + 60
                while not _present(client, _outputs(key)):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the function never wrote {key}'s derivatives")
                    time.sleep(POLL_S)

            candidates: Dict[str, Callable[[bytes], None]] = {
                "picops upload": with_upload, "upload + trigger": with_trigger}
            samples: Dict[str, Dict[str, List[float]]] = {}
            for width, height in SIZES:
                body = _source_jpeg(width, height)
                size = samples[f"{width}x{height}"] = {name: [] for name in candidates}
                for r in range(WARMUP + ROUNDS):
                    for name, fn in candidates.items():
                        cloud.wait_idle(60)  # no trigger work left over from the other one
                        t0 = time.perf_counter()
                        fn(body)
                        if r >= WARMUP:
                            size[name].append(time.perf_counter() - t0)
            cloud.wait_idle(60)
        finally:
            cloud.stop()
    return samples


def main() -> int:
    print(f"upload start -> all derivatives present, whole local cloud, {os.cpu_count()} "
          f"core(s); JPEG, 2 derivatives; median of {ROUNDS} interleaved rounds")
    print(f"{'source':>9}  {'candidate':>18}  {'median ms':>9}  {'ratio':>6}")
    for size, by_name in run().items():
        medians = {name: statistics.median(s) for name, s in by_name.items()}
        base = medians["upload + trigger"]
        for name, m in medians.items():
            print(f"{size:>9}  {name:>18}  {m * 1000:>9.1f}  {m / base:>5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
