"""Where the CLI's commands look when no option says otherwise (paths from the cwd).

The commands run from the project's root, beside ``serverless.yml``. The routes
config is found as the function finds it (:func:`picops.config.config_path`): a
relative ``PICOPS_CONFIG`` names a file in the function's folder, never one in
the current directory, so one setting names one file everywhere.
"""

import os
from pathlib import Path

from picops.config import config_path
from picops.constants import FUNCTION_SOURCE_DIR

FUNCTION_DIR = Path(FUNCTION_SOURCE_DIR)
SERVERLESS = Path("serverless.yml")


def default_config_path() -> Path:
    """``PICOPS_CONFIG`` if set, else the function's own picops.yaml; a relative
    ``PICOPS_CONFIG`` is taken from the function's folder."""
    return Path(config_path(os.environ, str(FUNCTION_DIR)))
