"""fileid templates: their syntax, their checks, and the fields of a source key. Pure.

A template is a path with placeholders, e.g. ``/thumbs/{dir}/{stem}_400.webp``:

* ``{key}`` the whole source key, ``{dir}`` its folder (no trailing ``/``, "" at
  the root), ``{name}`` its last segment, ``{stem}`` the name without its last
  extension, ``{ext}`` that extension without the dot ("" when the name has no
  dot). ``a/b/photo.tar.gz`` -> dir ``a/b``, name ``photo.tar.gz``, stem
  ``photo.tar``, ext ``gz``; ``a/.hidden`` -> stem "", ext ``hidden``.
* A leading ``/`` means "from the bucket root"; without it the path is relative
  to the source object's folder (CI's rule, applied by
  :func:`picops.routing.resolve_ci_fileid`).
* A segment made only of placeholders that all render empty is dropped, so an
  empty ``{dir}`` never leaves ``//`` or a leading ``/`` behind.

This module parses a template once (:func:`parse_template`, cached) into
segments of literal text and :class:`Slot` placeholders, lists what is wrong with
one (:func:`template_problems`, used by config validation) and splits a key into
its fields (:func:`key_fields`). Rendering lives in :mod:`picops.routing`; the
loop-safety proof reads the same parsed structure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, List, NamedTuple, Tuple, Union

#: The placeholders a template may use, in the order the docs list them.
PLACEHOLDERS = ("key", "dir", "name", "stem", "ext")

_TOKEN = re.compile(r"\{([^{}/]*)\}")


class Slot(NamedTuple):
    """A placeholder in a template, e.g. ``{stem}``."""

    name: str

    def __str__(self) -> str:
        return "{" + self.name + "}"


Part = Union[str, Slot]


class Template(NamedTuple):
    """A parsed fileid template: ``absolute`` when it starts with ``/``; ``segments``
    are the ``/``-separated pieces, each a tuple of literal strings and slots."""

    text: str
    absolute: bool
    segments: Tuple[Tuple[Part, ...], ...]


def template_problems(text: str) -> List[str]:
    """Everything wrong with a fileid template, as messages (empty when valid)."""
    if not text:
        return ["empty fileid"]
    problems: List[str] = []
    if text.endswith("/"):
        problems.append(f"{text!r} ends with '/': CI would write an object with an empty name")
    body = text[1:] if text.startswith("/") else text
    raw_segments = body.split("/")
    for i, raw in enumerate(raw_segments):
        parts, bad = _split_segment(raw)
        problems.extend(f"{text!r}: {b}" for b in bad)
        literal_only = all(isinstance(p, str) for p in parts)
        if literal_only and raw in (".", ".."):
            problems.append(f"{text!r} has a {raw!r} segment: output keys are taken literally "
                            "and must not climb or repeat folders")
        elif literal_only and raw == "" and i < len(raw_segments) - 1:
            problems.append(f"{text!r} has an empty segment ('//')")
    return problems


@lru_cache(maxsize=256)
def parse_template(text: str) -> Template:
    """The parsed form of a valid template.

    Raises:
        ValueError: the template is invalid (see :func:`template_problems`).
    """
    problems = template_problems(text)
    if problems:
        raise ValueError("; ".join(problems))
    absolute = text.startswith("/")
    body = text[1:] if absolute else text
    segments = tuple(tuple(_split_segment(raw)[0]) for raw in body.split("/"))
    return Template(text=text, absolute=absolute, segments=segments)


def key_fields(key: str) -> Dict[str, str]:
    """The placeholder values for a source key (see the module docstring)."""
    slash = key.rfind("/")
    name = key[slash + 1:]
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot + 1:]) if dot >= 0 else (name, "")
    return {"key": key, "dir": key[:slash] if slash >= 0 else "", "name": name,
            "stem": stem, "ext": ext}


def _split_segment(raw: str) -> Tuple[List[Part], List[str]]:
    """A segment's literal and placeholder parts, and what is wrong with it."""
    parts: List[Part] = []
    problems: List[str] = []
    pos = 0
    for m in _TOKEN.finditer(raw):
        if m.start() > pos:
            parts.append(raw[pos:m.start()])
        name = m.group(1)
        if name in PLACEHOLDERS:
            parts.append(Slot(name))
        else:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            problems.append(f"unknown placeholder '{{{name}}}' (known: {known})")
            parts.append(m.group(0))
        pos = m.end()
    if pos < len(raw):
        parts.append(raw[pos:])
    for p in parts:
        if isinstance(p, str) and not _TOKEN.fullmatch(p) and ("{" in p or "}" in p):
            problems.append(f"unbalanced brace in {p!r}: placeholders are written {{name}}")
    return parts, problems
