"""libvips, configured for untrusted input: import ``pyvips`` from here, never directly.

Importing this module applies process-wide settings once:

* ``block_untrusted_set(True)``: loaders libvips marks as unfuzzed / unsafe for hostile
  input (ImageMagick, matio, FITS, OpenSlide, ...) refuse to run. The engine also only ever
  calls the specific loader its own magic-byte sniffing chose (``sniff.py``), so SVG, CSV,
  matrix and ``.vips`` loaders are never reached through content detection.
* The operation cache is disabled (``cache_set_max(0)``): every request brings new bytes, so
  cached operations would only pin source buffers and decoded images in memory.
"""

import pyvips

pyvips.block_untrusted_set(True)
pyvips.cache_set_max(0)
pyvips.cache_set_max_mem(0)
pyvips.cache_set_max_files(0)

# The failure level every loader gets: a truncated or corrupt file is an error (never a
# half-grey image). "error" would also reject harmless warnings many camera JPEGs trigger.
FAIL_ON = "truncated"

__all__ = ["pyvips", "FAIL_ON"]
