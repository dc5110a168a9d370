"""The in-memory, sorted index of one bucket's committed objects, and v1 listing over it.

Contract:
- :class:`BucketIndex` maps key -> :class:`ObjectMeta` and keeps keys sorted by code point,
  which is the same order as COS's UTF-8 byte order. It is rebuilt from sidecars at start;
  callers serialise access (the store holds its lock around every call).
- :func:`list_page` implements GET Bucket (v1) semantics: keys ``> marker`` that start with
  ``prefix``; with a ``delimiter``, keys whose remainder after the prefix contains it are
  rolled up into one common prefix (counted once against ``max_keys``). Every returned entry,
  key or common prefix, sorts after ``marker``, so passing back ``next_marker`` (the last
  entry returned) never repeats an entry. ``truncated`` says whether anything follows.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .meta import ObjectMeta


class BucketIndex:
    def __init__(self) -> None:
        self._keys: List[str] = []
        self._metas: Dict[str, ObjectMeta] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> Optional[ObjectMeta]:
        return self._metas.get(key)

    def put(self, meta: ObjectMeta) -> None:
        if meta.key not in self._metas:
            bisect.insort(self._keys, meta.key)
        self._metas[meta.key] = meta

    def remove(self, key: str) -> Optional[ObjectMeta]:
        meta = self._metas.pop(key, None)
        if meta is not None:
            i = bisect.bisect_left(self._keys, key)
            del self._keys[i]
        return meta

    def keys_from(self, start: str) -> "_KeyIter":
        return _KeyIter(self._keys, bisect.bisect_left(self._keys, start))


class _KeyIter:
    def __init__(self, keys: List[str], pos: int):
        self.keys, self.pos = keys, pos

    def skip_prefix(self, prefix: str) -> None:
        while self.pos < len(self.keys) and self.keys[self.pos].startswith(prefix):
            self.pos += 1

    def next(self) -> Optional[str]:
        if self.pos >= len(self.keys):
            return None
        key = self.keys[self.pos]
        self.pos += 1
        return key


@dataclass
class ListPage:
    contents: List[ObjectMeta] = field(default_factory=list)
    common_prefixes: List[str] = field(default_factory=list)
    truncated: bool = False
    next_marker: str = ""


def list_page(index: BucketIndex, prefix: str = "", delimiter: str = "", marker: str = "",
              max_keys: int = 1000) -> ListPage:
    page = ListPage()
    if max_keys <= 0:
        return page
    it = index.keys_from(max(prefix, marker))
    count = 0
    last = ""
    while True:
        key = it.next()
        if key is None or not key.startswith(prefix):
            break
        if key <= marker:
            continue
        entry_is_prefix = False
        entry = key
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                entry = key[:cut + len(delimiter)]
                entry_is_prefix = True
                # every key under this common prefix rolls up into it: skip them all
                it.skip_prefix(entry)
                if entry <= marker:
                    continue
        if count >= max_keys:
            page.truncated = True
            break
        if entry_is_prefix:
            page.common_prefixes.append(entry)
        else:
            meta = index.get(key)
            if meta is not None:
                page.contents.append(meta)
        count += 1
        last = entry
    if page.truncated:
        page.next_marker = last
    return page


__all__ = ["BucketIndex", "ListPage", "list_page"]
