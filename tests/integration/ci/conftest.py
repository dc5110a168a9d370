"""CI persistent processing over real HTTP: an emulator with the real CI backend.

Overrides the integration ``emulator`` fixture so that ``cos_client``, ``make_bucket`` and
``bucket`` (tests/integration/conftest.py) talk to an emulator whose ``ci_backend`` is a
real :class:`~picops_emulator.ci.service.CiService` (signatures checked, fsync off for speed).

``ci`` is a :class:`CiHelper` bound to that client and bucket: upload corpus files, send
``Pic-Operations`` as JSON, normalise the SDK's ``ProcessResults/Object`` (a dict for one
rule, a list for several), read outputs back as pyvips images, and catch the SDK's
``CosServiceError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union
from urllib.parse import unquote

import pytest
import pyvips
from qcloud_cos import CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from picops_emulator.ci.service import CiService

IMAGES = Path(__file__).resolve().parents[2] / "data" / "images"
CI_WORKERS = 4  # enough for the concurrency tests to see real parallelism on 2 cores


def image_bytes(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


class CiHelper:
    """Thin conveniences over the real SDK; every call still goes over HTTP."""

    def __init__(self, client: CosS3Client, bucket: str):
        self.client = client
        self.bucket = bucket

    def upload(self, key: str, source: Union[str, bytes], bucket: Optional[str] = None) -> str:
        """PUT a corpus file (by name) or raw bytes; returns the unquoted ETag."""
        body = image_bytes(source) if isinstance(source, str) else source
        response = self.client.put_object(Bucket=bucket or self.bucket, Key=key, Body=body)
        return response["ETag"].strip('"')

    @staticmethod
    def pic_operations(rules: List[Dict[str, Any]], is_pic_info: int = 0) -> str:
        return json.dumps({"is_pic_info": is_pic_info, "rules": rules}, ensure_ascii=False)

    def process(self, key: str, rules: List[Dict[str, Any]], is_pic_info: int = 0,
                bucket: Optional[str] = None) -> dict:
        """``ci_image_process``; returns the SDK's data dict."""
        _, data = self.client.ci_image_process(
            Bucket=bucket or self.bucket, Key=key,
            PicOperations=self.pic_operations(rules, is_pic_info))
        return data

    def process_error(self, key: str, header: Optional[str],
                      bucket: Optional[str] = None) -> CosServiceError:
        """``ci_image_process`` with a raw header (None: no header) that must fail."""
        kwargs = {} if header is None else {"PicOperations": header}
        return self.error(lambda: self.client.ci_image_process(
            Bucket=bucket or self.bucket, Key=key, **kwargs))

    @staticmethod
    def error(call: Callable[[], Any]) -> CosServiceError:
        with pytest.raises(CosServiceError) as caught:
            call()
        return caught.value

    @staticmethod
    def objects(data: dict) -> List[dict]:
        results = data["ProcessResults"]
        if results is None:
            return []
        found = results["Object"]
        return found if isinstance(found, list) else [found]

    def get_bytes(self, key: str, bucket: Optional[str] = None) -> bytes:
        got = self.client.get_object(Bucket=bucket or self.bucket, Key=key)
        return got["Body"].get_raw_stream().read()

    def get_image(self, key: str, bucket: Optional[str] = None) -> pyvips.Image:
        """The stored object decoded (all frames) with pyvips, fully read."""
        data = self.get_bytes(key, bucket)
        image = pyvips.Image.new_from_buffer(data, "")
        if image.get_typeof("n-pages") and image.get("n-pages") > 1:
            image = pyvips.Image.new_from_buffer(data, "", n=-1)
        return image.copy_memory()

    def head_etag(self, key: str, bucket: Optional[str] = None) -> str:
        return self.client.head_object(Bucket=bucket or self.bucket, Key=key)["ETag"].strip('"')

    def keys(self, bucket: Optional[str] = None) -> List[str]:
        listed = self.client.list_objects(Bucket=bucket or self.bucket, EncodingType="url")
        return sorted(unquote(c["Key"]) for c in listed.get("Contents", []))

    image_bytes = staticmethod(image_bytes)

    @staticmethod
    def loader(image: pyvips.Image) -> str:
        """The codec that decoded ``image`` (``jpegload_buffer`` -> ``jpeg``)."""
        return image.get("vips-loader").replace("load_buffer", "").replace("load", "")

    @staticmethod
    def assert_error(err: CosServiceError, status: int, code: str, *fragments: str) -> None:
        """The SDK parsed a complete COS error: status, code, a real request id, and a
        message that names each of ``fragments``."""
        message = err.get_error_msg()
        assert (err.get_status_code(), err.get_error_code()) == (status, code), message
        assert err.get_request_id() not in ("", "Unknown")
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.fixture
def ci_service():
    service = CiService(workers=CI_WORKERS)
    yield service
    service.close()


@pytest.fixture
def emulator(ci_service, emulator_factory):
    # ci_service first: it is torn down after the emulator has stopped.
    return emulator_factory(ci_backend=ci_service, fsync=False)


@pytest.fixture
def ci(cos_client, bucket) -> CiHelper:
    return CiHelper(cos_client, bucket)


