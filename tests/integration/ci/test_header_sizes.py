"""Request headers over picops's size limits get a COS XML error the real SDK reads
(issue 9, verify's F6), not aiohttp's plain-text 400 (code 'Unknown'); nothing is written.
The limits: picops.header_limits (8 KiB, UNCONFIRMED for COS/CI)."""

import http.client
import json

from picops.header_limits import HEADER_MAX_BYTES, PIC_OPERATIONS_MAX_BYTES
from picops_emulator.server.header_sizes import PARSER_FIELD_BYTES

RULE = {"fileid": "/out/small.jpg", "rule": "imageMogr2/thumbnail/50x"}


def padded(size: int) -> str:
    """A valid Pic-Operations header of exactly ``size`` bytes (JSON allows space between
    tokens; inside, as a header's trailing space is not part of its value)."""
    text = json.dumps({"is_pic_info": 0, "rules": [RULE]})
    return "{" + " " * (size - len(text)) + text[1:]


def test_pic_operations_at_the_limit_is_processed(ci):
    ci.upload("p/rocket.jpg", "rocket.jpg")
    _, data = ci.client.ci_image_process(Bucket=ci.bucket, Key="p/rocket.jpg",
                                         PicOperations=padded(PIC_OPERATIONS_MAX_BYTES))
    assert [o["Key"] for o in ci.objects(data)] == ["out/small.jpg"]


def test_pic_operations_over_the_limit_is_an_xml_error_naming_header_and_limit(ci):
    ci.upload("p/rocket.jpg", "rocket.jpg")
    for size in (PIC_OPERATIONS_MAX_BYTES + 1, 9000, PARSER_FIELD_BYTES - 100):
        err = ci.process_error("p/rocket.jpg", padded(size))
        ci.assert_error(err, 400, "InvalidPicOperations", "Pic-Operations", f"{size} bytes",
                        f"at most {PIC_OPERATIONS_MAX_BYTES}")
    assert ci.keys() == ["p/rocket.jpg"]


def test_any_other_header_over_the_limit_is_request_header_too_large(ci):
    err = ci.error(lambda: ci.client.put_object(Bucket=ci.bucket, Key="big.txt", Body=b"x",
                                                CacheControl="x" * (HEADER_MAX_BYTES + 1)))
    ci.assert_error(err, 400, "RequestHeaderTooLarge", "Cache-Control",
                    f"at most {HEADER_MAX_BYTES}")
    assert ci.keys() == []
    ci.client.put_object(Bucket=ci.bucket, Key="ok.txt", Body=b"x",
                         CacheControl="x" * (HEADER_MAX_BYTES - 100))
    assert ci.keys() == ["ok.txt"]


def test_a_header_over_the_parser_bound_is_refused_without_reading_it_whole(ci, emulator):
    connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=10)
    try:
        connection.putrequest("GET", f"/{ci.bucket}/a.jpg")
        connection.putheader("X-Pad", "x" * (PARSER_FIELD_BYTES + 10))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
    finally:
        connection.close()


def test_a_request_line_with_a_key_far_over_850_bytes_is_key_too_long_in_xml(ci):
    # 9000 bytes of key: a request line over aiohttp's default 8190, read up to the bound
    for call in (lambda: ci.client.put_object(Bucket=ci.bucket, Key="k" * 9000, Body=b"x"),
                 lambda: ci.client.head_object(Bucket=ci.bucket, Key="k" * 9000)):
        err = ci.error(call)
        assert (err.get_status_code(), err.get_error_code()) == (400, "KeyTooLong")
    assert ci.keys() == []
