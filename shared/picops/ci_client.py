"""The one place the function talks to COS/CI: build the SDK client, make a call.

* :func:`make_cos_client` builds a ``CosS3Client`` from the execution role's
  credentials (``TENCENTCLOUD_SECRETID`` / ``SECRETKEY`` / ``SESSIONTOKEN``).
  With ``COS_ENDPOINT`` (e.g. ``http://127.0.0.1:9000``) it connects there by
  ``Scheme``/``IP``/``Port``, which makes the SDK send and sign
  ``Host: <bucket>.cos.<region>.myqcloud.com``: the endpoint learns the bucket
  from the Host header (reference cos-ci-scf.md §4.8). The SDK's own retries are
  off (``retry=0``): its fixed 1 s, 2 s ... sleeps know nothing of the
  invocation's time limit.
* :func:`process` makes one ``ci_image_process`` call, retrying transient
  failures with exponential backoff and full jitter while the invocation has
  time left, and returns a :class:`CallResult` with the normalised results.
* :func:`capped_timeout` keeps every HTTP call in its block within a number of
  seconds (used by :func:`process` and :mod:`picops.manifest_store`).
* :func:`classify` maps SDK exceptions to :class:`~picops.errors.CloudError`
  (permanent: 4xx, retrying cannot help) or
  :class:`~picops.errors.TransientCloudError` (5xx, SlowDown, timeouts,
  connection errors, a 200 whose body is not XML).

Clock, sleep and the jitter source are parameters, so tests never wait.
"""

from __future__ import annotations

import logging
import random
import time
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional,
                    Tuple)
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

import requests
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosClientError, CosServiceError

from .constants import (BACKOFF_BASE_S, BACKOFF_CAP_S, CALL_TIMEOUT_S, ENV_COS_ENDPOINT,
                        ENV_SECRET_ID, ENV_SECRET_KEY, ENV_SESSION_TOKEN, MAX_ATTEMPTS,
                        MIN_ATTEMPT_S)
from .describe import clip
from .errors import CloudError, ConfigError, Problem, TransientCloudError
from .headers import header
from .redact import redact_text
from .upload_result import match_outputs, normalize_upload_result
from .routing import pic_operations_header, resolve_ci_fileid

#: Error codes that are worth retrying whatever their status.
TRANSIENT_CODES = frozenset({"SlowDown", "InternalError", "ServiceUnavailable",
                             "RequestTimeout", "RequestTimeTooSkewed"})
#: Statuses below 500 that are still worth retrying.
TRANSIENT_STATUSES = frozenset({408, 429})
#: What the SDK raises for a failed call: an error answer, a broken connection, a
#: 200 whose body is not XML. :func:`classify` maps each.
SDK_ERRORS = (CosServiceError, CosClientError, ParseError)
#: How much of a message the function did not write (a COS/CI error text, an SDK
#: exception) an error keeps: enough to read the cause, never a whole HTML error page.
MESSAGE_CHARS = 500


class CallResult(NamedTuple):
    """One successful ``ci_image_process`` call.

    ``outputs[i]`` is the normalised object CI reported for ``sent_keys[i]``
    (None when CI left it out; then the key is also in ``missing``).
    """

    request_id: str
    sent_keys: List[str]
    outputs: List[Optional[Dict[str, Any]]]
    missing: List[str]
    original: Optional[Dict[str, Any]]
    attempts: int


class BudgetSession(requests.Session):
    """A requests session whose timeouts never outlast the invocation.

    :func:`capped_timeout` sets ``cap`` (seconds) around each call; the SDK
    passes its own timeout, which is clamped to it.
    """

    cap: Optional[float] = None

    def request(self, method, url, **kwargs):
        if self.cap is not None:
            given = kwargs.get("timeout")
            if isinstance(given, (int, float)):
                kwargs["timeout"] = min(float(given), self.cap)
            else:
                kwargs["timeout"] = self.cap
        return super().request(method, url, **kwargs)


def env_problems(env: Mapping[str, str]) -> List[Problem]:
    """What in the environment keeps a client from being built (checked at cold start)."""
    problems = []
    for name in (ENV_SECRET_ID, ENV_SECRET_KEY):
        if not env.get(name):
            problems.append(Problem(f"env {name}", "missing: bind an execution role to the "
                                    "function (SCF then sets the TENCENTCLOUD_* credentials)"))
    endpoint = env.get(ENV_COS_ENDPOINT)
    if endpoint and not is_endpoint_url(endpoint):
        problems.append(Problem(f"env {ENV_COS_ENDPOINT}", f"{endpoint!r} is not an "
                                "endpoint such as http://127.0.0.1:9000"))
    return problems


def is_endpoint_url(url: str) -> bool:
    """True for what ``COS_ENDPOINT`` (and the CLI's ``--endpoint``) may hold: an http(s)
    URL with a host, an optional valid port, and no path, query or fragment."""
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok
            and parts.path in ("", "/") and not parts.query and not parts.fragment)


def make_cos_client(env: Mapping[str, str], region: str,
                    session: Optional[requests.Session] = None) -> CosS3Client:
    """A client for ``region`` from the environment (see the module docstring).

    Raises:
        ConfigError: credentials are missing or ``COS_ENDPOINT`` is malformed.
    """
    problems = env_problems(env)
    if problems:
        raise ConfigError(problems, "environment")
    options: Dict[str, Any] = {
        "Region": region,
        "SecretId": env[ENV_SECRET_ID],
        "SecretKey": env[ENV_SECRET_KEY],
        "Token": env.get(ENV_SESSION_TOKEN) or None,
        "Scheme": "https",
    }
    endpoint = env.get(ENV_COS_ENDPOINT)
    if endpoint:
        parts = urlsplit(endpoint)
        options.update(Scheme=parts.scheme, IP=parts.hostname, Port=parts.port)
    session = session if session is not None else BudgetSession()
    client = CosS3Client(CosConfig(**options), retry=0, session=session)
    # Our own attribute, so process() can cap timeouts without touching SDK internals.
    client.picops_session = session
    # Every failure is reported once, as a JSON outcome line, by the handler; the
    # SDK's own error logs would repeat it as plain text on stderr.
    logging.getLogger("qcloud_cos").setLevel(logging.CRITICAL)
    return client


def process(client: CosS3Client, bucket: str, key: str, payload: dict, deadline: float, *,
            header: Optional[str] = None,
            clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep,
            jitter: Callable[[], float] = random.random) -> CallResult:
    """Run one ``Pic-Operations`` payload on object ``key`` of ``bucket``.

    ``deadline`` is the ``clock()`` time by which the call must be over. A
    transient failure is retried after ``jitter() * min(cap, base * 2**n)``
    seconds, as long as another attempt (at least ``MIN_ATTEMPT_S``) still fits,
    and at most ``MAX_ATTEMPTS`` times in all. ``header``: ``payload`` as the
    ``Pic-Operations`` value, when the caller already has it (a plan's ``headers``).

    Raises:
        CloudError: a permanent failure (the first one; never retried).
        TransientCloudError: transient failures outlasted the attempts or the time
            left (``code`` ``DeadlineExceeded`` when no attempt could start).
        The error's ``attempts`` attribute says how many calls were made.
    """
    value = pic_operations_header(payload) if header is None else header

    def send(attempt: int) -> Any:
        return client.ci_image_process(Bucket=bucket, Key=key, PicOperations=value)

    (headers, data), attempts = retrying(client, send, f"a CI call on {key!r}", deadline,
                                         clock=clock, sleep=sleep, jitter=jitter)
    return call_result(key, payload, headers, data, attempts)


def retrying(client: Any, send: Callable[[int], Any], what: str, deadline: float, *,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep,
             jitter: Callable[[], float] = random.random) -> Tuple[Any, int]:
    """``(send(attempt), attempts)``: one SDK call, with :func:`process`'s retry rules.

    ``send`` makes the call (``attempt`` counts from 1) within the time left, capped
    at ``CALL_TIMEOUT_S`` per attempt; ``what`` names it in a ``DeadlineExceeded``.

    Raises:
        CloudError / TransientCloudError: as :func:`process`.
    """
    attempt = 0
    while True:
        remaining = deadline - clock()
        if remaining < MIN_ATTEMPT_S:
            err = TransientCloudError(f"no time left for {what} "
                                      f"({max(remaining, 0.0):.1f} s before the deadline)",
                                      code="DeadlineExceeded")
            err.attempts = attempt
            raise err
        attempt += 1
        try:
            with capped_timeout(client, min(CALL_TIMEOUT_S, remaining)):
                return send(attempt), attempt
        except SDK_ERRORS as e:
            err = classify(e)
            err.attempts = attempt
            if not err.retryable or attempt >= MAX_ATTEMPTS:
                raise err from None
            delay = jitter() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
            if clock() + delay + MIN_ATTEMPT_S > deadline:
                raise err from None
            sleep(delay)


def call_result(key: str, payload: dict, headers: Any, data: Any, attempts: int) -> CallResult:
    """The :class:`CallResult` of a successful call that ran ``payload`` on ``key``."""
    sent_keys = [resolve_ci_fileid(key, r["fileid"]) for r in payload.get("rules", ())]
    original, objects = normalize_upload_result(data)
    matched, missing = match_outputs(sent_keys, objects)
    return CallResult(request_id=header(headers, "x-cos-request-id") or "", sent_keys=sent_keys,
                      outputs=matched, missing=missing, original=original, attempts=attempts)


@contextmanager
def capped_timeout(client: Any, seconds: Optional[float]) -> Iterator[None]:
    """Within the block, no HTTP call of ``client`` waits longer than ``seconds``.

    Only a client from :func:`make_cos_client` (its :class:`BudgetSession`) can be
    capped; for any other client, or ``seconds`` None, this does nothing.
    """
    session = getattr(client, "picops_session", None)
    if seconds is None or not isinstance(session, BudgetSession):
        yield
        return
    session.cap = max(0.001, seconds)
    try:
        yield
    finally:
        session.cap = None


def _foreign(exc: Exception) -> str:
    """An SDK exception's text, clipped and with secret header values redacted."""
    return redact_text(clip(str(exc), MESSAGE_CHARS))


def classify(exc: Exception) -> CloudError:
    """The typed error for an exception raised by the SDK during a call."""
    if isinstance(exc, CosServiceError):
        status = exc.get_status_code()
        code = exc.get_error_code()
        if not code or code == "Unknown":
            code = f"HTTP{status}"
        message = exc.get_error_msg()
        if not message or message == "Unknown":
            message = clip(str(exc.get_origin_msg() or exc), MESSAGE_CHARS) or f"HTTP {status}"
        message = redact_text(message)  # a service may echo the signed headers, token too
        request_id = exc.get_request_id()
        request_id = "" if request_id == "Unknown" else str(request_id or "")
        transient = status >= 500 or status in TRANSIENT_STATUSES or code in TRANSIENT_CODES
        cls = TransientCloudError if transient else CloudError
        return cls(message, code=code, status=status, request_id=request_id)
    if isinstance(exc, CosClientError):
        # The SDK wraps requests' exceptions in CosClientError(str(e)) inside its
        # except block, so the original is the implicit context.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, requests.exceptions.Timeout):
            return TransientCloudError(f"timed out: {_foreign(exc)}", code="Timeout")
        if isinstance(cause, requests.exceptions.RequestException):
            return TransientCloudError(f"connection failed: {_foreign(exc)}",
                                       code="ConnectionError")
        return CloudError(_foreign(exc), code="ClientError")
    if isinstance(exc, ParseError):
        return TransientCloudError(f"CI answered 200 with a body that is not XML ({exc})",
                                   code="InvalidResponse", status=200)
    raise TypeError(f"not an SDK error: {exc!r}")

