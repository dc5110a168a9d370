"""One case-insensitive header lookup, used by every reader of a header or event meta."""

import pytest

from picops import mark
from picops.errors import CloudError
from picops.headers import header
from picops.manifest_store import etag_of


@pytest.mark.parametrize("headers", [{"ETag": '"abc"'}, {"etag": '"abc"'}, {"ETAG": '"abc"'}])
def test_a_header_is_found_in_any_case(headers):
    assert header(headers, "etag") == header(headers, "ETag") == '"abc"'


@pytest.mark.parametrize("headers", [None, [], "ETag: x", {"ETag": 3}, {1: "x"}, {}])
def test_no_mapping_no_name_or_no_string_value_is_none(headers):
    assert header(headers, "etag") is None


def test_the_users_read_the_same_names_alike():
    headers = {"ETAG": ' "abc" ', "X-Cos-Meta-Picops-Processed": " 1.h.p "}
    assert etag_of(headers, "b-1250000000", "k") == "abc"
    assert mark.read(headers) == "1.h.p"
    with pytest.raises(CloudError, match="without an ETag"):
        etag_of({"ETag": 7}, "b-1250000000", "k")
