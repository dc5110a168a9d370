"""The console's HTTP side: ``/_picops/`` on the emulator's own port.

:class:`Console` is plugged in front of the COS edge as an aiohttp middleware
(:attr:`Console.middleware`). A request is the console's when its path is under
``/_picops`` AND its Host is a loopback name; every other request goes on to COS
untouched (a bucket's ``_picops/manifests/...`` keys arrive under the bucket's own
Host, and a DNS-rebinding page under its own name). Then the token is required, on
every request (see :mod:`.access`).

Routes (all GET but the replay)::

    /_picops/                      the page (index.html with the token filled in)
    /_picops/static/<file>         its script, style sheet and CJK web font
    /_picops/api/state             revision counter, buckets, counts (the page polls it)
    /_picops/api/folder            ?bucket=&prefix=&marker=   sub-folders and objects
    /_picops/api/source            ?bucket=&key=   the original beside its derivatives
    /_picops/api/invocations       newest first (summaries)
    /_picops/api/invocation        ?id=   one invocation: event, attempts, log output
    /_picops/api/dead-letters      newest first
    POST /_picops/api/dead-letters/replay   {"index": n, "request_id": "..."}
    /_picops/object                ?bucket=&key=   an object's bytes (to open or <img>)

The trigger dispatcher and the routes config arrive after the port is bound (and
change on live reload): :meth:`Console.attach` sets them.
"""

from __future__ import annotations

import asyncio
import functools
import html
import itertools
import json
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from ..cos.common import CHUNK
from ..notifications import ObjectChanged
from ..errors import EmulatorError, status_of
from ..imaging.fonts import font_file
from ..imaging.limits import DEFAULT_LIMITS, Limits
from ..storage import Store
from ..triggers.deadletter import DeadLetterView
from . import access, views

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {"console.js": "text/javascript", "console.css": "text/css"}
#: The CJK face the page falls back to: the Noto Sans SC file watermark/2 renders with, so
#: CJK keys (this product's common case) read as text, not boxes, on a machine without a
#: CJK system font. The style sheet asks for it only for CJK code points (unicode-range).
FONT_FILE_NAME = "cjk.otf"
#: Invocations sent in one list (the newest).
MAX_LISTED_INVOCATIONS = 300
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",       # the token is in the URL: never pass it on
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
}
# stored objects are user data: never a page that runs in the console's origin
_OBJECT_HEADERS = {
    "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                               "sandbox",
}


class ConsoleRequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Console:
    """The web console of one running emulator."""

    def __init__(self, store: Store, data_dir, token: Optional[str] = None,
                 limits: Limits = DEFAULT_LIMITS):
        self.store = store
        self.data_dir = Path(data_dir)
        self.token = token or access.new_token()
        self.facts = views.PixelFacts(store, limits=limits)  # the CI backend's limits
        self.dead_letters = DeadLetterView(self.data_dir)
        self._dispatcher = None
        self._config_source: Callable[[], Any] = lambda: None
        self._revision = itertools.count(1)
        self.revision = 0
        self._replays: Dict[int, List[str]] = {}
        self._lock = threading.Lock()
        self._routes = {
            ("GET", ""): self._page, ("GET", "/"): self._page,
            ("GET", "/api/state"): self._state, ("GET", "/api/folder"): self._folder,
            ("GET", "/api/source"): self._source,
            ("GET", "/api/invocations"): self._invocations,
            ("GET", "/api/invocation"): self._invocation,
            ("GET", "/api/dead-letters"): self._dead_letters,
            ("POST", "/api/dead-letters/replay"): self._replay,
            ("GET", "/object"): self._object,
        }

    # --- wiring -------------------------------------------------------------------------

    def url(self, endpoint: str) -> str:
        return f"{endpoint}{access.PREFIX}/?{access.TOKEN_PARAM}={self.token}"

    def attach(self, dispatcher, config_source: Callable[[], Any]) -> None:
        """Read invocations from ``dispatcher``; ``config_source()`` is the routes config."""
        self._dispatcher = dispatcher
        self._config_source = config_source
        dispatcher.add_observer(self.observe)
        self.bump()

    def bump(self) -> None:
        """Something the page shows changed: the next poll refreshes."""
        self.revision = next(self._revision)

    def on_change(self, change: ObjectChanged) -> None:  # a store listener
        self.bump()

    def observe(self, stage: str, record) -> None:  # a dispatcher observer
        self.bump()

    # --- the middleware -----------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        if not (access.is_console_path(request.path)
                and access.is_loopback_host(request.headers.get("Host"))):
            return await handler(request)
        try:
            return await self._handle(request)
        except ConsoleRequestError as exc:
            return _json({"error": exc.message}, exc.status)
        except EmulatorError as exc:
            return _json({"error": exc.message, "code": exc.code}, status_of(exc.code))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sub = request.path[len(access.PREFIX):]
        if request.method == "GET" and sub.startswith("/static/"):
            self._check_token(request, header_only=False)
            return self._static(sub[len("/static/"):])
        route = self._routes.get((request.method, sub))
        if route is None:
            if any(path == sub for _, path in self._routes):
                raise ConsoleRequestError(405, f"{request.method} is not allowed here")
            raise ConsoleRequestError(404, f"no console page at {request.path}")
        post = request.method == "POST"
        if post and not access.is_loopback_origin(request.headers.get("Origin")):
            raise ConsoleRequestError(403, "this request comes from a page that is not the "
                                           "console (its Origin is not the loopback)")
        if sub in ("", "/") and not self._token_ok(request, header_only=False):
            return _no_token_page()
        self._check_token(request, header_only=post)
        return await route(request)

    def _token_ok(self, request: web.Request, header_only: bool) -> bool:
        given = request.headers.get(access.TOKEN_HEADER)
        if given is None and not header_only:
            given = request.query.get(access.TOKEN_PARAM)
        return access.token_matches(self.token, given)

    def _check_token(self, request: web.Request, header_only: bool) -> None:
        if not self._token_ok(request, header_only):
            where = (f"the {access.TOKEN_HEADER} header" if header_only
                     else f"?{access.TOKEN_PARAM}= or the {access.TOKEN_HEADER} header")
            raise ConsoleRequestError(403, f"the console's token is missing or wrong ({where});"
                                           " open the console URL the emulator printed")

    # --- pages and files ----------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        text = _static_text("index.html").replace("{{TOKEN}}",
                                                   html.escape(self.token, quote=True))
        return web.Response(text=text, content_type="text/html", charset="utf-8",
                            headers=_PAGE_HEADERS)

    def _static(self, name: str) -> web.StreamResponse:
        if name == FONT_FILE_NAME:
            # a public font, but served like every console file: with the token
            headers = dict(_PAGE_HEADERS, **{"Cache-Control": "private, max-age=86400",
                                             "Content-Type": "font/otf"})
            return web.FileResponse(font_file(), headers=headers)
        kind = STATIC_FILES.get(name)
        if kind is None:
            raise ConsoleRequestError(404, f"no console file {name!r}")
        # the style sheet names the font with the token, as the page names the style sheet
        text = _static_text(name).replace("{{TOKEN}}", self.token)
        return web.Response(text=text, content_type=kind, charset="utf-8",
                            headers=_PAGE_HEADERS)

    async def _object(self, request: web.Request) -> web.StreamResponse:
        """The object's bytes, streamed a chunk at a time (never whole in memory)."""
        bucket, key = _param(request, "bucket"), _param(request, "key")
        loop = asyncio.get_running_loop()
        meta, body = await loop.run_in_executor(None, self.store.open_object, bucket, key)
        try:
            headers = dict(_OBJECT_HEADERS)
            headers["ETag"] = meta.quoted_etag
            kind = meta.content_type if meta.content_type.startswith("image/") else None
            if kind is None or kind == "image/svg+xml":
                kind = "application/octet-stream"
                headers["Content-Disposition"] = "attachment"
            headers["Content-Type"] = kind
            response = web.StreamResponse(headers=headers)
            response.content_length = meta.size
            await response.prepare(request)
            try:
                while True:
                    chunk = await loop.run_in_executor(None, body.read, CHUNK)
                    if not chunk:
                        break
                    await response.write(chunk)
                await response.write_eof()
            except ConnectionError:  # the page went away: nothing more to send
                pass
            return response
        finally:
            body.close()

    # --- the JSON API -------------------------------------------------------------------

    async def _state(self, request: web.Request) -> web.Response:
        dispatcher = self._dispatcher
        triggers = []
        if dispatcher is not None:
            triggers = [{"bucket": t.bucket, "events": t.events, "prefix": t.prefix,
                         "suffix": t.suffix, "enabled": t.enable} for t in dispatcher.triggers]
        return _json({
            "revision": self.revision,
            "function": getattr(dispatcher, "function_name", None),
            "buckets": views.buckets(self.store), "triggers": triggers,
            "invocations": len(dispatcher.invocations) if dispatcher is not None else 0,
            "dead_letters": await asyncio.get_running_loop().run_in_executor(
                None, self.dead_letters.count),
        })

    async def _folder(self, request: web.Request) -> web.Response:
        bucket = _param(request, "bucket")
        prefix = request.query.get("prefix", "")
        marker = request.query.get("marker", "")
        config = self._config_source()

        def is_source(meta) -> bool:
            return config is not None and views.looks_like_image(meta) and _routed(config, meta)

        return _json(views.folder(self.store, bucket, prefix, marker, is_source))

    async def _source(self, request: web.Request) -> web.Response:
        bucket, key = _param(request, "bucket"), _param(request, "key")
        config = self._config_source()
        view = await asyncio.get_running_loop().run_in_executor(
            None, views.source_view, self.store, self.facts, config, bucket, key)
        return _json(view)

    async def _invocations(self, request: web.Request) -> web.Response:
        records = self._records()
        newest = sorted(records, key=lambda r: r.created, reverse=True)
        return _json({"total": len(records), "invocations": [
            views.invocation_summary(r) for r in newest[:MAX_LISTED_INVOCATIONS]]})

    async def _invocation(self, request: web.Request) -> web.Response:
        wanted = _param(request, "id")
        for record in self._records():
            if record.request_id == wanted:
                return _json(views.invocation_detail(record))
        raise ConsoleRequestError(404, f"no invocation with request id {wanted!r} (the "
                                       "console keeps the newest ones of this run)")

    async def _dead_letters(self, request: web.Request) -> web.Response:
        entries = await asyncio.get_running_loop().run_in_executor(None,
                                                                   self.dead_letters.entries)
        with self._lock:
            replays = {k: list(v) for k, v in self._replays.items()}
        return _json({"dead_letters": views.dead_letter_entries(entries, replays)})

    async def _replay(self, request: web.Request) -> web.Response:
        try:
            doc = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ConsoleRequestError(400, "the request body is not JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("index"), int):
            raise ConsoleRequestError(400, 'expected {"index": <entry number>, '
                                           '"request_id": "..."}')
        entries = await asyncio.get_running_loop().run_in_executor(None,
                                                                   self.dead_letters.entries)
        index = doc["index"]
        if not 0 <= index < len(entries):
            raise ConsoleRequestError(404, f"there is no dead-letter entry {index}")
        entry = entries[index]
        if doc.get("request_id") not in (None, entry.get("RequestId")):
            raise ConsoleRequestError(409, f"dead-letter entry {index} is not request "
                                           f"{doc.get('request_id')!r}; reload the list")
        if self._dispatcher is None:
            raise ConsoleRequestError(503, "the trigger layer is not running yet")
        try:
            args = views.replay_arguments(entry)
        except ValueError as exc:
            raise ConsoleRequestError(422, f"entry {index} cannot be replayed: {exc}") from None
        try:
            record = self._dispatcher.redeliver(**args)
        except RuntimeError as exc:
            raise ConsoleRequestError(503, str(exc)) from None
        with self._lock:
            self._replays.setdefault(index, []).append(record.request_id)
        self.bump()
        return _json({"replayed": index, "request_id": record.request_id}, 202)

    def _records(self):
        return self._dispatcher.invocations if self._dispatcher is not None else []


@functools.lru_cache(maxsize=None)
def _static_text(name: str) -> str:
    """A console file as shipped (read once, not on every request on the event loop)."""
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _routed(config, meta) -> bool:
    from picops import routing

    return routing.skip_reason(config, meta.bucket, meta.key, meta.size) is None


def _param(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if not value:
        raise ConsoleRequestError(400, f"the {name!r} query parameter is required")
    return value


def _json(doc: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(doc, ensure_ascii=False, default=str), status=status,
                        content_type="application/json", charset="utf-8",
                        headers={"Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff"})


def _no_token_page() -> web.Response:
    body = ("<!doctype html><meta charset=utf-8><title>picops console</title>"
            "<p>This console needs its token. Open the console URL that <code>picops "
            "emulator</code> printed when it started (it ends with <code>?token=...</code>)."
            "</p>")
    return web.Response(text=body, status=403, content_type="text/html", charset="utf-8",
                        headers=_PAGE_HEADERS)


__all__ = ["Console", "STATIC_DIR"]
