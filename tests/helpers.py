"""Calling the v1 API in either encoding and reading the envelope back."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import httpx

from tests.conftest import xml_of


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


async def call(
    client: httpx.AsyncClient, action: str, request: dict[str, Any], fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    """POST an action; (HTTP status, the ``response`` object as JSON would give it)."""
    if fmt == "json":
        r = await client.post(f"/v1/{action}/json", json={"request": request})
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        return r.status_code, r.json()["response"]
    r = await client.post(f"/v1/{action}", content=xml_of(request).encode())
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    return r.status_code, parse_xml_response(r.content)


def parse_xml_response(body: bytes) -> dict[str, Any]:
    root = ElementTree.fromstring(body)
    assert root.tag == "response"
    response = tree_of(root)
    status = response["status"]
    status["code"] = int(status["code"])
    return response
