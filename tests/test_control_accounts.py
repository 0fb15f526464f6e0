"""The control API's accounts (/_ileti/accounts) and its OpenAPI document: chosen
credentials for CI, settings, delete; the admin sees every account, an account only
itself; bad input is a 4xx naming the field and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.auth import api_hash
from tests.support.runtime import asgi_client, started

TOKEN = "admin-token-for-tests-0123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, auth_refresh_seconds=0.1, admin_token=TOKEN)


def as_account(key: str, secret: str) -> dict[str, str]:
    return {"X-Ileti-Key": key, "X-Ileti-Hash": api_hash(key, secret)}


async def test_an_account_with_chosen_credentials_works_on_the_v1_api(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/_ileti/accounts",
        headers=ADMIN,
        json={
            "name": "ci",
            "key": "ci-key",
            "secret": "ci-secret",
            "senders": ["ILETI"],
            "balance": 25,
            "brand_code": "696422",
            "test_number": "05330000009",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert body["hash"] == api_hash("ci-key", "ci-secret")
    assert body["secret"] == "ci-secret"
    account = body["account"]
    assert (account["key"], account["balance"], account["test_number"]) == (
        "ci-key",
        25,
        "+905330000009",
    )
    request = {"request": {"authentication": {"key": "ci-key", "hash": body["hash"]}}}
    r = await client.post("/v1/get-balance/json", json=request)
    assert r.json()["response"]["balance"]["sms"] == 25


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x", "key": "bad key!"}, 400, "key"),
        ({"name": "x", "secret": ""}, 400, "secret"),
        ({"name": "x", "balance": "lots"}, 400, "balance"),
        ({"name": "x", "senders": [1]}, 400, "senders[0]"),
        ({"name": "x", "surprise": True}, 400, "surprise"),
        ({"name": "x", "webhook_url": "ftp://x"}, 400, None),
        ({"key": "k"}, 400, None),
    ],
)
async def test_bad_account_input_is_400_naming_the_field_and_creates_nothing(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, object], status: int, field: str
) -> None:
    r = await client.post("/_ileti/accounts", headers=ADMIN, json=body)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["status"] == status and error["message"]
    if field is not None:
        assert error["field"] == field
    assert await runtime.accounts.list() == []


BIG = 2**63


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"balance": BIG}, "balance"),
        ({"balance": 10**30}, "balance"),
        ({"balance": -1}, "balance"),
        ({"rate_limit": 2**31}, "rate_limit"),
        ({"rate_limit": BIG}, "rate_limit"),
    ],
)
async def test_numbers_past_what_is_stored_are_400_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, object], field: str
) -> None:
    """Creating or changing: 400 naming the field, nothing created or changed (never a
    float on SQLite or a 503 on PostgreSQL)."""
    r = await client.post("/_ileti/accounts", headers=ADMIN, json={"name": "x", **body})
    assert (r.status_code, r.json()["error"]["field"]) == (400, field), r.text
    assert await runtime.accounts.list() == []
    created = await client.post(
        "/_ileti/accounts", headers=ADMIN, json={"name": "a", "key": "a-key", "balance": 5}
    )
    assert created.status_code == 201
    before = await client.get("/_ileti/accounts/a-key", headers=ADMIN)
    r = await client.patch("/_ileti/accounts/a-key", headers=ADMIN, json=body)
    assert (r.status_code, r.json()["error"]["field"]) == (400, field), r.text
    after = await client.get("/_ileti/accounts/a-key", headers=ADMIN)
    assert after.json() == before.json()


async def test_a_used_key_is_409(client: httpx.AsyncClient) -> None:
    body = {"name": "a", "key": "same"}
    assert (await client.post("/_ileti/accounts", headers=ADMIN, json=body)).status_code == 201
    r = await client.post("/_ileti/accounts", headers=ADMIN, json=body)
    assert (r.status_code, r.json()["error"]["field"]) == (409, "key")


async def test_an_account_sees_and_changes_only_itself(client: httpx.AsyncClient) -> None:
    for name in ("one", "two"):
        body = {"name": name, "key": f"{name}-key", "secret": f"{name}-secret"}
        assert (await client.post("/_ileti/accounts", headers=ADMIN, json=body)).status_code == 201
    one = as_account("one-key", "one-secret")
    r = await client.get("/_ileti/accounts", headers=one)
    assert [a["key"] for a in r.json()["accounts"]] == ["one-key"]
    r = await client.get("/_ileti/accounts", headers=ADMIN)
    assert [a["key"] for a in r.json()["accounts"]] == ["one-key", "two-key"]
    for method, path in (("GET", "two-key"), ("PATCH", "two-key"), ("POST", "two-key/rotate")):
        r = await client.request(method, f"/_ileti/accounts/{path}", headers=one, json={})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no account with this key")
    r = await client.patch(
        "/_ileti/accounts/one-key", headers=one, json={"balance": 9, "senders": ["ACME"]}
    )
    assert (r.status_code, r.json()["balance"], r.json()["senders"]) == (200, 9, ["ACME"])
    r = await client.delete("/_ileti/accounts/one-key", headers=one)
    assert r.status_code == 403
    r = await client.get("/_ileti/accounts/two-key", headers=ADMIN)
    assert r.json()["balance"] == 0


async def test_wrong_credentials_are_401(client: httpx.AsyncClient) -> None:
    body = {"name": "one", "key": "one-key", "secret": "one-secret"}
    await client.post("/_ileti/accounts", headers=ADMIN, json=body)
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        as_account("one-key", "not-the-secret"),
        as_account("nobody", "one-secret"),
    ):
        r = await client.get("/_ileti/accounts", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Bearer realm="ileti"'


async def test_deleting_an_account_removes_it_and_its_credentials(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = {"name": "gone", "key": "gone-key", "secret": "s", "senders": ["ILETI"], "balance": 5}
    issued = (await client.post("/_ileti/accounts", headers=ADMIN, json=body)).json()
    auth = {"key": "gone-key", "hash": issued["hash"]}
    send = {
        "authentication": auth,
        "order": {
            "sender": "ILETI",
            "message": {"text": "x", "receipents": {"number": ["+905330000001"]}},
        },
    }
    assert (await client.post("/v1/send-sms/json", json={"request": send})).status_code == 200
    add = {"authentication": auth, "blacklist": {"number": "+905330000002"}}
    assert (await client.post("/v1/add-blacklist/json", json={"request": add})).status_code == 200
    assert (await client.delete("/_ileti/accounts/gone-key", headers=ADMIN)).status_code == 204
    r = await client.post("/v1/get-balance/json", json={"request": {"authentication": auth}})
    assert r.status_code == 401
    assert (await client.get("/_ileti/accounts/gone-key", headers=ADMIN)).status_code == 404
    assert (await client.delete("/_ileti/accounts/gone-key", headers=ADMIN)).status_code == 404


async def test_the_openapi_document_describes_every_endpoint(client: httpx.AsyncClient) -> None:
    from ileti.api.control import ENDPOINTS

    spec = (await client.get("/_ileti/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for endpoint in ENDPOINTS:
        operation = spec["paths"][f"/_ileti{endpoint.path}"][endpoint.method.lower()]
        assert operation["summary"] == endpoint.summary
        if endpoint.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in spec["components"]["schemas"]


@pytest.fixture
async def closed(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=sqlite_url, admin_token=TOKEN, control_api=False)
    async with started(settings) as rt, asgi_client(rt) as client:
        yield client


async def test_the_control_api_can_be_switched_off(closed: httpx.AsyncClient) -> None:
    assert (await closed.get("/_ileti/openapi.json")).status_code == 404
    assert (await closed.get("/_ileti/accounts", headers=ADMIN)).status_code == 404
