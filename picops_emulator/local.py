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
no such CPython here) the source folder; see :mod:`.triggers.launch`. The web
console (:mod:`picops_emulator.console`) is served at ``/_picops/`` with this
run's token.

Live reload (``LocalOptions.watch``): :func:`reload` reads serverless.yml, the
routes config and the function's folder again after an edit (rebuilding the
package when the function runs from one); when all is valid the triggers are
rewired and the function's workers restarted (buckets the new files name are
created), otherwise the running state is kept and the problems are reported.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from picops import constants
from picops.config import config_path as function_config_path
from picops.config import load_config
from picops.model import Config
from picops.errors import ConfigError, Problem
from picops.serverless import ServerlessSpec

from . import LOCAL_SECRET_ID, LOCAL_SECRET_KEY, runner
from .ci.ratelimit import DEFAULT_QPS
from .ci.service import CiService
from .console import Console
from .imaging.limits import DEFAULT_LIMITS, Limits
from .faults import FaultCounter, FaultSettings, FaultyCi, FunctionFaults
from .settings import EmulatorSettings, changed_ceilings
from .triggers.dispatcher import (DEFAULT_MAX_GENERATION, DEFAULT_RETRY_DELAYS,
                                  TriggerDispatcher)
from .scfapi import ScfApi
from .triggers.invoker import check_function_dir
from .triggers.launch import Launch, resolve_launch
from .triggers.loader import buckets_to_create, default_function_dir, load_serverless


@dataclass
class LocalOptions:
    serverless_path: Path = Path("serverless.yml")
    config_path: Optional[Path] = None     # default: $PICOPS_CONFIG, else the function's
    function_dir: Optional[Path] = None    # default: functions/image_processor beside it
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
    # the image engine's limits (settings.parse_limits reads ``picops emulator --limit``)
    limits: Limits = DEFAULT_LIMITS
    # watch serverless.yml, the routes config and the function's code; apply edits
    watch: bool = False
    # Soak tests only: CI errors and function crashes/timeouts at random (all off).
    faults: FaultSettings = field(default_factory=FaultSettings)


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
    # the function's source folder (function_dir is the built package in package mode)
    source_dir: Optional[Path] = None


def resolve_config_path(options: LocalOptions, function_dir: Path) -> Path:
    if options.config_path is not None:
        return Path(options.config_path)
    # as the function resolves it: a relative PICOPS_CONFIG is in the function's folder
    return Path(function_config_path(os.environ, str(function_dir)))


@dataclass
class Sources:
    """What the function side is built from (serverless.yml, the config, the source
    folder) and how it is launched (the built package or the source, which interpreter)."""
    spec: ServerlessSpec
    config: Config
    config_path: Path
    source_dir: Path
    launch: Launch
    config_env: Optional[str]


def read_sources(options: LocalOptions) -> Sources:
    """Read and validate serverless.yml, the routes config and the function's folder;
    raise ConfigError with every problem of the three."""
    spec = load_serverless(options.serverless_path)
    source_dir = Path(options.function_dir or default_function_dir(options.serverless_path))
    config_path = resolve_config_path(options, source_dir)
    config_error: Optional[ConfigError] = None
    config = None
    try:
        config = load_config(str(config_path))
    except ConfigError as exc:
        config_error = exc
    except OSError as exc:
        config_error = ConfigError([Problem(str(config_path),
                                            f"cannot read the file: {exc.strerror}")])
    try:
        check_function_dir(str(source_dir.resolve()), spec.handler)
    except ConfigError as exc:
        if config_error is None:
            raise
        # both wrong: one error, each problem naming its file
        raise ConfigError(config_error.placed() + exc.placed()) from exc
    if config_error is not None:
        raise config_error
    try:
        # (another source folder than the one the package is built from runs from source)
        launch = resolve_launch(spec.runtime, source_dir, source=options.source,
                                python=options.python)
    except ValueError as exc:
        raise ConfigError([Problem("python", str(exc))]) from exc
    # The built package carries the function's own picops.yaml, found through
    # serverless.yml's variables as on SCF; another config is named explicitly.
    explicit = options.config_path is not None or os.environ.get(constants.ENV_CONFIG)
    config_env = (str(config_path.resolve()) if explicit or launch.mode != "package"
                  else None)
    return Sources(spec, config, config_path, source_dir, launch, config_env)


def prepare(options: LocalOptions) -> Prepared:
    """Validate everything the local cloud reads; raise ConfigError with every problem."""
    sources = read_sources(options)
    spec, config = sources.spec, sources.config
    if options.auth and not (options.secret_id and options.secret_key):
        raise ConfigError([Problem("credentials", "signature checking is on but no key pair is "
                                   "set: export TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY, "
                                   "pass --secret-id/--secret-key, or use --no-auth")])
    if options.ci_qps < 0:
        raise ConfigError([Problem("ci_qps", f"{options.ci_qps!r} is not a request rate: "
                                   "0 (no limit) or a positive number of requests per "
                                   "second")])
    fault_problems = options.faults.problems()
    if fault_problems:
        raise ConfigError(fault_problems)
    settings = EmulatorSettings(
        port=options.port, data_dir=Path(options.data_dir), secret_id=options.secret_id,
        secret_key=options.secret_key, auth=options.auth,
        buckets_to_create=tuple(sorted(buckets_to_create(spec, config))),
        region=spec.region or "ap-guangzhou", scf_api=ScfApi(), fsync=options.fsync,
        limits=options.limits)
    settings.validate()  # before a CI worker pool is made from its limits
    ci = CiService(limits=settings.limits, qps=options.ci_qps)
    settings.ci_backend = ci
    if options.faults.ci_errors or options.faults.ci_errors_after:
        settings.ci_backend = FaultyCi(ci, options.faults)
    return _prepared(options, sources, settings, ci)


def _prepared(options: LocalOptions, sources: Sources, settings: EmulatorSettings,
              ci: CiService) -> Prepared:
    """The one place a :class:`Prepared` is made from what :func:`read_sources` read (at
    start and on every live reload)."""
    return Prepared(options=options, spec=sources.spec, config=sources.config,
                    config_path=sources.config_path, function_dir=sources.launch.function_dir,
                    settings=settings, ci=ci, launch=sources.launch,
                    config_env=sources.config_env, source_dir=sources.source_dir)


def _function_env(prepared: Prepared) -> dict:
    return {constants.ENV_CONFIG: prepared.config_env} if prepared.config_env else {}


def attach_triggers(prepared: Prepared, handle: runner.RunningEmulator) -> TriggerDispatcher:
    """Start delivering the emulator's committed changes to the function."""
    o = prepared.options
    dispatcher = TriggerDispatcher(
        prepared.spec, prepared.function_dir, handle.endpoint,
        credentials=(o.secret_id or "local", o.secret_key or "local", ""),
        data_dir=Path(o.data_dir), retry_delays=o.retry_delays,
        max_generation=o.max_generation, concurrency=o.concurrency,
        extra_env=_function_env(prepared), python=prepared.launch.python,
        site=prepared.launch.site, fsync=o.fsync, faults=_function_faults(o.faults))
    handle.add_listener(dispatcher.on_change, inline=True)  # journaled before the 200
    # SCF's Invoke API (``picops backfill --fan-out --scf-endpoint``) runs on the same workers
    prepared.settings.scf_api.attach(dispatcher.invoke_async, function_name=prepared.spec.name,
                                     region=prepared.spec.region)
    return dispatcher


def reload(current: Prepared, handle: runner.RunningEmulator,
           dispatcher: TriggerDispatcher) -> Prepared:
    """Read and validate everything again and apply it; raise ConfigError (and change
    nothing) when anything is invalid. Returns the new :class:`Prepared`."""
    o = current.options
    sources = read_sources(o)  # rebuilds the package when the function runs from one
    new = _prepared(o, sources, current.settings, current.ci)
    for bucket in sorted(buckets_to_create(new.spec, new.config)):
        handle.store.create_bucket(bucket, current.settings.region, exist_ok=True)
    launch = sources.launch
    dispatcher.reconfigure(new.spec, launch.function_dir, _function_env(new),
                           python=launch.python, site=launch.site)
    return new


class _Reloader:
    """Applies edits seen by :class:`~picops_emulator.livereload.FileWatch`; one line each."""

    def __init__(self, cloud: "LocalCloud", say: Callable[[str], None]):
        self.cloud = cloud
        self.say = say
        self._lock = threading.Lock()
        self.watch = None

    def start(self) -> None:
        from .livereload import FileWatch, describe

        self._describe = describe
        p = self.cloud.prepared
        trees = [p.source_dir or p.function_dir]
        import picops

        trees.append(Path(picops.__file__).resolve().parent)
        self.watch = FileWatch([p.options.serverless_path, p.config_path], trees,
                               self.on_change).start()

    def on_change(self, paths: List[Path]) -> None:
        with self._lock:
            what = self._describe(paths, Path.cwd())
            try:
                new = reload(self.cloud.prepared, self.cloud.emulator, self.cloud.dispatcher)
            except ConfigError as exc:
                lines = [f"not reloaded: {what} changed but does not validate; the previous "
                         "configuration and function code keep running:"]
                lines += [f"  error: {problem}" for problem in exc.placed()]
                self.say("\n".join(lines))
                return
            self.cloud.prepared = new
            rules = sum(len(r.rules) for r in new.config.routes)
            self.say(f"reloaded after {what} changed: {len(new.spec.triggers)} trigger(s) "
                     f"wired, {len(new.config.routes)} route(s), {rules} rule(s); function "
                     "workers restarted for the next event")

    def stop(self) -> None:
        if self.watch is not None:
            self.watch.stop()


def _function_faults(settings: FaultSettings):
    if not (settings.function_crashes or settings.function_timeouts):
        return None
    # another seed than the CI's, so the two sequences are independent but repeatable
    seed = None if settings.seed is None else settings.seed + 1
    return FunctionFaults(settings, FaultCounter(seed))


class LocalCloud:
    """A running local cloud: the emulator, its trigger dispatcher, its console, and a
    client maker."""

    def __init__(self, prepared: Prepared, emulator: runner.RunningEmulator,
                 dispatcher: TriggerDispatcher, console: Console):
        self.prepared = prepared
        self.emulator = emulator
        self.dispatcher = dispatcher
        self.console = console
        self.reloader: Optional[_Reloader] = None

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    @property
    def console_url(self) -> str:
        return self.console.url(self.endpoint)

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

    def start_watching(self, say: Callable[[str], None]) -> None:
        """Live reload: apply edits of serverless.yml, the config and the function code."""
        self.reloader = _Reloader(self, say)
        self.reloader.start()

    def stop(self) -> None:
        try:
            if self.reloader is not None:
                self.reloader.stop()
            self.dispatcher.close()
        finally:
            self.emulator.stop()
            self.prepared.ci.close()

    def __enter__(self) -> "LocalCloud":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _consoled(prepared: Prepared, box: dict):
    """The ``front`` hook of the runner: make the console once the store is open."""
    def front(store):
        console = Console(store, prepared.options.data_dir, limits=prepared.settings.limits)
        store.notifier.add_listener(console.on_change)
        box["console"] = console
        return (console.middleware,)
    return front


def _wire(prepared: Prepared, handle: runner.RunningEmulator, console: Console,
          observers: Sequence[Callable]) -> LocalCloud:
    dispatcher = attach_triggers(prepared, handle)
    for observer in observers:
        dispatcher.add_observer(observer)
    cloud = LocalCloud(prepared, handle, dispatcher, console)
    console.attach(dispatcher, lambda: cloud.prepared.config)
    return cloud


def start(options: LocalOptions, observers: Sequence[Callable] = ()) -> LocalCloud:
    """Start the local cloud in a background thread (ephemeral port with ``port=0``).

    ``observers`` are registered with the dispatcher (see ``add_observer``).
    """
    prepared = prepare(options)
    box: dict = {}
    handle = runner.start_in_thread(prepared.settings, front=_consoled(prepared, box))
    try:
        cloud = _wire(prepared, handle, box["console"], observers)
    except BaseException:
        handle.stop()
        raise
    return cloud


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def ready_text(cloud: LocalCloud) -> str:
    """What the ready line goes on to say: console, buckets, triggers, credentials, SDK."""
    p = cloud.prepared
    o = p.options
    buckets = ", ".join(p.settings.buckets_to_create) or "(none)"
    lines = [f"  console:     {cloud.console_url}",
             f"  buckets:     {buckets}"]
    triggers = [t for t in p.spec.triggers]
    for i, t in enumerate(triggers):
        label = "  triggers:    " if i == 0 else "               "
        state = "" if t.enable else " (disabled)"
        lines.append(f"{label}{t.bucket} {t.events} prefix={t.prefix!r} "
                     f"suffix={t.suffix!r} -> {p.spec.name} ({p.spec.handler}){state}")
    if not triggers:
        lines.append("  triggers:    none in serverless.yml: uploads run nothing")
    if o.auth and (o.secret_id, o.secret_key) == (LOCAL_SECRET_ID, LOCAL_SECRET_KEY):
        lines.append(f"  credentials: SecretId {o.secret_id}, SecretKey {o.secret_key} (the "
                     "local pair): export them as TENCENTCLOUD_SECRETID/SECRETKEY for clients")
    elif o.auth:
        lines.append(f"  credentials: SecretId {o.secret_id}, SecretKey the value of "
                     f"${constants.ENV_SECRET_KEY} (or --secret-key) this emulator started "
                     "with; requests signed otherwise are refused")
    else:
        lines.append("  credentials: any (--no-auth: signatures are not checked)")
    region = p.settings.region
    lines.append(f'  SDK:         CosS3Client(CosConfig(Region="{region}", '
                 f'SecretId=os.environ["{constants.ENV_SECRET_ID}"], '
                 f'SecretKey=os.environ["{constants.ENV_SECRET_KEY}"], Scheme="http", '
                 f'IP="127.0.0.1", Port={cloud.emulator.port}))')
    if p.launch is not None:
        lines.append(f"  function:    {p.launch.shown_note}")
    changed = changed_ceilings(p.settings.limits)
    if changed:
        lines.append(f"  ceilings:    {', '.join(changed)}: the engine lets through work "
                     "these defaults refuse; CI documents none of them")
    lines.append(f"  picops CLI:  export {constants.ENV_COS_ENDPOINT}={cloud.endpoint}")
    if o.watch:
        lines.append(f"  watching:    {_shown(o.serverless_path)}, {_shown(p.config_path)}, "
                     f"{_shown(p.source_dir or p.function_dir)}/ (edits apply to the next "
                     "event)")
    return "\n".join(lines)


def serve(options: LocalOptions, observers: Sequence[Callable] = (),
          say: Optional[Callable[[str], None]] = None) -> None:
    """Run in the foreground until Ctrl-C; prints the ready line and what it wired.

    ``say`` prints the live-reload lines (default: print to stdout).
    """
    prepared = prepare(options)
    box: dict = {}
    say = say or (lambda text: print(text, flush=True))

    def ready(handle: runner.RunningEmulator) -> None:
        cloud = _wire(prepared, handle, box["console"], observers)
        box["cloud"] = cloud
        if options.watch:
            cloud.start_watching(say)

    try:
        runner.serve(prepared.settings, on_ready=ready, front=_consoled(prepared, box),
                     announce=lambda handle: ready_text(box["cloud"]))
    finally:
        cloud = box.get("cloud")
        if cloud is not None:
            if cloud.reloader is not None:
                cloud.reloader.stop()
            cloud.dispatcher.close()
        prepared.ci.close()
