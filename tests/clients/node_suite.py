"""Run cos-nodejs-sdk-v5's own test suite against the emulator (``make clients``).

``python -m tests.clients.node_suite [--grep REGEX] [--mode proxy|ip] [--results FILE]``

The suite comes from ``build/clients/node/sdk`` (``python -m tests.clients.install node``).
Only its client configuration is adapted: the environment it reads (SecretId, SecretKey,
Bucket, Region, Uin, nodejssdkStsUrl; in proxy mode also HTTP_PROXY/NO_PROXY), its
``var proxy = ''`` setting (the proxy its direct ``request()`` calls use) and, through
``node/adapter.js``, the endpoint of every COS client it creates. Its assertions run
untouched. Exit status: 0 when every case inside the
emulator's subset passed (cases outside it are listed with their reason in
``node/outside.tsv``), 1 otherwise, 2 when the suite could not run at all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import harness
from .install import NODE_DIR, SDK_DIR, SUITE_FILE

HERE = Path(__file__).resolve().parent / "node"
PROXY_LINE = "var proxy = '';"
ADAPTED_NAME = "test.picops.js"
CASE_TIMEOUT_MS = 120_000


def adapted_suite(proxy: str) -> Path:
    """A copy of the suite beside the original whose only change is its proxy setting."""
    source = (SDK_DIR / SUITE_FILE).read_text(encoding="utf-8")
    if source.count(PROXY_LINE) != 1:
        raise SystemExit(f"node suite: expected exactly one {PROXY_LINE!r} in {SUITE_FILE}; "
                         "this revision of the suite configures its proxy differently")
    target = SDK_DIR / SUITE_FILE.parent / ADAPTED_NAME
    target.write_text(source.replace(PROXY_LINE, f"var proxy = {json.dumps(proxy)};"),
                      encoding="utf-8")
    return target


def run_suite(grep: str = "", mode: str = "proxy", timeout: float = 3600) -> list:
    if not (SDK_DIR / SUITE_FILE).is_file():
        raise SystemExit("node suite: build/clients/node/sdk is missing; run "
                         "`make clients-install` (or python -m tests.clients.install node)")
    with harness.emulator() as running, harness.sts_server() as sts_url, \
            tempfile.TemporaryDirectory() as tmp:
        endpoint = f"127.0.0.1:{running.port}"
        suite = adapted_suite(f"http://{endpoint}" if mode == "proxy" else "")
        results_file = Path(tmp) / "results.json"
        env = dict(os.environ, SecretId=harness.SECRET_ID, SecretKey=harness.SECRET_KEY,
                   Bucket=harness.BUCKET, Region=harness.REGION, Uin=harness.APPID,
                   nodejssdkStsUrl=sts_url, PICOPS_ENDPOINT=endpoint, PICOPS_NODE_MODE=mode,
                   PICOPS_NODE_SDK=str(SDK_DIR / "index.js"),
                   PICOPS_NODE_RESULTS=str(results_file))
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY",
                     "no_proxy"):
            env.pop(name, None)
        if mode == "proxy":  # the suite's own request() calls that name no proxy use these
            env.update(HTTP_PROXY=f"http://{endpoint}", NO_PROXY="127.0.0.1,localhost")
        cmd = ["node", str(NODE_DIR / "node_modules" / "mocha" / "bin" / "_mocha"),
               "--require", str(HERE / "adapter.js"), "--reporter", str(HERE / "reporter.js"),
               "--timeout", str(CASE_TIMEOUT_MS), "--exit"]
        if grep:
            cmd += ["--grep", grep]
        cmd.append(str(suite.relative_to(SDK_DIR)))
        with open(Path(tmp) / "stdout.log", "wb") as out:
            proc = subprocess.run(cmd, cwd=SDK_DIR, env=env, stdout=out, timeout=timeout)
        if not results_file.is_file():
            tail = (Path(tmp) / "stdout.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"node suite: mocha exited {proc.returncode} without results; "
                             f"its output ended with:\n{tail}")
        return json.loads(results_file.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grep", default="", help="only cases whose full title matches")
    parser.add_argument("--mode", choices=("proxy", "ip"), default="proxy")
    parser.add_argument("--results", type=Path, help="also write every case's result here")
    args = parser.parse_args(argv)
    outside = harness.load_outside(HERE / "outside.tsv")
    results = run_suite(args.grep, args.mode)
    if args.results:
        args.results.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    v = harness.verdict(results, outside, complete=not args.grep)
    print(v.summary(f"cos-nodejs-sdk-v5 suite ({args.mode} mode)"))
    return 0 if v.ok else 1


if __name__ == "__main__":
    sys.exit(main())
