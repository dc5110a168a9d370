"""Issue 9's HTTP-edge attacks in the forms a hand-written client sends them, over raw
sockets (replayed from the end-to-end attack run against ``picops emulator``):

* a request head trickled one byte at a time, so the connection is never silent: it is
  closed anyway once the idle timeout has passed without a whole head;
* many such connections at once do not keep a well-behaved client waiting;
* header values that would store a line break or a NUL (obs-fold continuation lines, a bare
  CR, a bare LF, a NUL) are refused at the door and nothing is stored.
"""

from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.integration.emulator.test_http_edge import IDLE, OPEN_BUCKET, raw_exchange


@pytest.fixture
def wire(emulator_factory):
    """Auth off (these requests are built by hand), a short idle timeout, one bucket."""
    return emulator_factory(auth=False, secret_id="", secret_key="", idle_timeout_seconds=IDLE,
                            buckets_to_create=(OPEN_BUCKET,))


def trickled_head_lifetime(running, budget: float) -> float:
    """Seconds until the server closes a connection that sends one more byte of an
    unfinished request head every IDLE / 4 seconds; fails if still open after ``budget``."""
    head = f"GET /{OPEN_BUCKET}/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", running.port), timeout=budget) as sock:
        sock.settimeout(IDLE / 4)
        sock.sendall(head)
        while time.monotonic() - started < budget:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - started
            except socket.timeout:
                pass
            except ConnectionResetError:  # closed while a byte was on its way: closed too
                return time.monotonic() - started
            try:
                sock.sendall(b"a")
            except OSError:  # reset by the server: closed as well
                return time.monotonic() - started
    raise AssertionError(f"a trickled head kept its connection for {budget} s")


def test_a_head_trickled_a_byte_at_a_time_is_still_closed(wire):
    assert trickled_head_lifetime(wire, budget=10 * IDLE + 5) < 10 * IDLE + 5


def test_many_slow_heads_do_not_keep_a_normal_request_waiting(wire):
    url = f"{wire.endpoint}/{OPEN_BUCKET}/fine"
    slow = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", wire.port))
            sock.sendall(b"PUT /k HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(sock)
        started = time.monotonic()
        assert requests.put(url, data=b"ok", timeout=IDLE * 4).status_code == 200
        assert requests.get(url, timeout=IDLE * 4).content == b"ok"
        assert time.monotonic() - started < IDLE * 4
    finally:
        for sock in slow:
            sock.close()


@pytest.mark.parametrize("raw_value", [
    b"first\r\n second",       # obs-fold: a continuation line
    b"one\rtwo",               # a bare CR
    b"one\ntwo",               # a bare LF
    b"one\x00two",             # a NUL
], ids=["obs-fold", "bare-CR", "bare-LF", "NUL"])
def test_a_header_value_carrying_a_line_break_or_nul_is_refused(wire, raw_value):
    key = "meta.txt"
    request = (f"PUT /{OPEN_BUCKET}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Length: 5\r\nConnection: close\r\n").encode()
    answer = raw_exchange(wire, request + b"x-cos-meta-note: " + raw_value
                          + b"\r\n\r\nhello")
    assert b" 400 " in answer.partition(b"\r\n")[0], answer[:300]
    url = f"{wire.endpoint}/{OPEN_BUCKET}/{key}"
    assert requests.get(url).status_code == 404  # nothing acknowledged, nothing stored
    assert requests.put(url, data=b"after", headers={"x-cos-meta-note": "fine"}).status_code == 200
    got = requests.get(url)
    assert (got.content, got.headers["x-cos-meta-note"]) == (b"after", "fine")
