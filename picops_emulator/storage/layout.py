"""Where things live under the data directory, and the name rules that keep that safe.

Contract (layout, all under ``<data_dir>/cos/``)::

    <bucket>/bucket.json                                 bucket record (its presence = exists)
    <bucket>/objects/<h0h1>/<h2h3>/<sha256(key)>.json     sidecar: the commit point of an object
    <bucket>/objects/<h0h1>/<h2h3>/<sha256(key)>.<v>.data body of version <v>
    <bucket>/objects/<h0h1>/<h2h3>/.tmp-<uuid>            a write in progress (ignored, swept)
    <bucket>/uploads/<upload id>/upload.json, <n>.part, <n>.json   multipart state
    <bucket>/docs/<sha256(name)>.json                    bucket-level JSON documents (CI styles)

Object keys NEVER become path components: they are hashed. Bucket names and upload ids do,
so both are checked against strict patterns first (``naming.check_bucket_name``,
:func:`check_upload_id`). Key rules live in :mod:`picops_emulator.naming`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import EmulatorError
from ..naming import check_bucket_name

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def check_upload_id(upload_id: str) -> str:
    if not _UPLOAD_ID.match(upload_id):
        raise EmulatorError("NoSuchUpload", f"upload id {upload_id!r} does not exist")
    return upload_id


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Layout:
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "cos"

    def bucket_dir(self, bucket: str) -> Path:
        return self.root / check_bucket_name(bucket)

    def bucket_record(self, bucket: str) -> Path:
        return self.bucket_dir(bucket) / "bucket.json"

    def objects_dir(self, bucket: str) -> Path:
        return self.bucket_dir(bucket) / "objects"

    def shard_dir(self, bucket: str, key: str) -> Path:
        h = key_hash(key)
        return self.objects_dir(bucket) / h[0:2] / h[2:4]

    def sidecar(self, bucket: str, key: str) -> Path:
        return self.shard_dir(bucket, key) / f"{key_hash(key)}.json"

    def data_name(self, key: str, version: str) -> str:
        return f"{key_hash(key)}.{version}.data"

    def uploads_dir(self, bucket: str) -> Path:
        return self.bucket_dir(bucket) / "uploads"

    def upload_dir(self, bucket: str, upload_id: str) -> Path:
        return self.uploads_dir(bucket) / check_upload_id(upload_id)

    def docs_dir(self, bucket: str) -> Path:
        return self.bucket_dir(bucket) / "docs"

    def doc_path(self, bucket: str, name: str) -> Path:
        return self.docs_dir(bucket) / f"{key_hash(name)}.json"


__all__ = ["Layout", "check_upload_id", "key_hash"]
