"""picops: route COS uploads to Cloud Infinite persistent image processing.

This package is what the SCF function ships (copied next to ``index.py`` by
``make package``), so it must import on CPython 3.9 and stay light: the pure
core (events, config, grammar, routing, loop safety) does no I/O, and the thin
edges (CI client, JSON logs, handler) only need the COS SDK and PyYAML.
"""

__version__ = "0.1.0"
