"""Build the ``UploadResult`` XML CI answers to persistent processing (reference §4.3).

Shape::

    <UploadResult>
      <OriginalInfo> Key, Location, ETag, [ImageInfo: Format Width Height Quality Ave
                     Orientation FrameCount] </OriginalInfo>
      <ProcessResults> one <Object> per rule, in rule order: Key Location Format Width
                     Height Size Quality ETag FrameCount </ProcessResults>
    </UploadResult>

Complete Multipart Upload with ``Pic-Operations`` answers the same two blocks inside
``<CompleteMultipartUploadResult>``, after its usual Location, Bucket, Key and ETag
(the Java SDK reads ``CompleteMultipartUploadResult/ProcessResults/Object``; the
Python SDK merges the root's children into one dict and requires ``ETag``).

Decisions on UNCONFIRMED points: ``OriginalInfo`` (Key, Location, ETag) is
always present and ``ImageInfo`` only when ``is_pic_info`` is 1; ``Location``
is ``<bucket>.cos.<region>.myqcloud.com/<raw key>`` with no scheme, as in the
documented samples; ETags are the stored objects' quoted MD5 ETags (the COS
store's own value, so a later HEAD agrees); ``Object/Format`` is lower-case,
``ImageInfo/Format`` upper-case, as in the official sample.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

from ..imaging import ImageInfo
from ..cosxml import Child, document


@dataclass(frozen=True)
class ProcessedObject:
    bucket: str
    key: str
    format: str
    width: int
    height: int
    size: int
    quality: int
    etag: str  # unquoted
    frame_count: int = 1


def location(bucket: str, region: str, key: str) -> str:
    return f"{bucket}.cos.{region}.myqcloud.com/{key}"


def build_upload_result(*, bucket: str, region: str, key: str, etag: str,
                        image_info: Optional[ImageInfo],
                        objects: Sequence[ProcessedObject], root: str = "UploadResult",
                        lead: Sequence[Child] = ()) -> bytes:
    """The result document; ``lead`` children come first (Complete Multipart Upload puts its
    own Location, Bucket, Key and ETag there)."""
    original: List[Child] = [("Key", key), ("Location", location(bucket, region, key)),
                             ("ETag", f'"{etag}"')]
    if image_info is not None:
        i = image_info
        original.append(("ImageInfo", [
            ("Format", i.format), ("Width", i.width), ("Height", i.height),
            ("Quality", i.quality), ("Ave", i.ave), ("Orientation", i.orientation),
            ("FrameCount", i.frame_count)]))
    results: List[Child] = [("Object", [
        ("Key", o.key), ("Location", location(o.bucket, region, o.key)), ("Format", o.format),
        ("Width", o.width), ("Height", o.height), ("Size", o.size), ("Quality", o.quality),
        ("ETag", f'"{o.etag}"'), ("FrameCount", o.frame_count)]) for o in objects]
    return document(root, [*lead, ("OriginalInfo", original), ("ProcessResults", results)])
