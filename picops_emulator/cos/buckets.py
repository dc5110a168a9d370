"""Bucket operations: PUT / (create), HEAD /, DELETE / (only when empty), GET Service.

Contract: buckets are keyed by ``name-appid`` whatever region the Host names; the region of
the creating request is recorded (``x-cos-bucket-region`` on HEAD). Creating an existing
bucket is 409 ``BucketAlreadyOwnedByYou`` (there is one account). A create body
(``CreateBucketConfiguration``, e.g. multi-AZ) is read, checked to be XML and otherwise
ignored: there is no AZ in a local emulator.
"""

from __future__ import annotations

from aiohttp import web

from .. import cosxml as xml
from ..naming import check_bucket_name
from .call import Call
from .common import iso_date, read_small_body
from .listing import int_param, owner


async def create_bucket(call: Call) -> web.StreamResponse:
    check_bucket_name(call.bucket)
    body = await read_small_body(call, 64 * 1024, "CreateBucketConfiguration")
    if body.strip():
        xml.parse(body, "CreateBucketConfiguration")
    await call.blocking(call.store.create_bucket, call.bucket, call.region)
    return web.Response(status=200)


async def head_bucket(call: Call) -> web.StreamResponse:
    info = call.store.get_bucket(call.bucket)
    return web.Response(status=200, headers={"x-cos-bucket-region": info.region})


async def delete_bucket(call: Call) -> web.StreamResponse:
    await call.blocking(call.store.delete_bucket, call.bucket)
    return web.Response(status=204)


async def list_buckets(call: Call) -> web.StreamResponse:
    q = call.query
    marker = q.get("marker", "")
    max_keys = int_param(q, "max-keys", 2000, 2000)
    region = q.get("region", "")
    buckets = [b for b in call.store.list_buckets()
               if b.name > marker and (not region or b.region == region)]
    page, truncated = buckets[:max_keys], len(buckets) > max_keys
    appid = page[0].appid if page else "0"
    children: list = [("Owner", owner(appid)), ("Buckets", [
        ("Bucket", [("Name", b.name), ("Location", b.region),
                    ("CreationDate", iso_date(b.created)), ("BucketType", "cos")])
        for b in page
    ] or None), ("Marker", marker), ("MaxKeys", max_keys), ("IsTruncated", truncated)]
    if truncated:
        children.append(("NextMarker", page[-1].name))
    return xml.xml_response(xml.document("ListAllMyBucketsResult", children))


__all__ = ["create_bucket", "head_bucket", "delete_bucket", "list_buckets"]
