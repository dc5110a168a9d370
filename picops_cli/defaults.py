"""Where the CLI's commands look when no option says otherwise (paths from the cwd).

The commands run from the project's root, beside ``serverless.yml``. The routes
config is found as the function finds it (:func:`picops.config.config_path`): a
relative ``PICOPS_CONFIG`` names a file in the function's folder, never one in
the current directory, so one setting names one file everywhere.
"""

import os
from pathlib import Path

from picops import constants
from picops.config import config_path
from picops.constants import FUNCTION_SOURCE_DIR

FUNCTION_DIR = Path(FUNCTION_SOURCE_DIR)
SERVERLESS = Path("serverless.yml")


def default_config_path() -> Path:
    """``PICOPS_CONFIG`` if set, else the function's own picops.yaml; a relative
    ``PICOPS_CONFIG`` is taken from the function's folder."""
    return Path(config_path(os.environ, str(FUNCTION_DIR)))


def config_not_found(path: Path, given: bool = False) -> "str | None":
    """None when ``path`` is a file; else one line naming every place looked at (the
    option, the variable, the default, from which folder) and how to name the file.

    ``given``: ``path`` came from ``--config``.
    """
    if Path(path).is_file():
        return None
    env = os.environ.get(constants.ENV_CONFIG)
    if given:
        tried = f"{path} (--config)"
    elif env and not Path(env).is_absolute():
        tried = (f"{path} (${constants.ENV_CONFIG}={env}, taken from the function's folder "
                 f"{FUNCTION_DIR} as on SCF; no --config)")
    elif env:
        tried = f"{path} (${constants.ENV_CONFIG}; no --config)"
    else:
        tried = f"{path} (the default; no --config, ${constants.ENV_CONFIG} not set)"
    return (f"routes config not found: tried {tried}, from {Path.cwd()}; run from the "
            f"project's folder, or name the file with --config PATH or "
            f"{constants.ENV_CONFIG}=PATH")


def serverless_not_found(path: Path, given: bool = False) -> "str | None":
    """Like :func:`config_not_found`, for serverless.yml (``--serverless``)."""
    if Path(path).is_file():
        return None
    how = "--serverless" if given else "the default; no --serverless"
    return (f"serverless.yml not found: tried {path} ({how}), from {Path.cwd()}; run from "
            "the project's folder, or name the file with --serverless PATH")
