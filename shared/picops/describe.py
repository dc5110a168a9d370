"""How messages show a value they did not expect. Pure.

One helper, so every "expected X, got Y" reads alike whatever module wrote it.
"""

from typing import Any


def describe_value(value: Any) -> str:
    """``value`` for an error message: ``'x' (a string)``, ``3 (a number)``,
    ``true (a boolean)``, ``nothing``, ``a list``, ``a mapping``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
