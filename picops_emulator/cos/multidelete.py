"""POST /?delete: delete up to 1000 objects named in a ``<Delete>`` XML body.

Contract: the body (≤ 2 MiB, Content-MD5 checked when sent) is ``<Delete><Quiet>true|false
</Quiet><Object><Key>…</Key></Object>…</Delete>``. Every named key is deleted (absent keys
count as deleted, as in COS); the answer ``DeleteResult`` lists ``Deleted/Key`` for each
(omitted when Quiet is true) and ``Error/{Key, Code, Message}`` for keys that could not be
deleted (e.g. an over-long key). Each removal of an existing object emits
``cos:ObjectRemove:Delete``.
"""

from __future__ import annotations

import hashlib
from typing import List, Tuple

from aiohttp import web

from .. import cosxml as xml
from ..errors import EmulatorError
from ..naming import check_key
from ..storage import ChangeOrigin
from .call import Call
from .common import check_md5, expected_md5, read_small_body

MAX_OBJECTS = 1000
MAX_BODY = 2 * 1024 * 1024


async def delete_objects(call: Call) -> web.StreamResponse:
    md5 = expected_md5(call.headers)
    body = await read_small_body(call, MAX_BODY, "Delete")
    check_md5(md5, hashlib.md5(body).digest(), "the Delete body")
    root = xml.parse(body, "Delete")
    quiet = (xml.child_text(root, "Quiet") or "false").strip().lower() == "true"
    keys: List[str] = []
    for obj in xml.children(root, "Object"):
        key = xml.child_text(obj, "Key")
        if key is None:
            raise EmulatorError("MalformedXML", "every <Object> of a Delete request needs a <Key>")
        keys.append(key)
    if not keys:
        raise EmulatorError("MalformedXML", "a Delete request must name at least one <Object>")
    if len(keys) > MAX_OBJECTS:
        raise EmulatorError("MalformedXML", f"a Delete request names {len(keys)} objects; COS "
                                            f"allows at most {MAX_OBJECTS}")
    results = await call.blocking(_delete_all, call, keys,
                                  call.origin("cos:ObjectRemove:Delete"))
    children: list = []
    for key, error in results:
        if error is None:
            if not quiet:
                children.append(("Deleted", [("Key", key)]))
        else:
            children.append(("Error", [("Key", key), ("Code", error.code),
                                       ("Message", error.message)]))
    return xml.xml_response(xml.document("DeleteResult", children))


def _delete_all(call: Call, keys: List[str], origin: ChangeOrigin) -> List[Tuple[str, object]]:
    out: List[Tuple[str, object]] = []
    for key in keys:
        try:
            check_key(key)
            call.store.delete_object(call.bucket, key, origin=origin)
            out.append((key, None))
        except EmulatorError as exc:
            out.append((key, exc))
    return out


__all__ = ["delete_objects"]
