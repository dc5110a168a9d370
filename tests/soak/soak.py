"""The fault soak: many clients, random faults, kill -9 of the emulator; then check it all.

A real ``picops emulator`` subprocess runs the project's function (from
``functions/image_processor``) with a small routes config, and these faults on:
CI answers SlowDown/500 before work (``--fault-ci-errors``) or after writing its
outputs (``--fault-ci-errors-after``), the function's processes are killed mid-way
(``--fault-function-crashes``) or time out (``--fault-function-timeouts``). Client
threads upload, overwrite and delete their own keys through the real SDK (each key
has one writer, so its final state is the last acknowledged operation; a request
that fails is repeated until acknowledged). Meanwhile the emulator is SIGKILLed and
restarted on the same data dir and port a few times.

When the operations are done and the trigger journal is empty (retries drained),
the emulator is stopped and its data dir is checked:

* nothing acknowledged is lost: every key exists with the ETag of its last
  acknowledged upload, or is gone after an acknowledged delete;
* every existing source has exactly its derivatives (what the config makes of it)
  and a current manifest (its ETag, exactly those outputs), each derivative stored
  with the ETag its manifest names and made from the source's current bytes (the
  32-px thumbnail's height is the current image's aspect), unless its event is in
  the dead-letter file;
* no derivative exists without its source, unless the delete event is a dead letter;
* every event that could not be processed is in the dead-letter file (the journal
  holds nothing at the end).

``python -m tests.soak.soak --seconds 300`` (``make soak``) prints the report as one
JSON object; ``--interval 0.15`` gives each client an operation every 0.15 s on
average (``clients * seconds / 0.15`` in all: many overwrites of one key in flight
at once, the harsh soak); ``test_soak.py`` runs a short one in ``make test``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from tests.configs import cos_events, serverless_head
from tests import processes

REPO = Path(__file__).resolve().parents[2]
SECRET_ID, SECRET_KEY = "AKIDsoak", "soak-secret"
SOURCE, DERIVED = "uploads-1250000000", "derived-1250000000"
MANIFEST_PREFIX = "_picops/manifests/"

CONFIG = """
routes:
  - prefix: in/
    suffixes: [.jpg, .png]
    bucket: derived-1250000000
    rules:
      - fileid: /small/{dir}/{name}_32.webp
        rule: imageMogr2/thumbnail/32x/format/webp
      - fileid: /tiny/{dir}/{name}_8.png
        rule: imageMogr2/thumbnail/8x8/format/png
"""


def serverless(config: Path) -> str:
    """The soak's serverless.yml: the function reads ``config``; uploads and deletes under
    in/ fire it."""
    return (serverless_head(name="picops-soak", runtime="Python3.9")
            + "  memorySize: 256\n  timeout: 20\n  environment:\n    variables:\n"
            + f"      PICOPS_CONFIG: {config}\n"
            + cos_events(SOURCE, "in/", "cos:ObjectCreated:*", "cos:ObjectRemove:*"))


@dataclass
class SoakOptions:
    seconds: float = 20.0          # how long clients keep operating
    operations: int = 60           # uploads, overwrites and deletes, spread over the time
    clients: int = 3
    keys_per_client: int = 4
    kills: int = 2                 # SIGKILLs of the emulator spread over the run
    ci_errors: float = 0.1
    ci_errors_after: float = 0.05
    function_crashes: float = 0.05
    function_timeouts: float = 0.05
    seed: int = 9
    drain_seconds: float = 240.0


@dataclass
class Report:
    options: dict
    operations: Counter = field(default_factory=Counter)
    request_retries: int = 0
    kills: int = 0
    faults: Counter = field(default_factory=Counter)
    sources: int = 0
    sources_complete: int = 0
    derivatives: int = 0
    dead_letters: int = 0
    dead_letter_keys: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    journal_open: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"options": self.options, "operations": dict(self.operations),
                "request_retries": self.request_retries, "emulator_kills": self.kills,
                "faults_injected": dict(self.faults), "sources_at_end": self.sources,
                "sources_complete": self.sources_complete, "derivatives": self.derivatives,
                "dead_letters": self.dead_letters, "dead_letter_keys": self.dead_letter_keys,
                "journal_open_at_end": self.journal_open, "problems": self.problems,
                "seconds": round(self.seconds, 1)}


def images() -> List[bytes]:
    """A few small, different images (JPEG and PNG bodies, by key suffix)."""
    import pyvips

    out = []
    for i, size in enumerate((48, 64, 40)):
        img = pyvips.Image.black(size, size // 2 + 8, bands=3) + [i * 60, 200 - i * 50, 90]
        out.append(img.cast("uchar"))
    return out


def encode(img, key: str) -> bytes:
    return img.write_to_buffer(".png" if key.endswith(".png") else ".jpg[Q=80]")


class Emulator:
    """The emulator subprocess: start, SIGKILL, restart on the same port and data dir."""

    def __init__(self, root: Path, options: SoakOptions):
        self.root = root
        self.options = options
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log = open(root / "emulator.log", "ab")
        self.lock = threading.Lock()
        self._starts = 0  # starts so far (the first one included)

    def start(self) -> None:
        o = self.options
        args = [sys.executable, "-m", "picops_cli.main", "emulator", "--port", str(self.port),
                "--data-dir", str(self.root / "data"), "--serverless",
                str(self.root / "serverless.yml"), "--config", str(self.root / "picops.yaml"),
                "--function-dir", str(REPO / "functions" / "image_processor"),
                "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
                "--retry-delay", "0.3", "--retry-delay", "0.6", "--ci-qps", "0",
                "--fault-ci-errors", str(o.ci_errors),
                "--fault-ci-errors-after", str(o.ci_errors_after),
                "--fault-function-crashes", str(o.function_crashes),
                "--fault-function-timeouts", str(o.function_timeouts),
                "--fault-seed", str(o.seed + self.restarts())]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(args, cwd=self.root, stdout=subprocess.PIPE, stderr=self.log,
                                env=env, text=True)
        line = proc.stdout.readline()
        if "listening on" not in line:
            proc.kill()
            raise RuntimeError(f"the emulator did not start: {line!r} (see emulator.log)")
        with self.lock:
            self.proc = proc
            self._starts += 1

    def restarts(self) -> int:
        return self._starts

    def kill9(self) -> None:
        with self.lock:
            proc = self.proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        with self.lock:
            proc = self.proc
        if proc is not None:
            processes.stop(proc, 60)
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_for(port: int):
    from qcloud_cos import CosConfig, CosS3Client

    return CosS3Client(CosConfig(Region="ap-guangzhou", SecretId=SECRET_ID,
                                 SecretKey=SECRET_KEY, Scheme="http", IP="127.0.0.1",
                                 Port=port, Timeout=30), retry=0)


def run(root: Path, options: SoakOptions) -> Report:
    """Run the soak in ``root`` (a fresh folder) and return its report."""
    import logging

    logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)  # retried failures are noise
    started = time.monotonic()
    report = Report(options=options.__dict__.copy())
    (root / "picops.yaml").write_text(CONFIG)
    (root / "serverless.yml").write_text(serverless(root / "picops.yaml"))
    emulator = Emulator(root, options)
    emulator.start()
    pictures = images()
    rng = random.Random(options.seed)
    final: Dict[str, Optional[str]] = {}       # key -> md5 of the last acknowledged body
    lock = threading.Lock()
    stop_at = time.monotonic() + options.seconds

    def client(n: int) -> None:
        local = random.Random(options.seed * 100 + n)
        cos = client_for(emulator.port)
        keys = [f"in/c{n}/k{j}.{'png' if j % 2 else 'jpg'}"
                for j in range(options.keys_per_client)]
        mine = options.operations // options.clients + (n < options.operations % options.clients)
        pause = options.seconds / max(1, mine)
        for _ in range(mine):
            if time.monotonic() > stop_at + options.seconds:
                break  # far behind (a very loaded machine): stop rather than run on
            key = local.choice(keys)
            exists = final.get(key) is not None
            op = "delete" if exists and local.random() < 0.3 else (
                "overwrite" if exists else "upload")
            body = encode(local.choice(pictures), key) if op != "delete" else b""
            retries = 0
            while True:
                try:
                    if op == "delete":
                        cos.delete_object(Bucket=SOURCE, Key=key)
                    else:
                        cos.put_object(Bucket=SOURCE, Key=key, Body=body)
                    break
                except Exception:  # noqa: BLE001 - the emulator is down or was killed
                    retries += 1
                    time.sleep(0.2)
            with lock:
                final[key] = None if op == "delete" else hashlib.md5(body).hexdigest()
                report.operations[op] += 1
                report.request_retries += retries
            time.sleep(local.uniform(0.0, 2 * pause))

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(options.clients)]
    for t in threads:
        t.start()
    kill_times = sorted(rng.uniform(0.15, 0.85) * options.seconds for _ in range(options.kills))
    t0 = time.monotonic()
    for at in kill_times:
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        emulator.kill9()
        report.kills += 1
        time.sleep(rng.uniform(0.1, 1.0))  # clients meet a closed port meanwhile
        emulator.start()
    for t in threads:
        t.join()
    try:
        _drain(root / "data", options.drain_seconds)
    finally:
        emulator.stop()
    _check(root, final, report)
    report.faults = _faults(root / "emulator.log")
    report.seconds = time.monotonic() - started
    return report


def _drain(data_dir: Path, seconds: float) -> None:
    """Wait until the trigger journal has no open entry for a while (retries drained)."""
    from picops_emulator.triggers.journal import FILE_NAME, _replay

    deadline = time.monotonic() + seconds
    quiet = 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if not _replay(data_dir / FILE_NAME) else 0
        if quiet >= 6:
            return
        time.sleep(0.5)


def _check(root: Path, final: Dict[str, Optional[str]], report: Report) -> None:
    from picops.config import load_config
    from picops.routing import plan
    from picops_emulator.storage import Store
    from picops_emulator.triggers.deadletter import read_dead_letters
    from picops_emulator.triggers.journal import FILE_NAME, _replay

    config = load_config(str(root / "picops.yaml"))
    data = root / "data"
    report.journal_open = len(_replay(data / FILE_NAME))
    if report.journal_open:
        report.problems.append(f"{report.journal_open} event(s) still open in the journal")
    dead = read_dead_letters(data)
    report.dead_letters = len(dead)
    dead_keys = {entry["Key"] for entry in dead}
    report.dead_letter_keys = sorted(dead_keys)
    store = Store(data, fsync=False)
    try:
        def listing(bucket: str) -> Dict[str, str]:
            out, marker = {}, ""
            while True:
                page = store.list_objects(bucket, marker=marker, max_keys=1000)
                for meta in page.contents:
                    out[meta.key] = meta.etag
                if not page.truncated:
                    return out
                marker = page.next_marker
        sources = {k: v for k, v in listing(SOURCE).items() if not k.startswith(MANIFEST_PREFIX)}
        derived = listing(DERIVED)
        expected_outputs = {}
        for key in final:
            for out in plan(config, SOURCE, key).outputs:
                expected_outputs[out.key] = key
        for key, md5 in sorted(final.items()):
            have = sources.get(key)
            if md5 is None and have is not None:
                report.problems.append(f"lost delete: {key} exists after an acknowledged delete")
            if md5 is not None and have != md5:
                report.problems.append(f"lost upload: {key} is {have!r}, the last acknowledged "
                                       f"upload was {md5}")
        report.sources = len(sources)
        for key, etag in sorted(sources.items()):
            wanted = {o.key for o in plan(config, SOURCE, key).outputs}
            report.derivatives += len(wanted & set(derived))
            manifest = _manifest(store, key)
            why = None
            if not wanted <= set(derived):
                why = f"missing derivatives {sorted(wanted - set(derived))}"
            elif manifest is None:
                why = "no manifest"
            elif manifest.get("source", {}).get("etag") != etag:
                why = f"manifest is for ETag {manifest.get('source', {}).get('etag')}, not {etag}"
            elif {o["key"] for o in manifest.get("outputs", [])} != wanted:
                why = "manifest lists other outputs"
            else:
                why = _not_of_current_bytes(store, key, manifest, derived)
            if why is None:
                report.sources_complete += 1
            elif key not in dead_keys:
                report.problems.append(f"{key}: {why}, and its event is not a dead letter")
        for out_key in sorted(derived):
            owner = expected_outputs.get(out_key)
            if owner is None:
                report.problems.append(f"derivative {out_key} belongs to no source key")
            elif owner not in sources and owner not in dead_keys:
                report.problems.append(f"derivative {out_key} outlived its source {owner}")
    finally:
        store.close()


def _not_of_current_bytes(store, key: str, manifest: dict,
                          derived: Dict[str, str]) -> Optional[str]:
    """Why the derivatives are not what the manifest says or not made from the source's
    current bytes; None when they are. Each stored derivative must have the ETag its
    manifest entry names (nothing overwrote it since), and the 32-px-wide thumbnail must
    have the height the current source gives (the soak's images differ in aspect ratio)."""
    import pyvips

    for out in manifest.get("outputs", []):
        if derived.get(out["key"]) != out.get("etag"):
            return (f"derivative {out['key']} is ETag {derived.get(out['key'])}, its manifest "
                    f"says {out.get('etag')}")
    source = pyvips.Image.new_from_buffer(store.read_bytes(SOURCE, key), "")
    for out in manifest.get("outputs", []):
        if out["key"].startswith("small/"):
            thumb = pyvips.Image.new_from_buffer(store.read_bytes(DERIVED, out["key"]), "")
            want = max(1, int(source.height * 32 / source.width + 0.5))
            if (thumb.width, thumb.height) != (32, want):
                return (f"derivative {out['key']} is {thumb.width}x{thumb.height}, the current "
                        f"source ({source.width}x{source.height}) gives 32x{want}")
    return None


def _manifest(store, key: str) -> Optional[dict]:
    try:
        return json.loads(store.read_bytes(SOURCE, MANIFEST_PREFIX + key + ".json"))
    except Exception:  # noqa: BLE001 - absent or unreadable: no manifest
        return None


def _faults(log_path: Path) -> Counter:
    counts: Counter = Counter()
    for raw in log_path.read_bytes().splitlines():
        if raw.startswith(b'{"fault"'):
            try:
                counts[json.loads(raw)["fault"]] += 1
            except ValueError:
                pass
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--operations", type=int, default=600)
    parser.add_argument("--interval", type=float, default=None,
                        help="seconds between two operations of one client (0.15 for the "
                             "harsh soak); sets --operations to clients * seconds / interval")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--keys-per-client", type=int, default=8)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    if args.interval is not None:
        if args.interval <= 0:
            parser.error("--interval must be a positive number of seconds")
        args.operations = max(1, int(args.clients * args.seconds / args.interval))
    options = SoakOptions(seconds=args.seconds, operations=args.operations, clients=args.clients,
                          keys_per_client=args.keys_per_client, kills=args.kills, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="picops-soak-") as tmp:
        report = run(Path(tmp), options)
    print(json.dumps(report.to_json(), indent=1))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
