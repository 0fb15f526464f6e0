"""The OpenAPI 3.1 document of the JSON v1 API (``GET /openapi.json``), generated from the
action table (``ileti.api.actions``: paths, documented codes), the request structs
(``ileti.wire.structs``, ``ileti.wire.orders``), the success structs
(``ileti.wire.responses``) and the catalogue of codes (``ileti.errors``), so that it
cannot drift from what the server parses and answers. The XML form and the GET form of
send-sms mirror it (spec §1.1, §8) and are not described separately."""

from __future__ import annotations

from typing import Any

import msgspec

from ileti import __version__
from ileti.api.actions import ACTIONS, Action
from ileti.errors import Code
from ileti.wire.structs import Envelope

_REF = "#/components/schemas/{name}"
_STATUS = "Status{code}"


def _status(code: Code) -> dict[str, Any]:
    """The ``status`` member for one code: its integer and its exact message."""
    return {
        "type": "object",
        "properties": {
            "code": {"type": "integer", "const": int(code)},
            "message": {"type": "string", "const": code.message},
        },
        "required": ["code", "message"],
        "additionalProperties": False,
    }


def _envelope(members: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """``{"response": {"status": ..., <members>}}`` with nothing else."""
    return {
        "type": "object",
        "properties": {
            "response": {
                "type": "object",
                "properties": members,
                "required": required,
                "additionalProperties": False,
            }
        },
        "required": ["response"],
        "additionalProperties": False,
    }


def _status_only(code: Code) -> dict[str, Any]:
    return _envelope(
        {"status": {"$ref": _REF.format(name=_STATUS.format(code=int(code)))}}, ["status"]
    )


def _success(action: Action, components: dict[str, Any]) -> dict[str, Any]:
    if action.result is None:
        return _status_only(Code.OK)
    (ref,), found = msgspec.json.schema_components([action.result], ref_template=_REF)
    components.update(found)
    result = components.pop(ref["$ref"].rsplit("/", 1)[-1])  # inlined below
    members = {"status": {"$ref": _REF.format(name=_STATUS.format(code=200))}}
    members.update(result["properties"])
    return _envelope(members, ["status", *result.get("required", ())])


def _operation(action: Action, components: dict[str, Any]) -> dict[str, Any]:
    (body,), found = msgspec.json.schema_components(
        [Envelope[action.request_type]],  # type: ignore[name-defined]
        ref_template=_REF,
    )
    components.update(found)
    responses: dict[str, Any] = {}
    for code in sorted(action.codes):
        schema = _success(action, components) if code is Code.OK else _status_only(code)
        response: dict[str, Any] = {
            "description": code.message,
            "content": {"application/json": {"schema": schema}},
        }
        if code is Code.RATE_LIMITED:
            response["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        responses[str(int(code))] = response
    return {
        "summary": action.summary,
        "operationId": action.name,
        "description": (
            f"Also `POST /v1/{action.name}` with the same tree in XML (raw, or a form "
            "field `data`); the answer is then XML. The HTTP status always equals "
            "`response.status.code`."
            + (
                " And `GET /v1/send-sms/get/?key=&hash=&text=&receipents=&sender=`."
                if action.get_form
                else ""
            )
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body}},
        },
        "responses": responses,
    }


def document() -> dict[str, Any]:
    components: dict[str, Any] = {
        _STATUS.format(code=int(code)): _status(code) for code in Code if code >= 200
    }
    paths = {
        f"/v1/{name}/json": {"post": _operation(action, components)}
        for name, action in ACTIONS.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ileti: the iletiMerkezi SMS API v1",
            "version": __version__,
            "description": (
                'Every action is a POST of `{"request": {"authentication": {"key", '
                '"hash"}, ...}}`; `hash` is the lowercase hex HMAC-SHA256 of the key '
                "keyed with the secret. An unknown action or method answers 404."
            ),
        },
        "paths": paths,
        "components": {"schemas": components},
    }
