"""How large a request header picops lets through, for the function and the emulator (pure).

COS and CI publish no limit on a request header that we could find (COS documents only
``x-cos-meta-*``: 2 KB per header, 4 KB in all), yet every HTTP front end has one (8 KiB per
header line is the common default of nginx and aiohttp alike). So picops decides:

* :data:`PIC_OPERATIONS_MAX_BYTES`: the ``Pic-Operations`` header value, as sent (compact
  ASCII JSON, :func:`picops.routing.pic_operations_header`), is at most 8 KiB. The function
  refuses a call over it before sending anything (:func:`picops.routing.plan`),
  ``picops validate`` reports a route whose rules can make one (:mod:`picops.validation`),
  and the emulator answers 400 ``InvalidPicOperations``.
* :data:`HEADER_MAX_BYTES`: any other request header value is at most 8 KiB too; the
  emulator answers 400 ``RequestHeaderTooLarge`` naming the header.

Decision (UNCONFIRMED for real COS/CI, which may allow more or less): to change a limit,
change this module (and the README's decisions row) only.
"""

#: The ``Pic-Operations`` header value, in bytes (UNCONFIRMED: CI documents no limit).
PIC_OPERATIONS_MAX_BYTES = 8192
#: Any other request header value, in bytes (UNCONFIRMED: COS documents no limit).
HEADER_MAX_BYTES = 8192

