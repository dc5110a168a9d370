"""Reading a header by name, as HTTP and COS mean it: in any case. Pure.

COS answers ``ETag`` and ``x-cos-request-id``; the SDK hands back the headers as it got
them; events carry the object's headers and user metadata in ``meta`` with whatever case
the uploader wrote. Every lookup of one header goes through :func:`header`.
"""

from typing import Any, Mapping, Optional


def header(headers: Any, name: str) -> Optional[str]:
    """The value of header ``name`` (any case) in ``headers``; None when ``headers`` is
    not a mapping or holds no string value under that name."""
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return None


__all__ = ["header"]
