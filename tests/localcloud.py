"""A throw-away picops project for tests of the whole local cloud (console, live reload).

``make_project(tmp_path)`` writes ``serverless.yml`` (one upload trigger on
``uploads-1250000000`` prefix ``uploads/``), ``functions/image_processor/picops.yaml`` (two
small rules into ``derived-1250000000``) and an ``index.py`` that runs picops' real handler,
except while a file named ``FAIL`` sits beside it: then it raises, so the event is retried
and dead-lettered. ``start_cloud(project)`` starts it with :func:`picops_emulator.local.start`
on a free port.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from picops_emulator import local

from tests.configs import SERVERLESS_HEAD, cos_events

SOURCE_BUCKET = "uploads-1250000000"
DERIVED_BUCKET = "derived-1250000000"
SECRET_ID = "AKIDpicopsLocalCloudTest"
SECRET_KEY = "picopsLocalCloudTestKey"

SERVERLESS = SERVERLESS_HEAD + "  memorySize: 256\n  timeout: 30\n" + cos_events(
    SOURCE_BUCKET, "uploads/", "cos:ObjectCreated:*")

CONFIG = """
routes:
  - prefix: uploads/
    suffixes: [.jpg, .png]
    bucket: derived-1250000000
    rules:
      - fileid: /thumbs/{dir}/{stem}_{ext}_64.webp
        rule: imageMogr2/thumbnail/64x/format/webp
      - fileid: /squares/{dir}/{stem}_{ext}_32.png
        rule: imageView2/1/w/32/h/32/format/png
"""

INDEX = '''
import os

from picops.handler import processor_from_env

HERE = os.path.dirname(os.path.abspath(__file__))
PROCESSOR = processor_from_env(os.environ, function_dir=HERE)


def main_handler(event, context):
    if os.path.exists(os.path.join(HERE, "FAIL")):
        raise RuntimeError("told to fail: a FAIL file is beside index.py")
    return PROCESSOR.handle(event, context)
'''


@dataclass
class Project:
    root: Path

    @property
    def serverless(self) -> Path:
        return self.root / "serverless.yml"

    @property
    def function_dir(self) -> Path:
        return self.root / "functions" / "image_processor"

    @property
    def config(self) -> Path:
        return self.function_dir / "picops.yaml"

    def fail(self, on: bool = True) -> None:
        flag = self.function_dir / "FAIL"
        if on:
            flag.write_text("fail\n")
        elif flag.exists():
            flag.unlink()


def make_project(tmp_path: Path, config: str = CONFIG) -> Project:
    project = Project(tmp_path / "project")
    project.function_dir.mkdir(parents=True)
    project.serverless.write_text(SERVERLESS, encoding="utf-8")
    project.config.write_text(textwrap.dedent(config), encoding="utf-8")
    (project.function_dir / "index.py").write_text(INDEX, encoding="utf-8")
    return project


def start_cloud(project: Project, **overrides) -> local.LocalCloud:
    options = dict(serverless_path=project.serverless, config_path=project.config,
                   data_dir=project.root / ".picops", port=0, secret_id=SECRET_ID,
                   secret_key=SECRET_KEY, retry_delays=(0.05, 0.05), fsync=False)
    options.update(overrides)
    return local.start(local.LocalOptions(**options))
