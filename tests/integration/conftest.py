"""Fixtures for tests that talk to the emulator over real HTTP with the real COS SDK.

- ``emulator_factory(**overrides)`` starts an emulator in a background thread (port 0, a
  fresh data dir under the test's ``tmp_path``, the test key pair, auth on) and stops it at
  teardown. Calling it twice in one test reuses the same data dir: that is a restart.
- ``emulator``: one such emulator with the defaults.
- ``cos_client``: a ``CosS3Client`` pointed at it the way the reference says (``Scheme="http",
  IP="127.0.0.1", Port=port``; the bucket travels in the signed Host header), ``retry=0``.
- ``client_for(emulator, **overrides)``: build more clients (other keys, a token, …).
- ``make_bucket(name)`` / ``bucket``: create ``<name>-<appid>`` through the SDK.
- ``emulator_credentials``: the key pair, region and appid the fixtures use.
"""

from __future__ import annotations

from typing import Callable, List

import pytest
from qcloud_cos import CosConfig, CosS3Client

from picops_emulator.runner import EmulatorSettings, RunningEmulator, start_in_thread

TEST_SECRET_ID = "AKIDpicopsIntegrationTest"
TEST_SECRET_KEY = "picopsIntegrationTestSecretKey"
TEST_REGION = "ap-guangzhou"
TEST_APPID = "1250000000"


@pytest.fixture
def emulator_credentials() -> dict:
    return {"secret_id": TEST_SECRET_ID, "secret_key": TEST_SECRET_KEY, "region": TEST_REGION,
            "appid": TEST_APPID}


@pytest.fixture
def emulator_factory(tmp_path) -> Callable[..., RunningEmulator]:
    started: List[RunningEmulator] = []

    def start(**overrides) -> RunningEmulator:
        options = dict(port=0, data_dir=tmp_path / "emulator-data", secret_id=TEST_SECRET_ID,
                       secret_key=TEST_SECRET_KEY, region=TEST_REGION, auth=True)
        options.update(overrides)
        running = start_in_thread(EmulatorSettings(**options))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def emulator(emulator_factory) -> RunningEmulator:
    return emulator_factory()


def build_client(running: RunningEmulator, **overrides) -> CosS3Client:
    options = dict(Region=TEST_REGION, SecretId=TEST_SECRET_ID, SecretKey=TEST_SECRET_KEY,
                   Scheme="http", IP="127.0.0.1", Port=running.port)
    options.update(overrides)
    return CosS3Client(CosConfig(**options), retry=0)


@pytest.fixture
def client_for() -> Callable[..., CosS3Client]:
    return build_client


@pytest.fixture
def cos_client(emulator) -> CosS3Client:
    return build_client(emulator)


@pytest.fixture
def make_bucket(cos_client) -> Callable[[str], str]:
    def make(name: str = "picops") -> str:
        bucket = f"{name}-{TEST_APPID}"
        cos_client.create_bucket(Bucket=bucket)
        return bucket

    return make


@pytest.fixture
def bucket(make_bucket) -> str:
    return make_bucket("picops")
