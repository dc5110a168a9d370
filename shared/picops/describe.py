"""How messages show a value they did not expect. Pure.

One place, so every "expected X, got Y" (or "must be X, got Y") reads alike
whatever module wrote it: :func:`describe_value` shows a value read from a file
(config, serverless.yml, a manifest) with its type, :func:`expected_type` names
what a Python type is called in such a message ("a JSON object", "true or
false"), and :func:`json_type` names the JSON type of a value in an event.
:func:`clip` bounds what any of them shows: a hostile value of a megabyte is
shown by its first :data:`SHOWN_CHARS` characters, never whole.
"""

from typing import Any

#: How many characters of a value a message shows (the rest becomes "...").
SHOWN_CHARS = 120


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to its first ``limit`` characters, with "..." when it was longer."""
    return text if len(text) <= limit else text[:limit] + "..."


def describe_value(value: Any) -> str:
    """``value`` for an error message: ``'x' (a string)``, ``3 (a number)``,
    ``true (a boolean)``, ``nothing``, ``a list``, ``a mapping``; a long string or
    number is clipped (:func:`clip`)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{clip(repr(value))} (a number)"
    if isinstance(value, str):
        return f"{clip(repr(value))} (a string)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED = {dict: "a JSON object", list: "a list", str: "a string", bool: "true or false",
             int: "a whole number"}


def expected_type(kind: type) -> str:
    """What a message says a value of Python type ``kind`` must be: ``a JSON object``,
    ``a list``, ``a string``, ``true or false``, ``a whole number``."""
    return _EXPECTED.get(kind, f"a {kind.__name__}")


def json_type(value: Any) -> str:
    """The JSON type of ``value``: ``object``, ``list``, ``string``, ``boolean``,
    ``number`` or ``null`` (the Python type's name for anything else)."""
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)
