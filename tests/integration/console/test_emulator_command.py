"""``picops emulator`` as a newcomer runs it: what the ready line says, one readable line
per invocation (CJK keys as characters), ``--log-format json``, and the one-line errors
for a taken port and a data folder in use."""

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from qcloud_cos import CosConfig, CosS3Client

from tests.localcloud import SECRET_ID, SECRET_KEY, SOURCE_BUCKET, make_project
from tests import processes

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"
KEY = "uploads/照片/猫.jpg"


class Emulator:
    """``picops emulator`` in a subprocess, its two streams read line by line."""

    def __init__(self, cwd: Path, *args: str):
        env = dict(os.environ, TENCENTCLOUD_SECRETID=SECRET_ID,
                   TENCENTCLOUD_SECRETKEY=SECRET_KEY, PYTHONIOENCODING="utf-8")
        env.pop("PICOPS_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "picops_cli.main", "emulator", *args], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.out: "queue.Queue[str]" = queue.Queue()
        self.err: "queue.Queue[str]" = queue.Queue()
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))

    def read_until(self, q, predicate, timeout=60.0):
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = q.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and q.empty():
                    break
                continue
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError(f"not seen in time; got {seen}")

    def stop(self):
        processes.stop(self.proc, 20)


def _client(port):
    return CosS3Client(CosConfig(Region="ap-guangzhou", SecretId=SECRET_ID, SecretKey=SECRET_KEY,
                                 Scheme="http", IP="127.0.0.1", Port=port), retry=0)


def _finished(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_ready_line_readable_invocation_lines_and_newcomer_errors(project):
    first = Emulator(project.root, "--port", "0", "--data-dir", "data")
    try:
        ready = first.read_until(first.out, lambda line: line.startswith("  picops CLI:"))
        head = ready[0]
        port = int(re.match(r"picops emulator listening on http://127\.0\.0\.1:(\d+) ",
                            head).group(1))
        text = "\n".join(ready)
        assert f"console:     http://127.0.0.1:{port}/_picops/?token=" in text
        assert "buckets:     derived-1250000000, uploads-1250000000" in text
        assert "triggers:    uploads-1250000000 cos:ObjectCreated:* prefix='uploads/'" in text
        assert f"credentials: SecretId {SECRET_ID}" in text
        assert SECRET_KEY not in text  # the secret itself is never printed
        assert f'Scheme="http", IP="127.0.0.1", Port={port}' in text

        _client(port).put_object(Bucket=SOURCE_BUCKET, Key=KEY,
                                 Body=(IMAGES / "rocket.jpg").read_bytes())
        lines = first.read_until(first.err, lambda line: KEY in line)
        line = lines[-1]
        assert re.match(r"\d\d:\d\d:\d\d picops-image-processor [0-9a-f]{8} ", line), line
        assert (f"{KEY} processed -> derived-1250000000: thumbs/uploads/照片/猫_jpg_64.webp "
                "64x43 webp") in line
        assert re.search(r" \d+ ms \(cold start\)$", line)
        assert not any(line.lstrip().startswith("{") for line in lines)  # no raw JSON

        # a second emulator on the same data folder: one clear line, no traceback
        code, out, err = _finished(subprocess.Popen(
            [sys.executable, "-m", "picops_cli.main", "emulator", "--port", "0",
             "--data-dir", "data"], cwd=project.root, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, TENCENTCLOUD_SECRETID=SECRET_ID,
                     TENCENTCLOUD_SECRETKEY=SECRET_KEY)))
        assert code == 1 and "Traceback" not in err
        assert err.strip().splitlines() == [
            "error: the data folder data is in use by another picops emulator: stop that one, "
            "or pass another --data-dir"]

        # the same port: named, with who holds it and what to do
        code, out, err = _finished(subprocess.Popen(
            [sys.executable, "-m", "picops_cli.main", "emulator", "--port", str(port),
             "--data-dir", "other"], cwd=project.root, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, TENCENTCLOUD_SECRETID=SECRET_ID,
                     TENCENTCLOUD_SECRETKEY=SECRET_KEY)))
        assert code == 1 and "Traceback" not in err
        [message] = err.strip().splitlines()
        assert message.startswith(f"error: port {port} on 127.0.0.1 is already in use by pid "
                                  f"{first.proc.pid} (")
        assert "--port 0" in message
    finally:
        first.stop()


def test_log_format_json_gives_the_raw_json_lines(project):
    emu = Emulator(project.root, "--port", "0", "--data-dir", "data", "--log-format", "json",
                   "--no-watch")
    try:
        ready = emu.read_until(emu.out, lambda line: line.startswith("  picops CLI:"))
        assert not any(line.startswith("  watching:") for line in ready)
        port = int(re.search(r":(\d+) \(data", ready[0]).group(1))
        _client(port).put_object(Bucket=SOURCE_BUCKET, Key=KEY,
                                 Body=(IMAGES / "rocket.jpg").read_bytes())
        lines = emu.read_until(emu.err, lambda line: '"decision": "delivered"' in line)
        decisions = [json.loads(line) for line in lines if line.startswith("{")]
        assert [d["decision"] for d in decisions][:1] == ["matched"]
        assert decisions[-1]["key"] == KEY  # the trigger layer writes non-ASCII as is
        function_lines = [line for line in lines if "record processed" in line]
        assert function_lines and json.loads(function_lines[0].split("] ", 1)[1])["key"] == KEY
    finally:
        emu.stop()


def test_the_launch_note_is_printed_once(tmp_path):
    """In the checkout (the function runs from its built package when the runtime's CPython
    is here, else from source with a warning), start-up says how the function runs once."""
    checkout = Path(__file__).resolve().parents[3]
    emu = Emulator(checkout, "--port", "0", "--data-dir", str(tmp_path / "data"),
                   "--no-watch")
    try:
        ready = emu.read_until(emu.out, lambda line: line.startswith("  picops CLI:"))
        [shown] = [line for line in ready if line.startswith("  function:    ")]
        emu.stop()
        time.sleep(0.5)  # let the reader thread take the last lines of stderr
        err = []
        while not emu.err.empty():
            err.append(emu.err.get())
        said = ready + err
        note = shown[len("  function:    "):]
        assert sum(note in line for line in said) == 1, said
        if "see the warning above" in note:  # the fallback: its warning, then the line
            assert sum("no CPython" in line for line in said) == 1, said
        else:
            assert not any(line.startswith("function from ") for line in said), said
    finally:
        emu.stop()
