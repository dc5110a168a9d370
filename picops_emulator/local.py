"""The whole local cloud in one call: COS + CI + SCF triggers, wired from serverless.yml.

:func:`prepare` reads serverless.yml and the routes config (both validated; a
:class:`~picops.errors.ConfigError` lists every problem) and builds the server
settings: the CI backend plugged in, and every bucket the triggers and routes
name created at start. :func:`start` runs it in a background thread and
returns a :class:`LocalCloud`; :func:`serve` runs it in the foreground (the
``picops emulator`` command). Either way, once the port is bound a
:class:`~picops_emulator.triggers.dispatcher.TriggerDispatcher` is attached, so
every committed upload that a trigger covers runs the function, isolated, with
``COS_ENDPOINT`` pointing back here: by default the package built for
serverless.yml's runtime on that runtime's CPython, else (``source=True``, or
no such CPython here) the source folder; see :mod:`.triggers.launch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from picops import constants
from picops.config import config_path as function_config_path
from picops.config import load_config
from picops.model import Config
from picops.errors import ConfigError, Problem
from picops.serverless import ServerlessSpec

from . import runner
from .ci.ratelimit import DEFAULT_QPS
from .ci.service import CiService
from .settings import EmulatorSettings
from .triggers.dispatcher import (DEFAULT_MAX_GENERATION, DEFAULT_RETRY_DELAYS,
                                  TriggerDispatcher)
from .triggers.launch import Launch, resolve_launch
from .triggers.loader import buckets_to_create, default_function_dir, load_serverless


@dataclass
class LocalOptions:
    serverless_path: Path = Path("serverless.yml")
    config_path: Optional[Path] = None     # default: $PICOPS_CONFIG, else the function's
    function_dir: Optional[Path] = None    # another source folder (implies ``source``)
    # Run the function from its source folder on this interpreter instead of the built
    # package on the runtime's CPython (fast iteration; proves nothing about the runtime).
    source: bool = False
    # The runtime's CPython for the package (default: found on PATH or in pyenv's folder).
    python: Optional[str] = None
    data_dir: Path = Path(".picops")
    port: int = 9000
    secret_id: str = ""
    secret_key: str = ""
    auth: bool = True
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS
    max_generation: int = DEFAULT_MAX_GENERATION
    concurrency: int = 2
    fsync: bool = True
    # CI persistent-processing requests per second per account (CI's documented limit
    # is 100); over it the CI backend answers 503 SlowDown. 0: no limit.
    ci_qps: float = DEFAULT_QPS


@dataclass
class Prepared:
    options: LocalOptions
    spec: ServerlessSpec
    config: Config
    config_path: Path
    function_dir: Path
    settings: EmulatorSettings
    ci: CiService = field(repr=False, default=None)
    launch: Optional[Launch] = None
    # PICOPS_CONFIG for the function; None: serverless.yml's own variable applies
    config_env: Optional[str] = None


def resolve_config_path(options: LocalOptions, function_dir: Path) -> Path:
    if options.config_path is not None:
        return Path(options.config_path)
    # as the function resolves it: a relative PICOPS_CONFIG is in the function's folder
    return Path(function_config_path(os.environ, str(function_dir)))


def prepare(options: LocalOptions) -> Prepared:
    """Validate everything the local cloud reads; raise ConfigError with every problem."""
    spec = load_serverless(options.serverless_path)
    source_dir = Path(options.function_dir or default_function_dir(options.serverless_path))
    config_path = resolve_config_path(options, source_dir)
    config = load_config(str(config_path))
    try:
        # Another source folder than the one the package is built from can only run
        # from source.
        launch = resolve_launch(spec.runtime, source_dir,
                                source=options.source or options.function_dir is not None,
                                python=options.python)
    except ValueError as exc:
        raise ConfigError([Problem("python", str(exc))]) from exc
    # The built package carries the function's own picops.yaml, found through
    # serverless.yml's variables as on SCF; another config is named explicitly.
    explicit = options.config_path is not None or os.environ.get(constants.ENV_CONFIG)
    config_env = (str(config_path.resolve()) if explicit or launch.mode != "package"
                  else None)
    if options.auth and not (options.secret_id and options.secret_key):
        raise ConfigError([Problem("credentials", "signature checking is on but no key pair is "
                                   "set: export TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY, "
                                   "pass --secret-id/--secret-key, or use --no-auth")])
    if options.ci_qps < 0:
        raise ConfigError([Problem("ci_qps", f"{options.ci_qps!r} is not a request rate: "
                                   "0 (no limit) or a positive number of requests per "
                                   "second")])
    ci = CiService(qps=options.ci_qps)
    settings = EmulatorSettings(
        port=options.port, data_dir=Path(options.data_dir), secret_id=options.secret_id,
        secret_key=options.secret_key, auth=options.auth,
        buckets_to_create=tuple(sorted(buckets_to_create(spec, config))),
        region=spec.region or "ap-guangzhou", ci_backend=ci, fsync=options.fsync)
    return Prepared(options=options, spec=spec, config=config, config_path=config_path,
                    function_dir=launch.function_dir, settings=settings, ci=ci, launch=launch,
                    config_env=config_env)


def attach_triggers(prepared: Prepared, handle: runner.RunningEmulator) -> TriggerDispatcher:
    """Start delivering the emulator's committed changes to the function."""
    o = prepared.options
    dispatcher = TriggerDispatcher(
        prepared.spec, prepared.function_dir, handle.endpoint,
        credentials=(o.secret_id or "local", o.secret_key or "local", ""),
        data_dir=Path(o.data_dir), retry_delays=o.retry_delays,
        max_generation=o.max_generation, concurrency=o.concurrency,
        extra_env=({constants.ENV_CONFIG: prepared.config_env} if prepared.config_env else {}),
        python=prepared.launch.python, site=prepared.launch.site, fsync=o.fsync)
    handle.add_listener(dispatcher.on_change, inline=True)  # journaled before the 200
    return dispatcher


class LocalCloud:
    """A running local cloud: the emulator, its trigger dispatcher, and a client maker."""

    def __init__(self, prepared: Prepared, emulator: runner.RunningEmulator,
                 dispatcher: TriggerDispatcher):
        self.prepared = prepared
        self.emulator = emulator
        self.dispatcher = dispatcher

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    def client(self, region: Optional[str] = None):
        """A real cos-python-sdk-v5 client for this emulator (bucket in the Host header)."""
        from qcloud_cos import CosConfig, CosS3Client

        o = self.prepared.options
        conf = CosConfig(Region=region or self.prepared.settings.region,
                         SecretId=o.secret_id or "local", SecretKey=o.secret_key or "local",
                         Scheme="http", IP="127.0.0.1", Port=self.emulator.port)
        return CosS3Client(conf, retry=0)

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def stop(self) -> None:
        try:
            self.dispatcher.close()
        finally:
            self.emulator.stop()
            self.prepared.ci.close()

    def __enter__(self) -> "LocalCloud":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(options: LocalOptions) -> LocalCloud:
    """Start the local cloud in a background thread (ephemeral port with ``port=0``)."""
    prepared = prepare(options)
    handle = runner.start_in_thread(prepared.settings)
    try:
        dispatcher = attach_triggers(prepared, handle)
    except BaseException:
        handle.stop()
        raise
    return LocalCloud(prepared, handle, dispatcher)


def serve(options: LocalOptions) -> None:
    """Run in the foreground until Ctrl-C; prints one ready line."""
    prepared = prepare(options)
    box = {}

    def ready(handle: runner.RunningEmulator) -> None:
        box["dispatcher"] = attach_triggers(prepared, handle)

    try:
        runner.serve(prepared.settings, on_ready=ready)
    finally:
        if "dispatcher" in box:
            box["dispatcher"].close()
        prepared.ci.close()
