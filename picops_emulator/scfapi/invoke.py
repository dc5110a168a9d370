"""SCF's ``Invoke`` API (Tencent Cloud API 3.0, version 2018-04-16), asynchronous: emulated.

``picops backfill --fan-out`` invokes the deployed function once per page of keys
through the official Tencent Cloud SDK. With the SDK's endpoint pointed here
(``--scf-endpoint``), the same signed request reaches the emulator: a POST whose
``X-TC-Action`` header names the action, a JSON body, a TC3-HMAC-SHA256
signature (:mod:`.tc3`) by a key pair the emulator knows.

:class:`ScfApi` answers it as API 3.0 does, always HTTP 200 with a JSON
``{"Response": {..., "RequestId"}}``, errors as ``Response.Error{Code, Message}``:

* ``Invoke`` with ``InvocationType: "Event"`` for the function serverless.yml
  declares (name, namespace, region, qualifier ``$LATEST`` or ``$DEFAULT``):
  ``ClientContext`` (a JSON object, at most :data:`MAX_ASYNC_EVENT_BYTES`) is
  queued as the event of one asynchronous invocation on the trigger
  dispatcher's function workers (SCF's retries and dead letters included), and
  the answer carries its ``FunctionRequestId``.
* Anything else is refused by name: another action (``InvalidAction``), a
  synchronous invocation (``UnsupportedOperation``: the product never makes
  one), an unknown function (``ResourceNotFound.Function``), a bad parameter.

Decisions on UNCONFIRMED points: the exact error codes for an unknown qualifier
(``ResourceNotFound.Version``) and an oversized event
(``InvalidParameterValue.ClientContext``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable, Dict, Mapping, Optional

from .tc3 import ApiError, verify

SERVICE = "scf"
API_VERSION = "2018-04-16"
#: SCF refuses an asynchronous event over 128 KB (reference cos-ci-scf.md §2.6).
MAX_ASYNC_EVENT_BYTES = 128 * 1024
#: The request body is read up to this many bytes (SCF's synchronous request limit).
MAX_BODY_BYTES = 6 * 1024 * 1024
QUALIFIERS = ("$LATEST", "$DEFAULT")

#: ``invoke(event, function_request_id)``: queue one asynchronous invocation.
InvokeTarget = Callable[[Dict[str, Any], str], None]


class ScfApi:
    """The SCF API of one emulated function; :meth:`attach` it to the function's workers."""

    def __init__(self) -> None:
        self._target: Optional[InvokeTarget] = None
        self.function_name = ""
        self.namespace = "default"
        self.region = ""

    def attach(self, target: InvokeTarget, *, function_name: str, region: str,
               namespace: str = "default") -> None:
        self._target = target
        self.function_name, self.region, self.namespace = function_name, region, namespace

    def detach(self) -> None:
        self._target = None

    # --- the HTTP side (aiohttp) --------------------------------------------------------

    async def respond(self, request, credentials: Mapping[str, str]):
        """Answer one API request (an aiohttp request with ``X-TC-Action``)."""
        api_request_id = str(uuid.uuid4())
        try:
            if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                raise ApiError("RequestSizeLimitExceeded",
                               f"the request body is over {MAX_BODY_BYTES} bytes")
            body = await request.content.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                raise ApiError("RequestSizeLimitExceeded",
                               f"the request body is over {MAX_BODY_BYTES} bytes")
            path, _, query = request.raw_path.partition("?")
            verify(request.method, path, query, request.headers, body, SERVICE, credentials,
                   time.time())
            result = await self._action(request.headers, body)
            payload: Dict[str, Any] = dict(result)
        except ApiError as err:
            payload = {"Error": {"Code": err.code, "Message": err.message}}
        payload["RequestId"] = api_request_id
        return api_response(payload)

    async def _action(self, headers: Mapping[str, str], body: bytes) -> Dict[str, Any]:
        action = headers.get("X-TC-Action", "")
        version = headers.get("X-TC-Version", "")
        if action != "Invoke":
            raise ApiError("InvalidAction", f"action {action!r}: the emulator's SCF API "
                                            "implements Invoke only")
        if version != API_VERSION:
            raise ApiError("InvalidParameterValue",
                           f"X-TC-Version {version!r}: SCF's API version is {API_VERSION}")
        params = _json_object(body)
        event, function_request_id = self._check_invoke(params, headers.get("X-TC-Region", ""))
        target = self._target
        if target is None:
            raise ApiError("InternalError", "the emulator has no function workers attached")
        loop = asyncio.get_running_loop()
        # journaled (fsync) before the answer: off the event loop
        await loop.run_in_executor(None, target, event, function_request_id)
        return {"Result": {"FunctionRequestId": function_request_id, "InvokeResult": 0,
                           "Duration": 0, "BillDuration": 0, "MemUsage": 0, "RetMsg": "",
                           "ErrMsg": "", "Log": ""}}

    # --- the checks (pure) -------------------------------------------------------------

    def _check_invoke(self, params: Dict[str, Any], region: str):
        name = params.get("FunctionName")
        if not isinstance(name, str) or not name:
            raise ApiError("MissingParameter", "FunctionName is required")
        namespace = params.get("Namespace") or "default"
        if region != self.region or name != self.function_name:
            raise ApiError("ResourceNotFound.Function",
                           f"no function {name!r} in region {region or '(none)'}: this "
                           f"emulator runs {self.function_name!r} in {self.region}")
        if namespace != self.namespace:
            raise ApiError("ResourceNotFound.Namespace",
                           f"namespace {namespace!r} does not exist (the function is in "
                           f"{self.namespace!r})")
        qualifier = params.get("Qualifier") or "$LATEST"
        if qualifier not in QUALIFIERS:
            raise ApiError("ResourceNotFound.Version",
                           f"qualifier {qualifier!r}: the emulator has {', '.join(QUALIFIERS)}")
        kind = params.get("InvocationType") or "RequestResponse"
        if kind == "RequestResponse":
            raise ApiError("UnsupportedOperation",
                           "synchronous invocation (RequestResponse) is not emulated; "
                           "use InvocationType Event")
        if kind != "Event":
            raise ApiError("InvalidParameterValue.InvocationType",
                           f"InvocationType {kind!r}: expected Event or RequestResponse")
        context = params.get("ClientContext", "{}")
        if not isinstance(context, str):
            raise ApiError("InvalidParameterValue.ClientContext",
                           "ClientContext must be a JSON string")
        if len(context.encode("utf-8")) > MAX_ASYNC_EVENT_BYTES:
            raise ApiError("InvalidParameterValue.ClientContext",
                           f"ClientContext is {len(context.encode('utf-8'))} bytes; an "
                           f"asynchronous event is at most {MAX_ASYNC_EVENT_BYTES}")
        try:
            event = json.loads(context)
        except ValueError as exc:
            raise ApiError("InvalidParameterValue.ClientContext",
                           f"ClientContext is not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise ApiError("InvalidParameterValue.ClientContext",
                           "ClientContext must be a JSON object")
        return event, str(uuid.uuid4())


def api_response(payload: Dict[str, Any]):
    """HTTP 200 with ``{"Response": payload}``, typed exactly ``application/json``.

    No charset parameter: the official SDK reads ``Response.Error`` only when the
    Content-Type is exactly that (or text/plain), as API 3.0 sends it.
    """
    from aiohttp import web

    body = json.dumps({"Response": payload}, ensure_ascii=False).encode("utf-8")
    return web.Response(body=body, headers={"Content-Type": "application/json"})


def _json_object(body: bytes) -> Dict[str, Any]:
    try:
        params = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError("InvalidParameter", f"the request body is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "the request body must be a JSON object")
    return params


__all__ = ["API_VERSION", "MAX_ASYNC_EVENT_BYTES", "SERVICE", "ScfApi", "api_response"]
