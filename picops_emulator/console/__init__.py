"""The emulator's web console at ``http://127.0.0.1:<port>/_picops/?token=...``.

What the local cloud holds and what the function did, live: buckets, a bucket's
objects by folder, an image source beside every derivative its manifest lists,
invocations newest first with their event and log output, and the dead-letter
entries with a button that delivers the event again.

* :mod:`.access`  who may use it (loopback Host + the run's token; pure)
* :mod:`.views`   what it shows, as JSON-ready dicts, read through the store, the
  trigger dispatcher and ``picops``' routing and manifest code
* :mod:`.web`     the aiohttp middleware in front of the COS edge, and the API
* ``static/``     the page: hand-written HTML, JavaScript and CSS (no build step)

It sits beside the COS edge (both are edges of the emulator): it imports storage,
triggers and imaging, and nothing below imports it. :mod:`picops_emulator.local`
wires it in.
"""

from .web import Console

__all__ = ["Console"]
