"""The font names ``watermark/2/font`` may give, and how a name is matched: the one list.

CI documents a closed list of fonts for text watermarks (tahoma.ttf by default, the
Windows/macOS Chinese faces, Arial, Helvetica...). The grammar refuses any other name (so
``picops validate`` says so before a deploy), and the emulator's engine
(``picops_emulator/imaging/fonts.py``) maps exactly these names onto the face it renders
with; both ask :func:`font_refusal`, so they refuse the same names in the same words.

Decisions (CI's behaviour is UNCONFIRMED on these):

* Names are matched ignoring case, spaces, ``-`` and ``_``, and with or without the Chinese
  part CI's Chinese docs write into them (``simhei黑体.ttf`` == ``SimHei.ttf``).
* A name CI does not list is refused rather than rendered in another face: CI documents a
  closed list, and a rule should never mean less than it says.

Pure code, no I/O; the comparison keys are built on first use (this module loads on every
cold start of the function).
"""

import re
from typing import Dict, Optional

#: CI's default when a rule gives no font.
DEFAULT_FONT = "tahoma.ttf"

#: CI's documented font names, as written in its docs (Chinese and international editions).
CI_FONTS = (
    "tahoma.ttf", "simfang仿宋.ttf", "simhei黑体.ttf", "simkai楷体.ttf", "simsun宋体.ttc",
    "STHeiti Light华文黑体.ttc", "STHeiti Medium.ttc", "幼圆.TTF", "YouYuan.ttf",
    "ahronbd.ttf", "arial.ttf", "ariblk.ttf", "Helvetica.dfont", "HelveticaNeue.dfont",
)

#: How long a refused name may be when a message quotes it (a hostile rule can be long).
_SHOWN_CHARS = 80

_known: Dict[str, str] = {}


def font_key(name: str) -> str:
    """Comparison key: lower case, no separators, no CJK (unless that is all there is)."""
    folded = re.sub(r"[\s\-_]", "", name.lower())
    ascii_only = re.sub(r"[^a-z0-9.]", "", folded)
    return folded if ascii_only.startswith(".") or not ascii_only else ascii_only


def ci_font(name: str) -> Optional[str]:
    """The documented name ``name`` matches (as CI_FONTS writes it), or None."""
    if not _known:
        _known.update((font_key(n), n) for n in CI_FONTS)
    return _known.get(font_key(name))


def font_refusal(name: str) -> Optional[str]:
    """Why ``name`` is not a font CI offers (None: it is one); without the parameter's
    label, which the grammar and the engine each prefix as ``watermark/2/font: ``."""
    if ci_font(name) is not None:
        return None
    shown = name if len(name) <= _SHOWN_CHARS else name[:_SHOWN_CHARS] + "..."
    return f"{shown!r} is not a font CI offers; use one of {', '.join(CI_FONTS)}"


__all__ = ["CI_FONTS", "DEFAULT_FONT", "ci_font", "font_key", "font_refusal"]
