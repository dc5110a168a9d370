"""What a COS handler receives: one normalised request (:class:`Call`) and the server state.

The server builds a :class:`Call` after auth and routing; the COS operations read it. It
lives here, in the COS layer, so that the layers point one way (server -> cos).

Contract: by the time a handler gets a :class:`Call`, the signature is verified, the route
is resolved, the bucket (for bucket/object operations other than create) exists and the key
(for object operations) is valid. Handlers read ``call.bucket``/``call.key`` (never the raw
URL) and run blocking store work through :meth:`Call.blocking` (a small thread pool), so the
event loop only ever does short, non-blocking steps.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from aiohttp import web

from ..ci.seam import CiContext
from ..settings import EmulatorSettings
from ..storage import ChangeOrigin, ObjectMeta, Store
from .target import Target

T = TypeVar("T")


@dataclass
class ServerState:
    settings: EmulatorSettings
    store: Store
    executor: ThreadPoolExecutor


@dataclass(frozen=True)
class Route:
    """What the server's route table chose: the operation's name and its subresource."""

    operation: str
    subresource: Optional[str]


@dataclass
class Call:
    request: web.Request
    target: Target
    query: Dict[str, str]
    pairs: List[Tuple[str, str]]
    route: Route
    request_id: str
    state: ServerState

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def settings(self) -> EmulatorSettings:
        return self.state.settings

    @property
    def headers(self):
        return self.request.headers

    @property
    def bucket(self) -> str:
        assert self.target.bucket is not None, "bucket-level operation without a bucket"
        return self.target.bucket

    @property
    def key(self) -> str:
        assert self.target.key is not None, "object-level operation without a key"
        return self.target.key

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def appid(self) -> str:
        return self.bucket.rsplit("-", 1)[-1]

    def origin(self, event_name: str, generation: int = 0) -> ChangeOrigin:
        return ChangeOrigin(event_name=event_name, region=self.region,
                            request_id=self.request_id,
                            source_ip=self.request.remote or "127.0.0.1",
                            generation=generation)

    def location(self, key: Optional[str] = None) -> str:
        return f"{self.bucket}.cos.{self.region}.myqcloud.com/{self.key if key is None else key}"

    def ci_context(self, operation: str, stored: Optional[ObjectMeta] = None,
                   body: bytes = b"") -> CiContext:
        """This request as the CI backend sees it (contract: :mod:`picops_emulator.ci.seam`)."""
        return CiContext(operation=operation, bucket=self.bucket, key=self.target.key,
                         region=self.region, method=self.request.method,
                         query=dict(self.query), headers=self.headers,
                         request_id=self.request_id, store=self.store, request=self.request,
                         stored=stored, service=self.target.service, body=body)

    async def blocking(self, fn: Callable[..., T], *args: Any,
                       undo: Optional[Callable[[T], Any]] = None, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the server's thread pool.

        A thread cannot be stopped: when the awaiting handler is cancelled (its client
        went away, or the server is shutting down), the cancellation goes on only once
        ``fn`` has returned, so that a file ``fn`` works on is never closed or removed
        under it by the handler's cleanup. ``fn``'s result is then lost to the handler,
        so what it made must be undone here: ``undo(result)`` (also on the pool) runs
        when ``fn`` succeeded after all, e.g. removing the temp file a write began.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.state.executor,
                                      functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait({future})
            if undo is not None and not future.cancelled() and future.exception() is None:
                cleanup = loop.run_in_executor(self.state.executor, undo, future.result())
                await asyncio.wait({cleanup})  # a second cancel must not skip it either
            raise

__all__ = ["Call", "Route", "ServerState"]
