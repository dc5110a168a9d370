"""Read the project's serverless.yml for the emulator, and list the buckets it needs.

The one serverless.yml parser is :func:`picops.serverless.parse_serverless`
(shared with ``picops validate``); this module only reads the file and turns
YAML errors into the same :class:`~picops.errors.ConfigError` with a line
number. The emulator runs the function from its source folder in the checkout
(``functions/image_processor`` beside serverless.yml), not from ``inputs.src``,
which names the built package that ``make package`` produces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Set, Union

import yaml

from picops.errors import ConfigError, Problem
from picops.serverless import ServerlessSpec, parse_serverless

#: Where the function's source lives, relative to the folder of serverless.yml.
DEFAULT_FUNCTION_DIR = Path("functions") / "image_processor"


def load_serverless(path: Union[str, Path]) -> ServerlessSpec:
    """Read and validate ``path``; raise ConfigError naming the file and every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(source, f"cannot read the file: {exc.strerror or exc}")]
                          ) from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}: line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(where, f"not valid YAML: {problem}")]) from exc
    # every problem is placed as "<path>: inputs.events[1].cos.parameters..."
    return parse_serverless(doc, source=source)


def default_function_dir(serverless_path: Union[str, Path]) -> Path:
    """The function's source folder for a serverless.yml at ``serverless_path``."""
    return Path(serverless_path).resolve().parent / DEFAULT_FUNCTION_DIR


def buckets_to_create(spec: ServerlessSpec, config=None) -> Set[str]:
    """Every bucket (``name-appid``) the triggers and the routes config name.

    ``config`` is a ``picops.config.Config``: each route's source bucket and each
    rule's target bucket count. Disabled triggers count too: their bucket still
    exists on COS.
    """
    buckets = {t.bucket for t in spec.triggers if t.bucket}
    for route in getattr(config, "routes", ()) or ():
        if getattr(route, "bucket", None):
            buckets.add(route.bucket)
        for rule in getattr(route, "rules", ()) or ():
            if getattr(rule, "bucket", None):
                buckets.add(rule.bucket)
    return buckets


__all__ = ["load_serverless", "buckets_to_create", "default_function_dir",
           "DEFAULT_FUNCTION_DIR"]
