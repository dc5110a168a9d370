"""What the store knows about an object, a bucket and a change's origin.

Contract:
- :class:`ObjectAttrs` is what a writer chooses (content type, user metadata, the standard
  headers COS keeps, storage class); :class:`ObjectMeta` is a committed object: attrs plus
  size, ETag, CRC64, time, generation and the private name of its data file.
- ``ObjectMeta.to_json``/``from_json`` are the sidecar format. The sidecar holds the real
  key; file names are derived from a hash of it and never from the key itself.
- ``etag`` is stored unquoted (MD5 hex, multipart ``<hex>-<parts>``); :attr:`ObjectMeta.quoted_etag`
  is the header form.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict

#: The standard headers COS stores with an object and returns on GET/HEAD, as COS spells them.
SYSTEM_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding",
                  "Content-Language", "Expires")

DEFAULT_CONTENT_TYPE = "application/octet-stream"
STANDARD = "STANDARD"


@dataclass(frozen=True)
class ObjectAttrs:
    content_type: str = DEFAULT_CONTENT_TYPE
    meta: Dict[str, str] = field(default_factory=dict)      # "x-cos-meta-name" (lower) -> value
    headers: Dict[str, str] = field(default_factory=dict)   # SYSTEM_HEADERS spelling -> value
    storage_class: str = STANDARD


@dataclass(frozen=True)
class ObjectMeta:
    bucket: str
    key: str
    size: int
    etag: str                     # unquoted
    crc64: str                    # decimal string, as x-cos-hash-crc64ecma
    last_modified: float          # epoch seconds
    attrs: ObjectAttrs
    generation: int = 0
    data_file: str = ""           # private: file name of the body inside the shard directory

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def content_type(self) -> str:
        return self.attrs.content_type

    @property
    def meta(self) -> Dict[str, str]:
        return self.attrs.meta

    @property
    def storage_class(self) -> str:
        return self.attrs.storage_class

    def to_json(self) -> Dict[str, Any]:
        return {
            "version": 1, "bucket": self.bucket, "key": self.key, "size": self.size,
            "etag": self.etag, "crc64": self.crc64, "last_modified": self.last_modified,
            "content_type": self.attrs.content_type, "meta": dict(self.attrs.meta),
            "headers": dict(self.attrs.headers), "storage_class": self.attrs.storage_class,
            "generation": self.generation, "data_file": self.data_file,
        }

    @classmethod
    def from_json(cls, doc: Dict[str, Any]) -> "ObjectMeta":
        attrs = ObjectAttrs(content_type=str(doc["content_type"]),
                            meta={str(k): str(v) for k, v in doc.get("meta", {}).items()},
                            headers={str(k): str(v) for k, v in doc.get("headers", {}).items()},
                            storage_class=str(doc.get("storage_class", STANDARD)))
        return cls(bucket=str(doc["bucket"]), key=str(doc["key"]), size=int(doc["size"]),
                   etag=str(doc["etag"]), crc64=str(doc.get("crc64", "")),
                   last_modified=float(doc["last_modified"]), attrs=attrs,
                   generation=int(doc.get("generation", 0)), data_file=str(doc["data_file"]))


@dataclass(frozen=True)
class BucketInfo:
    name: str             # "name-appid"
    region: str
    created: float

    @property
    def appid(self) -> str:
        return self.name.rsplit("-", 1)[1]


@dataclass(frozen=True)
class ChangeOrigin:
    """Where a committed change came from; turned into a notifications.ObjectChanged.

    ``event_name`` is the specific COS event (``cos:ObjectCreated:Put`` …). ``region`` empty
    means "the bucket's region".
    """

    event_name: str
    region: str = ""
    request_id: str = ""
    source_ip: str = "127.0.0.1"
    generation: int = 0


def now() -> float:
    return time.time()


__all__ = ["ObjectAttrs", "ObjectMeta", "BucketInfo", "ChangeOrigin", "SYSTEM_HEADERS",
           "DEFAULT_CONTENT_TYPE", "STANDARD", "now"]
