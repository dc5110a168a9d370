"""The aiohttp application: edge -> auth -> route -> COS handler, with COS-shaped errors.

Contract (request pipeline, in this order, for EVERY request):

1. ``errors_middleware`` gives the request its ``x-cos-request-id`` and turns any
   :class:`EmulatorError` into COS's ``<Error>`` XML (no body on HEAD; on HEAD the code also
   travels in ``x-cos-error-code`` so the SDK can report it — an emulator convenience,
   UNCONFIRMED for real COS). Any other exception is logged with its traceback and answered
   500 ``InternalError``.
2. ``edge_middleware`` refuses a header over its size limit (:mod:`.header_sizes`), then
   parses Host + raw target once (:mod:`picops_emulator.cos.target`).
3. ``auth_middleware`` verifies the COS signature (:mod:`picops_emulator.cos.auth`) unless
   ``settings.auth`` is off — the only place auth happens, before any dispatch.
4. :func:`dispatch` resolves the route (:mod:`.routes`), checks the bucket exists and the
   key is acceptable (:mod:`picops_emulator.naming`), and calls the handler from
   :data:`picops_emulator.cos.HANDLERS`.

This is the edge: the only place an error's code becomes an HTTP status
(:func:`picops_emulator.errors.status_of`, which reads the one table).

Every response (success, error, streamed) gets ``x-cos-request-id`` and ``Server:
tencent-cos`` just before its headers are sent; error responses also get ``x-cos-trace-id``
(COS sends a trace id only with failures). Responses are never compressed.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from ..cos import HANDLERS, auth
from ..cos.call import Call, ServerState
from ..cos.target import (Target, check_region, is_cos_host, parse_query, parse_target,
                          split_raw_target)
from ..cosxml import error_body
from ..errors import EmulatorError, status_of
from ..naming import check_bucket_name, check_key
from ..scfapi.invoke import api_response
from ..settings import EmulatorSettings
from ..storage import Store
from . import routes
from .header_sizes import check_header_sizes

log = logging.getLogger("picops_emulator.server")

STATE = web.AppKey("picops_state", ServerState)
REQUEST_ID = web.RequestKey("picops_request_id", str)
TARGET = web.RequestKey("picops_target", Target)
QUERY = web.RequestKey("picops_query", tuple)
_counter = itertools.count(1)
_BOOT = os.urandom(4).hex()


def new_request_id() -> str:
    raw = f"{int(time.time()):x}_{_BOOT}_{next(_counter):x}_{os.urandom(3).hex()}"
    return base64.b64encode(raw.encode()).decode()


def _shown(request: web.BaseRequest) -> str:
    """The request target for a log line: secret query values redacted, at most 200 chars."""
    return auth.redact_target(request.raw_path)[:200]


class AccessLogger(AbstractAccessLogger):
    """One access line per request, with no credential in it (see ``picops.redact.is_secret_name``).

    aiohttp's default format logs the raw request line, presigned signatures and
    ``x-cos-security-token`` values included.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse,
            time: float) -> None:
        self.logger.info('%s "%s %s" %d %.3fs', request.remote, request.method,
                         _shown(request), response.status, time)


def new_trace_id() -> str:
    return base64.b64encode(os.urandom(24)).decode()


def error_response(request: web.Request, err: EmulatorError) -> web.Response:
    status = status_of(err.code)
    if status == 304:  # "not modified" is a bodiless answer, not a failure
        return web.Response(status=304, headers=err.headers)
    target = request.get(TARGET)
    resource = target.resource() if target is not None else request.raw_path
    request_id = request.get(REQUEST_ID) or new_request_id()
    trace_id = new_trace_id()
    headers = {"x-cos-trace-id": trace_id}
    headers.update(err.headers)
    body = None
    if request.method == "HEAD":
        headers["x-cos-error-code"] = err.code
    else:
        headers["Content-Type"] = "application/xml"
        body = error_body(err.code, err.message, resource, request_id, trace_id)
    response = web.Response(status=status, body=body, headers=headers)
    if err.code == "RequestTimeout":  # the client stalled: free its socket, do not drain
        response.force_close()
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler):
    request[REQUEST_ID] = new_request_id()
    try:
        return await handler(request)
    except EmulatorError as err:
        response = error_response(request, err)
        log.info("%s %s -> %d %s: %s", request.method, _shown(request), response.status,
                 err.code, err.message)
        return response
    except ConnectionError:
        # the client went away mid-body: the answer will most likely not arrive, but it is
        # the honest one, and it keeps aiohttp from reporting a server error
        log.info("%s %s: client disconnected", request.method, _shown(request))
        return error_response(request, EmulatorError(
            "InvalidRequest", "the client disconnected before the request body was complete"))
    except HttpProcessingError as exc:  # a malformed or truncated request body
        return error_response(request, EmulatorError(
            "InvalidRequest", f"the request body could not be read: {exc.message}"))
    except web.HTTPException as exc:  # raised by aiohttp helpers (e.g. request.read() caps)
        code = "EntityTooLarge" if exc.status == 413 else (
            "InvalidRequest" if exc.status < 500 else "InternalError")
        return error_response(request, EmulatorError(code, exc.text or exc.reason))
    except Exception:
        log.exception("unhandled error in %s %s (request id %s)", request.method,
                      _shown(request), request[REQUEST_ID])
        return error_response(request, EmulatorError(
            "InternalError", "the emulator failed while handling this request; its log has "
                             "the traceback (request id " + request[REQUEST_ID] + ")"))


@web.middleware
async def scf_api_middleware(request: web.Request, handler):
    """Tencent Cloud API 3.0 requests (``X-TC-Action``) go to SCF's API, not to COS."""
    if "X-TC-Action" not in request.headers:
        return await handler(request)
    settings = request.app[STATE].settings
    if settings.scf_api is None:
        return api_response({"Error": {"Code": "UnsupportedOperation",
                                       "Message": "this emulator serves no SCF API (no "
                                                  "function wired)"},
                             "RequestId": new_request_id()})
    return await settings.scf_api.respond(request, settings.credentials())


@web.middleware
async def edge_middleware(request: web.Request, handler):
    state = request.app[STATE]
    check_header_sizes(request.raw_headers)
    authority, raw_path, raw_query = split_raw_target(request.raw_path)
    # an absolute-form target (a client using the emulator as its HTTP proxy) names the host
    # itself, and RFC 9112 says it wins over the Host header, when it names a COS host; a
    # client sending to the emulator's own address through a proxy (IP/Port with Proxies)
    # names the bucket in its Host header
    host = request.headers.get("Host", "")
    if authority is not None and (is_cos_host(authority) or not is_cos_host(host)):
        host = authority
    request[TARGET] = parse_target(host, raw_path, state.settings.region)
    request[QUERY] = parse_query(raw_query)
    return await handler(request)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    settings = request.app[STATE].settings
    if settings.auth:
        target = request[TARGET]
        _, pairs = request[QUERY]
        legacy = auth.legacy_sign(request.headers, pairs)
        if legacy is not None:
            auth.verify_legacy(legacy, target.bucket, settings.credentials(), time.time())
        else:
            auth.verify(request.method, target.sign_path, target.bucket_level, request.headers,
                        pairs, settings.credentials(), time.time(),
                        settings.clock_skew_seconds)
    return await handler(request)


async def dispatch(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    target = request[TARGET]
    query, pairs = request[QUERY]
    route = routes.resolve(request.method, routes.level_of(target.bucket, target.key),
                           [name for name, _ in pairs])
    if target.bucket is not None:
        check_bucket_name(target.bucket)
        if route.operation != "create_bucket":
            check_region(state.store.get_bucket(target.bucket), target)
    if target.key is not None:
        check_key(target.key)
    call = Call(request=request, target=target, query=query, pairs=pairs, route=route,
                request_id=request[REQUEST_ID], state=state)
    return await HANDLERS[route.operation](call)


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    rid = request.get(REQUEST_ID)
    if rid and "x-cos-request-id" not in response.headers:
        response.headers["x-cos-request-id"] = rid
    response.headers["Server"] = "tencent-cos"


def build_app(settings: EmulatorSettings, store: Store,
              front: Sequence[Any] = ()) -> web.Application:
    """``front``: middlewares that see each request before the COS pipeline (the console).

    Requests for SCF's API (``X-TC-Action``) leave for :mod:`picops_emulator.scfapi` right
    after them, before COS's errors, edge and auth.
    """
    app = web.Application(middlewares=[*front, scf_api_middleware, errors_middleware,
                                       edge_middleware, auth_middleware])
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="picops-store")
    app[STATE] = ServerState(settings=settings, store=store, executor=executor)
    # [\s\S], not ".": a key may hold a newline, and must reach dispatch to be refused
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch)
    app.on_response_prepare.append(_common_headers)

    async def _shutdown(app: web.Application) -> None:
        executor.shutdown(wait=True)

    app.on_cleanup.append(_shutdown)
    return app


__all__ = ["build_app", "AccessLogger", "STATE", "new_request_id", "error_response"]
