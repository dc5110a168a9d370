"""GET Bucket (list objects v1) through the SDK: prefix, delimiter, marker, max-keys,
truncation and encoding-type=url."""

import pytest
from qcloud_cos.cos_exception import CosServiceError

from picops_emulator.storage.index import BucketIndex, list_page
from picops_emulator.storage.meta import ObjectAttrs, ObjectMeta

TREE = ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d/4.txt", "e+f g%h.txt", "中/5.txt", "z"]


@pytest.fixture
def tree(cos_client, bucket):
    for key in TREE:
        cos_client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def all_pages(client, bucket, **kwargs):
    keys, prefixes, calls = [], [], 0
    marker = ""
    while True:
        page = client.list_objects(Bucket=bucket, Marker=marker, **kwargs)
        calls += 1
        keys += [c["Key"] for c in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["IsTruncated"] in ("true", "false")
        if page["IsTruncated"] == "false":
            return keys, prefixes, calls
        marker = page["NextMarker"]
        assert calls < 50, "pagination does not terminate"


def test_full_listing(cos_client, tree):
    page = cos_client.list_objects(Bucket=tree)
    assert [c["Key"] for c in page["Contents"]] == sorted(TREE, key=str.encode)
    first = page["Contents"][0]
    assert first["ETag"].startswith('"') and first["ETag"].endswith('"')
    assert first["Size"] == str(len(first["Key"].encode()))
    assert first["StorageClass"] == "STANDARD"
    assert first["LastModified"].endswith("Z")
    assert page["IsTruncated"] == "false"


def test_pagination_visits_every_key_once(cos_client, tree):
    keys, prefixes, calls = all_pages(cos_client, tree, MaxKeys=3)
    assert keys == sorted(TREE, key=str.encode)
    assert prefixes == []
    assert calls == 3


def test_delimiter_rolls_up_common_prefixes(cos_client, tree):
    page = cos_client.list_objects(Bucket=tree, Delimiter="/")
    assert [c["Key"] for c in page["Contents"]] == ["a.txt", "e+f g%h.txt", "z"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/", "d/", "中/"]


def test_prefix_and_delimiter(cos_client, tree):
    page = cos_client.list_objects(Bucket=tree, Prefix="b/", Delimiter="/")
    assert [c["Key"] for c in page["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/c/"]


def test_paginating_with_delimiter_never_repeats_a_prefix(cos_client, tree):
    keys, prefixes, _ = all_pages(cos_client, tree, Delimiter="/", MaxKeys=1)
    assert keys == ["a.txt", "e+f g%h.txt", "z"]
    assert prefixes == ["b/", "d/", "中/"]


def test_marker_starts_after_it(cos_client, tree):
    page = cos_client.list_objects(Bucket=tree, Marker="b/2.txt")
    # byte order: "z" (0x7a) sorts before "中" (0xe4 …)
    assert [c["Key"] for c in page["Contents"]] == ["b/c/3.txt", "d/4.txt", "e+f g%h.txt", "z",
                                                      "中/5.txt"]


def test_encoding_type_url_encodes_every_name(cos_client, tree):
    # asking for EncodingType ourselves makes the SDK hand back the raw (encoded) values
    page = cos_client.list_objects(Bucket=tree, EncodingType="url", Delimiter="/",
                                   Prefix="", MaxKeys=2)
    assert page["EncodingType"] == "url"
    keys = [c["Key"] for c in page["Contents"]]
    assert keys == ["a.txt"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/"]
    assert page["NextMarker"] == "b/"

    page = cos_client.list_objects(Bucket=tree, EncodingType="url", Marker="d/4.txt",
                                   MaxKeys=1)
    assert [c["Key"] for c in page["Contents"]] == ["e%2Bf%20g%25h.txt"]
    assert page["Marker"] == "d/4.txt"
    assert page["NextMarker"] == "e%2Bf%20g%25h.txt"

    page = cos_client.list_objects(Bucket=tree, EncodingType="url", Prefix="中/",
                                   Delimiter="/")
    assert page["Prefix"] == "%E4%B8%AD/"
    assert [c["Key"] for c in page["Contents"]] == ["%E4%B8%AD/5.txt"]

    page = cos_client.list_objects(Bucket=tree, EncodingType="url", Delimiter="/",
                                   Marker="d/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["%E4%B8%AD/"]


def test_max_keys_is_capped_at_1000(cos_client, tree):
    page = cos_client.list_objects(Bucket=tree, MaxKeys=5000)
    assert page["MaxKeys"] == "1000"
    assert len(page["Contents"]) == len(TREE)


def test_bad_max_keys_is_invalid_argument(cos_client, tree):
    with pytest.raises(CosServiceError) as err:
        cos_client.list_objects(Bucket=tree, MaxKeys="many")
    assert err.value.get_error_code() == "InvalidArgument"
    assert "max-keys" in err.value.get_error_msg()


def test_listing_a_missing_bucket(cos_client):
    with pytest.raises(CosServiceError) as err:
        cos_client.list_objects(Bucket="ghost-1250000000")
    assert err.value.get_status_code() == 404
    assert err.value.get_error_code() == "NoSuchBucket"


def _meta(key):
    return ObjectMeta(bucket="b-1", key=key, size=0, etag="d41d8cd98f00b204e9800998ecf8427e",
                      crc64="0", last_modified=0.0, attrs=ObjectAttrs(), data_file="x")


def test_marker_inside_a_common_prefix_skips_the_whole_prefix():
    index = BucketIndex()
    for key in ["a/1", "a/2", "a/3", "b"]:
        index.put(_meta(key))
    page = list_page(index, delimiter="/", marker="a/2")
    assert page.common_prefixes == []
    assert [m.key for m in page.contents] == ["b"]


def test_index_remove_and_overwrite_keep_order():
    index = BucketIndex()
    for key in ["c", "a", "b", "a"]:
        index.put(_meta(key))
    index.remove("b")
    page = list_page(index)
    assert [m.key for m in page.contents] == ["a", "c"]
    assert list_page(index, max_keys=0).contents == []


def _as_list(value):
    return value if isinstance(value, list) else [value] if value else []


@pytest.mark.parametrize("kwargs", [{}, {"Delimiter": "/"}, {"Prefix": "b/", "Delimiter": "/"},
                                    {"EncodingType": "url"}])
def test_versions_page_through_the_same_keys_as_list_objects(cos_client, tree, kwargs):
    """List Object Versions pages like GET Bucket (one shared implementation): the same keys
    and common prefixes, two at a time, following NextKeyMarker."""
    keys, prefixes, _ = all_pages(cos_client, tree, MaxKeys=2, **kwargs)
    seen_keys, seen_prefixes, marker = [], [], ""
    for _ in range(50):
        page = cos_client.list_objects_versions(Bucket=tree, KeyMarker=marker, MaxKeys=2,
                                                **kwargs)
        versions = _as_list(page.get("Version"))
        assert {(v["VersionId"], v["IsLatest"]) for v in versions} <= {("null", "true")}
        seen_keys += [v["Key"] for v in versions]
        seen_prefixes += [p["Prefix"] for p in _as_list(page.get("CommonPrefixes"))]
        if page["IsTruncated"] == "false":
            break
        assert page["NextVersionIdMarker"] == "null"
        marker = page["NextKeyMarker"]
    assert (seen_keys, seen_prefixes) == (keys, prefixes)
