"""The COS API subset, one module per family; :data:`HANDLERS` maps route operations to them.

Every handler is ``async def handler(call: cos.call.Call) -> aiohttp.web.StreamResponse``
and raises ``picops_emulator.errors.EmulatorError`` for anything COS would answer with an
error. This layer sits between the server (which imports it) and the CI seam, the store and
the error table (which it imports); nothing below imports it back.

Where things go: a new COS operation is a handler here plus a row in
``server.routes.ROUTES``; a new error code is a row in ``picops_emulator.errors.ERRORS``;
a key or bucket-name rule goes in ``picops_emulator.naming`` (one function, applied at the
door, by every handler that names a key and by the store on every write, CI outputs
included); anything CI-specific goes through ``picops_emulator.ci.seam``.
"""

from typing import Awaitable, Callable, Dict

from aiohttp import web

from . import buckets, listing, multidelete, multipart, objects, post_object, processing
from .call import Call

Handler = Callable[[Call], Awaitable[web.StreamResponse]]

HANDLERS: Dict[str, Handler] = {
    "list_buckets": buckets.list_buckets,
    "create_bucket": buckets.create_bucket,
    "head_bucket": buckets.head_bucket,
    "get_bucket_location": buckets.get_bucket_location,
    "delete_bucket": buckets.delete_bucket,
    "list_objects": listing.list_objects,
    "list_object_versions": listing.list_object_versions,
    "list_multipart_uploads": multipart.list_multipart_uploads,
    "delete_objects": multidelete.delete_objects,
    "post_object": post_object.post_object,
    "put_object": objects.put_object,
    "get_object": objects.get_object,
    "head_object": objects.head_object,
    "delete_object": objects.delete_object,
    "initiate_multipart": multipart.initiate_multipart,
    "upload_part": multipart.upload_part,
    "complete_multipart": multipart.complete_multipart,
    "abort_multipart": multipart.abort_multipart,
    "list_parts": multipart.list_parts,
    "ci": processing.ci_route,
}

__all__ = ["HANDLERS", "Handler"]
