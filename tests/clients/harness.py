"""What the external-client suites share: an emulator to talk to, a stand-in STS server, and
the verdict against the checked-in list of cases outside the emulator's subset.

Contract:
- :func:`emulator` starts the COS + CI emulator (auth on, no triggers) on an ephemeral
  loopback port with the suite key pair, region and bucket below, in a fresh data dir.
- :func:`sts_server` serves what the Node suite's ``nodejssdkStsUrl`` backend serves — the
  user's own signing backend, not Tencent's STS: ``GET /sts`` hands out the emulator's key
  pair as "temporary" credentials with a session token (the emulator accepts any token with
  a valid key pair; it cannot scope credentials by policy), ``GET /uploadSign`` a signature
  for ``PUT /1.txt``.
- :func:`load_outside` reads an ``outside.tsv`` (case title TAB reason; ``#`` comments) and
  :func:`verdict` compares results with it: the run fails when a case fails that the list
  does not name; a listed case that passes is reported (the list may be stale) but does not
  fail the run.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from picops_emulator.ci.service import CiService
from picops_emulator.runner import EmulatorSettings, RunningEmulator, start_in_thread
from picops_emulator.cos import auth

SECRET_ID = "AKIDpicopsClientSuites"
SECRET_KEY = "picopsClientSuitesSecretKey"
REGION = "ap-guangzhou"
APPID = "1250000000"
BUCKET = f"clients-suite-{APPID}"
TOKEN = "picops-local-session-token"


@contextlib.contextmanager
def emulator(buckets: Tuple[str, ...] = (BUCKET,)) -> Iterator[RunningEmulator]:
    with tempfile.TemporaryDirectory(prefix="picops-clients-") as tmp:
        running = start_in_thread(EmulatorSettings(
            port=0, data_dir=Path(tmp) / "data", secret_id=SECRET_ID, secret_key=SECRET_KEY,
            region=REGION, auth=True, fsync=False, buckets_to_create=buckets,
            ci_backend=CiService()))
        try:
            yield running
        finally:
            running.stop()


def upload_signature(bucket: str, region: str, key: str, now: float) -> str:
    """An Authorization value for ``PUT /<key>`` signing only the host, valid one hour."""
    window = f"{int(now) - 60};{int(now) + 3600}"
    host = f"{bucket}.cos.{region}.myqcloud.com"
    http = auth.http_string("PUT", "/" + key, [], [("host", host)])
    signature = auth.sign(SECRET_KEY, window, auth.string_to_sign(window, http))
    return (f"q-sign-algorithm=sha1&q-ak={SECRET_ID}&q-sign-time={window}&q-key-time={window}"
            f"&q-header-list=host&q-url-param-list=&q-signature={signature}")


class _StsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        now = time.time()
        if self.path.startswith("/sts"):
            doc = {"credentials": {"tmpSecretId": SECRET_ID, "tmpSecretKey": SECRET_KEY,
                                   "sessionToken": TOKEN},
                   "startTime": int(now), "expiredTime": int(now) + 1800}
        elif self.path.startswith("/uploadSign"):
            doc = {"signMap": {"PutObject": upload_signature(BUCKET, REGION, "1.txt", now)}}
        else:
            self.send_error(404)
            return
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def sts_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def load_outside(path: Path) -> Dict[str, str]:
    """``title -> reason`` from a TSV of the cases outside the emulator's subset."""
    outside: Dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        title, sep, reason = line.partition("\t")
        if not sep or not reason.strip():
            raise ValueError(f"{path.name}:{n}: expected 'case title<TAB>reason'")
        if title in outside:
            raise ValueError(f"{path.name}:{n}: {title!r} is listed twice")
        outside[title] = reason.strip()
    return outside


@dataclass
class Verdict:
    inside_total: int = 0
    inside_passed: int = 0
    failed_inside: List[Tuple[str, str]] = field(default_factory=list)
    listed_but_passed: List[str] = field(default_factory=list)
    listed_not_run: List[str] = field(default_factory=list)
    outside_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed_inside and self.inside_total > 0

    def summary(self, suite: str) -> str:
        lines = [f"{suite}: {self.inside_passed}/{self.inside_total} inside the emulator's "
                 f"subset passed; {self.outside_total} cases outside it (listed with reasons)"]
        for title, error in self.failed_inside:
            first = error.splitlines()[0] if error else ""
            lines.append(f"  FAILED inside the subset: {title}\n      {first}")
        for title in self.listed_but_passed:
            lines.append(f"  note: listed outside but passed: {title}")
        for title in self.listed_not_run:
            lines.append(f"  note: listed outside but not in this run: {title}")
        return "\n".join(lines)


def verdict(results: List[dict], outside: Dict[str, str], complete: bool = True) -> Verdict:
    """``results``: ``{"title", "state": passed|failed|pending, "error"?}`` per case."""
    v = Verdict()
    seen = set()
    for r in results:
        title = r["title"]
        seen.add(title)
        if title in outside:
            v.outside_total += 1
            if r["state"] == "passed":
                v.listed_but_passed.append(title)
            continue
        v.inside_total += 1
        if r["state"] == "passed":
            v.inside_passed += 1
        else:
            v.failed_inside.append((title, r.get("error", r["state"])))
    if complete:
        v.listed_not_run = sorted(t for t in outside if t not in seen)
    return v
