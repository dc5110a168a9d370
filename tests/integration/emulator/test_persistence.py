"""The store survives restarts, and leftovers of interrupted writes never show up."""

import hashlib

import pytest

from picops_emulator.storage import DataDirInUse
from picops_emulator.storage.layout import Layout


def test_objects_and_metadata_survive_a_restart(emulator_factory, client_for, tmp_path):
    first = emulator_factory()
    client = client_for(first)
    client.create_bucket(Bucket="keep-1250000000")
    client.put_object(Bucket="keep-1250000000", Key="dir/中 文+1.txt", Body=b"persisted",
                      ContentType="text/plain", CacheControl="no-cache",
                      StorageClass="ARCHIVE", Metadata={"x-cos-meta-tag": "v1"})
    client.put_object(Bucket="keep-1250000000", Key="deleted", Body=b"x")
    client.delete_object(Bucket="keep-1250000000", Key="deleted")
    upload_id = client.create_multipart_upload(Bucket="keep-1250000000", Key="mp")["UploadId"]
    etag = client.upload_part(Bucket="keep-1250000000", Key="mp", Body=b"p1", PartNumber=1,
                              UploadId=upload_id)["ETag"]
    before = client.head_object(Bucket="keep-1250000000", Key="dir/中 文+1.txt")
    first.stop()

    second = emulator_factory()  # same data dir
    client = client_for(second)
    after = client.head_object(Bucket="keep-1250000000", Key="dir/中 文+1.txt")
    for name in ("ETag", "Content-Type", "Cache-Control", "x-cos-storage-class",
                 "x-cos-meta-tag", "Last-Modified", "Content-Length", "x-cos-hash-crc64ecma"):
        assert after[name] == before[name], name
    got = client.get_object(Bucket="keep-1250000000", Key="dir/中 文+1.txt")
    assert got["Body"].get_raw_stream().read() == b"persisted"
    keys = [c["Key"] for c in client.list_objects(Bucket="keep-1250000000")["Contents"]]
    assert keys == ["dir/中 文+1.txt"]
    # the multipart upload carries on where it was
    done = client.complete_multipart_upload(
        Bucket="keep-1250000000", Key="mp", UploadId=upload_id,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": etag}]})
    assert done["ETag"].endswith('-1"')


def test_interrupted_writes_are_invisible_and_swept(emulator_factory, client_for):
    first = emulator_factory()
    client = client_for(first)
    client.create_bucket(Bucket="crash-1250000000")
    client.put_object(Bucket="crash-1250000000", Key="victim", Body=b"old body")
    first.stop()

    # simulate crashes at each step of a write of "victim" and of a brand-new key
    layout = Layout(first.data_dir)
    shard = layout.shard_dir("crash-1250000000", "victim")
    (shard / ".tmp-deadbeef").write_bytes(b"half a body")            # before the data rename
    orphan = shard / layout.data_name("victim", "f" * 32)
    orphan.write_bytes(b"new body whose sidecar never landed")        # before the sidecar
    new_shard = layout.shard_dir("crash-1250000000", "never-committed")
    new_shard.mkdir(parents=True)
    (new_shard / layout.data_name("never-committed", "a" * 32)).write_bytes(b"z")

    second = emulator_factory()
    client = client_for(second)
    got = client.get_object(Bucket="crash-1250000000", Key="victim")
    assert got["Body"].get_raw_stream().read() == b"old body"
    assert got["ETag"] == '"%s"' % hashlib.md5(b"old body").hexdigest()
    keys = [c["Key"] for c in client.list_objects(Bucket="crash-1250000000")["Contents"]]
    assert keys == ["victim"]
    assert not (shard / ".tmp-deadbeef").exists()
    assert not orphan.exists()
    assert list(new_shard.iterdir()) == []


def test_buckets_to_create_and_restart_keep_buckets(emulator_factory, client_for):
    first = emulator_factory(buckets_to_create=("made-1250000000", "also-1250000000"))
    client = client_for(first)
    assert client.head_bucket(Bucket="made-1250000000")["x-cos-bucket-region"] == "ap-guangzhou"
    first.stop()
    second = emulator_factory()
    client = client_for(second)
    client.head_bucket(Bucket="also-1250000000")


def test_one_data_dir_serves_one_emulator_at_a_time(emulator_factory):
    first = emulator_factory()
    with pytest.raises(DataDirInUse):
        emulator_factory()
    first.stop()
    emulator_factory()  # released on stop
