"""The one renderer: a result or an error -> (HTTP status, body bytes).

HTTP status always equals the body's code; ``code`` is an integer; messages are the
catalogue's; every error body is status-only, in the request's encoding. XML is
well-formed whatever a value holds: characters XML 1.0 cannot carry are written as
U+FFFD (``ileti.chars``), and in JSON a lone surrogate too.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import msgspec

from ileti.chars import encodable, xml_text
from ileti.errors import Code
from ileti.wire.formats import Format

_json = msgspec.json.Encoder()
XML_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>'


def _xml_value(tag: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _xml_value(tag, item, out)
        return
    out.append(f"<{tag}>")
    if isinstance(value, dict):
        for child, child_value in value.items():
            _xml_value(child, child_value, out)
    elif isinstance(value, bool):
        out.append("1" if value else "0")
    elif value is not None:
        out.append(escape(str(value)))
    out.append(f"</{tag}>")


def _encodable(value: Any) -> Any:
    """``value`` with its texts' lone surrogates replaced (UTF-8 cannot carry them)."""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    if isinstance(value, dict):
        return {key: _encodable(item) for key, item in value.items()}
    return value


def _status(code: Code) -> dict[str, Any]:
    return {"code": int(code), "message": code.message}


def _render(code: Code, payload: dict[str, Any] | None, fmt: Format) -> bytes:
    response: dict[str, Any] = {"status": _status(code)}
    if payload:
        response.update(payload)
    if fmt is Format.JSON:
        try:
            return _json.encode({"response": response})
        except UnicodeEncodeError:
            return _json.encode({"response": _encodable(response)})
    out: list[str] = []
    _xml_value("response", response, out)
    return XML_PROLOG + xml_text("".join(out)).encode("utf-8")


_STATUS_ONLY: dict[tuple[Code, Format], bytes] = {
    (code, fmt): _render(code, None, fmt) for code in Code for fmt in Format
}


def render_ok(payload: dict[str, Any] | None, fmt: Format) -> tuple[int, bytes]:
    if not payload:
        return 200, _STATUS_ONLY[(Code.OK, fmt)]
    return 200, _render(Code.OK, payload, fmt)


def render_error(code: Code, fmt: Format) -> tuple[int, bytes]:
    return int(code), _STATUS_ONLY[(code, fmt)]
