"""SCF entry point (handler ``index.main_handler``): thin on purpose.

The processor is built once, at import, i.e. once per cold start: the routes
config is loaded and validated and the environment checked here, and every
invocation reuses them. All logic lives in the ``picops`` package, which
``make package`` copies next to this file.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import picops  # noqa: F401  (deployed: beside this file; in the checkout: installed)
except ImportError:  # run from a bare checkout without the editable install
    sys.path.insert(0, os.path.join(_HERE, os.pardir, os.pardir, "shared"))

from picops.handler import processor_from_env  # noqa: E402

PROCESSOR = processor_from_env(os.environ, function_dir=_HERE)


def main_handler(event, context):
    """SCF calls this once per invocation; see picops.handler for the contract."""
    return PROCESSOR.handle(event, context)
