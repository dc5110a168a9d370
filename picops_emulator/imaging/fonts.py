"""The font ``watermark/2`` renders with, and how CI's font names map onto it.

CI renders text watermarks in one of the fonts its documentation lists (tahoma.ttf by
default, the Windows/macOS Chinese faces, Arial, Helvetica...). Those fonts are not free to
ship, so the emulator renders every one of them in a single free face with CJK coverage:
**Noto Sans SC Regular** (SIL Open Font License 1.1), installed from the
``pylopdf-fonts-zh-cn`` wheel pinned in requirements-dev.txt. It covers Latin, Simplified
Chinese and Japanese kana, so a rule renders the same on every machine: libvips is always
given the font *file* (``fontfile=``) and asks for its family by name, never a system font.

Which names CI offers, how a name is matched and the words a refused one gets are the
grammar's (``picops/grammar/fonts.py``), so validation and the engine refuse the same names
alike. Decisions on rendering (CI's behaviour is UNCONFIRMED on these):

* Every font name CI documents maps to Noto Sans SC; bold or rounded faces (ariblk.ttf,
  STHeiti Medium, 幼圆) are rendered regular. Glyph shapes and advance widths therefore
  differ from CI's, so a text watermark's box is a few percent off CI's; position rules
  (gravity, dx, dy) still hold.
* Characters the font lacks (emoji, Hangul, rare CJK) fall back to whatever fonts the
  machine's fontconfig knows, which is the one place rendering may differ between machines.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from picops.grammar.fonts import CI_FONTS, DEFAULT_FONT, font_refusal

from .errors import InvalidArgument, UnsupportedOperation

FAMILY = "Noto Sans SC"
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_PARAM = "watermark/2/font"


@dataclass(frozen=True)
class Font:
    """What libvips needs: the font file and the family name inside it."""

    requested: str   # the CI font name as the rule wrote it (or the default)
    family: str
    path: str

    def description(self, size_px: int) -> str:
        """A Pango font description (family and size; sizes are points at libvips' dpi)."""
        return f"{self.family} {size_px}"


def check_font(name: str) -> None:
    """InvalidArgument naming ``watermark/2/font`` if CI offers no font called ``name``
    (the grammar's words: validation refuses the same names alike)."""
    refusal = font_refusal(name)
    if refusal is not None:
        raise InvalidArgument(f"{FONT_PARAM}: {refusal}")


def resolve_font(name: Optional[str]) -> Font:
    """The font to render ``name`` (a CI font file name; None = CI's default) with."""
    requested = DEFAULT_FONT if name is None else name
    check_font(requested)
    return Font(requested=requested, family=FAMILY, path=str(font_file()))


@lru_cache(maxsize=1)
def font_file() -> Path:
    """The shipped font file; UnsupportedOperation if its package is not installed."""
    try:
        import pylopdf_fonts_zh_cn as package
    except ImportError:
        raise UnsupportedOperation(
            "watermark/2", f"needs the font package {FONT_PACKAGE!r} "
            f"(pinned in requirements-dev.txt) installed") from None
    path = Path(package.sans_path())
    if not path.is_file():
        raise UnsupportedOperation("watermark/2", f"cannot find its font file at {path}")
    return path


__all__ = ["Font", "check_font", "resolve_font", "font_file", "CI_FONTS", "DEFAULT_FONT", "FAMILY"]
