"""Per-interface parameter tables of the CI rule grammar: the parser's registry.

Each interface (``imageMogr2``, ``imageView2``, ``watermark/1``, ``watermark/2``)
has an :class:`InterfaceSpec` holding a table ``name -> ArgSpec`` and one
cross-parameter check. An :class:`ArgSpec` says whether the parameter is a bare
flag, and if not how to decode and range-check its value into the typed value
the parse tree holds; that value's class prints it back in CI syntax (see
``ast.py``). The parser walks tokens and looks names up here; it has no
per-parameter knowledge of its own. Pure code, no I/O.

Decoders raise :class:`ArgError` with a reason such as ``120 is out of range
0..100``; the parser prefixes the interface, parameter and stage.

Import cost matters (this module loads on every cold start of the function):
regular expressions are :class:`LazyPattern` (compiled on first use, so a
config only pays for the forms it uses) and the spec classes are plain slotted
classes rather than dataclasses (see ``ast.py`` for why).

Decisions on points the reference (cos-ci-scf.md §5) leaves open or
UNCONFIRMED; each is a deliberate choice, changed here and nowhere else:

* Numbers are ASCII digits (``-`` only where negatives are meaningful: bright,
  contrast); leading zeros are accepted and dropped when printed.
* Pixel sizes (thumbnail, crop, cut, scrop, radii, imageView2 w/h, watermark
  dx/dy) must be 1..MAX_SIDE (offsets 0..MAX_SIDE). MAX_SIDE is the largest
  side CI documents for any image (50 000 px); the tighter 9 999 px *output*
  limit is checked by the executor at run time, because ``ignore-error/1``
  applies to exactly that kind of failure.
* Thumbnail percentages are 1..1000; ``<Area>@`` is 1..MAX_SIDE².
* ``cut`` offsets may be 0 (the docs say "> 0", which would forbid cutting from
  the top-left corner, the most common case).
* ``blur`` sigma must be 0.01..1000 (CI: "> 0"); the bounds keep the value
  printable as a plain decimal that CI can read back.
* ``size-limit`` is at most 1 GiB; units are lower-case ``k``/``m`` only.
* ``format``, ``flip`` and units are accepted lower-case only (as documented);
  gravity is accepted in any case (CI's own samples write ``SouthEast``) and
  stored lower-case.
* ``dx``/``dy`` are documented only for watermarks; in imageMogr2 they are
  rejected (use ``cut`` for an offset crop). ``rcrop`` (syntax not pinned down),
  ``minsize``/``minisize`` (not in CI's docs) are rejected with a reason.
* ``imageView2`` formats are the five its docs list: jpg, bmp, gif, png, webp.
* Things CI would silently ignore are rejected, so a rule never means less than
  it says: ``gravity`` without ``crop``; ``pad`` without a ``thumbnail`` giving
  both width and height; ``color`` without ``pad``; more than one of
  quality/rquality/lquality (q/rq/lq); ``degree`` without ``batch``;
  ``scatype`` without ``spcent`` and vice versa.
* A watermark image URL must be ``http://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>``
  (the docs make ``http://`` and that host form mandatory); whether it is the
  *same* bucket is checked where the bucket is known (the executor).
* ``fontsize`` is 1..1000 points (no documented bound); ``text`` and ``font``
  must decode to non-empty UTF-8, and ``font`` must name a font CI documents
  (the list and the matching rule are in ``fonts.py``; the engine asks the same).
"""

import base64
import binascii
import re
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from .ast import (GEOMETRY_KINDS, PAD_GEOMETRY_KINDS, Base64Text, Blur, Cut, Geometry, Param,
                  ParamValue, Quality, Size, SizeLimit, _Frozen, _set)
from .fonts import DEFAULT_FONT, font_refusal

MAX_SIDE = 50_000
MAX_PERCENT = 1000
MAX_SIZE_LIMIT_BYTES = 1024 * 1024 * 1024
MAX_FONTSIZE = 1000

GRAVITIES = ("northwest", "north", "northeast", "west", "center", "east",
             "southwest", "south", "southeast")
MOGR_FORMATS = ("jpg", "jpeg", "png", "webp", "gif", "bmp", "avif", "heif", "heic", "tiff",
                "tpg", "yjpeg", "apng", "psd")
VIEW_FORMATS = ("jpg", "bmp", "gif", "png", "webp")
FLIPS = ("vertical", "horizontal")

# How each geometry kind is written, for "expected forms" in messages.
GEOMETRY_FORMS = "!Pp, !Ppx, !xPp, Wx, xH, WxH, WxH>, WxH<, !WxHr, WxH!, A@"

_DIGITS = "[0-9]+"  # never \d: it matches non-ASCII digits that int() would accept
_MAX_DIGITS = 12    # longer numbers are out of every range; int() is never asked to try


class ArgError(Exception):
    """A value (or a combination of params) is invalid; ``message`` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LazyPattern:
    """A regular expression compiled on its first ``fullmatch``, then kept."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._compiled: "Optional[re.Pattern[str]]" = None

    def fullmatch(self, text: str) -> "Optional[re.Match[str]]":
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.fullmatch(text)


_INT = LazyPattern(_DIGITS)
# A negative number where only non-negatives make sense reads better as
# "out of range" than as "not an integer", so the sign is always accepted here.
_SIGNED_INT = LazyPattern("-?" + _DIGITS)


Decoder = Callable[[str], ParamValue]


class ArgSpec(_Frozen):
    """One parameter: how its value is written, what it does, how to decode it.

    ``decode is None`` marks a bare flag (``strip``). ``rejected`` marks a name
    that looks plausible but that picops refuses, with the reason.
    """

    __slots__ = ("syntax", "doc", "decode", "rejected")
    syntax: str
    doc: str
    decode: Optional[Decoder]
    rejected: Optional[str]

    def __init__(self, syntax: str, doc: str, decode: Optional[Decoder] = None,
                 rejected: Optional[str] = None):
        _set(self, "syntax", syntax)
        _set(self, "doc", doc)
        _set(self, "decode", decode)
        _set(self, "rejected", rejected)

    @property
    def is_flag(self) -> bool:
        return self.decode is None and self.rejected is None


class InterfaceSpec(_Frozen):
    """One interface: its label in messages, its parameter table and checks."""

    __slots__ = ("label", "params", "check", "hints")
    label: str                        # "imageMogr2", "imageView2", "watermark/1", ...
    params: Mapping[str, ArgSpec]
    check: Callable[[Sequence[Param]], None]
    # Likely slips -> the right name, for "did you mean" hints.
    hints: Mapping[str, str]

    def __init__(self, label: str, params: Mapping[str, ArgSpec],
                 check: Callable[[Sequence[Param]], None],
                 hints: Optional[Mapping[str, str]] = None):
        _set(self, "label", label)
        _set(self, "params", params)
        _set(self, "check", check)
        _set(self, "hints", {} if hints is None else hints)

    def accepted(self) -> Tuple[str, ...]:
        return tuple(n for n, a in self.params.items() if a.rejected is None)


# --- small helpers ------------------------------------------------------------------

def show(token: str, limit: int = 40) -> str:
    """Quote a raw token for a message, shortened so a huge payload cannot flood it."""
    return repr(token if len(token) <= limit else token[:limit] + "...")


def _to_int(raw: str, lo: int, hi: int, what: str = "") -> int:
    """Digits (already matched) -> int within lo..hi, else ArgError naming the range."""
    label = f"{what} " if what else ""
    if len(raw.lstrip("-")) > _MAX_DIGITS or not lo <= int(raw) <= hi:
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise ArgError(f"{label}{shown} is out of range {lo}..{hi}")
    return int(raw)


def _int_range(lo: int, hi: int) -> Decoder:
    def decode(raw: str) -> int:
        if not _SIGNED_INT.fullmatch(raw):
            raise ArgError(f"{show(raw)} is not an integer (expected {lo}..{hi})")
        return _to_int(raw, lo, hi)
    return decode


def _int_choice(*allowed: int) -> Decoder:
    def decode(raw: str) -> int:
        if _INT.fullmatch(raw) and len(raw) <= _MAX_DIGITS and int(raw) in allowed:
            return int(raw)
        if len(allowed) == 1:
            raise ArgError(f"must be {allowed[0]}, got {show(raw)}")
        names = ", ".join(str(a) for a in allowed[:-1]) + f" or {allowed[-1]}"
        raise ArgError(f"{show(raw)} is not {names}")
    return decode


def _word_choice(allowed: Sequence[str], what: str, fold_case: bool = False) -> Decoder:
    def decode(raw: str) -> str:
        value = raw.lower() if fold_case else raw
        if value in allowed:
            return value
        hint = ""
        if not fold_case and raw.lower() in allowed:
            hint = f"; write it lower-case: '{raw.lower()}'"
        raise ArgError(f"{show(raw)} is not {what} (expected one of {', '.join(allowed)}){hint}")
    return decode


# --- geometry and sizes ---------------------------------------------------------------

_N = f"({_DIGITS})"
# kind -> (regex, field names of its numbers in order); one row per GEOMETRY_KINDS entry.
_GEOMETRY_SYNTAX = {
    "percent": (rf"!{_N}p", ("percent",)),
    "percent_width": (rf"!{_N}px", ("percent",)),
    "percent_height": (rf"!x{_N}p", ("percent",)),
    "width": (rf"{_N}x", ("width",)),
    "height": (rf"x{_N}", ("height",)),
    "fit": (rf"{_N}x{_N}", ("width", "height")),
    "shrink": (rf"{_N}x{_N}>", ("width", "height")),
    "enlarge": (rf"{_N}x{_N}<", ("width", "height")),
    "cover": (rf"!{_N}x{_N}r", ("width", "height")),
    "exact": (rf"{_N}x{_N}!", ("width", "height")),
    "area": (rf"{_N}@", ("area",)),
}
assert set(_GEOMETRY_SYNTAX) == set(GEOMETRY_KINDS)
_GEOMETRY_RES = {k: (LazyPattern(rx), names) for k, (rx, names) in _GEOMETRY_SYNTAX.items()}
_CARET_GEOMETRY = LazyPattern(rf"{_N}x{_N}\^")
_SIZE = LazyPattern(rf"({_DIGITS})?x({_DIGITS})?")
_CUT = LazyPattern(rf"{_N}x{_N}x{_N}x{_N}")
_FIELD_RANGE = {"width": (1, MAX_SIDE), "height": (1, MAX_SIDE), "percent": (1, MAX_PERCENT),
                "area": (1, MAX_SIDE * MAX_SIDE)}


def decode_geometry(raw: str) -> Geometry:
    for kind, (rx, names) in _GEOMETRY_RES.items():
        m = rx.fullmatch(raw)
        if m:
            nums = {n: _to_int(v, *_FIELD_RANGE[n], what=n) for n, v in zip(names, m.groups())}
            return Geometry(kind, **nums)
    if _CARET_GEOMETRY.fullmatch(raw):
        raise ArgError(f"invalid geometry {show(raw)}: 'WxH^' is not a CI form; "
                       f"CI writes cover-resize as '!WxHr'")
    raise ArgError(f"invalid geometry {show(raw)} (expected forms: {GEOMETRY_FORMS})")


def _size(need_both: bool) -> Decoder:
    forms = "WxH" if need_both else "Wx, xH, WxH"
    def decode(raw: str) -> Size:
        m = _SIZE.fullmatch(raw)
        if not m or (m.group(1) is None and m.group(2) is None) or (
                need_both and None in m.groups()):
            raise ArgError(f"invalid size {show(raw)} (expected {forms})")
        w, h = m.groups()
        return Size(width=None if w is None else _to_int(w, 1, MAX_SIDE, "width"),
                    height=None if h is None else _to_int(h, 1, MAX_SIDE, "height"))
    return decode


def decode_cut(raw: str) -> Cut:
    m = _CUT.fullmatch(raw)
    if not m:
        raise ArgError(f"invalid cut {show(raw)} (expected <w>x<h>x<dx>x<dy>)")
    w, h, dx, dy = m.groups()
    return Cut(width=_to_int(w, 1, MAX_SIDE, "width"), height=_to_int(h, 1, MAX_SIDE, "height"),
               dx=_to_int(dx, 0, MAX_SIDE, "dx"), dy=_to_int(dy, 0, MAX_SIDE, "dy"))


# --- quality, blur, size-limit ---------------------------------------------------------

_QUALITY = LazyPattern(rf"({_DIGITS})(!?)")


def _quality(lo: int, allow_forced: bool) -> Decoder:
    def decode(raw: str) -> Quality:
        m = _QUALITY.fullmatch(raw)
        if not m or (m.group(2) and not allow_forced):
            form = f"{lo}..100, optionally followed by '!'" if allow_forced else f"{lo}..100"
            raise ArgError(f"invalid quality {show(raw)} (expected {form})")
        return Quality(_to_int(m.group(1), lo, 100), forced=bool(m.group(2)))
    return decode


_SIGMA_MIN, _SIGMA_MAX = 0.01, 1000.0
_BLUR = LazyPattern(rf"{_N}x([0-9]+(?:\.[0-9]+)?)")
_SIZE_LIMIT = LazyPattern(rf"{_N}([km])(!?)")


def decode_blur(raw: str) -> Blur:
    m = _BLUR.fullmatch(raw)
    if not m:
        raise ArgError(f"invalid blur {show(raw)} (expected <radius>x<sigma>, e.g. 8x5)")
    radius = _to_int(m.group(1), 1, 50, "radius")
    sigma = float(m.group(2))
    if not _SIGMA_MIN <= sigma <= _SIGMA_MAX:
        raise ArgError(f"sigma {m.group(2)} is out of range {_SIGMA_MIN}..{_SIGMA_MAX:g}")
    return Blur(radius=radius, sigma=sigma)


def decode_size_limit(raw: str) -> SizeLimit:
    m = _SIZE_LIMIT.fullmatch(raw)
    if not m:
        raise ArgError(f"invalid size limit {show(raw)} (expected <N>k or <N>m, "
                       f"optionally followed by '!')")
    unit = m.group(2)
    hi = MAX_SIZE_LIMIT_BYTES // (1024 if unit == "k" else 1024 * 1024)
    return SizeLimit(_to_int(m.group(1), 1, hi), unit, keep_smaller=bool(m.group(3)))


# --- Base64 payloads --------------------------------------------------------------------

_B64 = LazyPattern(r"[A-Za-z0-9_-]+={0,2}")


def decode_base64_text(raw: str) -> str:
    """URL-safe Base64 (padded or not) -> UTF-8 text; ArgError if it is not that."""
    if "+" in raw:
        raise ArgError(f"{show(raw)} is not URL-safe Base64 (write '-' for '+' and '_' for '/')")
    body = raw.rstrip("=")
    if not _B64.fullmatch(raw) or len(body) % 4 == 1 or (
            len(raw) != len(body) and len(raw) % 4 != 0):
        raise ArgError(f"{show(raw)} is not valid URL-safe Base64")
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        text = data.decode("utf-8")
    except (binascii.Error, ValueError):
        raise ArgError(f"{show(raw)} does not decode to UTF-8 text") from None
    if not text:
        raise ArgError(f"{show(raw)} decodes to empty text")
    return text


def _base64_text(raw: str) -> Base64Text:
    return Base64Text(decode_base64_text(raw))


def decode_font(raw: str) -> Base64Text:
    """A Base64 font name CI documents; ArgError with the engine's words otherwise."""
    name = decode_base64_text(raw)
    refusal = font_refusal(name)
    if refusal is not None:
        raise ArgError(refusal)
    return Base64Text(name)


_COLOR = LazyPattern(r"#[0-9A-Fa-f]{6}")


def decode_color(raw: str) -> Base64Text:
    text = decode_base64_text(raw)
    if not _COLOR.fullmatch(text):
        raise ArgError(f"colour {show(raw)} decodes to {show(text)}, not '#RRGGBB'")
    return Base64Text(text)


_WATERMARK_URL = LazyPattern(
    r"http://[a-z0-9][a-z0-9-]*-[0-9]+\.cos\.[a-z0-9-]+\.myqcloud\.com/[^\s]+")


def decode_watermark_url(raw: str) -> Base64Text:
    url = decode_base64_text(raw)
    if url.lower().startswith("https://"):
        raise ArgError(f"image URL {show(url, 80)} uses https://; CI requires http://")
    if not _WATERMARK_URL.fullmatch(url):
        raise ArgError(f"image URL {show(url, 80)} is not "
                       f"http://<bucket>-<appid>.cos.<region>.myqcloud.com/<key>")
    return Base64Text(url)


# --- the tables ------------------------------------------------------------------------

def _rejected(reason: str) -> ArgSpec:
    return ArgSpec(syntax="", doc="", rejected=reason)


_gravity = ArgSpec("<gravity>", "anchor on the 3x3 grid: " + ", ".join(GRAVITIES),
                   _word_choice(GRAVITIES, "a gravity", fold_case=True))
_ignore_error = ArgSpec("1", "on size/limit failures return the input unprocessed",
                        _int_choice(1))

IMAGE_MOGR2_PARAMS: Dict[str, ArgSpec] = {
    "thumbnail": ArgSpec("<geometry>", "resize; forms " + GEOMETRY_FORMS, decode_geometry),
    "crop": ArgSpec("<W>x | x<H> | <W>x<H>", "crop to W and/or H at gravity", _size(False)),
    "gravity": _gravity,
    "cut": ArgSpec("<w>x<h>x<dx>x<dy>", "crop a w x h rectangle at (dx, dy)", decode_cut),
    "scrop": ArgSpec("<W>x<H>", "face-aware scale and crop to W x H", _size(True)),
    "iradius": ArgSpec("<r>", "inscribed circle of radius r", _int_range(1, MAX_SIDE)),
    "rradius": ArgSpec("<r>", "rounded corners of radius r", _int_range(1, MAX_SIDE)),
    "rotate": ArgSpec("<0..360>", "rotate clockwise by degrees", _int_range(0, 360)),
    "auto-orient": ArgSpec("", "rotate per EXIF Orientation"),
    "flip": ArgSpec("vertical | horizontal", "mirror the image",
                    _word_choice(FLIPS, "a flip direction")),
    "pad": ArgSpec("1", "centre the thumbnail on a WxH canvas", _int_choice(1)),
    "color": ArgSpec("<base64 #RRGGBB>", "pad colour (default white)", decode_color),
    "format": ArgSpec("<format>", "output format: " + ", ".join(MOGR_FORMATS),
                      _word_choice(MOGR_FORMATS, "an output format")),
    "cgif": ArgSpec("<1..100>", "GIF: keep at most N frames", _int_range(1, 100)),
    "interlace": ArgSpec("0 | 1", "progressive JPEG", _int_choice(0, 1)),
    "quality": ArgSpec("<0..100>[!]", "JPG/WebP quality; '!' forces it",
                       _quality(0, allow_forced=True)),
    "rquality": ArgSpec("<1..100>", "quality relative to the source's",
                        _quality(1, allow_forced=False)),
    "lquality": ArgSpec("<0..100>", "lowest quality (never below the source's)",
                        _quality(0, allow_forced=False)),
    "strip": ArgSpec("", "remove metadata (EXIF and others)"),
    "blur": ArgSpec("<radius>x<sigma>", "Gaussian blur; radius 1..50, sigma > 0", decode_blur),
    "sharpen": ArgSpec("<10..300>", "sharpen; 70 recommended", _int_range(10, 300)),
    "bright": ArgSpec("<-100..100>", "brightness change", _int_range(-100, 100)),
    "contrast": ArgSpec("<-100..100>", "contrast change", _int_range(-100, 100)),
    "grayscale": ArgSpec("0 | 1", "1 = grayscale", _int_choice(0, 1)),
    "size-limit": ArgSpec("<N>k | <N>m [!]", "JPG: re-encode to about N; '!' keeps the smaller",
                          decode_size_limit),
    "ignore-error": _ignore_error,
    "dx": _rejected("dx/dy are documented only for watermarks; for an offset crop use "
                    "cut/<w>x<h>x<dx>x<dy>"),
    "dy": _rejected("dx/dy are documented only for watermarks; for an offset crop use "
                    "cut/<w>x<h>x<dx>x<dy>"),
    "rcrop": _rejected("rcrop is not supported: CI's documentation does not pin down its "
                       "syntax; use crop or cut"),
    "minsize": _rejected("minsize is not a documented CI parameter"),
    "minisize": _rejected("minisize is not a documented CI parameter"),
}

IMAGE_VIEW2_PARAMS: Dict[str, ArgSpec] = {
    "w": ArgSpec("<W>", "width (or long edge in modes 4, 5)", _int_range(1, MAX_SIDE)),
    "h": ArgSpec("<H>", "height (or short edge in modes 4, 5)", _int_range(1, MAX_SIDE)),
    "format": ArgSpec("<format>", "output format: " + ", ".join(VIEW_FORMATS),
                      _word_choice(VIEW_FORMATS, "an imageView2 format")),
    "q": ArgSpec("<0..100>[!]", "quality; '!' forces it", _quality(0, allow_forced=True)),
    "rq": ArgSpec("<1..100>", "quality relative to the source's", _quality(1, allow_forced=False)),
    "lq": ArgSpec("<0..100>", "lowest quality", _quality(0, allow_forced=False)),
    "ignore-error": _ignore_error,
}

_dissolve = ArgSpec("<1..100>", "opacity percent (default 90)", _int_range(1, 100))
_dx = ArgSpec("<px>", "horizontal offset from the anchor, inward", _int_range(0, MAX_SIDE))
_dy = ArgSpec("<px>", "vertical offset from the anchor, inward", _int_range(0, MAX_SIDE))
_batch = ArgSpec("1", "tile the watermark across the image", _int_choice(1))
_degree = ArgSpec("<0..360>", "rotation of the tiles (with batch)", _int_range(0, 360))

WATERMARK_IMAGE_PARAMS: Dict[str, ArgSpec] = {
    "image": ArgSpec("<base64 url>", "watermark image URL (http://, same bucket)",
                     decode_watermark_url),
    "gravity": _gravity,
    "dx": _dx,
    "dy": _dy,
    "blogo": ArgSpec("1 | 2", "watermark larger than image: 1 shrink it, 2 crop it",
                     _int_choice(1, 2)),
    "scatype": ArgSpec("1 | 2 | 3", "scale relative to image width / height / area",
                       _int_choice(1, 2, 3)),
    "spcent": ArgSpec("<1..1000>", "scale in permille (1..250 with scatype 3)",
                      _int_range(1, 1000)),
    "dissolve": _dissolve,
    "batch": _batch,
    "degree": _degree,
}

WATERMARK_TEXT_PARAMS: Dict[str, ArgSpec] = {
    "text": ArgSpec("<base64 text>", "the text (UTF-8)", _base64_text),
    "font": ArgSpec("<base64 name>", f"a font file name CI lists (default {DEFAULT_FONT})",
                    decode_font),
    "fontsize": ArgSpec(f"<1..{MAX_FONTSIZE}>", "size in points (default 13)",
                        _int_range(1, MAX_FONTSIZE)),
    "fill": ArgSpec("<base64 #RRGGBB>", "text colour (default #3D3D3D)", decode_color),
    "dissolve": _dissolve,
    "gravity": _gravity,
    "dx": _dx,
    "dy": _dy,
    "batch": _batch,
    "degree": _degree,
    "shadow": ArgSpec("<0..100>", "text shadow (0 = none)", _int_range(0, 100)),
}


# --- cross-parameter checks ---------------------------------------------------------------

def _one_of(params: Sequence[Param], label: str, names: Sequence[str]) -> None:
    given = [p.name for p in params if p.name in names]
    if len(given) > 1:
        raise ArgError(f"{label}: {' and '.join(given)} are alternatives; give only one of "
                       f"{', '.join(names)}")


def _requires(params: Sequence[Param], label: str, name: str, needed: str, why: str) -> None:
    names = {p.name for p in params}
    if name in names and needed not in names:
        raise ArgError(f"{label}/{name} needs {needed} in the same stage ({why})")


def _check_mogr(params: Sequence[Param]) -> None:
    label = "imageMogr2"
    _requires(params, label, "gravity", "crop", "gravity only positions a crop")
    _requires(params, label, "color", "pad", "color is the padding colour")
    _requires(params, label, "pad", "thumbnail", "pad centres a thumbnail on its WxH box")
    thumb = next((p.value for p in params if p.name == "thumbnail"), None)
    # The engine's message word for word (test_engine_agreement): a cover geometry
    # (!WxHr) gives both sides but no box to fill, and used to pass validation only
    # to fail every record at run time.
    if any(p.name == "pad" for p in params) and isinstance(thumb, Geometry) and (
            thumb.kind not in PAD_GEOMETRY_KINDS):
        raise ArgError(f"{label}/pad needs a thumbnail geometry with a box (WxH, WxH>, WxH<, "
                       f"WxH!), not '{thumb}'")
    _one_of(params, label, ("quality", "rquality", "lquality"))


def _check_view(params: Sequence[Param]) -> None:
    names = {p.name for p in params}
    if not names & {"w", "h"}:
        raise ArgError("imageView2 needs w/<W> or h/<H> (or both)")
    _one_of(params, "imageView2", ("q", "rq", "lq"))


def _check_watermark_common(params: Sequence[Param], label: str) -> None:
    _requires(params, label, "degree", "batch", "degree rotates tiled watermarks")


def _check_watermark_image(params: Sequence[Param]) -> None:
    label = "watermark/1"
    if not any(p.name == "image" for p in params):
        raise ArgError(f"{label} needs image/<base64 url>")
    _requires(params, label, "spcent", "scatype", "scatype says what spcent is relative to")
    _requires(params, label, "scatype", "spcent", "spcent gives the scale")
    values = {p.name: p.value for p in params}
    if values.get("scatype") == 3 and isinstance(values.get("spcent"), int) \
            and values["spcent"] > 250:
        raise ArgError(f"{label}/spcent: {values['spcent']} is out of range 1..250 "
                       f"(the limit with scatype 3)")
    _check_watermark_common(params, label)


def _check_watermark_text(params: Sequence[Param]) -> None:
    label = "watermark/2"
    if not any(p.name == "text" for p in params):
        raise ArgError(f"{label} needs text/<base64 text>")
    _check_watermark_common(params, label)


INTERFACES: Dict[str, InterfaceSpec] = {
    "imageMogr2": InterfaceSpec(
        "imageMogr2", IMAGE_MOGR2_PARAMS, _check_mogr,
        hints={"q": "quality", "rq": "rquality", "lq": "lquality", "resize": "thumbnail",
               "gray": "grayscale", "greyscale": "grayscale", "w": "thumbnail",
               "h": "thumbnail", "orient": "auto-orient", "autoorient": "auto-orient"}),
    "imageView2": InterfaceSpec(
        "imageView2", IMAGE_VIEW2_PARAMS, _check_view,
        hints={"quality": "q", "rquality": "rq", "lquality": "lq", "width": "w",
               "height": "h"}),
    "watermark/1": InterfaceSpec(
        "watermark/1", WATERMARK_IMAGE_PARAMS, _check_watermark_image,
        hints={"text": "text belongs to watermark/2", "fill": "fill belongs to watermark/2",
               "font": "font belongs to watermark/2",
               "fontsize": "fontsize belongs to watermark/2"}),
    "watermark/2": InterfaceSpec(
        "watermark/2", WATERMARK_TEXT_PARAMS, _check_watermark_text,
        hints={"image": "image belongs to watermark/1", "color": "fill",
               "size": "fontsize"}),
}
