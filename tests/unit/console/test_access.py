"""Who may use the console: loopback Host names, loopback Origins, the exact token."""

import pytest

from picops_emulator.console import access


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:9000", "localhost:9000",
                                  "LOCALHOST", "[::1]:9000", "[::1]", "localhost."])
def test_loopback_hosts(host):
    assert access.is_loopback_host(host)


@pytest.mark.parametrize("host", [None, "", "attacker.example", "attacker.example:9000",
                                  "127.0.0.1.attacker.example", "localhost.attacker.example",
                                  "uploads-1250000000.cos.ap-guangzhou.myqcloud.com",
                                  "0.0.0.0:9000", "[::2]:9000", "127.0.0.1:9000:1"])
def test_other_hosts(host):
    assert not access.is_loopback_host(host)


def test_origins():
    assert access.is_loopback_origin(None)
    assert access.is_loopback_origin("http://127.0.0.1:9000")
    assert not access.is_loopback_origin("null")
    assert not access.is_loopback_origin("http://attacker.example")
    assert not access.is_loopback_origin("file://")


def test_token():
    token = access.new_token()
    assert len(token) >= 24 and access.new_token() != token
    assert access.token_matches(token, token)
    assert not access.token_matches(token, None)
    assert not access.token_matches(token, "")
    assert not access.token_matches(token, token[:-1])
    assert not access.token_matches(token, token + "x")


def test_console_paths():
    assert access.is_console_path("/_picops") and access.is_console_path("/_picops/api/state")
    assert not access.is_console_path("/_picopsx") and not access.is_console_path("/uploads/a")
