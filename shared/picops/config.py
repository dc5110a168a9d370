"""Reading the routes config file: where it is, and how its text becomes a
:class:`~picops.model.Config`.

* :func:`config_path` resolves ``PICOPS_CONFIG`` the same way for the function,
  the CLI and the emulator.
* :func:`load_config` reads the file (through its JSON sidecar when that was
  made from these very bytes, :mod:`picops.sidecar`), :func:`parse_config`
  reads text. Both parse with the one bounded YAML loader
  (:mod:`picops.yamlload`: syntax, duplicate keys, size, depth and alias
  bounds, placed at line and column) and check the document with
  :func:`picops.validation.validate_document`, which reports every problem
  with its place. Either returns a valid Config or raises
  :class:`~picops.errors.ConfigError` listing every problem.
"""

from __future__ import annotations

import hashlib
import os
from typing import Mapping

from .constants import DEFAULT_CONFIG_NAME, ENV_CONFIG
from .model import Config
from .sidecar import read_sidecar
from .validation import validate_document
from .yamlload import parse_document, read_bytes

_WHAT = "config file"  # in "cannot read config file: <reason>"


def config_path(env: Mapping[str, str], function_dir: str) -> str:
    """The routes config file: ``PICOPS_CONFIG`` if set, else ``picops.yaml``,
    relative to ``function_dir``.

    ``function_dir`` is the function's folder (where ``index.py`` is; the CLI and
    the emulator pass the folder serverless.yml's ``src`` names). A relative
    ``PICOPS_CONFIG`` is taken from there too, never from the current
    directory: SCF's working directory is not documented, and this way the
    same serverless.yml value names the same file in the cloud, in the
    emulator, in the CLI and in tests. An absolute one is used as it is.
    """
    path = env.get(ENV_CONFIG) or DEFAULT_CONFIG_NAME
    return os.path.join(function_dir, path)


def load_config(path: str) -> Config:
    """Read and validate the config file at ``path``.

    Uses the document in ``path``'s sidecar instead of parsing the YAML when that
    sidecar was made from these very bytes (see :mod:`picops.sidecar`).

    Raises:
        ConfigError: the file cannot be read, or is invalid (every problem listed).
    """
    data = read_bytes(path, path, what=_WHAT)
    found, doc = read_sidecar(path, hashlib.sha256(data).hexdigest())
    if not found:
        doc = parse_document(data, path, what=_WHAT)
    return validate_document(doc, source=path)


def parse_config(text: str, source: str = "") -> Config:
    """Validate config text; return the :class:`Config` or raise with every problem.

    Raises:
        ConfigError: the YAML is invalid or does not describe a valid config.
    """
    return validate_document(parse_document(text, source, what=_WHAT), source)
