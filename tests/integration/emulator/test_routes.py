"""Buckets, host styles and the routing table: what is supported works, everything else is
refused loudly (NotImplemented / MethodNotAllowed), never silently ignored."""

import time
import xml.etree.ElementTree as ET

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from picops_emulator.cos import HANDLERS
from picops_emulator.server.routes import PARAMS, READ_METHODS, ROUTES


def error_code(response):
    return ET.fromstring(response.content).findtext("Code")


@pytest.fixture
def open_emulator(emulator_factory):
    """An emulator without auth, to send hand-made requests."""
    return emulator_factory(auth=False, buckets_to_create=("open-1250000000",))


def test_every_route_has_a_handler():
    assert set(ROUTES.values()) <= set(HANDLERS)


def test_params_lists_only_operations_reached_by_a_write():
    # reads never consult PARAMS (they ignore unknown parameters): an entry for an operation
    # only a GET or HEAD reaches would be dead and misleading
    writes = {op for (method, _, _), op in ROUTES.items() if method not in READ_METHODS}
    assert PARAMS and set(PARAMS) <= writes


def test_bucket_lifecycle(cos_client):
    cos_client.create_bucket(Bucket="life-1250000000")
    assert cos_client.head_bucket(Bucket="life-1250000000")["x-cos-request-id"]
    with pytest.raises(CosServiceError) as err:
        cos_client.create_bucket(Bucket="life-1250000000")
    assert (err.value.get_status_code(), err.value.get_error_code()) == (
        409, "BucketAlreadyOwnedByYou")

    cos_client.put_object(Bucket="life-1250000000", Key="k", Body=b"x")
    with pytest.raises(CosServiceError) as err:
        cos_client.delete_bucket(Bucket="life-1250000000")
    assert (err.value.get_status_code(), err.value.get_error_code()) == (409, "BucketNotEmpty")

    cos_client.delete_object(Bucket="life-1250000000", Key="k")
    cos_client.delete_bucket(Bucket="life-1250000000")
    with pytest.raises(CosServiceError) as err:
        cos_client.head_bucket(Bucket="life-1250000000")
    assert err.value.get_status_code() == 404
    with pytest.raises(CosServiceError) as err:
        cos_client.list_objects(Bucket="life-1250000000")
    assert err.value.get_error_code() == "NoSuchBucket"


def test_invalid_bucket_name(open_emulator):
    response = requests.put(f"{open_emulator.endpoint}/Bad_Name/")
    assert response.status_code == 400
    assert error_code(response) == "InvalidBucketName"
    response = requests.put(f"{open_emulator.endpoint}/",
                            headers={"Host": "noappid.cos.ap-guangzhou.myqcloud.com"})
    assert error_code(response) == "InvalidBucketName"


def test_unmodelled_subresources_are_not_implemented(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(CosServiceError) as err:
        cos_client.get_object_acl(Bucket=bucket, Key="k")
    assert (err.value.get_status_code(), err.value.get_error_code()) == (501, "NotImplemented")
    assert "acl" in err.value.get_error_msg()
    with pytest.raises(CosServiceError) as err:
        cos_client.put_bucket_versioning(Bucket=bucket, Status="Enabled")
    assert err.value.get_error_code() == "NotImplemented"
    assert "versioning" in err.value.get_error_msg()


def test_unknown_query_parameter_is_ignored_on_reads_and_named_on_writes(open_emulator):
    requests.put(f"{open_emulator.endpoint}/open-1250000000/k", data=b"x")
    # COS ignores what a read does not use: a cache-buster, a presigned URL's extra Params
    for method in ("GET", "HEAD"):
        response = requests.request(method, f"{open_emulator.endpoint}/open-1250000000/k?v=2")
        assert response.status_code == 200
    assert requests.get(f"{open_emulator.endpoint}/open-1250000000/?frobnicate=1").ok
    response = requests.put(f"{open_emulator.endpoint}/open-1250000000/k?frobnicate=1",
                            data=b"y")
    assert response.status_code == 501
    assert "frobnicate" in ET.fromstring(response.content).findtext("Message")
    assert requests.get(f"{open_emulator.endpoint}/open-1250000000/k").content == b"x"
    response = requests.get(f"{open_emulator.endpoint}/open-1250000000/k?acl")
    assert response.status_code == 501
    response = requests.get(f"{open_emulator.endpoint}/open-1250000000/k?imageMogr2/thumbnail/!50p")
    assert response.status_code == 501
    assert "download" in ET.fromstring(response.content).findtext("Message")


@pytest.mark.parametrize("method,path,code,status", [
    ("PATCH", "/open-1250000000/k", "MethodNotAllowed", 405),
    ("POST", "/open-1250000000/k", "MethodNotAllowed", 405),
    ("PUT", "/open-1250000000/k?uploads", "MethodNotAllowed", 405),
    ("DELETE", "/open-1250000000/?uploads", "MethodNotAllowed", 405),
    ("OPTIONS", "/open-1250000000/k", "NotImplemented", 501),
    ("POST", "/open-1250000000/", "NotImplemented", 501),
    ("GET", "/open-1250000000/k?uploads&delete", "InvalidRequest", 400),
    ("GET", "/open-1250000000/%FF%FE", "InvalidURI", 400),
])
def test_refused_requests(open_emulator, method, path, code, status):
    response = requests.request(method, open_emulator.endpoint + path)
    assert response.status_code == status
    assert error_code(response) == code
    assert response.headers["x-cos-request-id"]
    assert response.headers["x-cos-trace-id"]


def test_host_styles(open_emulator):
    base = open_emulator.endpoint
    for host in ("open-1250000000.cos.ap-guangzhou.myqcloud.com",
                 "open-1250000000.cos.ap-guangzhou.myqcloud.com:9000",
                 "open-1250000000.pic.ap-guangzhou.myqcloud.com",
                 "open-1250000000.cos.ap-guangzhou.tencentcos.cn"):
        response = requests.put(f"{base}/via/{host.split('.')[1]}", data=host.encode(),
                                headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    listed = requests.get(f"{base}/open-1250000000?prefix=via/")
    keys = [k.text for k in ET.fromstring(listed.content).iter("Key")]
    assert keys == ["via/cos", "via/pic"]


def test_a_bucket_answers_only_under_its_own_region(open_emulator):
    base = open_emulator.endpoint
    for method in ("GET", "HEAD", "PUT"):
        response = requests.request(method, f"{base}/k", data=b"x", headers={
            "Host": "open-1250000000.cos.ap-beijing.myqcloud.com"})
        assert response.status_code == 404, method
        assert (response.headers.get("x-cos-error-code") or error_code(response)) == \
            "NoSuchBucket"
    response = requests.get(f"{base}/k", headers={
        "Host": "open-1250000000.cos.ap-beijing.myqcloud.com"})
    assert "ap-guangzhou" in ET.fromstring(response.content).findtext("Message")
    assert requests.get(f"{base}/open-1250000000/").ok  # path style names no region


def test_absolute_form_targets_are_answered_as_a_proxy_would(open_emulator):
    proxies = {"http": open_emulator.endpoint}
    url = "http://open-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b.txt"
    assert requests.put(url, data=b"via proxy", proxies=proxies).ok
    assert requests.get(url + "?v=3", proxies=proxies).content == b"via proxy"
    listed = requests.get("http://open-1250000000.cos.ap-guangzhou.myqcloud.com/?prefix=dir/",
                          proxies=proxies)
    assert [k.text for k in ET.fromstring(listed.content).iter("Key")] == ["dir/a b.txt"]
    service = requests.get("http://service.cos.myqcloud.com/", proxies=proxies)
    assert "open-1250000000" in [n.text for n in ET.fromstring(service.content).iter("Name")]


def test_get_service_filters(emulator, client_for, make_bucket):
    make_bucket("first")
    client = client_for(emulator, ServiceDomain=f"127.0.0.1:{emulator.port}")
    created = int(time.time())
    listed = client.list_buckets(Region="ap-guangzhou", CreateTime=created - 3600,
                                 Range="gt")["Buckets"]["Bucket"]
    assert [b["Name"] for b in listed] == ["first-1250000000"]
    none = client.list_buckets(CreateTime=created + 3600, Range="gt")
    assert not (none.get("Buckets") or {}).get("Bucket")
    assert not (client.list_buckets(TagKey="team", TagValue="x").get("Buckets") or {}).get(
        "Bucket")
    assert not (client.list_buckets(Region="ap-beijing").get("Buckets") or {}).get("Bucket")


def test_versions_of_an_unversioned_bucket(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="a/1", Body=b"1")
    cos_client.put_object(Bucket=bucket, Key="b", Body=b"22")
    listed = cos_client.list_objects_versions(Bucket=bucket, Prefix="a/")
    versions = listed["Version"] if isinstance(listed["Version"], list) else [listed["Version"]]
    assert [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in versions] == [
        ("a/1", "null", "true", "1")]
    assert listed["IsTruncated"] == "false"
    paged = cos_client.list_objects_versions(Bucket=bucket, MaxKeys=1)
    assert paged["IsTruncated"] == "true" and paged["NextKeyMarker"] == "a/1"


def test_list_buckets(emulator, client_for, make_bucket):
    make_bucket("first")
    make_bucket("second")
    client = client_for(emulator, ServiceDomain=f"127.0.0.1:{emulator.port}")
    names = [b["Name"] for b in client.list_buckets()["Buckets"]["Bucket"]]
    assert names == ["first-1250000000", "second-1250000000"]


def test_request_id_on_every_kind_of_response(cos_client, bucket):
    put = cos_client.put_object(Bucket=bucket, Key="k", Body=b"x")
    head = cos_client.head_object(Bucket=bucket, Key="k")
    delete = cos_client.delete_object(Bucket=bucket, Key="k")
    ids = [r["x-cos-request-id"] for r in (put, head, delete)]
    assert all(ids) and len(set(ids)) == 3
    assert head["Server"] == "tencent-cos"
