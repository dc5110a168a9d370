"""The one YAML loader for every file picops reads (picops.yaml, serverless.yml).

:func:`read_document` reads a file into its document (:func:`read_bytes` then
:func:`parse_document`, also used alone by callers that hold the bytes) and
raises one :class:`~picops.errors.ConfigError` listing every problem: the file
cannot be read, is not UTF-8, or is not YAML that :func:`load_yaml` accepts.
Every loader (``config``, ``sidecar``, ``serverless``) goes through these.

:func:`load_yaml` parses with PyYAML's safe loader (the C one when available)
and adds what plain ``safe_load`` lacks, each reported as a
:class:`~picops.errors.Problem` placed at ``line L, column C``:

* syntax errors, as PyYAML words them;
* duplicate keys in one mapping (PyYAML silently keeps the last one: a
  duplicated ``rules:`` would drop a list of derivatives, a second
  ``timeout:`` would replace the first);
* bounds, checked before anything walks or builds the document, so a hostile
  file fails fast instead of hanging a cold start, ``picops validate`` or the
  emulator with growing memory:

  - at most :data:`MAX_BYTES` bytes of text;
  - at most :data:`MAX_DEPTH` nested collections (checked on the event
    stream, before the recursive composer could exhaust the stack);
  - no recursive alias (``routes: &r [ {...}, *r ]``);
  - at most :data:`MAX_NODES` values once every alias is expanded (a
    "billion laughs" nest of aliases is a few hundred bytes of text).

PyYAML is imported on first use only: the function's cold start reads the JSON
sidecar instead when it can (:mod:`picops.sidecar`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

from .errors import ConfigError, Problem

#: Largest YAML text read, in UTF-8 bytes. A real picops.yaml or serverless.yml is a
#: few KiB; this leaves room for thousands of routes.
MAX_BYTES = 1024 * 1024
#: Deepest nesting of mappings and sequences. picops.yaml needs 4 levels,
#: serverless.yml about 7.
MAX_DEPTH = 64
#: Most values (scalars, mappings, sequences) in the document once aliases are
#: expanded; a 1 MiB file without aliases stays far below it.
MAX_NODES = 1_000_000


def decode_text(data: bytes) -> str:
    """File bytes as YAML text: UTF-8, with universal newlines (what
    ``open(path, encoding="utf-8").read()`` gives), so marks (line, column) are
    the same whichever way the file was read.

    Raises:
        UnicodeDecodeError: ``data`` is not UTF-8.
    """
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def read_document(path: str, source: str = "", *, what: str = "the file",
                  placed: bool = False) -> Any:
    """The YAML document in the file at ``path`` (None when it is empty).

    ``source`` names the file in problems: as :class:`ConfigError`'s ``source``, or,
    with ``placed``, in front of each problem's place (``serverless.yml: line 3,
    column 1``). ``what`` is the file in "cannot read <what>: <reason>".

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 or is not acceptable
            YAML; every problem listed.
    """
    data = read_bytes(path, source, what=what, placed=placed)
    return parse_document(data, source, what=what, placed=placed)


def read_bytes(path: str, source: str = "", *, what: str = "the file",
               placed: bool = False) -> bytes:
    """The bytes of the file at ``path``; ConfigError (as :func:`read_document`
    places it) when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        reason = e.strerror or str(e)
        raise _error([Problem("", f"cannot read {what}: {reason}")], source, placed) from None


def parse_document(data: Union[bytes, str], source: str = "", *, what: str = "the file",
                   placed: bool = False) -> Any:
    """The YAML document in file bytes (decoded by :func:`decode_text`) or text;
    ConfigError (as :func:`read_document` places it) listing every problem."""
    problems: List[Problem] = []
    doc = None
    try:
        text = decode_text(data) if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        problems.append(Problem("", f"cannot read {what}: {e}"))
    else:
        doc = load_yaml(text, problems)
    if problems:
        raise _error(problems, source, placed)
    return doc


def _error(problems: Sequence[Problem], source: str, placed: bool) -> ConfigError:
    if not placed:
        return ConfigError(problems, source)
    return ConfigError([Problem(f"{source}: {p.where}" if p.where else source, p.message)
                        for p in problems])


def load_yaml(text: str, problems: List[Problem]) -> Any:
    """The document in YAML ``text``, or None when it has problems (appended to
    ``problems``) or is empty. Never raises for bad input."""
    import yaml  # deferred: see the module docstring

    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        problems.append(Problem("", f"the file is {size} bytes; picops reads YAML files of "
                                f"at most {MAX_BYTES} bytes"))
        return None
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        bound = _depth_problem(loader_cls, text)
        if bound is not None:
            problems.append(bound)
            return None
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            bound = _expansion_problem(node)
            if bound is not None:
                problems.append(bound)
                return None
            before = len(problems)
            _duplicate_keys(node, problems)
            if len(problems) > before:
                return None
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        problems.append(Problem(_error_mark(e), _yaml_message(e)))
        return None
    except RecursionError:  # belt and braces: the depth bound should prevent it
        problems.append(Problem("", f"nesting deeper than picops reads (at most {MAX_DEPTH} "
                                "levels)"))
        return None


def mark_where(mark: Any) -> str:
    """``line L, column C`` (1-based) for a PyYAML mark."""
    return f"line {mark.line + 1}, column {mark.column + 1}"


# --- bounds ---------------------------------------------------------------------------

def _depth_problem(loader_cls: Any, text: str) -> Optional[Problem]:
    """A problem when collections nest deeper than MAX_DEPTH; reads events only."""
    import yaml

    loader = loader_cls(text)
    try:
        depth = 0
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return None
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return Problem(mark_where(event.start_mark),
                                   f"nested more than {MAX_DEPTH} levels deep; picops reads "
                                   f"YAML nested at most {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _expansion_problem(root: Any) -> Optional[Problem]:
    """A problem when the node graph has a cycle (a recursive alias) or expands,
    aliases followed, to more than MAX_NODES values. Iterative: no recursion."""
    sizes: Dict[int, int] = {}
    open_nodes = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        ident = id(node)
        children = _children(node)
        if done:
            open_nodes.discard(ident)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                return Problem(mark_where(node.start_mark),
                               f"aliases expand this value to more than {MAX_NODES} values "
                               "(nested aliases, as in a 'billion laughs' file); picops "
                               "refuses it")
            sizes[ident] = total
            continue
        if ident in sizes:
            continue
        open_nodes.add(ident)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return Problem(mark_where(child.start_mark),
                               "recursive alias: this anchored value contains an alias to "
                               "itself, so it never ends")
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _children(node: Any) -> List[Any]:
    if node.id == "mapping":
        return [n for pair in node.value for n in pair]
    if node.id == "sequence":
        return list(node.value)
    return []


def _duplicate_keys(root: Any, problems: List[Problem]) -> None:
    # Each distinct node once: an aliased mapping is one mapping, reported once.
    seen_nodes = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if node.id == "mapping":
            keys = set()
            for k, _ in node.value:
                if k.id == "scalar":
                    if k.value in keys:
                        problems.append(Problem(mark_where(k.start_mark),
                                                f"duplicate key {k.value!r} in one mapping"))
                    keys.add(k.value)
        stack.extend(_children(node))


def _error_mark(e: Any) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return "" if mark is None else mark_where(mark)


def _yaml_message(e: Any) -> str:
    parts = [p for p in (getattr(e, "context", None), getattr(e, "problem", None)) if p]
    return "invalid YAML: " + ("; ".join(parts) if parts else str(e))
