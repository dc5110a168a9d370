"""Handing CI requests to the configured backend (contract: ``server/ci_hook.py``).

Contract: :func:`require_backend` answers 501 ``NotImplemented`` naming the operation when
the emulator runs without a CI backend, or when the backend declares ``operations`` and this
one is not among them — called BEFORE a PUT/complete stores anything.
:func:`call_backend` builds the :class:`CiContext` and awaits the backend; a backend that
returns something other than an aiohttp response is a programming error (500, logged).
:func:`ci_route` is the handler of the ``ci`` route (``?image_process`` and ``?style``).
"""

from __future__ import annotations

from typing import Optional

from aiohttp import web

from ..server.ci_hook import CiContext
from ..server.context import Call
from ..server.errors import EmulatorError
from ..storage import ObjectMeta

DESCRIPTIONS = {
    "image_process": "CI persistent processing (POST ?image_process, ci_image_process)",
    "put": "CI processing on upload (PUT with Pic-Operations, ci_put_object)",
    "complete_multipart": "CI processing on Complete Multipart Upload (Pic-Operations)",
    "style": "CI image styles (?style)",
}


def require_backend(call: Call, operation: str):
    backend = call.settings.ci_backend
    if backend is None:
        raise EmulatorError("NotImplemented", f"{DESCRIPTIONS[operation]} needs the CI layer, "
                                              "and this emulator runs without a CI backend")
    supported = getattr(backend, "operations", None)
    if supported is not None and operation not in supported:
        raise EmulatorError("NotImplemented", f"{DESCRIPTIONS[operation]} is not supported by "
                                              "the picops emulator's CI layer")
    return backend


async def call_backend(call: Call, operation: str,
                       stored: Optional[ObjectMeta] = None) -> web.StreamResponse:
    backend = require_backend(call, operation)
    ctx = CiContext(operation=operation, bucket=call.bucket, key=call.target.key,
                    region=call.region, method=call.request.method, query=dict(call.query),
                    headers=call.headers, request_id=call.request_id, store=call.store,
                    request=call.request, stored=stored, service=call.target.service)
    response = await backend.handle(ctx)
    if not isinstance(response, web.StreamResponse):
        raise TypeError(f"CI backend {backend!r} returned {type(response).__name__}, "
                        "not an aiohttp response")
    return response


async def ci_route(call: Call) -> web.StreamResponse:
    operation = "style" if call.route.subresource == "style" else "image_process"
    return await call_backend(call, operation)


__all__ = ["require_backend", "call_backend", "ci_route", "DESCRIPTIONS"]
