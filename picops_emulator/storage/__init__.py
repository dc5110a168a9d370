"""The emulator's embedded, on-disk object store (see :mod:`.store` for the contract)."""

from .index import ListPage
from .meta import BucketInfo, ChangeOrigin, ObjectAttrs, ObjectMeta
from .multipart import PartInfo, UploadInfo
from .notifier import ChangeNotifier
from .store import DEFAULT_MAX_OBJECT_BYTES, DataDirInUse, Store

__all__ = ["Store", "ObjectMeta", "ObjectAttrs", "BucketInfo", "ChangeOrigin", "ListPage",
           "UploadInfo", "PartInfo", "ChangeNotifier", "DataDirInUse", "DEFAULT_MAX_OBJECT_BYTES"]
