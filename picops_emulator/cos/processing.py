"""The ``ci`` route: ``POST /<key>?image_process`` and ``?style`` handed to the CI seam.

Contract: the request goes to the configured backend through :mod:`picops_emulator.ci.seam`
unchanged (its body unread); without a backend it is answered 501 ``NotImplemented``.
"""

from __future__ import annotations

from aiohttp import web

from ..ci import seam
from .call import Call


async def ci_route(call: Call) -> web.StreamResponse:
    operation = "style" if call.route.subresource == "style" else "image_process"
    return await seam.call_backend(call.settings.ci_backend, call.ci_context(operation))


__all__ = ["ci_route"]
