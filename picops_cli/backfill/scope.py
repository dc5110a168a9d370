"""What backfill touches: which listed objects are skipped and why, and the config's identity.

Contract (pure, no I/O):

* :func:`skip_reason` applies the function's own rules to a listed object (the
  handler's :func:`picops.routing.skip_reason`), so backfill processes exactly what an
  upload event would have:
  ``manifest_object`` (the key is under the manifest prefix: picops's own bookkeeping),
  ``folder_marker`` (key ends with ``/``), ``empty_object`` (0 bytes), ``loop_guard``
  (the key is an output of this config), ``no_route``. None means "route it".
* :func:`manifest_prefix` is the config's manifest prefix (the default when the config
  does not set one).
* :func:`config_fingerprint` is a stable hash of everything that decides what backfill
  does: every route's prefix, suffixes and rules hash, and the manifest prefix. The
  checkpoint is keyed by it, so a rules change never resumes a stale run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from picops import manifest, routing

FOLDER_MARKER, EMPTY_OBJECT, MANIFEST_OBJECT, LOOP_GUARD, NO_ROUTE = (
    "folder_marker", "empty_object", "manifest_object", "loop_guard", "no_route")


def manifest_prefix(config: Any) -> Optional[str]:
    """The config's manifest prefix, or None when manifests are off."""
    settings = config.manifests
    return settings.prefix if settings.enabled else None


def skip_reason(config: Any, bucket: str, key: str, size: int) -> Optional[str]:
    """Why the function would not process ``key`` of ``bucket`` (None: it would).

    The handler's own function (:func:`picops.routing.skip_reason`), so backfill and
    the function cannot disagree.
    """
    return routing.skip_reason(config, bucket, key, size)


def config_fingerprint(config: Any) -> str:
    """A hex digest that changes whenever what backfill would do for some key changes."""
    doc = {"manifests": [config.manifests.enabled, config.manifests.prefix],
           "routes": [[r.prefix, list(r.suffixes) if r.suffixes is not None else None,
                       manifest.rules_hash(r)] for r in config.routes]}
    text = json.dumps(doc, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()
