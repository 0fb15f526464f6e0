"""The control API's OpenAPI 3.1 document, generated from the endpoint table and the
msgspec structs the handlers parse and return (so it cannot drift from them)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ileti import __version__
from ileti.api.control.base import PREFIX, Endpoint, ErrorBody

_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{name}"


def _query_parameters(struct: type[Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    (schema,), found = msgspec.json.schema_components([struct], ref_template=_REF)
    components.update(found)
    name = schema["$ref"].rsplit("/", 1)[-1]
    body = components.pop(name)
    required = set(body.get("required", ()))
    return [
        {
            "name": field,
            "in": "query",
            "required": field in required,
            "schema": prop,
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for field, prop in body.get("properties", {}).items()
    ]


def document(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    types = {ErrorBody}
    for endpoint in endpoints:
        types.update(t for t in (endpoint.body, endpoint.result) if t is not None)
    ordered = sorted(types, key=lambda t: getattr(t, "__name__", str(t)))
    schemas, components = msgspec.json.schema_components(ordered, ref_template=_REF)
    ref = dict(zip(ordered, schemas, strict=True))
    error = {"description": "refused", "content": {"application/json": {"schema": ref[ErrorBody]}}}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "operationId": endpoint.handler.__name__,
            "tags": list(endpoint.tags),
            "security": [{"admin": []}]
            if endpoint.admin_only
            else [{"admin": []}, {"account": []}],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(endpoint.path)
            ],
            "responses": {"4XX": error, "503": error},
        }
        if endpoint.query is not None:
            operation["parameters"] += _query_parameters(endpoint.query, components)
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref[endpoint.body]}},
            }
        if endpoint.result is None:
            operation["responses"]["204"] = {"description": "done"}
        else:
            operation["responses"][str(endpoint.status)] = {
                "description": "done",
                "content": {"application/json": {"schema": ref[endpoint.result]}},
            }
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ileti sandbox control API",
            "version": __version__,
            "description": "Set up, inspect and steer an ileti sandbox (docs/sandbox.md).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "admin": {"type": "http", "scheme": "bearer"},
                "account": {"type": "apiKey", "in": "header", "name": "X-Ileti-Key"},
            },
        },
    }
