"""Calling the v1 API in either encoding and reading the envelope back."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_from_bytes
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import httpx

from ileti.services.accounts import Issued
from tests.support.spec import JSON_TYPE, XML_TYPE

#: JSON (``/v1/<action>/json``), raw XML, and XML in the form field ``data``.
ENCODINGS = ("json", "xml", "form")


def auth(issued: Issued) -> dict[str, str]:
    """The ``authentication`` element of an issued account."""
    return {"key": issued.account.key, "hash": issued.hash}


def xml_of(tree: dict[str, Any], tag: str = "request") -> str:
    """A dict tree -> XML, lists as repeated elements (for building request bodies)."""
    parts: list[str] = []

    def emit(name: str, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                emit(name, item)
            return
        parts.append(f"<{name}>")
        if isinstance(value, dict):
            for child, child_value in value.items():
                emit(child, child_value)
        elif value is not None:
            parts.append(escape(str(value)))
        parts.append(f"</{name}>")

    emit(tag, tree)
    return "".join(parts)


def path_of(action: str, enc: str) -> str:
    """The path of an action in an encoding (``json``: ``/v1/<action>/json``)."""
    return f"/v1/{action}/json" if enc == "json" else f"/v1/{action}"


def wrap(document: bytes, enc: str) -> bytes:
    """An XML document as the body: itself (``xml``), or the form field ``data``."""
    return document if enc == "xml" else b"data=" + quote_from_bytes(document).encode()


def body_of(request: dict[str, Any], enc: str) -> bytes:
    """A request tree in an encoding: JSON, raw XML, or XML in the form field ``data``."""
    if enc == "json":
        return json.dumps({"request": request}).encode()
    return wrap(xml_of(request).encode(), enc)


def tree_of(element: ElementTree.Element) -> Any:
    children = list(element)
    if not children:
        return element.text
    out: dict[str, Any] = {}
    for child in children:
        value = tree_of(child)
        if child.tag in out:
            if not isinstance(out[child.tag], list) or not _repeated(child):
                out[child.tag] = (
                    [out[child.tag]] if not isinstance(out[child.tag], list) else out[child.tag]
                )
            out[child.tag].append(value)
        else:
            out[child.tag] = [value] if _repeated(child) else value
    return out


# Elements that are arrays in JSON: read them as lists even when there is one.
_REPEATED = {"number", "sender", "message", "orders"}


def _repeated(element: ElementTree.Element) -> bool:
    # status/message is a leaf; report messages (with children) are an array.
    if element.tag == "message":
        return len(element) > 0
    return element.tag in _REPEATED


def parse_xml_response(body: bytes) -> dict[str, Any]:
    """An XML response as JSON would give it (the status code as an int)."""
    root = ElementTree.fromstring(body)
    assert root.tag == "response"
    response = tree_of(root)
    status = response["status"]
    status["code"] = int(status["code"])
    return response


async def call(
    client: httpx.AsyncClient, action: str, request: dict[str, Any], fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    """POST an action; (HTTP status, the ``response`` object as JSON would give it)."""
    if fmt == "json":
        r = await client.post(f"/v1/{action}/json", json={"request": request})
        assert r.headers["content-type"] == JSON_TYPE
        return r.status_code, r.json()["response"]
    r = await client.post(f"/v1/{action}", content=xml_of(request).encode())
    assert r.headers["content-type"] == XML_TYPE
    return r.status_code, parse_xml_response(r.content)


def control_headers(issued: Issued) -> dict[str, str]:
    """The control API's credentials of an account (its own data only)."""
    return {"X-Ileti-Key": issued.account.key, "X-Ileti-Hash": issued.hash}
