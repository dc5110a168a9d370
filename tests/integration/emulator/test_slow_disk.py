"""A slow disk stalls only the request that waits for it (over real HTTP).

Body bytes reach and leave the disk on the server's thread pool, never on the event loop:
while one upload's write (or one download's read) is stuck, other requests are answered.
Each test makes one disk operation hang until the other request has been answered; were
that operation on the event loop, the other request could not be answered at all.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from picops_emulator.storage import Store
from picops_emulator.storage.files import PendingWrite

BUCKET = "slowdisk-1250000000"
STUCK_FOR = 30.0   # seconds a stuck disk operation waits at most (released much sooner)
ANSWER_IN = 5.0    # seconds the other request may take


@pytest.fixture
def running(emulator_factory):
    return emulator_factory(auth=False, secret_id="", secret_key="", buckets_to_create=(BUCKET,))


class Stuck:
    """Makes marked disk operations wait until released; says when one is waiting."""

    def __init__(self):
        self.waiting = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        self.waiting.set()
        self.release.wait(STUCK_FOR)


def answered_meanwhile(running, stuck: Stuck, slow_request) -> requests.Response:
    """Run ``slow_request`` until its disk operation is stuck; meanwhile ask for another
    object's metadata and return that answer; then let the slow request finish."""
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(slow_request)
        try:
            assert stuck.waiting.wait(ANSWER_IN * 2), "the marked disk operation never ran"
            other = requests.head(f"{running.endpoint}/{BUCKET}/other", timeout=ANSWER_IN)
        finally:
            stuck.release.set()
        assert slow.result(timeout=STUCK_FOR).status_code == 200
    return other


def test_a_stuck_body_write_does_not_stall_other_requests(running, monkeypatch):
    requests.put(f"{running.endpoint}/{BUCKET}/other", data=b"o").raise_for_status()
    stuck, write = Stuck(), PendingWrite.write

    def slow_write(self, chunk):
        if chunk.startswith(b"STUCK"):
            stuck.hold()
        return write(self, chunk)

    monkeypatch.setattr(PendingWrite, "write", slow_write)
    body = b"STUCK" + b"x" * 100_000
    other = answered_meanwhile(running, stuck, lambda: requests.put(
        f"{running.endpoint}/{BUCKET}/slow", data=body, timeout=STUCK_FOR))
    assert other.status_code == 200
    assert requests.get(f"{running.endpoint}/{BUCKET}/slow").content == body


class _SlowFile:
    def __init__(self, fh, stuck: Stuck):
        self._fh, self._stuck = fh, stuck

    def read(self, *args):
        self._stuck.hold()
        return self._fh.read(*args)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def test_a_stuck_body_read_does_not_stall_other_requests(running, monkeypatch):
    body = b"y" * 300_000
    for key in ("slow", "other"):
        requests.put(f"{running.endpoint}/{BUCKET}/{key}", data=body).raise_for_status()
    stuck, open_object = Stuck(), Store.open_object

    def slow_open(self, bucket, key):
        meta, fh = open_object(self, bucket, key)
        return (meta, _SlowFile(fh, stuck)) if key == "slow" else (meta, fh)

    monkeypatch.setattr(Store, "open_object", slow_open)
    got = {}

    def download():
        response = requests.get(f"{running.endpoint}/{BUCKET}/slow", timeout=STUCK_FOR)
        got["body"] = response.content
        return response

    other = answered_meanwhile(running, stuck, download)
    assert other.status_code == 200
    assert got["body"] == body
