"""How messages show a value they did not expect. Pure.

One place, so every "expected X, got Y" of a kind reads alike whatever module
wrote it: :func:`json_type` names the JSON type of a value in an event,
:func:`describe_value` shows a config value with its type.
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


def json_type(value: Any) -> str:
    """The JSON type of ``value``: ``object``, ``list``, ``string``, ``boolean``,
    ``number`` or ``null`` (the Python type's name for anything else)."""
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)
