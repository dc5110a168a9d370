"""The handler's own cost, measured side by side with the COS SDK it wraps.

Run: ``python -m bench.bench_handler`` (also part of ``make bench``).

1. Cold start. In fresh interpreters, alternately: ``import index`` (which
   loads and validates the shipped picops.yaml) versus a bare
   ``import qcloud_cos``. The handler's own share is the difference of the
   medians as a percentage of the SDK's import time. Target: under 20%.
2. Per-record work outside the network. The transport is a canned requests
   adapter (no socket) for both sides: the handler's ``handle()`` on a
   one-record event of the shipped uploads/ route (4 rules, one call) versus a
   bare SDK ``ci_image_process`` with the same Pic-Operations and the same
   response. Target: at most 1.5x.

Prints a table and exits non-zero when a target is missed.
"""

import io
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "image_processor"
ENV = {"TENCENTCLOUD_SECRETID": "AKIDbench", "TENCENTCLOUD_SECRETKEY": "bench-key",
       "TENCENTCLOUD_SESSIONTOKEN": "bench-token", "TENCENTCLOUD_REGION": "ap-guangzhou",
       "COS_ENDPOINT": "http://127.0.0.1:9"}
KEY = "uploads/2024/cat.jpg"
BUCKET = "uploads-1250000000"

COLD_TARGET = 0.20   # handler's own import + config share of the SDK import time
RECORD_TARGET = 1.5  # handler per record / bare SDK call
COLD_ROUNDS = 15
RECORD_ROUNDS = 20
RECORDS_PER_SAMPLE = 50

_TIMED_IMPORT = """
import sys, time
sys.path.insert(0, sys.argv[2])
t0 = time.perf_counter()
import {module}
print(time.perf_counter() - t0)
"""


# --- 1. cold start ---------------------------------------------------------------------

#: Where the handler's cold start goes, step by step, after the SDK is imported.
_BREAKDOWN = """
import sys, time
sys.path.insert(0, sys.argv[1])
t = [time.perf_counter()]
import qcloud_cos
t.append(time.perf_counter())
import yaml
t.append(time.perf_counter())
import picops.grammar
t.append(time.perf_counter())
import picops.handler
t.append(time.perf_counter())
import index
t.append(time.perf_counter())
print(" ".join(str(b - a) for a, b in zip(t, t[1:])))
"""
BREAKDOWN_STEPS = ("qcloud_cos (the SDK)", "PyYAML", "picops.grammar", "picops modules",
                   "index: config load + Processor")


def _env() -> dict:
    env = dict(os.environ)
    env.pop("PICOPS_CONFIG", None)
    # A deployed package ships compiled bytecode (SCF sets PYTHONDONTWRITEBYTECODE,
    # so it could not write any): measure with bytecode caches, as the SDK's are.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(ENV)
    return env


def _run(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], env=_env(), capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _import_seconds(module: str) -> float:
    return float(_run(_TIMED_IMPORT.format(module=module), module, str(FUNCTION_DIR)))


def cold_start() -> Tuple[float, float, List[float]]:
    """Median seconds of (import index + config, import qcloud_cos), interleaved,
    and the median of each step of the breakdown."""
    for module in ("index", "qcloud_cos"):  # write the bytecode caches
        _import_seconds(module)
    handler: List[float] = []
    sdk: List[float] = []
    steps: List[List[float]] = []
    for _ in range(COLD_ROUNDS):
        handler.append(_import_seconds("index"))
        sdk.append(_import_seconds("qcloud_cos"))
        steps.append([float(x) for x in _run(_BREAKDOWN, str(FUNCTION_DIR)).split()])
    medians = [statistics.median(col) for col in zip(*steps)]
    return statistics.median(handler), statistics.median(sdk), medians


# --- 2. per record -----------------------------------------------------------------------

def _canned_session(body: bytes):
    import requests
    from requests.adapters import BaseAdapter
    from requests.structures import CaseInsensitiveDict

    from picops.ci_client import BudgetSession

    class CannedAdapter(BaseAdapter):
        """Answers every request with the same 200 UploadResult, without a socket."""

        def send(self, request, **kwargs):
            r = requests.Response()
            r.status_code = 200
            r._content = body
            r.headers = CaseInsensitiveDict({"x-cos-request-id": "rid-bench",
                                             "Content-Type": "application/xml"})
            r.url, r.request, r.encoding = request.url, request, "utf-8"
            return r

        def close(self):
            pass

    session = BudgetSession()
    session.mount("http://", CannedAdapter())
    session.mount("https://", CannedAdapter())
    return session


def _upload_result(call: dict) -> bytes:
    objects = "".join(
        f"<Object><Key>{r['fileid'][1:]}</Key><Location>{r.get('bucket', BUCKET)}.cos."
        f"ap-guangzhou.myqcloud.com{r['fileid']}</Location><Format>webp</Format><Width>400"
        f"</Width><Height>267</Height><Size>12345</Size><Quality>80</Quality>"
        f"<ETag>&quot;e{i}&quot;</ETag></Object>" for i, r in enumerate(call["rules"]))
    return ("<UploadResult><OriginalInfo><Key>" + KEY + "</Key><Location>" + BUCKET +
            ".cos.ap-guangzhou.myqcloud.com/" + KEY + "</Location><ETag>&quot;s&quot;</ETag>"
            "<ImageInfo><Format>JPEG</Format><Width>640</Width><Height>427</Height><Quality>"
            "100</Quality><Ave>0xa18454</Ave><Orientation>1</Orientation></ImageInfo>"
            "</OriginalInfo><ProcessResults>" + objects +
            "</ProcessResults></UploadResult>").encode()


def per_record() -> Tuple[float, float]:
    """Median seconds per record of (handler.handle, bare ci_image_process)."""
    sys.path.insert(0, str(ROOT / "shared"))
    from bench.timing import compare
    from picops import routing
    from picops.ci_client import make_cos_client
    from picops.config import load_config
    from picops.handler import Processor
    from picops.logs import JsonLogger

    config = load_config(str(FUNCTION_DIR / "picops.yaml"))
    (call,) = routing.plan(config, BUCKET, KEY).calls
    body = _upload_result(call)
    header = json.dumps(call, separators=(",", ":"))
    event = json.loads((ROOT / "tests" / "events" / "cos_put_real.json").read_text())
    context = {"request_id": "req", "function_name": "bench", "time_limit_in_ms": 60000}

    sink = io.StringIO()
    processor = Processor(config, ENV, logger=JsonLogger(sink),
                          client_factory=lambda env, region: make_cos_client(
                              env, region, session=_canned_session(body)))
    bare = make_cos_client(ENV, "ap-guangzhou", session=_canned_session(body))
    summary = processor.handle(event, context)
    assert summary["counts"]["processed"] == 1, summary  # the handler really did the work

    def handler_batch():
        for _ in range(RECORDS_PER_SAMPLE):
            processor.handle(event, context)
        sink.seek(0)
        sink.truncate()

    def sdk_batch():
        for _ in range(RECORDS_PER_SAMPLE):
            bare.ci_image_process(Bucket=BUCKET, Key=KEY, PicOperations=header)

    timings = compare([("handler", handler_batch), ("sdk", sdk_batch)], rounds=RECORD_ROUNDS)
    return (timings["handler"].median / RECORDS_PER_SAMPLE,
            timings["sdk"].median / RECORDS_PER_SAMPLE)


def main() -> int:
    from bench.timing import ms, verdict

    handler_cold, sdk_cold, steps = cold_start()
    share = (handler_cold - sdk_cold) / sdk_cold
    handler_rec, sdk_rec = per_record()
    ratio = handler_rec / sdk_rec
    cold_ok, rec_ok = share < COLD_TARGET, ratio <= RECORD_TARGET

    rows = [("measure", "picops", "SDK alone", "result", "target", ""),
            ("cold start: import index + config", ms(handler_cold), ms(sdk_cold),
             f"{share:+.1%} own share", f"< {COLD_TARGET:.0%}", verdict(cold_ok)),
            ("per record, transport stubbed", ms(handler_rec), ms(sdk_rec), f"{ratio:.2f}x",
             f"<= {RECORD_TARGET}x", verdict(rec_ok))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"(medians: cold start over {COLD_ROUNDS} fresh interpreters each, alternating; "
          f"per record over {RECORD_ROUNDS} rounds of {RECORDS_PER_SAMPLE} records)")
    print("\ncold start, step by step (median of each step, own fresh interpreters):")
    for name, seconds in zip(BREAKDOWN_STEPS, steps):
        share = "" if name.startswith("qcloud_cos") else f"  {seconds / steps[0]:.1%} of the SDK"
        print(f"  {name:<32} {ms(seconds):>10}{share}")
    return 0 if cold_ok and rec_ok else 1


if __name__ == "__main__":
    sys.exit(main())
