"""What the create and delete paths use besides their arguments: the config, one SDK
client per region, the clocks, and the time left for a COS call.

Built once per :class:`picops.handler.Processor`; tests inject the client factory
and the clocks, so retries and deadlines run without waiting or a network.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Dict, Mapping, Optional

from . import ci_client
from .constants import CALL_TIMEOUT_S, MIN_IO_S
from .errors import TransientCloudError
from .model import Config

ClientFactory = Callable[[Mapping[str, str], str], Any]


class Services:
    """The config, SDK clients (built on first use, one per region) and clocks.

    ``clock`` is monotonic seconds (deadlines are ``clock()`` times), ``wall``
    epoch seconds (manifest timestamps), ``sleep`` and ``jitter`` drive the CI
    call backoff.
    """

    def __init__(self, config: Config, env: Mapping[str, str], *,
                 client_factory: Optional[ClientFactory] = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random,
                 wall: Callable[[], float] = time.time):
        self.config = config
        self.env = dict(env)
        self.clock, self.sleep, self.jitter, self.wall = clock, sleep, jitter, wall
        self._client_factory = client_factory or ci_client.make_cos_client
        self._clients: Dict[str, Any] = {}

    def client(self, region: str) -> Any:
        """The SDK client for ``region`` (built once)."""
        client = self._clients.get(region)
        if client is None:
            client = self._clients[region] = self._client_factory(self.env, region)
        return client

    def io_timeout(self, deadline: float) -> float:
        """Seconds one manifest or delete call may take.

        Raises:
            TransientCloudError: ``DeadlineExceeded``, the invocation has no time left.
        """
        remaining = deadline - self.clock()
        if remaining < MIN_IO_S:
            raise TransientCloudError(f"no time left for a COS call "
                                      f"({max(remaining, 0.0):.1f} s before the deadline)",
                                      code="DeadlineExceeded")
        return min(CALL_TIMEOUT_S, remaining)
