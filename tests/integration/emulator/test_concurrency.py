"""Concurrent uploads of the same and of different keys: no torn object, ever."""

import hashlib
from concurrent.futures import ThreadPoolExecutor

WRITERS = 12
SIZE = 96 * 1024


def body_for(i: int) -> bytes:
    return bytes([i]) * SIZE


def test_concurrent_puts_of_one_key_leave_one_whole_body(cos_client, bucket):
    bodies = {hashlib.md5(body_for(i)).hexdigest(): body_for(i) for i in range(WRITERS)}

    def put(i):
        return cos_client.put_object(Bucket=bucket, Key="contested", Body=body_for(i))["ETag"]

    def get(_):
        got = cos_client.get_object(Bucket=bucket, Key="contested")
        return got["ETag"], got["Body"].get_raw_stream().read()

    cos_client.put_object(Bucket=bucket, Key="contested", Body=body_for(0))
    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(put, i) for i in range(WRITERS)]
        reads = [pool.submit(get, i) for i in range(WRITERS)]
        etags = [w.result() for w in writes]
        observed = [r.result() for r in reads]

    assert {e.strip('"') for e in etags} == set(bodies)
    for etag, data in observed:  # every read saw a complete body matching its own ETag
        assert hashlib.md5(data).hexdigest() == etag.strip('"')
        assert data in bodies.values()
    final = cos_client.get_object(Bucket=bucket, Key="contested")
    data = final["Body"].get_raw_stream().read()
    assert final["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    assert data in bodies.values()
    assert [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]] == ["contested"]


def test_concurrent_puts_of_different_keys(cos_client, bucket):
    def put(i):
        cos_client.put_object(Bucket=bucket, Key=f"k/{i:02d}", Body=body_for(i))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(WRITERS)))
    listed = cos_client.list_objects(Bucket=bucket)["Contents"]
    assert [c["Key"] for c in listed] == [f"k/{i:02d}" for i in range(WRITERS)]
    for i in range(WRITERS):
        got = cos_client.get_object(Bucket=bucket, Key=f"k/{i:02d}")
        assert got["Body"].get_raw_stream().read() == body_for(i)
