"""How large a request header the emulator reads, and which it refuses with a COS error.

Contract:
- :data:`PARSER_FIELD_BYTES` is the hard bound handed to aiohttp's parser (``runner``:
  ``max_field_size``, a header's name and value together, and ``max_line_size``, the
  request line): a header or request line over it gets the parser's own plain-text 400
  before any middleware, and no request head can grow a connection's memory past 128 of
  them (aiohttp's cap on the count of headers). Up to it, the request line reaches the
  COS layers, so an overlong key is answered ``KeyTooLong`` in XML.
- :func:`check_header_sizes` (the edge, before auth) refuses every header between
  picops's decided limits (:mod:`picops.header_limits`, shared with the function) and that
  bound with COS's XML error, which every SDK reads: 400 ``InvalidPicOperations`` for a
  ``Pic-Operations`` over ``PIC_OPERATIONS_MAX_BYTES``, 400 ``RequestHeaderTooLarge`` for
  any other header over ``HEADER_MAX_BYTES``; the message names the header, its size and
  the limit.
"""

from __future__ import annotations

from typing import Iterable, Tuple

from picops.header_limits import HEADER_MAX_BYTES, PIC_OPERATIONS_MAX_BYTES

from ..errors import EmulatorError

#: aiohttp's bound on one header (name + value): four times the decided limit, so every
#: header a client could mean to send is read and answered in XML; beyond it, the parser's.
PARSER_FIELD_BYTES = 4 * max(HEADER_MAX_BYTES, PIC_OPERATIONS_MAX_BYTES)

_UNCONFIRMED = "picops's limit; COS and CI publish none (UNCONFIRMED)"


def check_header_sizes(raw_headers: Iterable[Tuple[bytes, bytes]]) -> None:
    """Raise ``EmulatorError`` for the first header whose value is over its limit."""
    for name, value in raw_headers:
        size = len(value)
        if name.lower() == b"pic-operations":
            if size > PIC_OPERATIONS_MAX_BYTES:
                raise EmulatorError("InvalidPicOperations", (
                    f"the Pic-Operations header is {size} bytes; at most "
                    f"{PIC_OPERATIONS_MAX_BYTES} are accepted ({_UNCONFIRMED})"))
        elif size > HEADER_MAX_BYTES:
            shown = name.decode("latin-1")[:64]
            raise EmulatorError("RequestHeaderTooLarge", (
                f"the {shown} header is {size} bytes; at most {HEADER_MAX_BYTES} are "
                f"accepted ({_UNCONFIRMED})"))
