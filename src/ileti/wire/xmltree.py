"""Hardened XML -> the same tree JSON would give.

``defusedxml`` refuses DTDs, entity declarations and external references. An element
with children becomes a dict, repeated children a list, a leaf its text (stripped,
except message ``text``, which is kept as sent; an empty leaf is None).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

VERBATIM = frozenset({"text"})


class XmlError(ValueError):
    pass


def _value(element: Element) -> Any:
    children = list(element)
    if not children:
        text = element.text
        if text is None:
            return None
        if element.tag not in VERBATIM:
            text = text.strip()
        return text if text != "" else None
    tree: dict[str, Any] = {}
    for child in children:
        value = _value(child)
        if child.tag in tree:
            existing = tree[child.tag]
            if isinstance(existing, _Repeated):
                existing.append(value)
            else:
                tree[child.tag] = _Repeated([existing, value])
        else:
            tree[child.tag] = value
    return {tag: list(v) if isinstance(v, _Repeated) else v for tag, v in tree.items()}


class _Repeated(list[Any]):
    pass


def parse(body: bytes, root: str = "request") -> dict[str, Any]:
    """``{root: tree}`` for a well-formed, harmless document whose root is ``root``."""
    try:
        element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise XmlError(str(exc)) from exc
    if element.tag != root:
        raise XmlError(f"root element is <{element.tag}>, not <{root}>")
    value = _value(element)
    # An empty <request/> is an empty request (like {"request": {}}), not a bad body.
    return {root: {} if value is None else value}
