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
"""

import base64
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

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


@dataclass(frozen=True)
class Geometry:
    """``imageMogr2/thumbnail/<geometry>``: which of GEOMETRY_KINDS, and its numbers."""

    kind: str
    width: Optional[int] = None
    height: Optional[int] = None
    percent: Optional[int] = None
    area: Optional[int] = None

    def __str__(self) -> str:
        return GEOMETRY_KINDS[self.kind].format(
            width=self.width, height=self.height, percent=self.percent, area=self.area)


@dataclass(frozen=True)
class Size:
    """``W x H`` with either side optional: ``crop/300x``, ``crop/x200``, ``scrop/100x100``."""

    width: Optional[int] = None
    height: Optional[int] = None

    def __str__(self) -> str:
        w = "" if self.width is None else str(self.width)
        h = "" if self.height is None else str(self.height)
        return f"{w}x{h}"


@dataclass(frozen=True)
class Cut:
    """``cut/<w>x<h>x<dx>x<dy>``: a w x h rectangle whose top-left corner is (dx, dy)."""

    width: int
    height: int
    dx: int
    dy: int

    def __str__(self) -> str:
        return f"{self.width}x{self.height}x{self.dx}x{self.dy}"


@dataclass(frozen=True)
class Quality:
    """``quality/<Q>`` (``forced`` when written ``<Q>!``); also rquality/lquality values."""

    value: int
    forced: bool = False

    def __str__(self) -> str:
        return f"{self.value}!" if self.forced else str(self.value)


@dataclass(frozen=True)
class Blur:
    """``blur/<radius>x<sigma>``."""

    radius: int
    sigma: float

    def __str__(self) -> str:
        return f"{self.radius}x{_num(self.sigma)}"


@dataclass(frozen=True)
class SizeLimit:
    """``size-limit/<N>k|m[!]``: at most ``amount`` ``unit`` bytes.

    ``!`` (``keep_smaller``) keeps whichever of input and output is smaller.
    """

    amount: int
    unit: str  # "k" or "m"
    keep_smaller: bool = False

    @property
    def bytes(self) -> int:
        return self.amount * (1024 if self.unit == "k" else 1024 * 1024)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}{'!' if self.keep_smaller else ''}"


@dataclass(frozen=True)
class Base64Text:
    """A URL-safe Base64 payload (colour, text, font name, watermark URL), stored decoded.

    Printed back unpadded URL-safe Base64, which CI accepts as well as the padded form.
    """

    text: str

    def __str__(self) -> str:
        raw = base64.urlsafe_b64encode(self.text.encode("utf-8")).decode("ascii")
        return raw.rstrip("=")


ParamValue = Union[None, int, float, str, Geometry, Size, Cut, Quality, Blur, SizeLimit,
                   Base64Text]


def _num(v: float) -> str:
    """Print a float without a trailing ``.0`` so ``5`` round-trips as ``5``."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --- tree ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """One ``/name/value`` pair (or a bare ``/name`` flag when ``value is None``)."""

    name: str
    value: ParamValue = None

    def __str__(self) -> str:
        if self.value is None:
            return self.name
        if isinstance(self.value, float):
            return f"{self.name}/{_num(self.value)}"
        return f"{self.name}/{self.value}"


@dataclass(frozen=True)
class Operation:
    """One stage of a pipeline: an interface, its mode (imageView2/watermark), its params."""

    interface: str  # "imageMogr2" | "imageView2" | "watermark" | "style"
    params: Tuple[Param, ...] = ()
    mode: Optional[int] = None  # imageView2: 1..5; watermark: 1 (image) or 2 (text)
    style: Optional[str] = None  # interface == "style": the style's name

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


@dataclass(frozen=True)
class Rule:
    """A whole rule: stages run left to right, each on the previous stage's output."""

    stages: Tuple[Operation, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return "|".join(str(s) for s in self.stages)
