"""The Serverless Framework ``scf`` component's published input schema: its facts. Pure.

Source: ``serverless.component.yml`` of github.com/serverless-components/tencent-scf
at its latest release, :data:`VERSION` (the file's own ``version:`` field still
reads 0.9.7; the schema has not changed since that release, which added
``Python3.7`` to the runtime list), and ``docs/configure.md`` of the same
release for what the schema leaves as a plain string (the COS trigger's bucket
host form, the role). ``sls deploy`` refuses inputs outside these lists, so
``picops validate`` checks serverless.yml against them
(:mod:`picops.serverless`); SCF's own limits, where stricter, are checked too.
"""

from __future__ import annotations

import re
from typing import Tuple

#: The component release whose schema these facts are.
VERSION = "0.9.10"
NAME = "scf"

#: ``inputs.runtime`` allow-list, Python entries only (the schema also lists
#: Node.js, PHP, Go, Java and CustomRuntime).
RUNTIMES: Tuple[str, ...] = ("Python2.7", "Python3.6", "Python3.7")

#: ``inputs.memorySize`` allow-list: 64, then every multiple of 128 up to 3072.
MEMORY_SIZES: Tuple[int, ...] = (64,) + tuple(range(128, 3072 + 1, 128))
MEMORY_DEFAULT = 128

#: ``inputs.timeout``: the schema sets only ``min: 1``; SCF caps it at 900 s.
TIMEOUT_MIN = 1
TIMEOUT_MAX = 900   # SCF's quota, not the schema's
TIMEOUT_DEFAULT = 3

HANDLER_DEFAULT = "index.main_handler"
REGION_DEFAULT = "ap-guangzhou"

#: ``inputs.name``: the schema's regex.
FUNCTION_NAME_RE = re.compile(r"[A-Za-z][\w-]{0,58}[A-Za-z0-9]")

#: A COS trigger's ``events`` allow-list (one string per trigger).
COS_EVENTS: Tuple[str, ...] = (
    "cos:ObjectCreated:*", "cos:ObjectCreated:Put", "cos:ObjectCreated:Post",
    "cos:ObjectCreated:Copy", "cos:ObjectCreated:CompleteMultipartUpload",
    "cos:ObjectCreated:Origin", "cos:ObjectCreated:Replication",
    "cos:ObjectRemove:*", "cos:ObjectRemove:Delete", "cos:ObjectRemove:DeleteMarkerCreated",
    "cos:ObjectRestore:Post", "cos:ObjectRestore:Completed",
)

#: A COS trigger's ``bucket``: the bucket's host, the only form configure.md and
#: the examples show (the component passes it on as the trigger's name).
BUCKET_HOST_FORM = "<name>-<appid>.cos.<region>.myqcloud.com"


def describe() -> str:
    """``scf component v0.9.10 input schema``: for messages."""
    return "%s component v%s input schema" % (NAME, VERSION)


__all__ = ["BUCKET_HOST_FORM", "COS_EVENTS", "FUNCTION_NAME_RE", "HANDLER_DEFAULT",
           "MEMORY_DEFAULT", "MEMORY_SIZES", "NAME", "REGION_DEFAULT", "RUNTIMES",
           "TIMEOUT_DEFAULT", "TIMEOUT_MAX", "TIMEOUT_MIN", "VERSION", "describe"]
