"""The parse tree of a CI image-processing rule: the contract between users.

``picops.grammar.parse(text)`` returns a :class:`Rule`; ``str(rule)`` prints it
back in canonical form, and ``parse(str(rule)) == rule`` for every rule the
parser accepts. Three users read this tree and nothing else:

* config validation (``picops.config``) only needs "does it parse";
* ``picops explain`` / ``picops preview`` show it;
* the emulator's executor (``picops_emulator.imaging``) runs it on libvips.

Shape::

    Rule(stages=(Operation, ...))              # the "|" pipeline, 1..10 stages
    Operation(interface, params=(Param, ...))  # one stage
    Param(name, value)                         # one "/name/value" pair, in written order

``interface`` is one of ``imageMogr2``, ``imageView2``, ``watermark`` (``mode``
1 = image, 2 = text) or ``style`` (a bucket style by name, ``params`` empty).
For ``imageView2`` the mode (1..5; the parser rejects Qiniu's 0) is ``Operation.mode``.

A param's ``value`` is a typed value decoded once by the parser: ``None`` for a
bare flag (``strip``, ``auto-orient``), ``int``, ``float``, ``str`` (gravity,
format, flip direction; Base64 payloads are stored *decoded*), or one of the
small value classes below. Every value class prints itself back in CI syntax.

Every class here is immutable (assigning raises ``dataclasses.FrozenInstanceError``),
compares and hashes by its fields, and has a dataclass-style ``repr``.

Why not ``@dataclass(frozen=True)``: creating a dataclass generates and
``exec``s its methods at import, about 0.3 ms per class, and this module is
imported on every cold start of the function. :class:`_Frozen` gives the same
behaviour from plain methods written once; each class only lists its fields in
``__slots__`` (in ``__init__``'s order, which ``repr``, equality, hashing and
pickling follow) and writes its ``__init__``.
"""

import base64
from dataclasses import FrozenInstanceError  # the module is loaded anyway (picops.errors)
from typing import Any, Optional, Tuple, Union

_set = object.__setattr__  # how __init__ writes fields past _Frozen.__setattr__


class _Frozen:
    """Immutable record base: fields are the subclass's ``__slots__``."""

    __slots__ = ()

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> Any:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> Tuple[Any, ...]:
        # pickle and copy rebuild through __init__ (they would otherwise set slots
        # one by one, which __setattr__ refuses).
        return (self.__class__, self._values())


# --- value classes -----------------------------------------------------------------

#: Thumbnail geometry kinds, with the CI syntax each one prints as.
GEOMETRY_KINDS = {
    "percent": "!{percent}p",        # both sides to P %
    "percent_width": "!{percent}px",  # width to P %, height unchanged
    "percent_height": "!x{percent}p",  # height to P %, width unchanged
    "width": "{width}x",              # width W, height proportional
    "height": "x{height}",            # height H, width proportional
    "fit": "{width}x{height}",        # fit inside WxH (may enlarge)
    "shrink": "{width}x{height}>",    # fit inside WxH, only ever shrinks
    "enlarge": "{width}x{height}<",   # fit inside WxH, only ever enlarges
    "cover": "!{width}x{height}r",    # cover WxH (minimum sides), no crop
    "exact": "{width}x{height}!",     # exactly WxH, aspect ignored
    "area": "{area}@",                # at most A pixels, proportional
}
#: The geometries ``pad/1`` can centre on a box: the ones giving a WxH box to fill.
PAD_GEOMETRY_KINDS = ("fit", "shrink", "enlarge", "exact")


class Geometry(_Frozen):
    """``imageMogr2/thumbnail/<geometry>``: which of GEOMETRY_KINDS, and its numbers."""

    __slots__ = ("kind", "width", "height", "percent", "area")
    kind: str
    width: Optional[int]
    height: Optional[int]
    percent: Optional[int]
    area: Optional[int]

    def __init__(self, kind: str, width: Optional[int] = None, height: Optional[int] = None,
                 percent: Optional[int] = None, area: Optional[int] = None):
        _set(self, "kind", kind)
        _set(self, "width", width)
        _set(self, "height", height)
        _set(self, "percent", percent)
        _set(self, "area", area)

    def __str__(self) -> str:
        return GEOMETRY_KINDS[self.kind].format(
            width=self.width, height=self.height, percent=self.percent, area=self.area)


class Size(_Frozen):
    """``W x H`` with either side optional: ``crop/300x``, ``crop/x200``, ``scrop/100x100``."""

    __slots__ = ("width", "height")
    width: Optional[int]
    height: Optional[int]

    def __init__(self, width: Optional[int] = None, height: Optional[int] = None):
        _set(self, "width", width)
        _set(self, "height", height)

    def __str__(self) -> str:
        w = "" if self.width is None else str(self.width)
        h = "" if self.height is None else str(self.height)
        return f"{w}x{h}"


class Cut(_Frozen):
    """``cut/<w>x<h>x<dx>x<dy>``: a w x h rectangle whose top-left corner is (dx, dy)."""

    __slots__ = ("width", "height", "dx", "dy")
    width: int
    height: int
    dx: int
    dy: int

    def __init__(self, width: int, height: int, dx: int, dy: int):
        _set(self, "width", width)
        _set(self, "height", height)
        _set(self, "dx", dx)
        _set(self, "dy", dy)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}x{self.dx}x{self.dy}"


class Quality(_Frozen):
    """``quality/<Q>`` (``forced`` when written ``<Q>!``); also rquality/lquality values."""

    __slots__ = ("value", "forced")
    value: int
    forced: bool

    def __init__(self, value: int, forced: bool = False):
        _set(self, "value", value)
        _set(self, "forced", forced)

    def __str__(self) -> str:
        return f"{self.value}!" if self.forced else str(self.value)


class Blur(_Frozen):
    """``blur/<radius>x<sigma>``."""

    __slots__ = ("radius", "sigma")
    radius: int
    sigma: float

    def __init__(self, radius: int, sigma: float):
        _set(self, "radius", radius)
        _set(self, "sigma", sigma)

    def __str__(self) -> str:
        return f"{self.radius}x{_num(self.sigma)}"


class SizeLimit(_Frozen):
    """``size-limit/<N>k|m[!]``: at most ``amount`` ``unit`` bytes.

    ``!`` (``keep_smaller``) keeps whichever of input and output is smaller.
    """

    __slots__ = ("amount", "unit", "keep_smaller")
    amount: int
    unit: str  # "k" or "m"
    keep_smaller: bool

    def __init__(self, amount: int, unit: str, keep_smaller: bool = False):
        _set(self, "amount", amount)
        _set(self, "unit", unit)
        _set(self, "keep_smaller", keep_smaller)

    @property
    def bytes(self) -> int:
        return self.amount * (1024 if self.unit == "k" else 1024 * 1024)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}{'!' if self.keep_smaller else ''}"


class Base64Text(_Frozen):
    """A URL-safe Base64 payload (colour, text, font name, watermark URL), stored decoded.

    Printed back unpadded URL-safe Base64, which CI accepts as well as the padded form.
    """

    __slots__ = ("text",)
    text: str

    def __init__(self, text: str):
        _set(self, "text", text)

    def __str__(self) -> str:
        raw = base64.urlsafe_b64encode(self.text.encode("utf-8")).decode("ascii")
        return raw.rstrip("=")


ParamValue = Union[None, int, float, str, Geometry, Size, Cut, Quality, Blur, SizeLimit,
                   Base64Text]


def _num(v: float) -> str:
    """Print a float without a trailing ``.0`` so ``5`` round-trips as ``5``."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --- tree ---------------------------------------------------------------------------

class Param(_Frozen):
    """One ``/name/value`` pair (or a bare ``/name`` flag when ``value is None``)."""

    __slots__ = ("name", "value")
    name: str
    value: ParamValue

    def __init__(self, name: str, value: ParamValue = None):
        _set(self, "name", name)
        _set(self, "value", value)

    def __str__(self) -> str:
        if self.value is None:
            return self.name
        if isinstance(self.value, float):
            return f"{self.name}/{_num(self.value)}"
        return f"{self.name}/{self.value}"


class Operation(_Frozen):
    """One stage of a pipeline: an interface, its mode (imageView2/watermark), its params."""

    __slots__ = ("interface", "params", "mode", "style")
    interface: str  # "imageMogr2" | "imageView2" | "watermark" | "style"
    params: Tuple[Param, ...]
    mode: Optional[int]  # imageView2: 1..5; watermark: 1 (image) or 2 (text)
    style: Optional[str]  # interface == "style": the style's name

    def __init__(self, interface: str, params: Tuple[Param, ...] = (),
                 mode: Optional[int] = None, style: Optional[str] = None):
        _set(self, "interface", interface)
        _set(self, "params", params)
        _set(self, "mode", mode)
        _set(self, "style", style)

    def get(self, name: str, default: ParamValue = None) -> ParamValue:
        """The value of the ``name`` param, else default.

        The parser rejects a name given twice in one stage; for hand-built trees
        the last one wins.
        """
        for p in reversed(self.params):
            if p.name == name:
                return p.value
        return default

    def has(self, name: str) -> bool:
        return any(p.name == name for p in self.params)

    def __str__(self) -> str:
        if self.interface == "style":
            return f"style/{self.style}"
        head = self.interface if self.mode is None else f"{self.interface}/{self.mode}"
        return "/".join([head] + [str(p) for p in self.params])


class Rule(_Frozen):
    """A whole rule: stages run left to right, each on the previous stage's output."""

    __slots__ = ("stages",)
    stages: Tuple[Operation, ...]

    def __init__(self, stages: Tuple[Operation, ...] = ()):
        _set(self, "stages", stages)

    def __str__(self) -> str:
        return "|".join(str(s) for s in self.stages)
