"""Issue 9's forged-manifest attack, end to end: an uploader who can write under the
manifest prefix forges the manifest of a key of their own, listing other sources'
derivatives, another source, and an object in a bucket no route names, then deletes or
overwrites that key. The project's serverless.yml triggers run the packaged function,
which must delete only what the config writes for that key, and keep everything else.

Replayed from the attack run against ``picops emulator`` (the unit-level cases are in
tests/functional/test_manifests.py; here the SDK, the triggers and the function are real).
"""

import json

import pytest

from picops.manifest import manifest_key

from .test_lifecycle import SOURCE, listing, manifest_of, results_for, upload

OTHER = "bystander-1250000000"


def forge(cloud, key: str, victims, extra=()) -> None:
    """Rewrite ``key``'s real manifest so it also lists ``victims`` (bucket, key) and no
    longer matches the source (another ETag): deletion and overwrite both consult it."""
    client = cloud.client()
    doc = json.loads(client.get_object(Bucket=SOURCE, Key=manifest_key(key))["Body"]
                     .get_raw_stream().read())
    doc["source"]["etag"] = "0" * 32
    doc["outputs"] += [{"bucket": b, "key": k, "etag": "", "format": "", "width": None,
                        "height": None, "size": None} for b, k in victims]
    doc.update(extra)
    client.put_object(Bucket=SOURCE, Key=manifest_key(key), Body=json.dumps(doc).encode())


@pytest.fixture
def attacked(cloud):
    """A victim upload and an avatar with their derivatives, a bystander object, and the
    attacker's own upload; returns the victims (bucket, key) that must survive."""
    client = cloud.client()
    client.create_bucket(Bucket=OTHER)
    client.put_object(Bucket=OTHER, Key="secret.txt", Body=b"not picops's")
    upload(cloud, "uploads/victim.jpg", "rocket.jpg")
    upload(cloud, "avatars/victim.png", "chelsea.png")
    upload(cloud, "uploads/evil.jpg", "rocket.jpg")
    assert cloud.wait_idle(60)
    victims = [(o.bucket, o.key) for name in ("uploads/victim.jpg", "avatars/victim.png")
               for o in manifest_of(cloud, name).outputs]
    assert len(victims) == 6
    return victims + [(SOURCE, "uploads/victim.jpg"), (SOURCE, "avatars/victim.png"),
                      (OTHER, "secret.txt")]


def present(cloud, victims):
    held = {b: listing(cloud, b) for b in {b for b, _ in victims}}
    return [(b, k) for b, k in victims if k in held[b]]


def test_deleting_a_source_with_a_forged_manifest_deletes_only_its_own_outputs(cloud, attacked):
    own = {o.key for o in manifest_of(cloud, "uploads/evil.jpg").outputs}
    forge(cloud, "uploads/evil.jpg", attacked)
    cloud.client().delete_object(Bucket=SOURCE, Key="uploads/evil.jpg")
    assert cloud.wait_idle(60)

    assert present(cloud, attacked) == attacked  # every victim is still there
    (result,) = results_for(cloud, "uploads/evil.jpg", "cos:ObjectRemove:")
    assert result["error"]["code"] == "NotOwnedOutput", result
    assert {d["key"] for d in result.get("deleted", [])} <= own
    assert "victim" in result["error"]["message"]


def test_overwriting_a_source_with_a_forged_manifest_deletes_nothing_else(cloud, attacked):
    forge(cloud, "uploads/evil.jpg", attacked,
          extra={"rules": [{"bucket": b, "fileid": "/" + k} for b, k in attacked]})
    upload(cloud, "uploads/evil.jpg", "chelsea.png")  # new bytes: processed again
    assert cloud.wait_idle(60)

    assert present(cloud, attacked) == attacked
    rewritten = manifest_of(cloud, "uploads/evil.jpg")
    assert all("evil" in o.key for o in rewritten.outputs), rewritten.outputs
