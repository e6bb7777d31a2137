"""Expressway status XML: active calls and registrations, read defensively.

Shapes [3P]: ``GET /getxml?location=/Status/ResourceUsage/Calls`` answers a ``Status``
document holding ``ResourceUsage/Calls/<type>/Current`` for each call type (``Traversal``,
``NonTraversal``, ``CollaborationEdge``, ``Cloud``, ``MicrosoftContent``, ``MicrosoftIMP``;
centreon-plugins, network/cisco/vcs/restapi/mode/calls.pm); ``/status.xml`` holds the same
and ``ResourceUsage/Registrations/Current`` (py-expressway, tests/status.xml: namespace
``http://www.tandberg.no/XML/CUIL/1.0``, an ``item`` attribute on every element). An error
comes as ``XPathError`` with a ``Reason``. Namespaces are ignored; a document with a DTD or
entity declaration is refused before parsing (no expansion); anything else (no such path, a
``Current`` that is not a count) is ``ShapeError`` naming what was seen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

MAX_BYTES = 8 * 1024 * 1024  # a whole status.xml of a busy node is far smaller [U]


class ShapeError(ValueError):
    """The XML is not in the documented shape; the message names what was seen."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _root(data: bytes) -> ET.Element:
    if len(data) > MAX_BYTES:
        raise ShapeError(f"the answer is {len(data)} bytes, over {MAX_BYTES}")
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise ShapeError("the answer declares a DTD or entities (refused, not expanded)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ShapeError(f"not XML ({exc}): {' '.join(data[:80].decode(errors='replace').split())}"
                         ) from None
    if _local(root.tag) == "XPathError":
        reason = next((e.text for e in root.iter() if _local(e.tag) == "Reason"), None)
        raise ShapeError(f"the node answered XPathError: {reason or 'no reason given'}")
    return root


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in parent if _local(c.tag) == name), None)


def _walk(root: ET.Element, path: tuple[str, ...]) -> ET.Element:
    """``root`` (``Status``) down ``path``; ShapeError naming the children seen where it ends."""
    node = root
    if _local(node.tag) != "Status":
        raise ShapeError(f"the root element is <{_local(node.tag)}>, not <Status>")
    for i, name in enumerate(path):
        found = _child(node, name)
        if found is None:
            seen = sorted({_local(c.tag) for c in node})[:8]
            where = "/".join(("Status", *path[:i]))
            raise ShapeError(f"{where} has no <{name}> (children seen: "
                             f"{', '.join(seen) or 'none'})")
        node = found
    return node


def _count(element: ET.Element, where: str) -> int:
    text = (element.text or "").strip()
    if not text.isdigit():
        raise ShapeError(f"{where} is {text[:20]!r}, not a count")
    return int(text)


def active_calls(data: bytes) -> int:
    """The node's current calls: the sum of ``Current`` over every call type."""
    calls = _walk(_root(data), ("ResourceUsage", "Calls"))
    total = 0
    for kind in calls:
        current = _child(kind, "Current")
        if current is None:
            raise ShapeError(f"Status/ResourceUsage/Calls/{_local(kind.tag)} has no <Current>")
        total += _count(current, f"Status/ResourceUsage/Calls/{_local(kind.tag)}/Current")
    return total


def registrations(data: bytes) -> int:
    """The node's current registrations (``ResourceUsage/Registrations/Current``)."""
    current = _walk(_root(data), ("ResourceUsage", "Registrations", "Current"))
    return _count(current, "Status/ResourceUsage/Registrations/Current")
