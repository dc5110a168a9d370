"""``picops.upload`` is usable by an application on every Python the function supports:
run from the package built for each runtime, on that runtime's CPython (``-S``: nothing
but the package on the path), against the emulator with the real CI backend."""

import json
import subprocess
import textwrap

import pytest

from picops import runtimes
from picops_cli import package

from ..conftest import TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY

SCRIPT = textwrap.dedent("""
    import json, sys
    from qcloud_cos import CosConfig, CosS3Client
    from picops.config import parse_config
    from picops.upload import upload

    port, bucket, derived, image, region, sid, skey = sys.argv[1:8]
    config = parse_config('''
    routes:
      - prefix: in/
        bucket: %s
        rules:
          - fileid: /thumbs/{dir}/{name}_64.webp
            rule: imageMogr2/thumbnail/64x/format/webp
    ''' % derived)
    client = CosS3Client(CosConfig(Region=region, SecretId=sid, SecretKey=skey,
                                   Scheme="http", IP="127.0.0.1", Port=int(port)), retry=0)
    outcome = upload(config, client, bucket, "in/rocket.jpg", image)
    print(json.dumps({"python": list(sys.version_info[:2]), "line": outcome.to_line()}))
    """)


@pytest.mark.parametrize("runtime", list(runtimes.SUPPORTED.values()),
                         ids=lambda r: r.name)
def test_the_upload_api_runs_on_each_runtime(runtime, emulator, cos_client, make_bucket,
                                             tmp_path):
    python = package.find_python(runtime)
    if python is None:
        pytest.skip(f"no CPython {runtime.dotted} here (listed in the run's summary)")
    built = package.ensure_package(runtime, python)
    source, derived = make_bucket("rt-src"), make_bucket("rt-out")
    image = tmp_path / "rocket.jpg"
    image.write_bytes((package.REPO / "tests" / "data" / "images" / "rocket.jpg").read_bytes())
    done = subprocess.run(
        [python, "-S", "-c", f"import sys; sys.path.insert(0, {str(built.path)!r})\n" + SCRIPT,
         str(emulator.port), source, derived, str(image), TEST_REGION, TEST_SECRET_ID,
         TEST_SECRET_KEY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert tuple(result["python"]) == runtime.version
    line = result["line"]
    assert (line["outcome"], line["event_name"]) == ("processed", "picops:upload"), line
    assert [(o["bucket"], o["key"], o["width"]) for o in line["outputs"]] == [
        (derived, "thumbs/in/rocket.jpg_64.webp", 64)]
    assert cos_client.head_object(Bucket=derived, Key="thumbs/in/rocket.jpg_64.webp")
    assert "x-cos-meta-picops-processed" in cos_client.head_object(Bucket=source,
                                                                 Key="in/rocket.jpg")
