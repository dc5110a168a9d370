"""Backfill fanned out over SCF: one asynchronous invocation of the deployed function per page.

For buckets too large for one machine, the CLI only lists and routes; the function
does the work, many pages at once, with its own credentials and retries.

Contract:

* :func:`page_events` turns listed objects into page events, the shape the handler's
  ``main_handler`` accepts::

      {"picops_backfill": {"version": 1, "bucket": "b-1250000000",
                           "region": "ap-guangzhou",
                           "keys": [{"key": "...", "etag": "...", "size": 123}, ...]}}

  Only objects the function would process go in (:func:`.scope.skip_reason`);
  the function itself skips keys whose manifest is current. A page holds at most
  ``page_size`` keys and its JSON at most :data:`MAX_EVENT_BYTES` bytes (SCF refuses an
  asynchronous event over 128 KB; reference cos-ci-scf.md §2.6).
* :func:`scf_invoker` is the real transport: Tencent Cloud SDK ``scf`` client,
  ``Invoke`` with ``InvocationType="Event"`` and the page as ``ClientContext``,
  TC3-HMAC-SHA256 signed by the SDK. ``endpoint`` (``--scf-endpoint``, or
  ``$PICOPS_SCF_ENDPOINT``) sends the same request elsewhere, e.g. to the local
  emulator, which runs the pages on its function workers. Its ``client`` argument is
  injectable (unit tests pass a stub of ``ScfClient``); transient API errors are
  retried with backoff.
* :class:`FanOut` sends the pages, pacing them so that the CI calls they carry
  (estimated from the plan of each key) stay under ``rate`` per second on average:
  after a page of ``n`` calls the next one waits ``n / rate`` seconds. SCF runs the
  invocations in parallel, so this bounds the average, not every instant: also cap the
  function's concurrency (reserved concurrency) in the console.
* A failed ``Invoke`` (after its retries) or listing call stops the run; the result
  holds the error, and the pages sent so far are in the checkpoint.
* Checkpoint: the last key of the last page sent (invocations are asynchronous: "done"
  means handed to SCF), in its own checkpoint (config fingerprint prefixed
  ``fan-out:``), so an interrupted fan-out resumes with the next page.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from picops import events, routing
from picops.errors import CloudError, ConfigError, Problem, TransientCloudError

from .checkpoint import CheckpointStore, DoneTracker
from .listing import MAX_KEYS, ListedObject, list_pages
from .scope import skip_reason
from .summary import Summary

#: SCF's asynchronous event limit is 128 KB; keep a margin for the envelope.
MAX_EVENT_BYTES = 120 * 1024
#: Keys per page by default: the function processes a page one object at a time within
#: its timeout (60 s in the shipped serverless.yml), so a page must fit in it.
DEFAULT_PAGE_SIZE = 20
#: Tencent Cloud API 3.0 error codes worth another try (the rest are permanent).
TRANSIENT_API_CODES = frozenset({"RequestLimitExceeded", "InternalError", "ClientNetworkError",
                                 "ServerNetworkError", "FailedOperation.RequestTimeout"})
INVOKE_ATTEMPTS = 5
#: Where ``Invoke`` goes instead of scf.tencentcloudapi.com (``http://127.0.0.1:9000``).
ENV_SCF_ENDPOINT = "PICOPS_SCF_ENDPOINT"
INVOKE_BACKOFF_S = 0.5

Invoker = Callable[[Dict[str, Any]], str]


def page_event(bucket: str, region: str, objects: Iterable[ListedObject]) -> Dict[str, Any]:
    """The page event (wire format: :mod:`picops.events`) for listed objects."""
    return events.page_event(bucket, region, ((o.key, o.etag, o.size) for o in objects))


def event_bytes(event: Dict[str, Any]) -> int:
    return len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def page_events(objects: Iterable[ListedObject], bucket: str, region: str,
                page_size: int = DEFAULT_PAGE_SIZE,
                max_bytes: int = MAX_EVENT_BYTES) -> Iterator[Tuple[Dict[str, Any],
                                                                    List[ListedObject]]]:
    """``(event, objects)`` pages of at most ``page_size`` keys and ``max_bytes`` of JSON.

    Raises:
        ValueError: one key alone does not fit in ``max_bytes``.
    """
    page: List[ListedObject] = []
    size = event_bytes(page_event(bucket, region, []))
    empty = event_bytes(page_event("", "", []))
    for obj in objects:
        # each key adds its entry (as events.page_event writes it) plus a comma
        extra = event_bytes(page_event("", "", [obj])) - empty + 1
        if page and (len(page) >= page_size or size + extra > max_bytes):
            yield page_event(bucket, region, page), page
            page, size = [], event_bytes(page_event(bucket, region, []))
        if size + extra > max_bytes:
            raise ValueError(f"key {obj.key[:80]!r}... alone makes a page event over "
                             f"{max_bytes} bytes")
        page.append(obj)
        size += extra
    if page:
        yield page_event(bucket, region, page), page


def scf_credentials(env: Mapping[str, str]) -> Tuple[str, str, Optional[str]]:
    """``(secret_id, secret_key, token)`` from ``TENCENTCLOUD_SECRETID``/``SECRETKEY``/
    ``SESSIONTOKEN`` (SCF's and picops's names) or the Tencent Cloud SDK's own
    ``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY``.

    Raises:
        ConfigError: no key pair is set.
    """
    sid = env.get("TENCENTCLOUD_SECRETID") or env.get("TENCENTCLOUD_SECRET_ID") or ""
    skey = env.get("TENCENTCLOUD_SECRETKEY") or env.get("TENCENTCLOUD_SECRET_KEY") or ""
    token = env.get("TENCENTCLOUD_SESSIONTOKEN") or None
    if not (sid and skey):
        raise ConfigError([Problem("env TENCENTCLOUD_SECRETID/TENCENTCLOUD_SECRETKEY",
                                   "missing: --fan-out invokes the function through the "
                                   "Tencent Cloud API and needs a key pair allowed to call "
                                   "scf:Invoke")], "environment")
    return sid, skey, token


def scf_invoker(function_name: str, region: str, *, namespace: str = "default",
                qualifier: str = "$LATEST", env: Optional[Mapping[str, str]] = None,
                client: Any = None, endpoint: Optional[str] = None,
                sleep: Callable[[float], None] = time.sleep) -> Invoker:
    """An :data:`Invoker` calling SCF ``Invoke`` (asynchronous) for ``function_name``.

    ``client`` defaults to a ``tencentcloud.scf.v20180416.scf_client.ScfClient`` for
    ``region`` with the credentials of :func:`scf_credentials`, talking to
    ``endpoint`` (a URL such as ``http://127.0.0.1:9000``) when one is given.

    Raises:
        ConfigError: no key pair, or ``endpoint`` is not an http(s) URL.
    """
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException)
    from tencentcloud.scf.v20180416 import models

    if client is None:
        import os

        from tencentcloud.common import credential
        from tencentcloud.scf.v20180416 import scf_client

        sid, skey, token = scf_credentials(env if env is not None else os.environ)
        client = scf_client.ScfClient(credential.Credential(sid, skey, token), region,
                                      _client_profile(endpoint))

    def invoke(event: Dict[str, Any]) -> str:
        request = models.InvokeRequest()
        request.FunctionName = function_name
        request.InvocationType = "Event"
        request.Namespace = namespace
        request.Qualifier = qualifier
        request.ClientContext = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        for attempt in range(1, INVOKE_ATTEMPTS + 1):
            try:
                response = client.Invoke(request)
            except TencentCloudSDKException as e:
                code = str(e.get_code() or "TencentCloudSDKException")
                transient = code in TRANSIENT_API_CODES
                if transient and attempt < INVOKE_ATTEMPTS:
                    sleep(random.random() * INVOKE_BACKOFF_S * 2 ** (attempt - 1))
                    continue
                cls = TransientCloudError if transient else CloudError
                raise cls(f"SCF Invoke of {function_name} failed: {e.get_message()}",
                          code=code, request_id=str(e.get_request_id() or "")) from None
            result = getattr(response, "Result", None)
            return str(getattr(result, "FunctionRequestId", None)
                       or getattr(response, "RequestId", "") or "")
        raise AssertionError("unreachable")

    return invoke


def _client_profile(endpoint: Optional[str]) -> Any:
    if not endpoint:
        return None
    from urllib.parse import urlsplit

    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc or url.path not in ("", "/"):
        raise ConfigError([Problem("--scf-endpoint", f"{endpoint!r} is not a URL such as "
                                   "http://127.0.0.1:9000")], "command line")
    return ClientProfile(httpProfile=HttpProfile(protocol=url.scheme, endpoint=url.netloc))


@dataclass
class FanOutResult:
    pages: int = 0
    keys: int = 0
    ci_calls: int = 0
    skipped: Summary = field(default_factory=Summary)   # only its skipped/failed are used
    request_ids: List[str] = field(default_factory=list)
    completed: bool = False
    interrupted: bool = False
    error: Optional[CloudError] = None   # the listing or an Invoke failed: the run stopped
    resumed_after: str = ""

    def to_json(self, function: str) -> Dict[str, Any]:
        return {"fan_out": function, "pages": self.pages, "keys": self.keys,
                "ci_calls": self.ci_calls,
                "skipped": dict(sorted(self.skipped.skipped.items())),
                "failed": dict(sorted(self.skipped.failed.items()))}


class FanOut:
    """List, route, and send one page event per page through ``invoke``."""

    def __init__(self, config: Any, client: Any, invoke: Invoker, *, bucket: str, region: str,
                 prefix: str = "", page_size: int = DEFAULT_PAGE_SIZE, rate: float = 100.0,
                 checkpoint: Optional[CheckpointStore] = None,
                 on_page: Optional[Callable[[FanOutResult], None]] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not 1 <= page_size <= MAX_KEYS:
            raise ValueError(f"page size must be 1..{MAX_KEYS}, got {page_size}")
        self.config, self.client, self.invoke = config, client, invoke
        self.bucket, self.region, self.prefix = bucket, region, prefix
        self.page_size, self.rate = page_size, rate
        self.checkpoint = checkpoint
        self._on_page = on_page
        self._clock, self._sleep = clock, sleep

    def run(self) -> FanOutResult:
        result = FanOutResult()
        tracker = DoneTracker()
        if self.checkpoint is not None:
            cp, _ = self.checkpoint.load()
            if cp is not None:
                tracker = DoneTracker(cp.done_through, cp.objects_done)
                result.resumed_after = cp.done_through
        next_at = self._clock()
        try:
            for event, objects in page_events(self._routed(tracker.done_through, result),
                                              self.bucket, self.region, self.page_size):
                wait = next_at - self._clock()
                if wait > 0:
                    self._sleep(wait)
                calls = sum(len(routing.plan(self.config, self.bucket, o.key).calls)
                            for o in objects)
                try:
                    result.request_ids.append(self.invoke(event))
                except CloudError as e:
                    # a page that cannot be sent stops the run: later pages would fail alike
                    result.skipped.add_failed(objects[0].key, e.code, e.message)
                    result.error = e
                    return result
                result.pages += 1
                result.keys += len(objects)
                result.ci_calls += calls
                next_at = self._clock() + calls / self.rate
                for o in objects:
                    tracker.finish(tracker.add(o.key))
                if self.checkpoint is not None:
                    self.checkpoint.save(tracker)
                if self._on_page is not None:
                    self._on_page(result)
            result.completed = True
        except CloudError as e:  # the listing failed
            result.error = e
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            if self.checkpoint is not None:
                if result.completed:
                    self.checkpoint.remove()
                else:
                    self.checkpoint.save(tracker, force=True)
        return result

    def _routed(self, start_after: str, result: FanOutResult) -> Iterator[ListedObject]:
        manifests = self.config.manifests.prefix if self.config.manifests.enabled else None
        for page in list_pages(self.client, self.bucket, self.prefix, start_after,
                               exclude=manifests):
            for obj in page.objects:
                reason = skip_reason(self.config, self.bucket, obj.key, obj.size)
                if reason is None:
                    yield obj
                else:
                    result.skipped.add_skipped(reason)
