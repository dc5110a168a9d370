"""Object operations through the SDK: put/get/head with stored headers, ranges, Content-MD5,
size cap, delete, copy, multi-delete, conditions, and COS's exact header spelling."""

import base64
import hashlib
import logging
import os
import socket
import time
import xml.etree.ElementTree as ET

import crcmod
import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

BODY = bytes(range(256)) * 40  # 10240 bytes


def read(client, bucket, key, **kwargs):
    return client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].get_raw_stream().read()


def test_put_returns_md5_etag_and_crc64(cos_client, bucket):
    response = cos_client.put_object(Bucket=bucket, Key="k", Body=BODY)
    assert response["ETag"] == '"%s"' % hashlib.md5(BODY).hexdigest()
    crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    assert response["x-cos-hash-crc64ecma"] == str(crc64(BODY))
    assert response["x-cos-request-id"]


def test_stored_headers_come_back_on_get_and_head(cos_client, bucket):
    cos_client.put_object(
        Bucket=bucket, Key="dressed.bin", Body=BODY, ContentType="image/x-test",
        CacheControl="max-age=60", ContentDisposition='attachment; filename="d.bin"',
        ContentEncoding="identity", ContentLanguage="zh-CN",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT", StorageClass="STANDARD_IA",
        Metadata={"x-cos-meta-Author": "张三", "x-cos-meta-empty-ish": "-"})
    expected = {
        "Content-Type": "image/x-test", "Cache-Control": "max-age=60",
        "Content-Disposition": 'attachment; filename="d.bin"', "Content-Encoding": "identity",
        "Content-Language": "zh-CN", "Expires": "Wed, 21 Oct 2037 07:28:00 GMT",
        "x-cos-storage-class": "STANDARD_IA", "x-cos-meta-empty-ish": "-",
        "Content-Length": str(len(BODY)),
        "ETag": '"%s"' % hashlib.md5(BODY).hexdigest(), "Accept-Ranges": "bytes",
    }
    got = cos_client.get_object(Bucket=bucket, Key="dressed.bin")
    head = cos_client.head_object(Bucket=bucket, Key="dressed.bin")
    for response in (got, head):
        for name, value in expected.items():
            assert response.get(name) == value, (name, response)
        assert response["Last-Modified"].endswith(" GMT")
        # header bytes come back exactly as sent (UTF-8); http.client decodes them as Latin-1
        assert response["x-cos-meta-author"].encode("latin-1").decode("utf-8") == "张三"
    assert got["Body"].get_raw_stream().read() == BODY


def test_exact_header_spelling(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="spelled", Body=b"abc",
                          Metadata={"x-cos-meta-k": "v"})
    head = cos_client.head_object(Bucket=bucket, Key="spelled")
    # the SDK returns a plain dict: names must be exactly as COS spells them
    for name in ("ETag", "Content-Length", "Content-Type", "Last-Modified", "Accept-Ranges",
                 "x-cos-request-id", "x-cos-meta-k", "x-cos-hash-crc64ecma"):
        assert name in head, (name, sorted(head))
    assert "etag" not in head and "content-length" not in head
    ranged = cos_client.get_object(Bucket=bucket, Key="spelled", Range="bytes=0-0")
    assert ranged["Content-Range"] == "bytes 0-0/3"
    # standard objects carry no storage-class header (COS only sends it for other classes)
    assert "x-cos-storage-class" not in head


def test_default_content_type_and_no_content_encoding(cos_client, bucket, emulator,
                                                     emulator_credentials):
    cos_client.put_object(Bucket=bucket, Key="plain", Body=b"x" * 2000)
    head = cos_client.head_object(Bucket=bucket, Key="plain")
    assert head["Content-Type"] == "application/octet-stream"
    url = cos_client.get_presigned_url(Bucket=bucket, Key="plain", Method="GET", SignHost=False)
    raw = requests.get(url, headers={
        "Host": f"{bucket}.cos.{emulator_credentials['region']}.myqcloud.com",
        "Accept-Encoding": "gzip, deflate"}, stream=True)
    assert "Content-Encoding" not in raw.headers
    assert raw.raw.read() == b"x" * 2000


@pytest.mark.parametrize("header,first,last", [
    ("bytes=0-9", 0, 9),
    ("bytes=10000-", 10000, 10239),
    ("bytes=-5", 10235, 10239),
    ("bytes=10230-99999", 10230, 10239),
])
def test_range_get(cos_client, bucket, header, first, last):
    cos_client.put_object(Bucket=bucket, Key="r", Body=BODY)
    response = cos_client.get_object(Bucket=bucket, Key="r", Range=header)
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(BODY)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Body"].get_raw_stream().read() == BODY[first:last + 1]


def test_unsatisfiable_range(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="r", Body=BODY)
    with pytest.raises(CosServiceError) as err:
        cos_client.get_object(Bucket=bucket, Key="r", Range="bytes=20000-")
    assert err.value.get_status_code() == 416
    assert err.value.get_error_code() == "InvalidRange"


def test_content_md5_mismatch_is_bad_digest_and_stores_nothing(cos_client, bucket):
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="md5", Body=BODY, ContentMD5=wrong)
    assert err.value.get_error_code() == "BadDigest"
    assert "Contents" not in cos_client.list_objects(Bucket=bucket)
    # a correct one (computed by the SDK) is accepted
    cos_client.put_object(Bucket=bucket, Key="md5", Body=BODY, EnableMD5=True)
    assert read(cos_client, bucket, "md5") == BODY


def test_malformed_content_md5_is_invalid_digest(cos_client, bucket):
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="md5", Body=BODY, ContentMD5="not base64!")
    assert err.value.get_error_code() == "InvalidDigest"


def test_body_over_the_cap_is_entity_too_large(emulator_factory, client_for, emulator_credentials):
    running = emulator_factory(max_body_bytes=64 * 1024)
    client = client_for(running)
    client.create_bucket(Bucket="capped-1250000000")
    with pytest.raises(CosServiceError) as err:
        client.put_object(Bucket="capped-1250000000", Key="big", Body=os.urandom(200 * 1024))
    assert err.value.get_status_code() == 400
    assert err.value.get_error_code() == "EntityTooLarge"
    client.put_object(Bucket="capped-1250000000", Key="small", Body=b"s" * 1024)
    keys = [c["Key"] for c in client.list_objects(Bucket="capped-1250000000")["Contents"]]
    assert keys == ["small"]


def test_chunked_body_over_the_cap(emulator_factory, client_for, emulator_credentials):
    running = emulator_factory(max_body_bytes=64 * 1024)
    client = client_for(running)
    client.create_bucket(Bucket="capped-1250000000")

    def chunks():
        for _ in range(10):
            yield b"c" * 16 * 1024

    with pytest.raises(CosServiceError) as err:
        client.put_object(Bucket="capped-1250000000", Key="streamed", Body=chunks())
    assert err.value.get_error_code() == "EntityTooLarge"
    tmp = [n for _, _, files in os.walk(running.data_dir) for n in files if n.startswith(".tmp")]
    assert tmp == []


def test_delete_is_204_also_for_a_missing_key(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="gone", Body=b"x")
    cos_client.delete_object(Bucket=bucket, Key="gone")
    cos_client.delete_object(Bucket=bucket, Key="never-was")
    with pytest.raises(CosServiceError) as err:
        cos_client.head_object(Bucket=bucket, Key="gone")
    assert err.value.get_status_code() == 404
    assert err.value.get_request_id() not in ("", "Unknown")


def test_error_xml_is_parsed_by_the_sdk(cos_client, bucket):
    with pytest.raises(CosServiceError) as err:
        cos_client.get_object(Bucket=bucket, Key="missing/键")
    e = err.value
    assert e.get_status_code() == 404
    assert e.get_error_code() == "NoSuchKey"
    assert "missing/键" in e.get_error_msg()
    assert e.get_resource_location() == f"{bucket}.cos.ap-guangzhou.myqcloud.com/missing/键"
    assert e.get_request_id() not in ("", "Unknown")
    assert e.get_trace_id() not in ("", "Unknown")
    root = ET.fromstring(e.get_origin_msg())
    assert [child.tag for child in root] == ["Code", "Message", "Resource", "RequestId", "TraceId"]


def test_copy_keeps_metadata_by_default(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="src/中.txt", Body=BODY, ContentType="text/x-src",
                          Metadata={"x-cos-meta-origin": "src"})
    copied = cos_client.copy_object(
        Bucket=bucket, Key="dst.txt",
        CopySource={"Bucket": bucket, "Key": "src/中.txt", "Region": "ap-guangzhou"})
    assert copied["ETag"] == '"%s"' % hashlib.md5(BODY).hexdigest()
    assert copied["LastModified"].endswith("Z")
    head = cos_client.head_object(Bucket=bucket, Key="dst.txt")
    assert head["Content-Type"] == "text/x-src"
    assert head["x-cos-meta-origin"] == "src"
    assert read(cos_client, bucket, "dst.txt") == BODY


def test_copy_replaced_takes_new_metadata(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="src", Body=b"data", ContentType="text/old",
                          Metadata={"x-cos-meta-old": "1"})
    cos_client.copy_object(Bucket=bucket, Key="src", CopyStatus="Replaced",
                           CopySource={"Bucket": bucket, "Key": "src", "Region": "ap-guangzhou"},
                           ContentType="text/new", Metadata={"x-cos-meta-new": "2"})
    head = cos_client.head_object(Bucket=bucket, Key="src")
    assert head["Content-Type"] == "text/new"
    assert head["x-cos-meta-new"] == "2"
    assert "x-cos-meta-old" not in head


def test_copy_onto_itself_needs_replaced(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="self", Body=b"data")
    with pytest.raises(CosServiceError) as err:
        cos_client.copy_object(Bucket=bucket, Key="self",
                               CopySource={"Bucket": bucket, "Key": "self",
                                           "Region": "ap-guangzhou"})
    assert err.value.get_error_code() == "InvalidRequest"


def test_copy_across_buckets_and_from_a_missing_source(cos_client, make_bucket):
    one, two = make_bucket("one"), make_bucket("two")
    cos_client.put_object(Bucket=one, Key="x", Body=b"cross")
    cos_client.copy_object(Bucket=two, Key="y",
                           CopySource={"Bucket": one, "Key": "x", "Region": "ap-guangzhou"})
    assert read(cos_client, two, "y") == b"cross"
    with pytest.raises(CosServiceError) as err:
        cos_client.copy_object(Bucket=two, Key="z",
                               CopySource={"Bucket": one, "Key": "nope", "Region": "ap-guangzhou"})
    assert err.value.get_error_code() == "NoSuchKey"
    # the source's host must name the source bucket's own region, as for any request
    with pytest.raises(CosServiceError) as err:
        cos_client.copy_object(Bucket=two, Key="w",
                               CopySource={"Bucket": one, "Key": "x", "Region": "ap-beijing"})
    assert err.value.get_error_code() == "NoSuchBucket"
    assert "ap-guangzhou" in err.value.get_error_msg()


def test_upload_part_copy(cos_client, make_bucket):
    src, dst = make_bucket("src"), make_bucket("dst")
    body = bytes(range(256)) * 12 * 1024   # 3 MB
    cos_client.put_object(Bucket=src, Key="big", Body=body)
    upload = cos_client.create_multipart_upload(Bucket=dst, Key="joined")["UploadId"]
    source = {"Bucket": src, "Key": "big", "Region": "ap-guangzhou"}
    first = cos_client.upload_part_copy(Bucket=dst, Key="joined", UploadId=upload,
                                        PartNumber=1, CopySource=source,
                                        CopySourceRange="bytes=0-1048575")
    second = cos_client.upload_part_copy(Bucket=dst, Key="joined", UploadId=upload,
                                         PartNumber=2, CopySource=source,
                                         CopySourceRange=f"bytes=1048576-{len(body) - 1}")
    assert first["ETag"] and first["LastModified"]
    cos_client.complete_multipart_upload(Bucket=dst, Key="joined", UploadId=upload,
                                         MultipartUpload={"Part": [
                                             {"PartNumber": 1, "ETag": first["ETag"]},
                                             {"PartNumber": 2, "ETag": second["ETag"]}]})
    assert read(cos_client, dst, "joined") == body
    upload = cos_client.create_multipart_upload(Bucket=dst, Key="bad")["UploadId"]
    with pytest.raises(CosServiceError) as err:
        cos_client.upload_part_copy(Bucket=dst, Key="bad", UploadId=upload, PartNumber=1,
                                    CopySource=source, CopySourceRange=f"bytes=0-{len(body)}")
    assert err.value.get_error_code() == "InvalidRange"
    with pytest.raises(CosServiceError) as err:
        cos_client.upload_part_copy(Bucket=dst, Key="bad", UploadId=upload, PartNumber=1,
                                    CopySource=source, CopySourceIfMatch='"nope"')
    assert err.value.get_status_code() == 412


def test_multi_delete(cos_client, bucket):
    for key in ("a", "b", "c d+e"):
        cos_client.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = cos_client.delete_objects(Bucket=bucket, Delete={
        "Quiet": "false", "Object": [{"Key": "a"}, {"Key": "c d+e"}, {"Key": "absent"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "absent", "c d+e"]
    assert "Error" not in result
    keys = [c["Key"] for c in cos_client.list_objects(Bucket=bucket)["Contents"]]
    assert keys == ["b"]

    quiet = cos_client.delete_objects(Bucket=bucket, Delete={
        "Quiet": "true", "Object": [{"Key": "b"}, {"Key": "k" * 1100}]})
    assert "Deleted" not in quiet
    assert [(e["Key"][:3], e["Code"]) for e in quiet["Error"]] == [("kkk", "KeyTooLong")]
    assert "Contents" not in cos_client.list_objects(Bucket=bucket)


def test_conditional_head(cos_client, bucket):
    etag = cos_client.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    assert cos_client.head_object(Bucket=bucket, Key="c", IfMatch=etag)["ETag"] == etag
    with pytest.raises(CosServiceError) as err:
        cos_client.head_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert err.value.get_status_code() == 412
    assert err.value.get_error_code() == "PreconditionFailed"


def test_response_overrides(cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = cos_client.get_object(Bucket=bucket, Key="o", ResponseContentType="application/json",
                                ResponseContentDisposition="inline")
    assert got["Content-Type"] == "application/json"
    assert got["Content-Disposition"] == "inline"


def test_object_in_missing_bucket(cos_client):
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket="ghost-1250000000", Key="k", Body=b"x")
    assert err.value.get_error_code() == "NoSuchBucket"


def test_metadata_over_2kb(cos_client, bucket):
    with pytest.raises(CosServiceError) as err:
        cos_client.put_object(Bucket=bucket, Key="fat", Body=b"x",
                              Metadata={"x-cos-meta-big": "v" * 3000})
    assert err.value.get_error_code() == "MetadataTooLarge"


def test_put_without_content_length_is_411(emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("raw-1250000000",))
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b"PUT /raw-1250000000/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411")
    assert ET.fromstring(body).findtext("Code") == "MissingContentLength"


def test_truncated_body_stores_nothing(emulator_factory):
    running = emulator_factory(auth=False, buckets_to_create=("raw-1250000000",))
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b"PUT /raw-1250000000/cut HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b"x" * 5000)
        sock.shutdown(socket.SHUT_WR)  # the client dies mid-body
        while sock.recv(65536):
            pass
    listed = requests.get(f"{running.endpoint}/raw-1250000000/")
    assert b"<Key>" not in listed.content

    def leftovers():
        return [n for _, _, files in os.walk(running.data_dir) for n in files
                if n.startswith(".tmp") or n.endswith(".data")]

    # The server closes a lost connection at once, while the handler still removes the
    # temp file on the thread pool: wait (boundedly) for that, then nothing may be left.
    give_up = time.monotonic() + 10
    while leftovers() and time.monotonic() < give_up:
        time.sleep(0.05)
    assert leftovers() == []


def test_reader_hanging_up_mid_download_is_not_a_server_error(emulator_factory, caplog):
    running = emulator_factory(auth=False, buckets_to_create=("raw-1250000000",))
    requests.put(f"{running.endpoint}/raw-1250000000/big", data=os.urandom(8 * 1024 * 1024))
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /raw-1250000000/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        # the server notices on a later write; a follow-up request proves it is still fine
        assert requests.head(f"{running.endpoint}/raw-1250000000/big").status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
