"""``/openapi.json``: the OpenAPI 3.1 document of the JSON v1 API, generated from the
action table and the wire structs. It is valid OpenAPI 3.1, names every action with
every code it answers (exact messages), and says what a success carries: each action's
real success answer decodes into the struct the document is made from, with no member
missing or unknown (so the handlers' dicts and the document cannot drift apart)."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from openapi_spec_validator import validate

from ileti.api.actions import ACTIONS, COMMON_CODES
from ileti.services.accounts import Issued
from tests.support.actions import prepare, request_of
from tests.support.spec import MESSAGES


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, object]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    return r.json()


async def test_the_document_is_valid_openapi_3_1(spec: dict[str, object]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)  # raises on an invalid document


async def test_every_action_is_described_with_every_code(spec: dict) -> None:
    assert set(spec["paths"]) == {f"/v1/{name}/json" for name in ACTIONS}
    for name, action in ACTIONS.items():
        operation = spec["paths"][f"/v1/{name}/json"]["post"]
        assert operation["operationId"] == name
        assert operation["requestBody"]["required"] is True
        codes = {int(code) for code in operation["responses"]}
        assert codes == {int(code) for code in action.codes}
        assert codes >= {200, 400, 401, 429, 503}
        for code, response in operation["responses"].items():
            assert response["description"] == MESSAGES[int(code)]


async def test_each_status_schema_holds_the_exact_message(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    for code in COMMON_CODES:
        status = schemas[f"Status{int(code)}"]["properties"]
        assert status["code"]["const"] == int(code)
        assert status["message"]["const"] == MESSAGES[int(code)]


@pytest.mark.parametrize("name", sorted(ACTIONS))
async def test_a_real_success_is_what_the_document_says(
    client: httpx.AsyncClient, account: Issued, name: str
) -> None:
    prepared = await prepare(client, account, name)
    r = await client.post(f"/v1/{name}/json", json={"request": request_of(name, account, prepared)})
    assert r.status_code == 200, r.text
    response = r.json()["response"]
    assert response.pop("status") == {"code": 200, "message": MESSAGES[200]}
    result = ACTIONS[name].result
    if result is None:
        assert response == {}
    else:
        msgspec.convert(response, result)  # raises on a missing or unknown member
