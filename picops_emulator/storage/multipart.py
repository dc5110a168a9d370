"""Multipart uploads: initiate, parts, list, abort, complete (the COS/S3 rules).

Contract:
- An upload is a directory ``uploads/<upload id>/`` (the id is 32 hex chars from uuid4, so it
  is safe as a path component) with ``upload.json`` (key, initiated, attributes chosen at
  initiate). A part is ``<n>.<version>.part`` plus ``<n>.json`` naming it, committed with the
  same sidecar-rename rule as objects; one lock per upload orders part commits, complete and
  abort.
- :meth:`MultipartStore.complete` checks the client's part list (ascending numbers:
  ``InvalidPartOrder``; each part present with the same ETag: ``InvalidPart``; every part but
  the last at least 1 MiB: ``EntityTooSmall``), concatenates the parts into a normal object
  commit whose ETag is ``md5(concatenated binary MD5s of the parts)-<count>``, emits
  ``cos:ObjectCreated:CompleteMultipartUpload`` and removes the upload.
- Part numbers are 1..10000. Everything here is blocking (disk I/O).
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Protocol, Sequence, Tuple

from picops.etags import unquote_etag

from ..errors import EmulatorError
from ..naming import check_key
from .files import PendingWrite, read_json, write_json_atomic
from .layout import Layout, check_upload_id
from .locks import NamedLocks
from .meta import ChangeOrigin, ObjectAttrs, ObjectMeta, now


class ObjectStore(Protocol):
    """What multipart uploads need of the object store (:class:`.store.Store` provides it).

    A protocol rather than an import, so that the store can build on this module without a
    cycle between the two.
    """

    layout: Layout
    key_locks: NamedLocks
    fsync: bool
    max_object_bytes: int

    def get_bucket(self, bucket: str) -> object: ...

    def begin_write(self, bucket: str, key: str,
                    max_bytes: Optional[int] = None) -> PendingWrite: ...

    def commit(self, pending: PendingWrite, bucket: str, key: str, attrs: ObjectAttrs, *,
               etag: Optional[str] = None, origin: Optional[ChangeOrigin] = None,
               generation: Optional[int] = None) -> ObjectMeta: ...

MIN_PART_BYTES = 1024 * 1024
MAX_PART_NUMBER = 10000


@dataclass(frozen=True)
class UploadInfo:
    bucket: str
    key: str
    upload_id: str
    initiated: float
    attrs: ObjectAttrs


@dataclass(frozen=True)
class PartInfo:
    number: int
    size: int
    etag: str          # unquoted MD5 hex
    last_modified: float
    data_file: str


def _attrs_to_json(attrs: ObjectAttrs) -> dict:
    return {"content_type": attrs.content_type, "meta": dict(attrs.meta),
            "headers": dict(attrs.headers), "storage_class": attrs.storage_class}


def _attrs_from_json(doc: dict) -> ObjectAttrs:
    return ObjectAttrs(content_type=doc["content_type"], meta=dict(doc["meta"]),
                       headers=dict(doc["headers"]), storage_class=doc["storage_class"])


def check_part_number(number: int) -> int:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise EmulatorError("InvalidArgument",
                            f"partNumber {number} is outside 1..{MAX_PART_NUMBER}")
    return number


class MultipartStore:
    def __init__(self, store: ObjectStore):
        self.store = store
        self.layout = store.layout

    def _lock(self, bucket: str, upload_id: str):
        return self.store.key_locks.hold(("upload", bucket, upload_id))

    # ------------------------------------------------------------------ uploads
    def initiate(self, bucket: str, key: str, attrs: ObjectAttrs) -> UploadInfo:
        self.store.get_bucket(bucket)
        check_key(key)
        info = UploadInfo(bucket=bucket, key=key, upload_id=uuid.uuid4().hex, initiated=now(),
                          attrs=attrs)
        write_json_atomic(self.layout.upload_dir(bucket, info.upload_id) / "upload.json",
                          {"key": key, "initiated": info.initiated,
                           "attrs": _attrs_to_json(attrs)}, fsync=self.store.fsync)
        return info

    def get(self, bucket: str, upload_id: str, key: Optional[str] = None) -> UploadInfo:
        self.store.get_bucket(bucket)
        try:
            path = self.layout.upload_dir(bucket, upload_id) / "upload.json"
            doc = read_json(path)
        except (FileNotFoundError, EmulatorError):
            raise EmulatorError("NoSuchUpload", f"upload id {upload_id!r} does not exist in "
                                                f"bucket {bucket!r}") from None
        info = UploadInfo(bucket=bucket, key=doc["key"], upload_id=upload_id,
                          initiated=float(doc["initiated"]), attrs=_attrs_from_json(doc["attrs"]))
        if key is not None and info.key != key:
            raise EmulatorError("NoSuchUpload",
                                f"upload id {upload_id!r} belongs to another key, not {key!r}")
        return info

    def list_uploads(self, bucket: str) -> List[UploadInfo]:
        self.store.get_bucket(bucket)
        out = []
        root = self.layout.uploads_dir(bucket)
        if root.is_dir():
            for entry in root.iterdir():
                try:
                    out.append(self.get(bucket, check_upload_id(entry.name)))
                except EmulatorError:
                    continue  # aborted or completed meanwhile, or not an upload directory
        out.sort(key=lambda u: (u.key, u.initiated, u.upload_id))
        return out

    def abort(self, bucket: str, upload_id: str, key: str) -> None:
        with self._lock(bucket, upload_id):
            self.get(bucket, upload_id, key)
            shutil.rmtree(self.layout.upload_dir(bucket, upload_id), ignore_errors=True)

    # ------------------------------------------------------------------ parts
    def begin_part(self, bucket: str, upload_id: str, key: str,
                   max_bytes: Optional[int] = None) -> PendingWrite:
        self.get(bucket, upload_id, key)
        limit = self.store.max_object_bytes if max_bytes is None else max_bytes
        return PendingWrite(self.layout.upload_dir(bucket, upload_id), limit,
                            fsync=self.store.fsync)

    def commit_part(self, pending: PendingWrite, bucket: str, upload_id: str, key: str,
                    number: int) -> PartInfo:
        check_part_number(number)
        directory = self.layout.upload_dir(bucket, upload_id)
        with self._lock(bucket, upload_id):
            try:
                self.get(bucket, upload_id, key)
            except EmulatorError:
                pending.abort()
                raise
            data_name = f"{number}.{uuid.uuid4().hex}.part"
            pending.publish(directory / data_name)
            part = PartInfo(number=number, size=pending.size, etag=pending.md5_hex,
                            last_modified=now(), data_file=data_name)
            old = self._read_part(directory, number)
            write_json_atomic(directory / f"{number}.json",
                              {"number": number, "size": part.size, "etag": part.etag,
                               "last_modified": part.last_modified, "data_file": data_name},
                              fsync=self.store.fsync)
            if old is not None:
                (directory / old.data_file).unlink(missing_ok=True)
        return part

    @staticmethod
    def _read_part(directory: Path, number: int) -> Optional[PartInfo]:
        try:
            doc = read_json(directory / f"{number}.json")
        except FileNotFoundError:
            return None
        return PartInfo(number=int(doc["number"]), size=int(doc["size"]), etag=str(doc["etag"]),
                        last_modified=float(doc["last_modified"]),
                        data_file=str(doc["data_file"]))

    def list_parts(self, bucket: str, upload_id: str, key: str) -> List[PartInfo]:
        self.get(bucket, upload_id, key)
        directory = self.layout.upload_dir(bucket, upload_id)
        parts = []
        for entry in directory.glob("*.json"):
            if entry.name == "upload.json":
                continue
            try:
                part = self._read_part(directory, int(entry.stem))
            except (ValueError, KeyError):
                continue
            if part is not None:
                parts.append(part)
        parts.sort(key=lambda p: p.number)
        return parts

    # ------------------------------------------------------------------ complete
    def complete(self, bucket: str, upload_id: str, key: str,
                 requested: Sequence[Tuple[int, str]],
                 origin: Optional[ChangeOrigin] = None) -> ObjectMeta:
        if not requested:
            raise EmulatorError("MalformedXML",
                                "CompleteMultipartUpload must list at least one Part")
        with self._lock(bucket, upload_id):
            info = self.get(bucket, upload_id, key)
            directory = self.layout.upload_dir(bucket, upload_id)
            chosen: List[PartInfo] = []
            previous = 0
            for number, etag in requested:
                if number <= previous:
                    raise EmulatorError("InvalidPartOrder",
                                        f"part {number} follows part {previous}: part numbers "
                                        "must be listed in ascending order")
                previous = number
                part = self._read_part(directory, number)
                if part is None:
                    raise EmulatorError("InvalidPart", f"part {number} was never uploaded")
                if unquote_etag(etag).lower() != part.etag:
                    raise EmulatorError("InvalidPart",
                                        f"part {number}: ETag {etag!r} does not match the "
                                        f"uploaded part's \"{part.etag}\"")
                chosen.append(part)
            for part in chosen[:-1]:
                if part.size < MIN_PART_BYTES:
                    raise EmulatorError("EntityTooSmall",
                                        f"part {part.number} is {part.size} bytes; every part "
                                        f"but the last must be at least {MIN_PART_BYTES}")
            pending = self.store.begin_write(bucket, key)
            try:
                for part in chosen:
                    pending.copy_from(directory / part.data_file)
            except BaseException:
                pending.abort()
                raise
            combined = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in chosen)).hexdigest()
            meta = self.store.commit(pending, bucket, key, info.attrs,
                                     etag=f"{combined}-{len(chosen)}", origin=origin)
            shutil.rmtree(directory, ignore_errors=True)
        return meta


__all__ = ["MultipartStore", "UploadInfo", "PartInfo", "MIN_PART_BYTES", "check_part_number"]
