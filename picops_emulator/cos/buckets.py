"""Bucket operations: PUT / (create), HEAD /, DELETE / (only when empty), GET Service.

Contract: buckets are keyed by ``name-appid``; the region of the creating request is
recorded (``x-cos-bucket-region`` on HEAD), and from then on the bucket answers only under
its own region's host name (the server's dispatch checks it). Creating an existing
bucket is 409 ``BucketAlreadyOwnedByYou`` (there is one account). A create body
(``CreateBucketConfiguration``, e.g. multi-AZ) is read, checked to be XML and otherwise
ignored: there is no AZ in a local emulator.
"""

from __future__ import annotations

from typing import Callable

from aiohttp import web

from .. import cosxml as xml
from ..errors import EmulatorError
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


async def get_bucket_location(call: Call) -> web.StreamResponse:
    info = call.store.get_bucket(call.bucket)
    return xml.xml_response(xml.text_document("LocationConstraint", info.region))


async def delete_bucket(call: Call) -> web.StreamResponse:
    await call.blocking(call.store.delete_bucket, call.bucket)
    return web.Response(status=204)


_RANGES = {"lt": float.__lt__, "gt": float.__gt__, "lte": float.__le__, "gte": float.__ge__}


def _created_filter(q) -> Callable[[float], bool]:
    """``create-time`` (Unix seconds) with ``range`` lt/gt/lte/gte, as GET Service takes them."""
    raw, kind = q.get("create-time", ""), q.get("range", "")
    if not raw and not kind:
        return lambda created: True
    if not raw or kind not in _RANGES:
        raise EmulatorError("InvalidArgument", f"create-time {raw!r} and range {kind!r} go "
                                               "together; range is one of lt, gt, lte, gte")
    try:
        moment = float(int(raw))
    except ValueError:
        raise EmulatorError("InvalidArgument", f"create-time {raw!r} is not Unix seconds") \
            from None
    return lambda created: _RANGES[kind](float(int(created)), moment)


async def list_buckets(call: Call) -> web.StreamResponse:
    """GET Service: on ``service.cos.myqcloud.com`` every bucket, on ``cos.<region>.myqcloud.com``
    the region's; filters ``region``, ``create-time`` + ``range``, ``tagkey``/``tagvalue``
    (buckets carry no tags here, so a tag filter matches none), ``marker``, ``max-keys``."""
    q = call.query
    marker = q.get("marker", "")
    max_keys = int_param(q, "max-keys", 2000, 2000)
    region = q.get("region", "") or (call.region if call.target.service else "")
    created = _created_filter(q)
    tagged = bool(q.get("tagkey") or q.get("tagvalue"))
    buckets = [b for b in call.store.list_buckets()
               if b.name > marker and (not region or b.region == region)
               and created(b.created) and not tagged]
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


__all__ = ["create_bucket", "head_bucket", "get_bucket_location", "delete_bucket",
           "list_buckets"]
