"""get-balance and get-sender (spec §6), both encodings."""

from __future__ import annotations

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.services.accounts import Issued
from tests.support.http import auth, call
from tests.support.spec import OK, error


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_get_balance(client: httpx.AsyncClient, runtime: Runtime, fmt: str) -> None:
    issued = await runtime.accounts.create("acme", balance=67, unit_price="0.158")
    status, body = await call(client, "get-balance", {"authentication": auth(issued)}, fmt)
    assert status == 200 and body["status"] == OK
    if fmt == "json":
        assert body["balance"] == {"amount": 10.586, "sms": 67}
        assert isinstance(body["balance"]["sms"], int)
    else:
        assert body["balance"] == {"amount": "10.586", "sms": "67"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_get_balance_follows_changes(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str
) -> None:
    issued = await runtime.accounts.create("acme", balance=1, unit_price="1")
    await runtime.accounts.add_balance(issued.account.key, 9)
    status, body = await call(client, "get-balance", {"authentication": auth(issued)}, fmt)
    assert status == 200
    assert str(body["balance"]["sms"]) == "10"


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_get_sender(client: httpx.AsyncClient, runtime: Runtime, fmt: str) -> None:
    issued = await runtime.accounts.create("acme", senders=("ILETI", "eMarka"))
    status, body = await call(client, "get-sender", {"authentication": auth(issued)}, fmt)
    assert status == 200 and body["status"] == OK
    assert body["senders"] == {"sender": ["ILETI", "eMarka"]}


async def test_get_sender_empty_json(client: httpx.AsyncClient, runtime: Runtime) -> None:
    issued = await runtime.accounts.create("acme")
    status, body = await call(client, "get-sender", {"authentication": auth(issued)})
    assert status == 200
    assert body["senders"] == {"sender": []}


async def test_get_sender_empty_xml(client: httpx.AsyncClient, runtime: Runtime) -> None:
    issued = await runtime.accounts.create("acme")
    key, hash_ = issued.account.key, issued.hash
    body = (
        f"<request><authentication><key>{key}</key><hash>{hash_}</hash></authentication></request>"
    )
    r = await client.post("/v1/get-sender", content=body)
    assert r.status_code == 200
    assert r.text.endswith("<senders></senders></response>")


@pytest.mark.parametrize("action", ["get-balance", "get-sender"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_wrong_hash_is_401(
    client: httpx.AsyncClient, account: Issued, action: str, fmt: str
) -> None:
    request = {"authentication": {"key": account.account.key, "hash": "0" * 64}}
    status, body = await call(client, action, request, fmt)
    assert status == 401
    assert body == error(401)
