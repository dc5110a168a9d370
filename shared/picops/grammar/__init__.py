"""The one CI rule grammar: parse rule strings into a typed tree, print them back.

Used by config validation (``picops.config``) and by the emulator's executor,
so both read a rule exactly the same way. Pure code, no I/O.
"""

from .ast import (Base64Text, Blur, Cut, Geometry, Operation, Param, Quality, Rule, Size,
                  SizeLimit)

__all__ = ["Base64Text", "Blur", "Cut", "Geometry", "Operation", "Param", "Quality", "Rule",
           "Size", "SizeLimit"]
