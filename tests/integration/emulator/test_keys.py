"""Object keys of every awkward kind survive PUT/GET/HEAD/LIST byte-exactly, and never touch
the filesystem as paths."""

import os
import string

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

AWKWARD_KEYS = [
    "中文/图片 1.jpg",
    "punct/" + string.punctuation,          # every ASCII punctuation character
    "../x",
    "up/../../escape",
    "back\\slash\\..\\x",
    "emoji/😀🎉.png",
    "spaces in  the key ",
    "plus+plus",
    "percent%20not-a-space%2F",
    "trailing/",
    "a/../",
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


def test_850_byte_key_accepted_and_851_rejected(cos_client, bucket):
    key = "k/" + "é" * 424  # 2 + 848 = 850 UTF-8 bytes
    assert len(key.encode()) == 850
    cos_client.put_object(Bucket=bucket, Key=key, Body=b"max")
    got = cos_client.get_object(Bucket=bucket, Key=key)
    assert got["Body"].get_raw_stream().read() == b"max"

    too_long = key + "x"
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key=too_long, Body=b"no")
    assert err.value.get_error_code() == "KeyTooLong"
    assert err.value.get_status_code() == 400
    assert "850" in err.value.get_error_msg()


@pytest.mark.parametrize("char", ["\x18", "\x19", "\x1a", "\x1b"])
def test_control_characters_cos_refuses(cos_client, bucket, char):
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key=f"bad{char}key", Body=b"no")
    assert (err.value.get_status_code(), err.value.get_error_code()) == (400, "InvalidArgument")
    assert f"U+{ord(char):04X}" in err.value.get_error_msg()
    assert "Contents" not in cos_client.list_objects(Bucket=bucket)


def test_leading_backslash_refused(cos_client, bucket):
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="\\lead", Body=b"no")
    assert err.value.get_error_code() == "InvalidArgument"


@pytest.mark.parametrize("sent,stored", [
    ("double//slash", "double/slash"),
    ("a/./b", "a/b"),
    ("./leading-dot-slash", "leading-dot-slash"),
    ("/leading-slash", "leading-slash"),
    ("dir/./", "dir/"),
    ("x/../y", "x/../y"),
])
def test_empty_and_dot_segments_merge_as_cos_does(cos_client, bucket, sent, stored):
    cos_client.put_object(Bucket=bucket, Key=sent, Body=b"merged")
    assert [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]] == [stored]
    for name in (sent, stored):
        got = cos_client.get_object(Bucket=bucket, Key=name, KeySimplifyCheck=False)
        assert got["Body"].get_raw_stream().read() == b"merged"


def test_a_path_that_merges_to_nothing_names_the_bucket(emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("open-1250000000",))
    host = {"Host": "open-1250000000.cos.ap-guangzhou.myqcloud.com"}
    assert requests.put(f"{running.endpoint}/k", data=b"x", headers=host).ok
    for path in ("////////", "//./"):  # what the Node SDK sends for the keys '///////', '/./'
        listed = requests.get(running.endpoint + path, headers=host)
        assert listed.ok and b"<ListBucketResult>" in listed.content, path
        head = requests.head(running.endpoint + path, headers=host)
        assert head.ok and "x-cos-bucket-region" in head.headers, path


def test_key_with_plus_and_space_are_distinct(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="a+b", Body=b"plus")
    cos_client.put_object(Bucket=bucket, Key="a b", Body=b"space")
    for key, body in (("a+b", b"plus"), ("a b", b"space")):
        assert cos_client.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read() == body
