"""Where the CLI's commands look when no option says otherwise (paths from the cwd).

The commands run from the project's root, beside ``serverless.yml``. A relative
``PICOPS_CONFIG`` is taken from the current directory here, as the emulator does.
"""

import os
from pathlib import Path

from picops import constants

FUNCTION_DIR = Path("functions") / "image_processor"
SERVERLESS = Path("serverless.yml")


def default_config_path() -> Path:
    """``PICOPS_CONFIG`` if set, else the function's own picops.yaml."""
    env = os.environ.get(constants.ENV_CONFIG)
    return Path(env) if env else FUNCTION_DIR / constants.DEFAULT_CONFIG_NAME
