"""Object keys of every awkward kind survive PUT/GET/HEAD/LIST byte-exactly, and never touch
the filesystem as paths."""

import os
import string

import pytest
from qcloud_cos.cos_exception import CosServiceError

AWKWARD_KEYS = [
    "中文/图片 1.jpg",
    "punct/" + string.punctuation,          # every ASCII punctuation character
    "./leading-dot-slash",
    "a/./b",
    "../x",
    "up/../../escape",
    "back\\slash\\..\\x",
    "emoji/😀🎉.png",
    "spaces in  the key ",
    "plus+plus",
    "percent%20not-a-space%2F",
    "trailing/",
    "double//slash",
    "foo",
    "foo/bar",
    "tilde~under_score-dash.dot",
    "?query&like=key#frag",
]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_awkward_key_round_trips(cos_client, bucket, key):
    body = ("body of " + key).encode()
    put = cos_client.put_object(Bucket=bucket, Key=key, Body=body)
    got = cos_client.get_object(Bucket=bucket, Key=key, KeySimplifyCheck=False)
    assert got["Body"].get_raw_stream().read() == body
    assert got["ETag"] == put["ETag"]
    head = cos_client.head_object(Bucket=bucket, Key=key)
    assert int(head["Content-Length"]) == len(body)
    listed = cos_client.list_objects(Bucket=bucket)
    assert [c["Key"] for c in listed["Contents"]] == [key]


def test_all_awkward_keys_coexist_and_list_sorted(cos_client, bucket):
    for i, key in enumerate(AWKWARD_KEYS):
        cos_client.put_object(Bucket=bucket, Key=key, Body=str(i).encode())
    listed = cos_client.list_objects(Bucket=bucket)
    keys = [c["Key"] for c in listed["Contents"]]
    assert keys == sorted(AWKWARD_KEYS, key=lambda k: k.encode("utf-8"))
    # "foo" and "foo/bar" are two independent objects (no file/directory clash)
    for i, key in enumerate(AWKWARD_KEYS):
        got = cos_client.get_object(Bucket=bucket, Key=key, KeySimplifyCheck=False)
        assert got["Body"].get_raw_stream().read() == str(i).encode()


def test_keys_never_become_paths(cos_client, bucket, emulator):
    for key in ("../x", "up/../../escape", "back\\slash\\..\\x", "trailing/", "foo", "foo/bar"):
        cos_client.put_object(Bucket=bucket, Key=key, Body=b"x")
    data_dir = str(emulator.data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            assert name not in ("..", "x", "escape", "foo", "bar", "trailing")
            assert "\\" not in name
        assert os.path.realpath(root).startswith(os.path.realpath(data_dir))
    assert not os.path.exists(os.path.join(os.path.dirname(data_dir), "x"))


def test_1024_byte_key_accepted_and_1025_rejected(cos_client, bucket):
    key = "k/" + "é" * 511  # 2 + 1022 = 1024 UTF-8 bytes
    assert len(key.encode()) == 1024
    cos_client.put_object(Bucket=bucket, Key=key, Body=b"max")
    got = cos_client.get_object(Bucket=bucket, Key=key)
    assert got["Body"].get_raw_stream().read() == b"max"

    too_long = key + "x"
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key=too_long, Body=b"no")
    assert err.value.get_error_code() == "KeyTooLong"
    assert err.value.get_status_code() == 400


def test_key_with_plus_and_space_are_distinct(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="a+b", Body=b"plus")
    cos_client.put_object(Bucket=bucket, Key="a b", Body=b"space")
    for key, body in (("a+b", b"plus"), ("a b", b"space")):
        assert cos_client.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read() == body
