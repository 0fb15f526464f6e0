"""Hardened XML -> the same tree JSON would give.

``defusedxml`` refuses DTDs, entity declarations and external references; elements
nested deeper than :data:`MAX_DEPTH` are refused while parsing (a request needs 5
levels; a body of nothing but opening tags would otherwise build millions of elements
before expat finds it unfinished), and so is a prolog naming an encoding Python cannot
read with expat. An element with children becomes a dict, repeated children a list, a
leaf its text (stripped, except message ``text``, which is kept as sent; an empty leaf
is None).
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

VERBATIM = frozenset({"text"})

#: The deepest element nesting read (``<request>`` is level 1; send-sms needs 5).
MAX_DEPTH = 32


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


class _TooDeep(ValueError):
    pass


class _Bounded(TreeBuilder):
    """The standard tree builder, refusing an element nested deeper than MAX_DEPTH as
    soon as it opens (expat stops at the exception)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def start(self, tag: Any, attrs: Any) -> Element:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep(f"elements nested deeper than {MAX_DEPTH} levels")
        return super().start(tag, attrs)

    def end(self, tag: Any) -> Element:
        self.depth -= 1
        return super().end(tag)


def _element(body: bytes) -> Element:
    parser = DefusedXMLParser(
        target=_Bounded(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    parser.feed(body)
    root: Element = parser.close()
    return root


def parse(body: bytes, root: str = "request") -> dict[str, Any]:
    """``{root: tree}`` for a well-formed, harmless document whose root is ``root``."""
    try:
        element = _element(body)
    # LookupError: the prolog names an encoding Python does not know, or a codec that
    # is not a text encoding (encoding="foo", "base64").
    except (ParseError, DefusedXmlException, ValueError, UnicodeError, LookupError) as exc:
        raise XmlError(str(exc)) from exc
    if element.tag != root:
        raise XmlError(f"root element is <{element.tag}>, not <{root}>")
    value = _value(element)
    # An empty <request/> is an empty request (like {"request": {}}), not a bad body.
    return {root: {} if value is None else value}
