"""What the storage layer tells the trigger layer after a change is committed.

The COS side of the emulator emits one :class:`ObjectChanged` per committed
create or delete (after the sidecar rename, never before); the trigger layer
(``picops_emulator.triggers``) matches it against serverless.yml's COS triggers
and delivers SCF events. The two sides know nothing else of each other.
"""

from dataclasses import dataclass, field
from typing import Callable, Dict


@dataclass(frozen=True)
class ObjectChanged:
    bucket: str                 # "name-appid"
    key: str                    # raw object key, exactly as stored
    event_name: str             # "cos:ObjectCreated:Put" | ":Post" | ":Copy" |
                                # ":CompleteMultipartUpload" | "cos:ObjectRemove:Delete"
    size: int = 0
    etag: str = ""              # unquoted MD5 hex (multipart: "<md5>-<parts>")
    content_type: str = ""
    meta: Dict[str, str] = field(default_factory=dict)  # x-cos-meta-* as stored
    storage_class: str = "STANDARD"
    region: str = "ap-guangzhou"  # from the request's Host header
    request_id: str = ""
    source_ip: str = "127.0.0.1"
    # How many trigger -> CI-output generations led here: 0 for a user's upload,
    # source generation + 1 for an object written by CI persistent processing.
    # The trigger layer's loop guard refuses to deliver past a maximum.
    generation: int = 0


#: A listener registered with the server; called from the server's thread, must not block.
ChangeListener = Callable[[ObjectChanged], None]

__all__ = ["ObjectChanged", "ChangeListener"]
