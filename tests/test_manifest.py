"""``GET /api/manifest.json``: the provider's manifest shape, read the way its MCP server
reads it (``endpoints[]`` with ``mcp_tool`` and ``input_schema``; each call a POST of
``{"request": {"authentication", ...input}}`` to ``base_url + path``): every tool's
input schema is valid JSON Schema, an input that satisfies it is answered 200 by the
server at that address, and ``base_url`` is the address the manifest was asked for.
proof/mcp.py runs the MCP server itself against it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import jsonschema

from ileti.services.accounts import Issued
from tests.support.http import auth
from tests.support.sms import ISTANBUL
from tests.support.spec import MESSAGES

#: The provider's tools (its README): those of actions ileti serves must be there.
PROVIDER_TOOLS = {
    "send_sms",
    "cancel_order",
    "get_report",
    "get_reports",
    "get_balance",
    "get_sender",
    "get_blacklist",
    "add_blacklist",
    "delete_blacklist",
    "iys_register",
    "iys_check",
}
SERVED = PROVIDER_TOOLS - {"iys_register", "iys_check"}


async def manifest(client: httpx.AsyncClient, **headers: str) -> dict[str, Any]:
    answer = await client.get("/api/manifest.json", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    return dict(answer.json())


async def test_the_shape_the_mcp_server_reads(client: httpx.AsyncClient) -> None:
    found = await manifest(client)
    assert found["schema_version"] == "1"
    assert found["base_url"] == "http://ileti.test"
    assert found["authentication"]["type"] == "api-key-and-hash"
    assert isinstance(found["endpoints"], list)
    tools = {e["mcp_tool"]: e for e in found["endpoints"] if "mcp_tool" in e}
    assert SERVED <= set(tools) <= PROVIDER_TOOLS
    for endpoint in found["endpoints"]:
        assert endpoint["method"] == "POST"
        assert endpoint["path"].startswith("/v1/") and endpoint["path"].endswith("/json")
        assert endpoint["base_url"] + endpoint["path"] == endpoint["full_url"]
        assert endpoint["auth"] == "api-key-and-hash"
        assert 200 in endpoint["error_codes"] and 401 in endpoint["error_codes"]
        assert endpoint["summary"]["en"] and endpoint["summary"]["tr"]
    for tool, endpoint in tools.items():
        schema = endpoint["input_schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object", tool
        assert "authentication" not in schema["properties"], tool
        assert "$ref" not in str(schema), tool
    assert tools["send_sms"]["path"] == "/v1/send-sms/json"
    assert set(tools["send_sms"]["error_codes"]) >= {402, 450, 451, 452, 453, 454, 457, 468}
    assert tools["get_report"]["error_codes"].count(455) == 1


async def test_base_url_is_the_address_asked(client: httpx.AsyncClient) -> None:
    found = await manifest(client, host="sms.example.com:8443")
    assert found["base_url"] == "http://sms.example.com:8443"
    assert {e["full_url"].split("/v1/")[0] for e in found["endpoints"]} == {
        "http://sms.example.com:8443"
    }


async def test_every_tool_input_that_fits_its_schema_is_served(
    client: httpx.AsyncClient, account: Issued
) -> None:
    tools = {e["mcp_tool"]: e for e in (await manifest(client))["endpoints"] if "mcp_tool" in e}
    credentials = auth(account)

    async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        endpoint = tools[tool]
        jsonschema.validate(arguments, endpoint["input_schema"])
        url = endpoint["base_url"] + endpoint["path"]
        answer = await client.post(
            url, json={"request": {"authentication": credentials, **arguments}}
        )
        body = answer.json()["response"]
        assert (answer.status_code, body["status"]["message"]) == (200, MESSAGES[200]), body
        return dict(body)

    later = (datetime.now(ISTANBUL) + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
    number = {"number": "+905330000001"}
    await call("add_blacklist", {"blacklist": number})
    assert (await call("get_blacklist", {"blacklist": {"page": 1, "rowCount": 10}}))[
        "blacklist"
    ] == {"count": 1, "number": ["+905330000001"]}
    await call("delete_blacklist", {"blacklist": number})
    assert (await call("get_balance", {}))["balance"]["sms"] == 100
    assert (await call("get_sender", {}))["senders"]["sender"] == ["ILETI"]
    order = {
        "sender": "ILETI",
        "sendDateTime": later,
        "iys": "0",
        "message": {"text": "Merhaba", "receipents": {"number": ["+905330000002"]}},
    }
    sent = await call("send_sms", {"order": order})
    await call("cancel_order", {"order": {"id": sent["order"]["id"]}})
    assert (await call("get_report", {"order": {"id": sent["order"]["id"]}}))["order"][
        "status"
    ] == 115
    assert (await call("get_reports", {"filter": {"start": today, "end": today}}))["count"] == 1
