"""The on-disk object store behind the emulator's COS API (and the API the CI layer uses).

Contract:
- Everything lives under ``data_dir`` (see :mod:`.layout`) and survives restarts: the
  in-memory index is rebuilt from sidecars at construction; leftovers of interrupted writes
  (temp files, bodies no sidecar names) are swept then.
- Writes: :meth:`Store.begin_write` gives a :class:`~.files.PendingWrite` in the object's
  shard directory; feed it, then :meth:`Store.commit`. Each version's body has its own file
  name and the sidecar names it, so the sidecar's atomic rename is THE commit point: a crash
  leaves the old object or the new one, never a mix, and a reader that picked the old
  sidecar keeps reading the old body (POSIX keeps an open file alive after unlink).
- One lock per (bucket, key) orders commits and deletes of that key; the index has its own
  lock. Both are held only for short synchronous sections. All methods are thread-safe and
  blocking (they do disk I/O and fsync): from the event loop, call them in an executor.
- After every committed create or delete the store emits an ObjectChanged through its
  :class:`~.notifier.ChangeNotifier` when the caller passed a :class:`~.meta.ChangeOrigin`.
- One process owns a data dir at a time: the store holds an exclusive ``flock`` on
  ``<data_dir>/cos/.lock`` until :meth:`Store.close` (a second store on the same dir raises
  :class:`DataDirInUse` instead of corrupting the first one's index).
- CI-layer API: :meth:`get_object`, :meth:`read_bytes`, :meth:`put_bytes`,
  :meth:`bucket_exists`, :meth:`create_bucket`, :meth:`get_bucket_doc`/:meth:`put_bucket_doc`
  (+ :meth:`delete_bucket_doc`, :meth:`list_bucket_docs`) for bucket-level JSON (CI styles).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Mapping, Optional, Tuple

from ..errors import EmulatorError
from ..naming import check_bucket_name, check_key
from ..notifications import ObjectChanged
from .files import (TMP_PREFIX, PendingWrite, fsync_dir, read_json, try_lock_exclusive,
                    write_json_atomic)
from .index import BucketIndex, ListPage, list_page
from .layout import Layout, key_hash
from .locks import NamedLocks
from .meta import BucketInfo, ChangeOrigin, ObjectAttrs, ObjectMeta, now
from .multipart import MultipartStore
from .notifier import ChangeNotifier

log = logging.getLogger("picops_emulator.storage")

DEFAULT_MAX_OBJECT_BYTES = 5 * 1024 ** 3  # COS's single-PUT limit


class DataDirInUse(RuntimeError):
    """Another store (another emulator) already owns this data directory."""


class Store:
    def __init__(self, data_dir: Path, *, max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
                 fsync: bool = True, notifier: Optional[ChangeNotifier] = None):
        self.data_dir = Path(data_dir)
        self.layout = Layout(self.data_dir)
        self.max_object_bytes = max_object_bytes
        self.fsync = fsync
        self.notifier = notifier or ChangeNotifier()
        self._lock = threading.RLock()
        self._buckets: Dict[str, BucketInfo] = {}
        self._indexes: Dict[str, BucketIndex] = {}
        self.key_locks = NamedLocks()
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self._lock_file = self._acquire(self.layout.root / ".lock")
        self._load()
        self.multipart = MultipartStore(self)

    # ------------------------------------------------------------------ start-up / shutdown
    @staticmethod
    def _acquire(path: Path):
        fh = try_lock_exclusive(path)
        if fh is None:
            raise DataDirInUse(f"data dir {path.parent.parent} is in use by another picops "
                               "emulator (stop it, or choose another data dir)")
        return fh

    def close(self) -> None:
        """Release the data dir (idempotent). The store must not be used afterwards."""
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _load(self) -> None:
        for bucket_dir in sorted(self.layout.root.iterdir()):
            record = bucket_dir / "bucket.json"
            if not record.is_file():
                continue
            try:
                doc = read_json(record)
                info = BucketInfo(name=check_bucket_name(str(doc["name"])),
                                  region=str(doc["region"]), created=float(doc["created"]))
            except (ValueError, KeyError, TypeError, EmulatorError) as exc:
                log.warning("ignoring bucket directory %s: unreadable record (%s)",
                            bucket_dir.name, exc)
                continue
            self._buckets[info.name] = info
            self._indexes[info.name] = self._load_objects(info.name)
        log.info("store at %s: %d bucket(s), %d object(s)", self.data_dir, len(self._buckets),
                 sum(len(i) for i in self._indexes.values()))

    def _load_objects(self, bucket: str) -> BucketIndex:
        index = BucketIndex()
        objects = self.layout.objects_dir(bucket)
        if not objects.is_dir():
            return index
        for shard in objects.glob("*/*"):
            referenced = set()
            data_files = []
            for entry in shard.iterdir():
                name = entry.name
                if name.startswith(TMP_PREFIX):
                    entry.unlink(missing_ok=True)  # an interrupted write
                elif name.endswith(".data"):
                    data_files.append(entry)
                elif name.endswith(".json"):
                    meta = self._read_sidecar(bucket, entry)
                    if meta is not None:
                        index.put(meta)
                        referenced.add(meta.data_file)
            for entry in data_files:
                if entry.name not in referenced:
                    entry.unlink(missing_ok=True)  # a body whose sidecar never committed
        return index

    def _read_sidecar(self, bucket: str, path: Path) -> Optional[ObjectMeta]:
        try:
            meta = ObjectMeta.from_json(read_json(path))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable sidecar %s: %s", path, exc)
            return None
        if meta.bucket != bucket or path.name != f"{key_hash(meta.key)}.json":
            log.warning("ignoring sidecar %s: it does not belong where it is", path)
            return None
        body = path.parent / meta.data_file
        try:
            size = body.stat().st_size
        except FileNotFoundError:
            log.warning("ignoring object %s/%r: its body file is missing", bucket, meta.key)
            return None
        if size != meta.size:
            log.warning("ignoring object %s/%r: body is %d bytes, sidecar says %d", bucket,
                        meta.key, size, meta.size)
            return None
        return meta

    # ------------------------------------------------------------------ buckets
    def bucket_exists(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._buckets

    def get_bucket(self, bucket: str) -> BucketInfo:
        with self._lock:
            info = self._buckets.get(bucket)
        if info is None:
            raise EmulatorError("NoSuchBucket", f"bucket {bucket!r} does not exist")
        return info

    def list_buckets(self) -> List[BucketInfo]:
        with self._lock:
            return sorted(self._buckets.values(), key=lambda b: b.name)

    def create_bucket(self, bucket: str, region: str, *, exist_ok: bool = False) -> BucketInfo:
        check_bucket_name(bucket)
        with self._lock:
            existing = self._buckets.get(bucket)
            if existing is not None:
                if exist_ok:
                    return existing
                raise EmulatorError("BucketAlreadyOwnedByYou",
                                    f"bucket {bucket!r} already exists and is yours")
            info = BucketInfo(name=bucket, region=region, created=now())
            write_json_atomic(self.layout.bucket_record(bucket),
                              {"name": info.name, "region": info.region,
                               "created": info.created}, fsync=self.fsync)
            self._buckets[bucket] = info
            self._indexes[bucket] = BucketIndex()
        return info

    def delete_bucket(self, bucket: str) -> None:
        with self._lock:
            self.get_bucket(bucket)
            if len(self._indexes[bucket]):
                raise EmulatorError("BucketNotEmpty",
                                    f"bucket {bucket!r} still holds "
                                    f"{len(self._indexes[bucket])} object(s)")
            # the record goes first: from here on the bucket does not exist, even after a crash
            os.unlink(self.layout.bucket_record(bucket))
            del self._buckets[bucket]
            del self._indexes[bucket]
        shutil.rmtree(self.layout.bucket_dir(bucket), ignore_errors=True)

    # ------------------------------------------------------------------ bucket documents
    def get_bucket_doc(self, bucket: str, name: str) -> Optional[Any]:
        self.get_bucket(bucket)
        path = self.layout.doc_path(bucket, name)
        try:
            return read_json(path)["doc"]
        except FileNotFoundError:
            return None

    def put_bucket_doc(self, bucket: str, name: str, doc: Any) -> None:
        self.get_bucket(bucket)
        with self.key_locks.hold(("doc", bucket, name)):
            write_json_atomic(self.layout.doc_path(bucket, name), {"name": name, "doc": doc},
                              fsync=self.fsync)

    def delete_bucket_doc(self, bucket: str, name: str) -> bool:
        self.get_bucket(bucket)
        with self.key_locks.hold(("doc", bucket, name)):
            try:
                os.unlink(self.layout.doc_path(bucket, name))
                return True
            except FileNotFoundError:
                return False

    def list_bucket_docs(self, bucket: str) -> Dict[str, Any]:
        self.get_bucket(bucket)
        out: Dict[str, Any] = {}
        docs = self.layout.docs_dir(bucket)
        if docs.is_dir():
            for path in docs.glob("*.json"):
                try:
                    entry = read_json(path)
                    out[str(entry["name"])] = entry["doc"]
                except (FileNotFoundError, ValueError, KeyError):
                    continue
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------ reading objects
    def head_object(self, bucket: str, key: str) -> Optional[ObjectMeta]:
        with self._lock:
            self.get_bucket(bucket)
            return self._indexes[bucket].get(key)

    def require_object(self, bucket: str, key: str) -> ObjectMeta:
        meta = self.head_object(bucket, key)
        if meta is None:
            raise EmulatorError("NoSuchKey", f"key {key!r} does not exist in bucket {bucket!r}")
        return meta

    def data_path(self, meta: ObjectMeta) -> Path:
        return self.layout.shard_dir(meta.bucket, meta.key) / meta.data_file

    def get_object(self, bucket: str, key: str) -> Tuple[ObjectMeta, Path]:
        """The committed object and the path of its body (valid until it is overwritten)."""
        meta = self.require_object(bucket, key)
        return meta, self.data_path(meta)

    def open_object(self, bucket: str, key: str) -> Tuple[ObjectMeta, BinaryIO]:
        """The object and an open binary file of its body, immune to concurrent overwrites."""
        for _ in range(8):
            meta = self.require_object(bucket, key)
            try:
                return meta, open(self.data_path(meta), "rb")
            except FileNotFoundError:
                continue  # overwritten between the index read and the open: look again
        raise EmulatorError("InternalError", f"key {key!r} kept changing while being opened")

    def read_bytes(self, bucket: str, key: str) -> bytes:
        _, fh = self.open_object(bucket, key)
        with fh:
            return fh.read()

    def list_objects(self, bucket: str, prefix: str = "", delimiter: str = "",
                     marker: str = "", max_keys: int = 1000) -> ListPage:
        with self._lock:
            self.get_bucket(bucket)
            return list_page(self._indexes[bucket], prefix, delimiter, marker, max_keys)

    # ------------------------------------------------------------------ writing objects
    def begin_write(self, bucket: str, key: str,
                    max_bytes: Optional[int] = None) -> PendingWrite:
        self.get_bucket(bucket)
        check_key(key)
        limit = self.max_object_bytes if max_bytes is None else min(max_bytes,
                                                                     self.max_object_bytes)
        return PendingWrite(self.layout.shard_dir(bucket, key), limit, fsync=self.fsync)

    def commit(self, pending: PendingWrite, bucket: str, key: str, attrs: ObjectAttrs, *,
               etag: Optional[str] = None, origin: Optional[ChangeOrigin] = None,
               generation: Optional[int] = None) -> ObjectMeta:
        """Make ``pending`` the current body of ``bucket/key``; see the module docstring."""
        if pending.directory != self.layout.shard_dir(bucket, key):
            pending.abort()
            raise ValueError("a pending write can only be committed to the key it was begun for")
        gen = generation if generation is not None else (origin.generation if origin else 0)
        data_name = self.layout.data_name(key, uuid.uuid4().hex)
        with self.key_locks.hold((bucket, key)):
            try:
                self.get_bucket(bucket)
                pending.publish(pending.directory / data_name)
            except (EmulatorError, FileNotFoundError):
                pending.abort()
                raise EmulatorError("NoSuchBucket",
                                    f"bucket {bucket!r} was deleted during the write") from None
            meta = ObjectMeta(bucket=bucket, key=key, size=pending.size,
                              etag=etag or pending.md5_hex, crc64=pending.crc64,
                              last_modified=now(), attrs=attrs, generation=gen,
                              data_file=data_name)
            try:
                write_json_atomic(self.layout.sidecar(bucket, key), meta.to_json(),
                                  fsync=self.fsync)
            except BaseException:
                (pending.directory / data_name).unlink(missing_ok=True)
                raise
            with self._lock:
                index = self._indexes.get(bucket)
                old = index.get(key) if index is not None else None
                if index is not None:
                    index.put(meta)
            if old is not None and old.data_file != data_name:
                (pending.directory / old.data_file).unlink(missing_ok=True)
        if origin is not None:
            self._emit(meta, origin, meta.generation)
        return meta

    def put_bytes(self, bucket: str, key: str, data: bytes,
                  content_type: str = "application/octet-stream",
                  meta: Optional[Mapping[str, str]] = None, generation: int = 0, *,
                  event_name: Optional[str] = "cos:ObjectCreated:Put", region: str = "",
                  request_id: str = "", headers: Optional[Mapping[str, str]] = None,
                  storage_class: str = "STANDARD") -> ObjectMeta:
        """Store ``data`` at ``bucket/key`` in one call (the CI layer's output path).

        ``meta`` are ``x-cos-meta-*`` entries (the prefix is added when missing).
        ``event_name`` is the ObjectChanged event to emit (None: emit nothing) with
        ``generation`` (0 for a user upload, source generation + 1 for a CI output).
        Blocking: from the event loop, run it in an executor.
        """
        user_meta = {}
        for name, value in (meta or {}).items():
            lname = name.lower()
            if not lname.startswith("x-cos-meta-"):
                lname = "x-cos-meta-" + lname
            user_meta[lname] = str(value)
        attrs = ObjectAttrs(content_type=content_type, meta=user_meta,
                            headers=dict(headers or {}), storage_class=storage_class)
        pending = self.begin_write(bucket, key)
        try:
            pending.write(bytes(data))
        except BaseException:
            pending.abort()
            raise
        origin = None
        if event_name:
            origin = ChangeOrigin(event_name=event_name, region=region, request_id=request_id,
                                  generation=generation)
        return self.commit(pending, bucket, key, attrs, origin=origin, generation=generation)

    def delete_object(self, bucket: str, key: str, *,
                      origin: Optional[ChangeOrigin] = None) -> Optional[ObjectMeta]:
        """Remove ``bucket/key``; returns what was removed (None: there was nothing)."""
        self.get_bucket(bucket)
        with self.key_locks.hold((bucket, key)):
            with self._lock:
                index = self._indexes.get(bucket)
                meta = index.get(key) if index is not None else None
            if meta is None:
                return None
            sidecar = self.layout.sidecar(bucket, key)
            sidecar.unlink(missing_ok=True)  # the commit point of a delete
            if self.fsync:
                fsync_dir(sidecar.parent)
            with self._lock:
                if index is not None:
                    index.remove(key)
            (sidecar.parent / meta.data_file).unlink(missing_ok=True)
        if origin is not None:
            self._emit(meta, origin, origin.generation)
        return meta

    # ------------------------------------------------------------------ events
    def _emit(self, meta: ObjectMeta, origin: ChangeOrigin, generation: int) -> None:
        region = origin.region
        if not region:
            with self._lock:
                info = self._buckets.get(meta.bucket)
            region = info.region if info else ""
        self.notifier.emit(ObjectChanged(
            bucket=meta.bucket, key=meta.key, event_name=origin.event_name, size=meta.size,
            etag=meta.etag, content_type=meta.content_type, meta=dict(meta.meta),
            storage_class=meta.storage_class, region=region, request_id=origin.request_id,
            source_ip=origin.source_ip, generation=generation))


__all__ = ["Store", "DataDirInUse", "DEFAULT_MAX_OBJECT_BYTES"]
