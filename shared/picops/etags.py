"""ETags as picops compares them. Pure.

COS and CI hand ETags back quoted (``"9a03..."``) in headers, XML and listings,
and unquoted in trigger events; picops stores and compares them bare.
"""

from typing import Any


def unquote_etag(value: Any) -> str:
    """``value`` without surrounding whitespace and double quotes; "" for a
    missing or non-string value."""
    if not isinstance(value, str):
        return ""
    return value.strip().strip('"')
