"""Multipart upload: the SDK's upload_file/download_file on a large file, and the low-level
calls with their COS error cases."""

import hashlib
import os

import pytest
from qcloud_cos.cos_exception import CosServiceError

MB = 1024 * 1024


def multipart_etag(data: bytes, part_size: int) -> str:
    digests = b"".join(hashlib.md5(data[i:i + part_size]).digest()
                       for i in range(0, len(data), part_size))
    count = (len(data) + part_size - 1) // part_size
    return f'"{hashlib.md5(digests).hexdigest()}-{count}"'


def test_upload_file_and_download_file_25mb(cos_client, bucket, tmp_path):
    data = os.urandom(25 * MB + 12345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    result = cos_client.upload_file(Bucket=bucket, Key="big/中 文.bin", LocalFilePath=str(source),
                                    PartSize=1, MAXThread=4, ContentType="application/x-big",
                                    Metadata={"x-cos-meta-kind": "large"})
    assert result["ETag"] == multipart_etag(data, MB)
    head = cos_client.head_object(Bucket=bucket, Key="big/中 文.bin")
    assert head["Content-Length"] == str(len(data))
    assert head["ETag"] == result["ETag"]
    assert head["Content-Type"] == "application/x-big"
    assert head["x-cos-meta-kind"] == "large"
    # no upload left behind
    assert "Upload" not in cos_client.list_multipart_uploads(Bucket=bucket)

    target = tmp_path / "back.bin"
    cos_client.download_file(Bucket=bucket, Key="big/中 文.bin", DestFilePath=str(target),
                             PartSize=1, MAXThread=4, EnableCRC=True,
                             DumpRecordDir=str(tmp_path / "records"))
    assert hashlib.md5(target.read_bytes()).digest() == hashlib.md5(data).digest()


def test_low_level_multipart_cycle(cos_client, bucket):
    key = "parts/a+b.bin"
    upload = cos_client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="x/y")
    upload_id = upload["UploadId"]
    assert upload["Key"] == key and upload["Bucket"] == bucket

    listed = cos_client.list_multipart_uploads(Bucket=bucket, Prefix="parts/")
    assert [(u["Key"], u["UploadId"]) for u in listed["Upload"]] == [(key, upload_id)]

    one, two = b"1" * MB, b"2" * 100
    e1 = cos_client.upload_part(Bucket=bucket, Key=key, Body=one, PartNumber=1,
                                UploadId=upload_id)["ETag"]
    e2 = cos_client.upload_part(Bucket=bucket, Key=key, Body=two, PartNumber=2,
                                UploadId=upload_id, EnableMD5=True)["ETag"]
    assert e1 == '"%s"' % hashlib.md5(one).hexdigest()

    parts = cos_client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts["Part"]] == [
        ("1", e1, str(MB)), ("2", e2, "100")]
    assert parts["IsTruncated"] == "false"

    page = cos_client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
    assert [p["PartNumber"] for p in page["Part"]] == ["1"]
    assert page["IsTruncated"] == "true" and page["NextPartNumberMarker"] == "1"

    done = cos_client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert done["ETag"] == multipart_etag(one + two, MB)
    assert done["Location"] == f"{bucket}.cos.ap-guangzhou.myqcloud.com/{key}"
    got = cos_client.get_object(Bucket=bucket, Key=key)
    assert got["Body"].get_raw_stream().read() == one + two
    assert got["Content-Type"] == "x/y"

    with pytest.raises(CosServiceError) as err:
        cos_client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert err.value.get_error_code() == "NoSuchUpload"


def _started(client, bucket, key, *bodies):
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [client.upload_part(Bucket=bucket, Key=key, Body=body, PartNumber=i + 1,
                                UploadId=upload_id)["ETag"] for i, body in enumerate(bodies)]
    return upload_id, etags


def test_complete_errors(cos_client, bucket):
    upload_id, (e1, e2) = _started(cos_client, bucket, "k", b"a" * 100, b"b" * 100)

    def complete(parts):
        with pytest.raises(CosServiceError) as err:
            cos_client.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id,
                                                 MultipartUpload={"Part": parts})
        return err.value.get_error_code()

    assert complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]) == \
        "InvalidPartOrder"
    assert complete([{"PartNumber": 1, "ETag": '"ffff"'}]) == "InvalidPart"
    assert complete([{"PartNumber": 3, "ETag": e1}]) == "InvalidPart"
    # part 1 is not the last and smaller than 1 MB
    assert complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]) == \
        "EntityTooSmall"
    # nothing was created by the failed attempts
    assert "Contents" not in cos_client.list_objects(Bucket=bucket)


def test_abort_removes_the_upload(cos_client, bucket):
    upload_id, _ = _started(cos_client, bucket, "k", b"a")
    cos_client.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert "Upload" not in cos_client.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(CosServiceError) as err:
        cos_client.upload_part(Bucket=bucket, Key="k", Body=b"x", PartNumber=1,
                               UploadId=upload_id)
    assert err.value.get_error_code() == "NoSuchUpload"
    with pytest.raises(CosServiceError) as err:
        cos_client.abort_multipart_upload(Bucket=bucket, Key="k", UploadId="../../etc")
    assert err.value.get_error_code() == "NoSuchUpload"


def test_bad_part_number(cos_client, bucket):
    upload_id, _ = _started(cos_client, bucket, "k")
    with pytest.raises(CosServiceError) as err:
        cos_client.upload_part(Bucket=bucket, Key="k", Body=b"x", PartNumber=10001,
                               UploadId=upload_id)
    assert err.value.get_error_code() == "InvalidArgument"


def test_list_multipart_uploads_paging_and_prefixes(cos_client, bucket):
    ids = {}
    for key in ("a/1", "a/2", "b", "b", "c/1"):
        ids.setdefault(key, []).append(
            cos_client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    rolled = cos_client.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "c/"]
    assert [u["Key"] for u in rolled["Upload"]] == ["b", "b"]
    # uploads of one key come in initiation order (the SDK resumes the last one)
    assert [u["UploadId"] for u in rolled["Upload"]] == ids["b"]

    seen, key_marker, id_marker = [], "", ""
    while True:
        page = cos_client.list_multipart_uploads(Bucket=bucket, MaxUploads=2,
                                                 KeyMarker=key_marker,
                                                 UploadIdMarker=id_marker)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Upload", [])]
        if page["IsTruncated"] == "false":
            break
        key_marker, id_marker = page["NextKeyMarker"], page["NextUploadIdMarker"]
    assert seen == [(k, i) for k in ("a/1", "a/2", "b", "c/1") for i in ids[k]]


def test_upload_file_resumes_an_interrupted_upload(cos_client, bucket, tmp_path):
    data = os.urandom(3 * MB + 10)
    source = tmp_path / "resume.bin"
    source.write_bytes(data)
    # an earlier, interrupted upload_file left part 2 behind
    upload_id = cos_client.create_multipart_upload(Bucket=bucket, Key="resume.bin")["UploadId"]
    cos_client.upload_part(Bucket=bucket, Key="resume.bin", Body=data[MB:2 * MB], PartNumber=2,
                           UploadId=upload_id)
    result = cos_client.upload_file(Bucket=bucket, Key="resume.bin", LocalFilePath=str(source),
                                    PartSize=1, MAXThread=2)
    assert result["ETag"] == multipart_etag(data, MB)
    # the SDK found our upload through list_multipart_uploads/list_parts and finished it
    assert "Upload" not in cos_client.list_multipart_uploads(Bucket=bucket)
    got = cos_client.get_object(Bucket=bucket, Key="resume.bin")
    assert got["Body"].get_raw_stream().read() == data
