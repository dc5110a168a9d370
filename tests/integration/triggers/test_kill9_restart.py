"""kill -9 of the emulator with trigger events in flight: after a restart on the same data
dir, every acknowledged upload reaches the function (at least once), none in dead letters.

The emulator runs as a real subprocess (``picops emulator``), uploads go through the
real SDK over HTTP, and the process is SIGKILLed right after the last upload is
acknowledged, while most events are still queued or running.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qcloud_cos import CosConfig, CosS3Client

from picops_emulator.triggers.deadletter import read_dead_letters
from tests.configs import SERVERLESS_HEAD, cos_events
from tests import processes

SECRET_ID, SECRET_KEY = "AKIDkill9", "kill9-secret"
BUCKET = "uploads-1250000000"
UPLOADS = 40
WAIT = 180  # generous bound on a loaded machine; never a speed check

#: Each event takes a while, so most are still queued when the emulator is killed; the
#: receipt is appended (and fsynced) before the handler returns.
FUNCTION = """
    import os, time
    def main_handler(event, context):
        time.sleep(0.4)
        key = event["Records"][0]["cos"]["cosObject"]["key"].split("/", 3)[-1]
        fd = os.open(os.environ["RECEIPTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, (key + "\\n").encode())
        os.fsync(fd)
        os.close(fd)
        return "ok"
"""

CONFIG = """
routes:
  - prefix: in/
    bucket: derived-1250000000
    rules:
      - fileid: /out/{dir}/{name}.webp
        rule: imageMogr2/format/webp
"""


def write_project(root: Path, receipts: Path) -> None:
    (root / "functions" / "image_processor").mkdir(parents=True)
    (root / "functions" / "image_processor" / "index.py").write_text(textwrap.dedent(FUNCTION))
    (root / "picops.yaml").write_text(CONFIG)
    (root / "serverless.yml").write_text(SERVERLESS_HEAD + textwrap.indent(textwrap.dedent(f"""\
        memorySize: 128
        timeout: 30
        environment:
          variables:
            RECEIPTS: {receipts}
        """), "  ") + cos_events(BUCKET, "in/", "cos:ObjectCreated:*"))


def start_emulator(root: Path, data_dir: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "picops_cli.main", "emulator", "--port", "0",
         "--data-dir", str(data_dir), "--serverless", str(root / "serverless.yml"),
         "--config", str(root / "picops.yaml"), "--secret-id", SECRET_ID,
         "--secret-key", SECRET_KEY, "--retry-delay", "0.2", "--retry-delay", "0.2"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    line = proc.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, line
    port = int(line.split("http://127.0.0.1:", 1)[1].split()[0])
    return proc, port


def client_for(port: int) -> CosS3Client:
    return CosS3Client(CosConfig(Region="ap-guangzhou", SecretId=SECRET_ID, SecretKey=SECRET_KEY,
                                 Scheme="http", IP="127.0.0.1", Port=port), retry=0)


def received(receipts: Path) -> list:
    return receipts.read_text().split() if receipts.exists() else []


def test_every_acknowledged_upload_reaches_the_function_after_a_kill_9(tmp_path):
    receipts = tmp_path / "receipts.txt"
    data_dir = tmp_path / "data"
    write_project(tmp_path, receipts)
    proc, port = start_emulator(tmp_path, data_dir)
    acknowledged = []
    lock = threading.Lock()
    try:
        client = client_for(port)

        def upload(i: int) -> None:
            key = f"in/{i:03d}.jpg"
            client.put_object(Bucket=BUCKET, Key=key, Body=b"not even an image %d" % i)
            with lock:
                acknowledged.append(key)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(upload, range(UPLOADS)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(acknowledged) == UPLOADS
    before_restart = set(received(receipts))
    assert len(before_restart) < UPLOADS  # events really were in flight at the kill

    proc, port = start_emulator(tmp_path, data_dir)
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not set(acknowledged) <= set(received(receipts)):
            time.sleep(0.1)
        assert set(received(receipts)) == set(acknowledged)
        assert read_dead_letters(data_dir) == []
    finally:
        processes.stop(proc, 30)
