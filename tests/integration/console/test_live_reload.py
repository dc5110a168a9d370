"""Change and see: edits of the routes config, serverless.yml and the function's code
take effect for the next event, with one line each; an invalid edit keeps the old state."""

import threading
import time
from pathlib import Path

import pytest

from tests.localcloud import SOURCE_BUCKET, make_project, start_cloud

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"


class Said:
    def __init__(self):
        self.lines = []
        self._cond = threading.Condition()

    def __call__(self, text):
        with self._cond:
            self.lines.append(text)
            self._cond.notify_all()

    def wait_for(self, count, timeout=20.0):
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.lines) >= count, timeout), self.lines
            return self.lines[count - 1]


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def _upload(cloud, key):
    """Upload ``key``; its invocation once the function is done, or None if none fired."""
    cloud.client().put_object(Bucket=SOURCE_BUCKET, Key=key,
                              Body=(IMAGES / "rocket.jpg").read_bytes(),
                              ContentType="image/jpeg")
    assert cloud.wait_idle(60)
    fired = [i for i in cloud.dispatcher.invocations if i.key == key]
    return fired[-1] if fired else None


def _outputs(invocation):
    [result] = invocation.value["results"]
    return {o["key"]: o for o in result.get("outputs") or []}


def test_edits_apply_to_the_next_event_and_invalid_ones_keep_the_old_state(project):
    said = Said()
    with start_cloud(project) as cloud:
        cloud.start_watching(said)
        first = _upload(cloud, "uploads/a.jpg")
        assert _outputs(first)["thumbs/uploads/a_jpg_64.webp"]["width"] == 64

        # a rule change: the next upload gets the new derivative
        text = project.config.read_text()
        project.config.write_text(text.replace("_64.webp", "_48.webp").replace(
            "thumbnail/64x", "thumbnail/48x"))
        line = said.wait_for(1)
        assert line.startswith("reloaded after ") and "picops.yaml" in line
        assert "1 trigger(s) wired" in line and "workers restarted" in line
        second = _upload(cloud, "uploads/b.jpg")
        assert _outputs(second)["thumbs/uploads/b_jpg_48.webp"]["width"] == 48

        # a rule that does not validate: the problem is printed, the old rules run on
        project.config.write_text(text.replace("thumbnail/64x", "thumbnial/64x"))
        line = said.wait_for(2)
        assert line.startswith("not reloaded: ") and "previous configuration" in line
        assert "routes[0].rules[0].rule" in line and "thumbnial" in line
        third = _upload(cloud, "uploads/c.jpg")
        assert set(_outputs(third)) == {"thumbs/uploads/c_jpg_48.webp",
                                        "squares/uploads/c_jpg_32.png"}

        # the function's code: fresh workers import the edited file
        project.config.write_text(text)
        said.wait_for(3)
        index = project.function_dir / "index.py"
        index.write_text(index.read_text().replace(
            "def main_handler(event, context):\n",
            "def main_handler(event, context):\n    print('edited code runs')\n"))
        assert "index.py" in said.wait_for(4)
        fourth = _upload(cloud, "uploads/d.jpg")
        assert "edited code runs" in fourth.logs
        assert "thumbs/uploads/d_jpg_64.webp" in _outputs(fourth)

        # serverless.yml: the trigger now watches photos/ instead of uploads/
        project.serverless.write_text(
            project.serverless.read_text().replace("prefix: uploads/", "prefix: photos/"))
        assert "serverless.yml" in said.wait_for(5)
        assert _upload(cloud, "uploads/e.jpg") is None
        fired = _upload(cloud, "photos/f.jpg")
        assert fired.value["results"][0]["reason"] == "no_route"

        # a serverless.yml that does not validate changes nothing
        project.serverless.write_text("component: scf\ninputs: [\n")
        line = said.wait_for(6)
        assert line.startswith("not reloaded: ") and "serverless.yml" in line
        assert _upload(cloud, "photos/g.jpg").outcome == "succeeded"
        time.sleep(0.5)
    assert len(said.lines) == 6, said.lines  # one line per edit, nothing else
