"""The emulator's trigger layer: serverless.yml COS triggers -> SCF-shaped async invocations.

Modules, one job each:

* :mod:`.loader`      read serverless.yml (through ``picops.serverless``), buckets to create
* :mod:`.matching`    does a trigger fire for an ``ObjectChanged``
* :mod:`.events`      the COS event and the SCF context, shaped like the real ones
* :mod:`.runtime_env` the environment the function's process gets
* :mod:`.invoker`     run ``main_handler`` isolated in worker processes
* :mod:`.bootstrap`   the child side of that (runs inside the function's process)
* :mod:`.dispatcher`  the listener: queue, SCF retry policy, dead letters, loop guard
* :mod:`.journal`     every matched event fsynced before its write is acknowledged;
                      replayed at the next start (at least once)
* :mod:`.decisions`, :mod:`.deadletter`, :mod:`.records`  logs, DLQ file, what ran

Typical wiring (the CLI does this)::

    spec = load_serverless("serverless.yml")
    dispatcher = TriggerDispatcher(spec, default_function_dir("serverless.yml"),
                                   emulator.endpoint, (secret_id, secret_key), data_dir)
    emulator.add_listener(dispatcher.on_change, inline=True)
    ...
    dispatcher.close()

Names are imported lazily so that importing one submodule stays cheap.
"""

from importlib import import_module

_EXPORTS = {
    "TriggerDispatcher": "dispatcher",
    "DEFAULT_RETRY_DELAYS": "dispatcher",
    "DEFAULT_MAX_GENERATION": "dispatcher",
    "FunctionInvoker": "invoker",
    "InvocationResult": "invoker",
    "FunctionFailure": "invoker",
    "Credentials": "runtime_env",
    "build_cos_event": "events",
    "build_context": "events",
    "matching_triggers": "matching",
    "trigger_matches": "matching",
    "load_serverless": "loader",
    "buckets_to_create": "loader",
    "default_function_dir": "loader",
    "read_dead_letters": "deadletter",
    "InvocationRecord": "records",
    "AttemptRecord": "records",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
