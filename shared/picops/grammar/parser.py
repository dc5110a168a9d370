"""Parse a CI image-processing rule string into the typed tree of ``ast.py``.

``parse(text) -> Rule`` either returns a tree whose values are all decoded and
range-checked (so the executor never re-reads strings) or raises
:class:`picops.errors.GrammarError` whose message names the stage, interface,
parameter and offending value, e.g. ``stage 2: imageMogr2/quality: 120 is out
of range 0..100``. ``str(parse(text))`` is the canonical form of ``text`` and
``parse(str(rule)) == rule`` for every accepted rule.

Accepted shape (reference cos-ci-scf.md §5)::

    rule      = stage *( "|" stage )                  ; 1..MAX_STAGES stages
    stage     = "imageMogr2" 1*( "/" param )
              / "imageView2/" mode 1*( "/" param )      ; mode 1..5
              / "watermark/" ( "1" / "2" ) 1*( "/" param )
              / "style/" name                           ; name: [A-Za-z0-9_.-]+
    param     = name [ "/" value ]                      ; flags (strip, auto-orient) have no value

Rules of reading (decisions; per-parameter ones are in ``params.py``):

* No whitespace anywhere, no empty stage (leading/trailing/double ``|``), no
  empty segment (leading/trailing/double ``/``).
* Parameters are kept in written order. Whether a name takes a value comes
  from the interface's table, so in ``imageMogr2/strip/format/jpg`` the token
  after the flag ``strip`` is read as the next parameter name.
* A parameter given twice in one stage is rejected: CI documents no meaning
  for repeats (a later-overrides reading would silently drop the first), and a
  second operation belongs in its own ``|`` stage. ``Operation.get`` therefore
  sees at most one value per name.
* ``imageView2`` mode 0 exists only in Qiniu's API, not CI's; it is rejected.
* ``watermark/3`` and ``/4`` (blind watermarks) and CI's other interfaces
  (``imageAve``, ``imageInfo``, ...) are not supported and are rejected.
* ``style/<name>`` may appear as any stage; the executor expands it.
"""

import re
from typing import List, Optional, Sequence, Tuple

from ..constants import CI_MAX_STAGES
from ..describe import describe_value
from ..errors import GrammarError
from .ast import Operation, Param, Rule
from .params import INTERFACES, ArgError, InterfaceSpec, LazyPattern, show

MAX_STAGES = CI_MAX_STAGES  # CI: at most 10 "|" layers per rule (reference §4.6)

_EXPECTED_INTERFACES = "imageMogr2, imageView2, watermark/1, watermark/2 or style/<name>"
# Real CI interfaces picops does not implement: named as such rather than "unknown".
_UNSUPPORTED_INTERFACES = ("imageAve", "imageInfo", "exif", "QRcode", "imageSlim", "tpg",
                           "pixel")
_VIEW2_MODES = range(1, 6)
_STYLE_NAME = LazyPattern(r"[A-Za-z0-9_.-]+")
# A token that reads like a parameter name rather than a value (used after a flag).
_NAME_LIKE = LazyPattern(r"[A-Za-z][A-Za-z-]*")


def parse(text: str) -> Rule:
    """Parse a whole rule (``|``-separated stages) into a :class:`Rule`.

    Raises GrammarError for anything CI would not accept or picops cannot run;
    ``error.stage`` is the 0-based stage index when the problem is in a stage.

    >>> str(parse("imageMogr2/thumbnail/!50p|imageMogr2/format/webp/quality/80"))
    'imageMogr2/thumbnail/!50p|imageMogr2/format/webp/quality/80'
    """
    if not isinstance(text, str):
        raise GrammarError(f"rule must be a string, got {describe_value(text)}")
    if not text:
        raise GrammarError("rule is empty")
    for i, ch in enumerate(text):
        if ch.isspace():
            raise GrammarError(f"rule contains whitespace ({ch!r}) at position {i}; "
                               f"CI rules have no spaces or line breaks")
    parts = text.split("|")
    if len(parts) > MAX_STAGES:
        raise GrammarError(f"rule has {len(parts)} stages; CI allows at most {MAX_STAGES}")
    stages = []
    for i, part in enumerate(parts):
        prefix = f"stage {i + 1}: " if len(parts) > 1 else ""
        try:
            stages.append(_parse_stage(part, i, len(parts)))
        except ArgError as exc:
            raise GrammarError(prefix + exc.message, stage=i) from None
    return Rule(stages=tuple(stages))


def _parse_stage(text: str, index: int, count: int) -> Operation:
    if not text:
        if index == 0:
            raise ArgError("rule starts with '|' (empty stage)")
        if index == count - 1:
            raise ArgError("rule ends with '|' (empty stage)")
        raise ArgError("empty stage between '||'")
    tokens = text.split("/")
    _check_segments(text, tokens)
    head, rest = tokens[0], tokens[1:]
    if head == "imageMogr2":
        return Operation("imageMogr2", _parse_params(INTERFACES["imageMogr2"], rest))
    if head == "imageView2":
        mode = _view2_mode(rest)
        return Operation("imageView2", _parse_params(INTERFACES["imageView2"], rest[1:]),
                         mode=mode)
    if head == "watermark":
        mode = _watermark_mode(rest)
        spec = INTERFACES[f"watermark/{mode}"]
        return Operation("watermark", _parse_params(spec, rest[1:]), mode=mode)
    if head == "style":
        return Operation("style", style=_style_name(rest))
    raise ArgError(_unknown_interface(head))


def _check_segments(text: str, tokens: Sequence[str]) -> None:
    if tokens[0] == "":
        raise ArgError(f"{show(text)} starts with '/'; a stage starts with its interface "
                       f"({_EXPECTED_INTERFACES})")
    if tokens[-1] == "":
        raise ArgError(f"{show(text)} ends with '/'")
    if "" in tokens:
        after = tokens[tokens.index("") - 1]
        raise ArgError(f"empty segment ('//') after {show(after)}")


def _unknown_interface(head: str) -> str:
    if head in _UNSUPPORTED_INTERFACES:
        return f"interface {show(head)} is not supported (supported: {_EXPECTED_INTERFACES})"
    msg = f"unknown interface {show(head)} (expected {_EXPECTED_INTERFACES})"
    return msg + _did_you_mean(head, ("imageMogr2", "imageView2", "watermark", "style"))


def _view2_mode(rest: Sequence[str]) -> int:
    if not rest:
        raise ArgError("imageView2 needs a mode: imageView2/<1..5>/w/<W>/h/<H>")
    raw = rest[0]
    if not re.fullmatch("[0-9]+", raw):
        raise ArgError(f"imageView2 mode {show(raw)} is not a number "
                       f"(expected imageView2/<1..5>/w/<W>/h/<H>)")
    if len(raw) > 3 or int(raw) not in _VIEW2_MODES:
        shown = raw if len(raw) <= 12 else raw[:12] + "..."
        raise ArgError(f"imageView2 mode {shown} is not a CI mode (use 1..5)")
    return int(raw)


def _watermark_mode(rest: Sequence[str]) -> int:
    usage = "use watermark/1 (image) or watermark/2 (text)"
    if not rest:
        raise ArgError(f"watermark needs a mode; {usage}")
    if rest[0] in ("1", "2"):
        return int(rest[0])
    if rest[0] in ("3", "4"):
        raise ArgError(f"watermark/{rest[0]} (blind watermark) is not supported; {usage}")
    raise ArgError(f"watermark mode {show(rest[0])} is not valid; {usage}")


def _style_name(rest: Sequence[str]) -> str:
    if not rest:
        raise ArgError("style needs a name: style/<name>")
    if len(rest) > 1:
        raise ArgError(f"style takes exactly one name (style/<name>), got "
                       f"{show('/'.join(rest))}")
    if not _STYLE_NAME.fullmatch(rest[0]):
        raise ArgError(f"style name {show(rest[0])} may contain only letters, digits, "
                       f"'-', '_' and '.'")
    return rest[0]


def _parse_params(spec: InterfaceSpec, tokens: Sequence[str]) -> Tuple[Param, ...]:
    """Read ``name[/value]`` pairs in order, then run the interface's cross-checks."""
    label = spec.label
    if not tokens:
        raise ArgError(f"{label} needs at least one parameter "
                       f"(one of: {', '.join(spec.accepted())})")
    params: List[Param] = []
    previous_flag: Optional[str] = None
    i = 0
    while i < len(tokens):
        name = tokens[i]
        arg = spec.params.get(name)
        if arg is None:
            raise ArgError(_unknown_param(spec, name, previous_flag))
        if arg.rejected is not None:
            raise ArgError(f"{label}/{name}: {arg.rejected}")
        if any(p.name == name for p in params):
            raise ArgError(f"{label}/{name} is given twice; write each parameter once "
                           f"(use another '|' stage to apply an operation again)")
        if arg.is_flag:
            params.append(Param(name))
            previous_flag = name
            i += 1
            continue
        if i + 1 >= len(tokens):
            raise ArgError(f"{label}/{name} needs a value ({name}/{arg.syntax})")
        raw = tokens[i + 1]
        try:
            value = arg.decode(raw)  # type: ignore[misc]  # not a flag: decode is set
        except ArgError as exc:
            msg = f"{label}/{name}: {exc.message}"
            if raw in spec.params:
                msg += f" (is the value of '{name}' missing?)"
            raise ArgError(msg) from None
        params.append(Param(name, value))
        previous_flag = None
        i += 2
    spec.check(params)
    return tuple(params)


def _unknown_param(spec: InterfaceSpec, name: str, previous_flag: Optional[str]) -> str:
    label = spec.label
    if previous_flag is not None and not _NAME_LIKE.fullmatch(name):
        return f"{label}/{previous_flag} takes no value (got {show(name)})"
    msg = f"unknown {label} parameter {show(name)}"
    if previous_flag is not None:
        msg += f" (after '{previous_flag}', which takes no value)"
    hint = spec.hints.get(name)
    if hint is not None and hint in spec.params:
        return msg + f"; did you mean '{hint}'?"
    if hint is not None:
        return msg + f"; {hint}"
    return msg + _did_you_mean(name, spec.accepted())


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    if len(word) > 40:  # not a typo of a short name; spare difflib a long payload
        return ""
    folded = {c.lower(): c for c in choices}
    if word.lower() in folded:
        return f"; did you mean '{folded[word.lower()]}'? (names are case-sensitive)"
    # Imported here, not at the top: only a rejected rule needs it, and the module
    # would otherwise add to every cold start of the function.
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""
