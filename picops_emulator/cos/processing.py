"""The ``ci`` route: ``POST /<key>?image_process`` and ``?style`` handed to the CI seam.

Contract: the request goes to the configured backend through :mod:`picops_emulator.ci.seam`;
without a backend it is answered 501 ``NotImplemented`` before its body is read. A style
request's body (at most ``seam.MAX_STYLE_BODY`` bytes, ``EntityTooLarge`` past it) is read
here, under the idle timeout of every body read, and handed over in ``CiContext.body``.
"""

from __future__ import annotations

from aiohttp import web

from ..ci import seam
from .call import Call
from .common import read_small_body


async def ci_route(call: Call) -> web.StreamResponse:
    backend = call.settings.ci_backend
    if call.route.subresource != "style":
        return await seam.call_backend(backend, call.ci_context("image_process"))
    seam.require_backend(backend, "style")
    body = await read_small_body(call, seam.MAX_STYLE_BODY, "style request")
    return await seam.call_backend(backend, call.ci_context("style", body=body))


__all__ = ["ci_route"]
