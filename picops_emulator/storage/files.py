"""Crash-safe file writing: streamed bodies with running digests, and atomic JSON files.

Contract:
- :class:`PendingWrite` is a body being written to ``.tmp-<uuid>`` in the directory where it
  will live, hashing (MD5 and COS's CRC64-ECMA) as bytes arrive and refusing to grow past
  ``max_bytes`` (``EntityTooLarge``, raised before the offending chunk is written). It
  becomes a real file only through :meth:`PendingWrite.publish` (fsync, then ``os.replace``);
  :meth:`PendingWrite.abort` removes it. Readers never look at ``.tmp-`` files.
- :func:`write_json_atomic` writes a JSON document the same way (temp file, fsync, replace,
  directory fsync): after it returns, the new document is either fully there or, had the
  process died, the old one is.
- :func:`try_lock_exclusive` takes a non-blocking ``flock`` on a lock file, for a directory
  only one process may own (the store's data dir, the trigger journal).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Optional

import crcmod

from ..errors import EmulatorError

TMP_PREFIX = ".tmp-"

# CRC-64/XZ ("ECMA-182" reflected): what COS reports in x-cos-hash-crc64ecma and what the SDK
# checks downloads against. crcmod's C extension keeps this cheap.
_CRC64 = crcmod.Crc(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PendingWrite:
    """A body on its way into the store (see module docstring)."""

    def __init__(self, directory: Path, max_bytes: int, *, fsync: bool = True):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.tmp_path = directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        self._fh: Optional[Any] = open(self.tmp_path, "wb")
        self._md5 = hashlib.md5()
        self._crc = _CRC64.new()
        self.size = 0
        self.published = False

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            raise RuntimeError("write after the pending body was closed")
        if self.size + len(chunk) > self.max_bytes:
            self.abort()
            raise EmulatorError(
                "EntityTooLarge",
                f"the body exceeds the emulator's size cap of {self.max_bytes} bytes")
        self._fh.write(chunk)
        self._md5.update(chunk)
        self._crc.update(chunk)
        self.size += len(chunk)

    def copy_from(self, path: Path, chunk_size: int = 1 << 20) -> None:
        with open(path, "rb") as src:
            while True:
                chunk = src.read(chunk_size)
                if not chunk:
                    return
                self.write(chunk)

    @property
    def md5_digest(self) -> bytes:
        return self._md5.digest()

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    @property
    def crc64(self) -> str:
        return str(self._crc.crcValue)

    def close(self) -> None:
        """Flush and (optionally) fsync; the file stays a temp file until published."""
        if self._fh is not None:
            self._fh.flush()
            if self.fsync:
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def publish(self, final_path: Path) -> None:
        self.close()
        os.replace(self.tmp_path, final_path)
        self.published = True

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self.published:
            try:
                os.unlink(self.tmp_path)
            except FileNotFoundError:
                pass


def write_json_atomic(path: Path, doc: Any, *, fsync: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8",
                                                                             "surrogatepass")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if fsync:
        fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read().decode("utf-8", "surrogatepass"))


def try_lock_exclusive(path: Path) -> Optional[BinaryIO]:
    """Open ``path`` (created if missing) and take a non-blocking exclusive ``flock`` on it.

    Returns the open file, which holds the lock until closed, or None when another process
    holds it."""
    fh = open(path, "a+b")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


__all__ = ["PendingWrite", "write_json_atomic", "read_json", "fsync_dir", "try_lock_exclusive",
           "TMP_PREFIX"]
