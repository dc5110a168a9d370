"""``serve``: one ready line, loopback only, clean stop on SIGTERM; settings are validated."""

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import requests

from picops.errors import ConfigError
from picops_emulator.runner import EmulatorSettings, start_in_thread

SERVE = """
import sys
from picops_emulator.runner import EmulatorSettings, serve
serve(EmulatorSettings(port=0, data_dir=sys.argv[1], secret_id="AKIDx", secret_key="k",
                       buckets_to_create=("served-1250000000",)))
"""


def test_serve_prints_one_ready_line_and_stops_on_sigterm(tmp_path):
    data_dir = tmp_path / "served"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        prefix = "picops emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix), (line, proc.stderr.read() if proc.poll() else "")
        port, rest = line[len(prefix):].split(" ", 1)
        assert rest == f"(data: {data_dir.resolve()})"
        # it serves (and checks signatures) as soon as the line is out
        response = requests.get(f"http://127.0.0.1:{port}/",
                                headers={"Host": "served-1250000000.cos.ap-guangzhou.myqcloud.com"})
        assert response.status_code == 403
        assert ET.fromstring(response.content).findtext("Code") == "AccessDenied"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert proc.stdout.read() == ""  # exactly one line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (data_dir / "cos" / "served-1250000000" / "bucket.json").is_file()


@pytest.mark.parametrize("overrides,where", [
    (dict(host="0.0.0.0"), "host"),
    (dict(secret_id="", secret_key=""), "secret_id/secret_key"),
    (dict(buckets_to_create=("NoAppid",)), "buckets_to_create[0]"),
    (dict(max_body_bytes=0), "max_body_bytes"),
])
def test_invalid_settings_are_refused(tmp_path, overrides, where):
    options = dict(port=0, data_dir=tmp_path, secret_id="AKIDx", secret_key="k")
    options.update(overrides)
    with pytest.raises(ConfigError) as err:
        start_in_thread(EmulatorSettings(**options))
    assert [p.where for p in err.value.problems] == [where]
    assert not os.path.exists(tmp_path / "cos")  # refused before touching the data dir
