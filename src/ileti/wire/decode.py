"""Request bodies -> typed structs, or BadRequest (400)."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qs

import msgspec

from ileti.errors import BadRequest
from ileti.wire.formats import Format
from ileti.wire.structs import Envelope
from ileti.wire.xmltree import XmlError
from ileti.wire.xmltree import parse as parse_xml

T = TypeVar("T")


@cache
def _json_decoder(request_type: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(Envelope[request_type], strict=False)  # type: ignore[valid-type]


def _xml_document(body: bytes) -> bytes:
    """The XML of a body that is raw XML or a form with a ``data`` field."""
    stripped = body.lstrip()
    if stripped.startswith(b"<"):
        return stripped
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("form body is not UTF-8") from exc
    data = form.get("data")
    if not data or not data[0].strip():
        raise BadRequest("neither an XML body nor a form field 'data'")
    return data[0].strip().encode("utf-8")


def tree(request: dict[str, Any], request_type: type[T]) -> T:
    """Convert an already-parsed tree (XML, or a GET query) into a request struct."""
    try:
        return msgspec.convert(request, Envelope[request_type], strict=False).request  # type: ignore[valid-type]
    except (msgspec.ValidationError, RecursionError) as exc:
        raise BadRequest(str(exc)) from exc


BOM = b"\xef\xbb\xbf"


def decode(body: bytes, request_type: type[T], fmt: Format) -> T:
    if body.startswith(BOM):  # some clients (.NET) start UTF-8 with a byte-order mark
        body = body[len(BOM) :]
    if fmt is Format.JSON:
        try:
            if not body.isascii():
                body.decode("utf-8")  # msgspec does not check strings it skips
            return _json_decoder(request_type).decode(body).request
        # RecursionError: arrays or objects nested deeper than the decoder follows
        # (Python's recursion limit, under 1,000 levels), anywhere in the body.
        except (
            msgspec.DecodeError,
            msgspec.ValidationError,
            UnicodeDecodeError,
            RecursionError,
        ) as exc:
            raise BadRequest(str(exc)) from exc
    if not body.strip():
        raise BadRequest("empty body")
    try:
        parsed = parse_xml(_xml_document(body))
    except XmlError as exc:
        raise BadRequest(str(exc)) from exc
    return tree(parsed, request_type)
