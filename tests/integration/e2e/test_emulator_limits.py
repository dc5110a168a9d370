"""A ceiling raised with ``picops emulator --limit`` lets through, end to end, what the
default refuses: the same upload, through the trigger, the function and CI, fails on an
emulator with the defaults and is processed on one started with the ceiling raised."""

from pathlib import Path

import pytest

from tests.hostile import progressive_jpeg_many_scans
from tests.integration.console.test_emulator_command import Emulator, _client
from tests.localcloud import DERIVED_BUCKET, SOURCE_BUCKET, make_project

KEY = "uploads/scans.jpg"
DERIVATIVE = "thumbs/uploads/scans_jpg_64.webp"


@pytest.fixture(scope="module")
def many_scans() -> bytes:
    data = progressive_jpeg_many_scans(side=1024, levels=2)
    assert data.count(b"\xff\xda") == 127  # over the default ceiling of 100 scans
    return data


def _upload_and_read_the_line(root: Path, data_dir: str, data: bytes, *limits: str):
    """Start ``picops emulator`` with ``limits``; upload ``data``; return the ready lines,
    the function's line for the upload, and a client."""
    args = ["--port", "0", "--data-dir", data_dir, "--no-watch", "--source"]
    for limit in limits:
        args += ["--limit", limit]
    emu = Emulator(root, *args)
    try:
        ready = emu.read_until(emu.out, lambda line: line.startswith("  picops CLI:"))
        port = int(ready[0].split("127.0.0.1:")[1].split()[0])
        client = _client(port)
        client.put_object(Bucket=SOURCE_BUCKET, Key=KEY, Body=data)
        line = emu.read_until(emu.err, lambda text: KEY in text)[-1]
        listed = client.list_objects(Bucket=DERIVED_BUCKET).get("Contents", [])
        return ready, line, [c["Key"] for c in listed]
    finally:
        emu.stop()


def test_a_raised_ceiling_lets_through_what_the_default_refuses(tmp_path, many_scans):
    project = make_project(tmp_path)

    ready, line, outputs = _upload_and_read_the_line(project.root, "default", many_scans)
    assert not any("ceilings:" in text for text in ready)
    assert f"{KEY} FAILED ProcessingLimitExceeded" in line, line
    assert "127 scans" in line and "at most 100" in line
    assert "picops emulator --limit max_jpeg_scans=<value> raises it" in line
    assert outputs == []

    ready, line, outputs = _upload_and_read_the_line(
        project.root, "raised", many_scans, "max_jpeg_scans=200")
    assert "  ceilings:    max_jpeg_scans=200 (default 100)" in "\n".join(ready)
    assert f"{KEY} processed -> {DERIVED_BUCKET}: {DERIVATIVE} 64x64 webp" in line, line
    assert DERIVATIVE in outputs
