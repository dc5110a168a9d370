"""The handler's own cost, measured side by side with the COS SDK it wraps.

Run: ``python -m bench.bench_handler`` (also part of ``make bench``).

1. Cold start, as SCF runs it. The deployable package for serverless.yml's
   runtime is built twice into a temp directory (``picops_cli.package.build``:
   the function, its config sidecar, the runtime's manylinux dependencies), once
   with that runtime's CPython bytecode and once source only. Then, on the
   runtime's CPython (found on PATH or in pyenv's versions folder), in fresh
   interpreters with only the package on sys.path (``-I -S``) and writing no
   bytecode (``-B``, SCF sets ``PYTHONDONTWRITEBYTECODE``), alternating between
   the two packages and the two measures: ``import index`` + config load +
   ``main_handler`` on an empty event, versus a bare ``import qcloud_cos`` from
   the same package. The handler's own share is the difference of the medians
   as a percentage of the SDK's import time. Target: under 20%, for both
   packages. Without the runtime's CPython only the source-only package is
   measured, on the current interpreter; the output says which.
2. Per-record work outside the network. The transport is a canned requests
   adapter (no socket) for both sides: the handler's ``handle()`` on a
   one-record event of the shipped uploads/ route (4 rules, one call) versus a
   bare SDK ``ci_image_process`` with the same Pic-Operations and the same
   response. Target: at most 1.5x. The handler is measured with manifests off
   (one CI call each side) for the target, and with the default manifests on
   (a GET, a HEAD and a PUT more per record) for information.

Prints a table and exits non-zero when a target is missed.
"""

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "image_processor"
ENV = {"TENCENTCLOUD_SECRETID": "AKIDbench", "TENCENTCLOUD_SECRETKEY": "bench-key",
       "TENCENTCLOUD_SESSIONTOKEN": "bench-token", "TENCENTCLOUD_REGION": "ap-guangzhou",
       "COS_ENDPOINT": "http://127.0.0.1:9"}
KEY = "uploads/2024/cat.jpg"
EVENT_ETAG = '"0d7316832fef232e5dcdcf81f39bfdba"'  # the ETag of tests/events/cos_put_real.json
BUCKET = "uploads-1250000000"

COLD_TARGET = 0.20   # handler's own import + config share of the SDK import time
RECORD_TARGET = 1.5  # handler per record / bare SDK call
COLD_ROUNDS = 25
RECORD_ROUNDS = 20
RECORDS_PER_SAMPLE = 50

_TIMED_IMPORT = """
import sys, time
sys.path.insert(0, sys.argv[1])
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
import picops.grammar
t.append(time.perf_counter())
import picops.handler
t.append(time.perf_counter())
import index
t.append(time.perf_counter())
assert not hasattr(index.PROCESSOR, "error"), index.PROCESSOR.error
print(" ".join(str(b - a) for a, b in zip(t, t[1:])), int("yaml" in sys.modules))
"""
BREAKDOWN_STEPS = ("qcloud_cos (the SDK)", "picops.grammar", "other picops modules",
                   "index: config load + Processor")


class ColdStart(NamedTuple):
    handler: float       # median seconds of import index + config load + an empty event
    sdk: float           # median seconds of ``import qcloud_cos`` from the same package
    steps: List[float]   # median of each BREAKDOWN_STEPS step
    yaml_imported: bool  # whether the cold start imported PyYAML
    setup: str           # interpreter, bytecode and package, in words


def _env() -> dict:
    env = dict(os.environ)
    env.pop("PICOPS_CONFIG", None)
    env.update(ENV)
    return env


def _run(python: str, code: str, *args: str) -> str:
    # -I -S: nothing but the package and the stdlib. -B, as SCF's
    # PYTHONDONTWRITEBYTECODE (which -I would ignore): only shipped bytecode is read.
    out = subprocess.run([python, "-I", "-S", "-B", "-c", code, *args], env=_env(),
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


#: The handler's cold start as SCF pays it: import, config load, then one (empty) event.
_TIMED_HANDLER = """
import sys, time
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
import index
index.main_handler({"Records": []}, {"request_id": "bench"})
print(time.perf_counter() - t0)
"""


def cold_start() -> List[ColdStart]:
    """Build the package twice (shipped bytecode, source only) for serverless.yml's runtime
    and time both on that runtime's CPython, alternating in one run (see the module doc)."""
    from picops_cli.package import build, bytecode_tags, find_python, runtime_from_serverless

    runtime = runtime_from_serverless()
    runtime_python = find_python(runtime)
    python = runtime_python or sys.executable
    version = _run(python, "import sys; print('%d.%d' % sys.version_info[:2])")
    with tempfile.TemporaryDirectory(prefix="picops-bench-") as tmp:
        variants = []
        for name, bytecode in (("bytecode", True), ("source", False)):
            if bytecode and runtime_python is None:
                continue  # no runtime CPython to compile with: only the source-only package
            pkg = build(Path(tmp) / name, runtime, python=runtime_python,
                        bytecode=bytecode).path
            tags = bytecode_tags(pkg)
            variants.append((str(pkg), f"{runtime.name} package on CPython {version}, " + (
                f"shipped {', '.join(tags)} bytecode" if tags else
                "source only: every start compiles")))

        def timed(code: str, pkg: str) -> float:
            return float(_run(python, code, pkg))

        sdk_code = _TIMED_IMPORT.format(module="qcloud_cos")
        for pkg, _ in variants:  # warm the OS file cache
            timed(_TIMED_HANDLER, pkg)
            timed(sdk_code, pkg)
        samples = {pkg: ([], [], []) for pkg, _ in variants}
        yaml_seen = {pkg: False for pkg, _ in variants}
        for _ in range(COLD_ROUNDS):
            for pkg, _ in variants:
                handler, sdk, steps = samples[pkg]
                handler.append(timed(_TIMED_HANDLER, pkg))
                sdk.append(timed(sdk_code, pkg))
                *times, has_yaml = _run(python, _BREAKDOWN, pkg).split()
                steps.append([float(x) for x in times])
                yaml_seen[pkg] |= has_yaml == "1"
    return [ColdStart(statistics.median(samples[pkg][0]), statistics.median(samples[pkg][1]),
                      [statistics.median(col) for col in zip(*samples[pkg][2])],
                      yaml_seen[pkg], setup) for pkg, setup in variants]


# --- 2. per record -----------------------------------------------------------------------

def _canned_session(body: bytes):
    import requests
    from requests.adapters import BaseAdapter
    from requests.structures import CaseInsensitiveDict

    from picops.ci_client import BudgetSession

    no_such_key = (b"<?xml version='1.0' encoding='utf-8' ?><Error><Code>NoSuchKey</Code>"
                   b"<Message>The specified key does not exist.</Message>"
                   b"<RequestId>rid-bench</RequestId></Error>")

    class CannedAdapter(BaseAdapter):
        """Answers like COS and CI, without a socket: POST (CI) the UploadResult ``body``;
        GET 404 NoSuchKey (no manifest yet); HEAD 200 with the event's ETag (the source,
        unchanged since its event); PUT 200; DELETE 204."""

        def send(self, request, **kwargs):
            r = requests.Response()
            status, content = {"POST": (200, body), "GET": (404, no_such_key),
                               "HEAD": (200, b""), "DELETE": (204, b"")}.get(
                                   request.method, (200, b""))
            r.status_code, r._content = status, content
            r.headers = CaseInsensitiveDict({"x-cos-request-id": "rid-bench",
                                             "Content-Type": "application/xml",
                                             "Content-Length": str(len(content)),
                                             "ETag": EVENT_ETAG if request.method == "HEAD"
                                             else '"e0"'})
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


class PerRecord(NamedTuple):
    handler: float    # median seconds per record, the handler's CI work alone
    sdk: float        # median seconds per bare ci_image_process call
    manifests: float  # median seconds per record with the default manifests (GET+HEAD+PUT)


def per_record() -> PerRecord:
    """Median seconds per record of handler.handle (manifests off, then on) and of a
    bare ci_image_process. The 1.5x target compares like with like, one CI call
    each: manifests add three COS calls of their own and are shown apart."""
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

    def processor(config):
        p = Processor(config, ENV, logger=JsonLogger(sink),
                      client_factory=lambda env, region: make_cos_client(
                          env, region, session=_canned_session(body)))
        summary = p.handle(event, context)
        assert summary["counts"]["processed"] == 1, summary  # it really did the work
        return p

    ci_only = processor(config._replace(manifests=config.manifests._replace(enabled=False)))
    with_manifests = processor(config)
    bare = make_cos_client(ENV, "ap-guangzhou", session=_canned_session(body))

    def batch(p):
        def run():
            for _ in range(RECORDS_PER_SAMPLE):
                p.handle(event, context)
            sink.seek(0)
            sink.truncate()
        return run

    def sdk_batch():
        for _ in range(RECORDS_PER_SAMPLE):
            bare.ci_image_process(Bucket=BUCKET, Key=KEY, PicOperations=header)

    timings = compare([("handler", batch(ci_only)), ("sdk", sdk_batch),
                       ("manifests", batch(with_manifests))], rounds=RECORD_ROUNDS)
    return PerRecord(*(timings[n].median / RECORDS_PER_SAMPLE
                       for n in ("handler", "sdk", "manifests")))


def main() -> int:
    from bench.timing import ms, verdict

    colds = cold_start()
    rec = per_record()
    ratio = rec.handler / rec.sdk
    rec_ok = ratio <= RECORD_TARGET
    cold_ok = True
    rows = [("measure", "picops", "SDK alone", "result", "target", "")]
    for cold in colds:
        share = (cold.handler - cold.sdk) / cold.sdk
        ok = share < COLD_TARGET
        cold_ok &= ok
        rows.append((f"cold start ({cold.setup.split(', ')[-1].split(':')[0]})",
                     ms(cold.handler), ms(cold.sdk), f"{share:+.1%} own share",
                     f"< {COLD_TARGET:.0%}", verdict(ok)))
    rows += [("per record, transport stubbed", ms(rec.handler), ms(rec.sdk), f"{ratio:.2f}x",
              f"<= {RECORD_TARGET}x", verdict(rec_ok)),
             ("  same, with manifests (+GET +HEAD +PUT)", ms(rec.manifests), ms(rec.sdk),
              f"{rec.manifests / rec.sdk:.2f}x", "(info)", "")]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"(medians: cold start = import index + config load + an empty event, against a "
          f"bare import qcloud_cos from the same package, over {COLD_ROUNDS} fresh "
          f"interpreters each, all variants alternating in one run; per record over "
          f"{RECORD_ROUNDS} rounds of {RECORDS_PER_SAMPLE} records)")
    for cold in colds:
        print(f"\n{cold.setup}: cold start step by step (median of each step):")
        for name, seconds in zip(BREAKDOWN_STEPS, cold.steps):
            part = ("" if name.startswith("qcloud_cos")
                    else f"  {seconds / cold.steps[0]:.1%} of the SDK")
            print(f"  {name:<32} {ms(seconds):>10}{part}")
        print(f"  PyYAML imported at cold start: "
              f"{'yes' if cold.yaml_imported else 'no (sidecar)'}")
    return 0 if cold_ok and rec_ok else 1


if __name__ == "__main__":
    sys.exit(main())
