"""Malformed and tampered ``Authorization`` values over real HTTP: each is a 403 with a COS
error code, never a 500 and never an answer with the object's bytes (replayed from the
attack run against ``picops emulator``). The valid signature they start from is the SDK's
own (``CosS3Auth``); only its text is then bent.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from qcloud_cos import CosConfig
from qcloud_cos.cos_auth import CosS3Auth

from tests.integration.conftest import TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY

KEY = "guarded.txt"
NOW = int(time.time())


def field(auth: str, name: str, value: str) -> str:
    return re.sub(rf"{name}=[^&]*", lambda _: f"{name}={value}", auth)


VARIANTS = {
    "sign-time over 400 digits": lambda a: field(a, "q-sign-time", "1;" + "9" * 400),
    "negative sign-time": lambda a: field(a, "q-sign-time", "-5;-1"),
    "non-numeric sign-time": lambda a: field(a, "q-sign-time", "a;b"),
    "sign-time of one number": lambda a: field(a, "q-sign-time", "123"),
    "sign-time with fractions": lambda a: field(a, "q-sign-time", f"{NOW - 10}.5;{NOW + 99}.5"),
    "sign-time in exponent form": lambda a: field(a, "q-sign-time", f"{NOW - 10};1e20"),
    "key-time unlike sign-time": lambda a: field(a, "q-key-time", f"{NOW - 5};{NOW + 5}"),
    "header list naming an absent header": lambda a: field(a, "q-header-list",
                                                           "host;x-absent"),
    "param list naming an absent param": lambda a: field(a, "q-url-param-list", "foo"),
    "header list of 1200 names": lambda a: field(a, "q-header-list",
                                                 ";".join(f"h{i}" for i in range(1200))),
    "bad percent escape": lambda a: field(a, "q-header-list", "%ZZ"),
    "every field empty": lambda a: re.sub(r"=[^&]*", "=", a),
    "a second q-ak": lambda a: a + "&q-ak=AKIDother",
    "algorithm sha256": lambda a: field(a, "q-sign-algorithm", "sha256"),
    "non-ASCII SecretId": lambda a: field(a, "q-ak", "\u00e9\u00e9"),
    "no field at all": lambda a: "garbage",
    "signature of another length": lambda a: field(a, "q-signature", "00"),
}


@pytest.fixture
def guarded(emulator, cos_client, bucket):
    cos_client.put_object(Bucket=bucket, Key=KEY, Body=b"for the key holder only")
    host = f"{bucket}.cos.{TEST_REGION}.myqcloud.com"
    conf = CosConfig(Region=TEST_REGION, SecretId=TEST_SECRET_ID, SecretKey=TEST_SECRET_KEY)
    prepared = requests.Request("GET", f"{emulator.endpoint}/{KEY}",
                                headers={"Host": host}).prepare()
    auth = CosS3Auth(conf, KEY)(prepared).headers["Authorization"]
    return emulator, host, auth


def get(emulator, host: str, auth: str) -> requests.Response:
    return requests.get(f"{emulator.endpoint}/{KEY}",
                        headers={"Host": host, "Authorization": auth.encode("utf-8")})


def test_the_unbent_signature_opens_the_object(guarded):
    emulator, host, auth = guarded
    assert get(emulator, host, auth).content == b"for the key holder only"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_bent_authorization_is_a_403_with_a_cos_code(guarded, name):
    emulator, host, auth = guarded
    response = get(emulator, host, VARIANTS[name](auth))
    assert response.status_code == 403, (response.status_code, response.content[:300])
    code = ET.fromstring(response.content).findtext("Code")
    assert code in {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId",
                    "RequestTimeTooSkewed"}, code
    assert b"for the key holder only" not in response.content
