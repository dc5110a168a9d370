"""The JSON sidecar of picops.yaml: a cold-start shortcut, not a second config format.

Importing PyYAML costs about a tenth of the COS SDK's own import time, paid on
every cold start of the function. So ``make package`` runs
:func:`build_sidecar` and ships ``picops.yaml.json`` beside ``picops.yaml``:
the parsed YAML document plus the SHA-256 of the exact YAML bytes it came
from. :func:`picops.config.load_config` hashes the YAML file's bytes; when the
sidecar's hash matches (:func:`read_sidecar`), it takes the document from the
sidecar (stdlib ``json``) and never imports PyYAML. Otherwise (no sidecar, as
when running from the checkout; a YAML edited after packaging; an unreadable
or foreign sidecar) it parses the YAML exactly as before. Either way the same
validation runs on the same document, so the same problems are reported: the
builder writes a sidecar only for a YAML that parses without YAML-level
problems and whose document survives a JSON round trip unchanged (no dates, no
non-string keys), and refuses to package an invalid config at all.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Optional, Tuple

from .validation import validate_document
from .yamlload import parse_document

#: The sidecar of ``picops.yaml`` is ``picops.yaml.json``.
SIDECAR_SUFFIX = ".json"
#: Bumped whenever the sidecar's shape changes; another value means "no sidecar".
SIDECAR_FORMAT = 1


def build_sidecar(data: bytes, source: str = "") -> Optional[str]:
    """The sidecar text for the YAML file bytes ``data``, for ``make package``.

    Returns None when the document cannot be carried by JSON unchanged (the
    function then parses the YAML at cold start, which is merely slower).

    Raises:
        ConfigError: the config is invalid (every problem listed); nothing
            should be packaged with it.
            ``data`` that is not UTF-8 or not acceptable YAML included.
    """
    doc = parse_document(data, source, what="config file")
    validate_document(doc, source)
    try:
        carried = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # dates, binary, sets, NaN: YAML types JSON lacks
        return None
    # Non-string keys come back as strings, and == tells them apart (1 != "1"):
    # what equals here is what validation would see from the YAML.
    if json.loads(carried) != doc:
        return None
    return json.dumps({"picops_sidecar": SIDECAR_FORMAT,
                       "yaml_sha256": hashlib.sha256(data).hexdigest(),
                       "document": doc}, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def read_sidecar(path: str, digest: str) -> Tuple[bool, Any]:
    """(True, document) when ``path``'s sidecar exists and was made from bytes
    hashing to ``digest``; (False, None) otherwise. Never raises: a missing,
    stale or damaged sidecar only means the YAML is parsed instead."""
    try:
        with open(path + SIDECAR_SUFFIX, "rb") as f:
            sidecar = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not UTF-8, not JSON
        return False, None
    if (isinstance(sidecar, dict) and sidecar.get("picops_sidecar") == SIDECAR_FORMAT
            and sidecar.get("yaml_sha256") == digest and "document" in sidecar):
        return True, sidecar["document"]
    return False, None
