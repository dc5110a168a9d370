"""The CI layer's watermark reader on a real emulator store: key decoding and missing objects."""

from functools import partial
from urllib.parse import quote

import pytest

from picops.grammar import parse
from picops_emulator.ci.service import _read_if_exists
from picops_emulator.imaging import InvalidArgument, execute
from picops_emulator.imaging.watermark_fetch import ERRNO_FETCH_FAILED, bucket_fetcher
from picops_emulator.storage.store import Store


@pytest.fixture
def store(tmp_path, wk):
    s = Store(tmp_path / "data", fsync=False)
    s.create_bucket(wk.BUCKET, wk.REGION)
    yield s
    s.close()


def test_a_watermark_object_is_read_from_the_store(wk, kit, store):
    key = "marks/水 印.png"
    store.put_bytes(wk.BUCKET, key, wk.png(wk.solid(20, 10, wk.RED)), event_name=None)
    fetch = bucket_fetcher(wk.BUCKET, partial(_read_if_exists, store, wk.BUCKET),
                           region=wk.REGION)
    mark = wk.b64(wk.url(quote(key)))          # the URL carries the key percent-encoded
    out = execute(parse(f"watermark/1/image/{mark}/dissolve/100"),
                  wk.png(wk.solid(60, 40, wk.GREY)), fetch=fetch)
    assert wk.box(kit.decode(out.data), wk.RED, tol=2) == (40, 30, 20, 10)


def test_a_missing_object_is_a_fetch_failure_not_a_storage_error(wk, store):
    fetch = bucket_fetcher(wk.BUCKET, partial(_read_if_exists, store, wk.BUCKET))
    with pytest.raises(InvalidArgument) as err:
        fetch(wk.url("marks/none.png"))
    assert err.value.ci_errno == ERRNO_FETCH_FAILED
    assert "watermark/1/image" in err.value.message
