"""The one CI rule grammar: parse rule strings into a typed tree, print them back.

Used by config validation (``picops.config``) and by the emulator's executor,
so both read a rule exactly the same way. Pure code, no I/O.

    >>> rule = parse("imageMogr2/thumbnail/600x600/pad/1/color/IzNEM0QzRA|imageMogr2/format/webp")
    >>> rule.stages[0].get("color").text
    '#3D3D3D'
"""

from .ast import (Base64Text, Blur, Cut, Geometry, Operation, Param, Quality, Rule, Size,
                  SizeLimit)
from .parser import MAX_STAGES, parse

__all__ = ["MAX_STAGES", "Base64Text", "Blur", "Cut", "Geometry", "Operation", "Param",
           "Quality", "Rule", "Size", "SizeLimit", "parse"]
