"""Buckets, host styles and the routing table: what is supported works, everything else is
refused loudly (NotImplemented / MethodNotAllowed), never silently ignored."""

import xml.etree.ElementTree as ET

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from picops_emulator.cos import HANDLERS
from picops_emulator.server.routes import ROUTES


def error_code(response):
    return ET.fromstring(response.content).findtext("Code")


@pytest.fixture
def open_emulator(emulator_factory):
    """An emulator without auth, to send hand-made requests."""
    return emulator_factory(auth=False, buckets_to_create=("open-1250000000",))


def test_every_route_has_a_handler():
    assert set(ROUTES.values()) <= set(HANDLERS)


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


def test_unknown_query_parameter_is_named(open_emulator):
    requests.put(f"{open_emulator.endpoint}/open-1250000000/k", data=b"x")
    response = requests.get(f"{open_emulator.endpoint}/open-1250000000/k?frobnicate=1")
    assert response.status_code == 501
    assert "frobnicate" in ET.fromstring(response.content).findtext("Message")
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
    for host in ("open-1250000000.cos.ap-beijing.myqcloud.com",
                 "open-1250000000.cos.ap-beijing.myqcloud.com:9000",
                 "open-1250000000.pic.ap-beijing.myqcloud.com",
                 "open-1250000000.cos.ap-beijing.tencentcos.cn"):
        response = requests.put(f"{base}/via/{host.split('.')[1]}", data=host.encode(),
                                headers={"Host": host})
        assert response.status_code == 200, (host, response.text)
    listed = requests.get(f"{base}/open-1250000000?prefix=via/")
    keys = [k.text for k in ET.fromstring(listed.content).iter("Key")]
    assert keys == ["via/cos", "via/pic"]


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
