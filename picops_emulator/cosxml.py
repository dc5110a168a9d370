"""Building and reading the small XML documents COS exchanges.

Contract:
- :func:`document` turns ``(tag, children)`` trees into UTF-8 bytes with an XML declaration.
  A child is ``(tag, value)`` where value is a ``str``/``int`` (text), a ``bool`` (written
  lower-case ``true``/``false``, as COS does), ``None`` (an empty element) or a list of
  children (a nested element). Order is kept: COS clients read elements by name, but humans
  compare against the documented order.
  Every text is made XML 1.0-safe first (:func:`xml_text`): a character XML cannot hold
  (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) is written as ``\\xNN`` /
  ``\\uNNNN``, so every answer is well-formed whatever a request echoed into it.
- :func:`parse` reads a request body with defusedxml (any encoding the body declares,
  UTF-16 included; a DTD, entity declaration or external reference is refused) and raises
  ``EmulatorError("MalformedXML")`` naming what was expected.
- :func:`error_body` is the ``<Error>`` document: ``Code``, ``Message``, ``Resource``,
  ``RequestId`` and ``TraceId`` (the Python SDK's ``digest_xml`` needs the first four or it
  reports every field as "Unknown").
- :func:`xml_response` wraps a document in an aiohttp response with COS's content type.
- :func:`url_encode` is the ``encoding-type=url`` encoding of listings: UTF-8 percent-encoding
  that keeps only ``/`` and the unreserved ``-_.~`` (so ``%``, ``+``, space, CJK are encoded).
"""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple, Union
from urllib.parse import quote
from xml.etree import ElementTree as ET

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from .errors import EmulatorError

Value = Union[str, int, bool, None, List["Child"]]
Child = Tuple[str, Value]

DECLARATION = b"<?xml version='1.0' encoding='utf-8' ?>\n"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: "re.Match[str]") -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot carry written as an escape."""
    return _NOT_XML.sub(_escape, value)


def _fill(parent: ET.Element, children: Sequence[Child]) -> None:
    for tag, value in children:
        el = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _fill(el, value)
        elif isinstance(value, bool):
            el.text = "true" if value else "false"
        elif value is not None:
            el.text = xml_text(str(value))


def document(root: str, children: Sequence[Child]) -> bytes:
    """Serialise ``<root>children…</root>`` to bytes."""
    el = ET.Element(root)
    _fill(el, children)
    return DECLARATION + ET.tostring(el, encoding="unicode").encode("utf-8")


def text_document(root: str, text: str) -> bytes:
    """Serialise ``<root>text</root>`` (e.g. ``LocationConstraint``) to bytes."""
    el = ET.Element(root)
    el.text = text
    return DECLARATION + ET.tostring(el, encoding="unicode").encode("utf-8")


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": "application/xml"})


def parse(body: bytes, expected_root: str) -> ET.Element:
    """Parse a request body whose root must be ``expected_root``."""
    try:
        root = defused_fromstring(body, forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
    except DefusedXmlException as exc:
        raise EmulatorError("MalformedXML", f"{expected_root} body must not contain a DTD, an "
                                            f"entity or an external reference ({exc})") from None
    except (ValueError, LookupError) as exc:  # an encoding expat cannot read (or no such one)
        raise EmulatorError("MalformedXML", f"{expected_root} body is in an encoding that "
                                            f"cannot be read ({exc}); send UTF-8") from None
    except ET.ParseError as exc:
        raise EmulatorError("MalformedXML",
                            f"{expected_root} body is not well-formed XML: {exc}") from None
    tag = root.tag.rsplit("}", 1)[-1]  # clients may add a namespace
    if tag != expected_root:
        raise EmulatorError("MalformedXML",
                            f"expected a <{expected_root}> document, got <{tag}>")
    return root


def error_body(code: str, message: str, resource: str, request_id: str, trace_id: str) -> bytes:
    """The ``<Error>`` document COS sends, as UTF-8 bytes with an XML declaration."""
    root = ET.Element("Error")
    for tag, text in (("Code", code), ("Message", message), ("Resource", resource),
                      ("RequestId", request_id), ("TraceId", trace_id)):
        # digest_xml indexes childNodes[0]: an empty element would break it, so never send one
        ET.SubElement(root, tag).text = xml_text(text) or "-"
    return DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def children(el: ET.Element, tag: str) -> List[ET.Element]:
    """Direct children named ``tag``, ignoring any namespace."""
    return [c for c in el if c.tag.rsplit("}", 1)[-1] == tag]


def child_text(el: ET.Element, tag: str) -> Union[str, None]:
    found = children(el, tag)
    if not found:
        return None
    return found[0].text or ""


def url_encode(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="/-_.~")


__all__ = ["document", "text_document", "xml_response", "parse", "error_body", "children",
           "child_text", "url_encode", "xml_text", "Child", "DECLARATION"]
