"""Building and reading the small XML documents COS exchanges.

Contract:
- :func:`document` turns ``(tag, children)`` trees into UTF-8 bytes with an XML declaration.
  A child is ``(tag, value)`` where value is a ``str``/``int`` (text), a ``bool`` (written
  lower-case ``true``/``false``, as COS does), ``None`` (an empty element) or a list of
  children (a nested element). Order is kept: COS clients read elements by name, but humans
  compare against the documented order.
- :func:`parse` reads a request body into an ElementTree element, refusing DTDs, and raises
  ``EmulatorError("MalformedXML")`` naming what was expected.
- :func:`error_body` is the ``<Error>`` document: ``Code``, ``Message``, ``Resource``,
  ``RequestId`` and ``TraceId`` (the Python SDK's ``digest_xml`` needs the first four or it
  reports every field as "Unknown").
- :func:`xml_response` wraps a document in an aiohttp response with COS's content type.
- :func:`url_encode` is the ``encoding-type=url`` encoding of listings: UTF-8 percent-encoding
  that keeps only ``/`` and the unreserved ``-_.~`` (so ``%``, ``+``, space, CJK are encoded).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple, Union
from urllib.parse import quote
from xml.etree import ElementTree as ET

from aiohttp import web

from .errors import EmulatorError

Value = Union[str, int, bool, None, List["Child"]]
Child = Tuple[str, Value]

DECLARATION = b"<?xml version='1.0' encoding='utf-8' ?>\n"


def _fill(parent: ET.Element, children: Sequence[Child]) -> None:
    for tag, value in children:
        el = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _fill(el, value)
        elif isinstance(value, bool):
            el.text = "true" if value else "false"
        elif value is not None:
            el.text = str(value)


def document(root: str, children: Sequence[Child]) -> bytes:
    """Serialise ``<root>children…</root>`` to bytes."""
    el = ET.Element(root)
    _fill(el, children)
    return DECLARATION + ET.tostring(el, encoding="unicode").encode("utf-8")


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": "application/xml"})


def parse(body: bytes, expected_root: str) -> ET.Element:
    """Parse a request body whose root must be ``expected_root``."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise EmulatorError("MalformedXML", f"{expected_root} body must not contain a DTD")
    try:
        root = ET.fromstring(body)
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
        ET.SubElement(root, tag).text = text or "-"
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


__all__ = ["document", "xml_response", "parse", "error_body", "children", "child_text",
           "url_encode", "Child", "DECLARATION"]
