"""The whole local cloud for end-to-end tests: emulator + CI + triggers from the project's
own serverless.yml and picops.yaml, the function running from the built package, isolated.

``cloud_factory(**options)`` starts one (port 0, fresh data dir, test key pair, short SCF
retry delays) and stops it at teardown; ``cloud`` is one with the project's defaults.
"""

from pathlib import Path
import textwrap
from typing import Callable, List

import pytest

from picops_emulator import local

REPO = Path(__file__).resolve().parents[3]
SECRET_ID = "AKIDpicopsE2E"
SECRET_KEY = "picopsE2ESecretKey"


@pytest.fixture
def cloud_factory(tmp_path) -> Callable[..., local.LocalCloud]:
    started: List[local.LocalCloud] = []

    def start(**overrides) -> local.LocalCloud:
        # No function_dir/config_path: the function runs as deployed, from the package
        # built for serverless.yml's runtime (its own picops.yaml) on that CPython.
        options = dict(serverless_path=REPO / "serverless.yml",
                       data_dir=tmp_path / "cloud", port=0, secret_id=SECRET_ID,
                       secret_key=SECRET_KEY, retry_delays=(0.05, 0.05), fsync=False)
        options.update(overrides)
        cloud = local.start(local.LocalOptions(**options))
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


@pytest.fixture
def cloud(cloud_factory) -> local.LocalCloud:
    return cloud_factory()


def image_path(name: str) -> Path:
    return REPO / "tests" / "data" / "images" / name


class CiCallLog:
    """Every request the cloud's CI backend answers, as (operation, bucket, key).

    Wraps the backend's ``handle`` on this one instance (the server looks it up per
    request), so tests can count CI calls without touching the emulator.
    """

    def __init__(self, cloud: local.LocalCloud):
        self.calls: List[tuple] = []
        backend = cloud.prepared.ci
        original = backend.handle

        async def counted(ctx):
            self.calls.append((ctx.operation, ctx.bucket, ctx.key))
            return await original(ctx)

        backend.handle = counted

    def __len__(self) -> int:
        return len(self.calls)


@pytest.fixture
def ci_calls(cloud) -> CiCallLog:
    """The CI calls of the ``cloud`` fixture's cloud."""
    return CiCallLog(cloud)


# --- processing on upload (test_upload*.py) ----------------------------------------

WIDTHS = (16, 24, 32, 40, 48, 56)  # six rules: the upload's PUT, then one ci_image_process
RULES = textwrap.dedent("""
    routes:
      - prefix: uploads/
        suffixes: [.jpg, .png]
        bucket: derived-1250000000
        pic_info: true
        rules:
    """) + "".join(f"      - fileid: /thumbs/{{dir}}/{{stem}}_{{ext}}_{w}.jpg\n"
                   f"        rule: imageMogr2/thumbnail/{w}x/format/jpg\n" for w in WIDTHS)
# The last rule asks for more pixels than CI allows: the second call fails.
FAILING = RULES.replace("thumbnail/56x", "thumbnail/20000x")
# A rules change: one width different, written under another name.
CHANGED = RULES.replace("thumbnail/56x", "thumbnail/60x").replace("_56.jpg", "_60.jpg")


def thumbs(key_dir: str, stem: str, ext: str = "jpg"):
    return [f"thumbs/{key_dir}/{stem}_{ext}_{w}.jpg" for w in WIDTHS]


@pytest.fixture
def config_file(tmp_path):
    """``RULES`` in a file (processing-on-upload tests)."""
    path = tmp_path / "picops.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def upload_cloud(cloud_factory, config_file):
    """A cloud whose function reads ``RULES``."""
    return cloud_factory(config_path=config_file)
