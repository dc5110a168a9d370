"""``watermark/2``: render the text, in its fill colour and with its shadow, as a layer.

Decisions (CI's rendering details are UNCONFIRMED):

* ``fontsize`` is in points (CI's docs) rendered at 72 dpi, so N points are an N px em.
* The text is plain text, not markup: ``<``, ``>`` and ``&`` are drawn as written. A line
  break in the text starts a new line.
* The layer's box is the ink of the text (libvips ``text`` trims to it), grown by the
  shadow when there is one; gravity/dx/dy place that box.
* ``shadow/<S>`` (1..100): a black copy of the text, offset down-right by 6 % of the font
  size (at least 1 px), blurred with a Gaussian of sigma 4 % of the font size (at least
  0.5 px), with S % opacity, under the text. ``dissolve`` then applies to text and shadow.
* A grey fill (R = G = B) makes a grey + alpha layer, so a greyscale image stays greyscale.

Cost: a rule of a few hundred bytes (many lines of text at fontsize 1000) asks Pango for a
mask of gigabytes, rendered in one go. So a text larger than ``MEASURE_SIZE`` px is first
rendered at that size (cheap), its extent scaled up to the requested size (with a margin
for rounding: ``MEASURE_MARGIN`` plus one em each way), and what rendering that needs
(``RENDER_BYTES_PER_PIXEL``, measured: Pango's surface and libvips' copy of it) is reserved
from the job's budget *before* the full-size render.
"""

import html
import math
from typing import Sequence

from picops.grammar.ast import Base64Text

from ..budget import Budget
from ..errors import InvalidArgument
from ..fonts import Font, resolve_font
from ..libvips import pyvips
from ..source import vips_detail

DEFAULT_FONTSIZE = 13
DEFAULT_FILL = "#3D3D3D"
DPI = 72
SHADOW_OFFSET = 0.06   # of the font size
SHADOW_SIGMA = 0.04    # of the font size
MEASURE_SIZE = 16      # px: the size a large text is measured at before it is rendered
MEASURE_MARGIN = 1.1
RENDER_BYTES_PER_PIXEL = 5


def text_layer(text: str, font_name, fontsize: int, rgb: Sequence[int], shadow: int,
               budget: Budget):
    """An 8-bit RGBA (or grey + alpha) layer of ``text`` in colour ``rgb``; see the module doc.

    What the full-size render needs is reserved from ``budget`` first."""
    font = resolve_font(font_name)
    if fontsize > MEASURE_SIZE:
        small = _render(text, font, MEASURE_SIZE)
        width, height = (math.ceil(side * fontsize / MEASURE_SIZE * MEASURE_MARGIN) + fontsize
                         for side in (small.width, small.height))
        budget.reserve(width * height * RENDER_BYTES_PER_PIXEL,
                       f"watermark/2/text: rendering {_show(text)} at fontsize {fontsize} "
                       f"(about {width}x{height} px)")
    budget.check()
    mask = _render(text, font, fontsize)
    grey = rgb[0] == rgb[1] == rgb[2]
    layer = _paint(mask, rgb[:1] if grey else rgb)
    if shadow:
        layer = _with_shadow(layer, mask, fontsize, shadow, grey)
    return layer


def _render(text: str, font: Font, size: int):
    try:
        return pyvips.Image.text(html.escape(text, quote=False), font=font.description(size),
                                 fontfile=font.path, dpi=DPI)
    except pyvips.Error as e:
        raise InvalidArgument(f"watermark/2/text: cannot render {_show(text)}: "
                              f"{vips_detail(e)}") from None


def text_of(value) -> str:
    """A Base64 param's decoded text (hand-built trees may hold a plain str)."""
    return value.text if isinstance(value, Base64Text) else str(value)


def _with_shadow(layer, mask, fontsize: int, shadow: int, grey: bool):
    offset = max(1, round(fontsize * SHADOW_OFFSET))
    sigma = max(0.5, fontsize * SHADOW_SIGMA)
    reach = math.ceil(3 * sigma)           # the blur's spill around the shadow's ink
    left = max(0, reach - offset)          # how far the shadow spills left of / above the text
    width = left + mask.width + offset + reach
    height = left + mask.height + offset + reach
    spread = mask.embed(left + offset, left + offset, width, height, extend="black")
    blurred = spread.gaussblur(sigma) * (shadow / 100.0)
    shade = _paint(blurred.cast("uchar"), [0] if grey else [0, 0, 0])
    text = layer.embed(left, left, width, height, extend="background",
                       background=[0] * layer.bands)
    space = "b-w" if grey else "srgb"
    return shade.copy(interpretation=space).composite2(
        text.copy(interpretation=space), "over", compositing_space=space).cast("uchar")


def _paint(mask, colour):
    """A constant-colour image with ``mask`` as its alpha."""
    ink = mask.new_from_image(list(colour)).cast("uchar")
    return ink.bandjoin(mask).copy(interpretation="b-w" if len(colour) == 1 else "srgb")


def _show(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


__all__ = ["text_layer", "text_of", "DEFAULT_FONTSIZE", "DEFAULT_FILL"]
