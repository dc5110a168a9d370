"""Text from object keys, made safe to print on a terminal: one line, no control sequences.

Every key, bucket, message or rule that came from outside and goes to the CLI's terminal
passes through :func:`printable`, which is :func:`picops.printable.printable` (the one
escaper, shared with the emulator's readable log and ``picops.logs.json_line``): control,
separator and format characters shown as escapes (``\\x1b``, ``\\u2028``), a backslash as
``\\\\``, so what is printed is unambiguous and always one line.
"""

from picops.printable import printable

__all__ = ["printable"]
