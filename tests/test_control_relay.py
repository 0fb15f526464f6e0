"""``/_ileti/relay``: an account's upstream through the control API, on SQLite and
PostgreSQL, with a second ileti (``ileti.testing.server.Sandbox``) as the upstream.

What is checked is what a caller sees (status, the field named, the message), what was
stored (nothing on a refusal; never the hash or secret in plain form) and what the
upstream received (a relayed order, a released one to the release list only)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.testing.server import Sandbox
from tests.support.http import control_headers
from tests.support.runtime import asgi_client, started
from tests.support.sandbox import Made, make_account, outbox
from tests.support.sms import balance, send_now
from tests.support.spec import MESSAGES
from tests.support.stored import everything_as_text, snapshot
from tests.support.waiting import eventually

TOKEN = "admin-token-for-relay-01"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SECRET_KEY = "relay-secret-key-" + "k" * 32
ALLOWED, OTHER = "+905330000011", "+905330000012"
REFUSED = f"the upstream refused the credentials: 401 {MESSAGES[401]}"


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    """The upstream: another ileti, serving on a port of its own."""
    with Sandbox() as found:
        yield found


@pytest.fixture
def up(upstream: Sandbox) -> Made:
    """An account on the upstream (100 credits, sender ILETI)."""
    return make_account(upstream)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        secret_key=(SECRET_KEY,),
        relay_poll_seconds=0.05,
        relay_report_seconds=0.2,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body_for(account: Issued, up: Made, **fields: Any) -> dict[str, Any]:
    return {
        "account": account.account.key,
        "url": up.base_url,
        "key": up.key,
        "secret": up.secret,
        **fields,
    }


async def put(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.put("/_ileti/relay", json=body, headers=ADMIN)


async def set_upstream(
    client: httpx.AsyncClient, account: Issued, up: Made, **fields: Any
) -> dict[str, Any]:
    r = await put(client, body_for(account, up, **fields))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def assert_no_credential(text: str, up: Made) -> None:
    assert up.hash not in text.lower()
    assert up.secret not in text


async def test_set_shows_and_tests_the_upstream_and_keeps_the_hash_sealed(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    r = await put(client, body_for(account, up, release_numbers=["05330000011"]))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "account": account.account.key,
        "upstream": {
            "url": up.base_url,
            "key": up.key,
            "mode": "sandbox",
            "blacklist_sync": False,
            "release_numbers": [ALLOWED],
            "checked_at": r.json()["upstream"]["checked_at"],
            "last_error": None,
            "last_error_at": None,
            "blacklist_synced_at": None,
            "batches": {},
        },
        "balance": {"amount": 0.0, "sms": 100},
    }
    assert r.json()["upstream"]["checked_at"] is not None
    assert_no_credential(r.text, up)
    shown = await client.get("/_ileti/relay", headers=control_headers(account))
    assert shown.status_code == 200
    assert shown.json() == {"account": account.account.key, "upstream": r.json()["upstream"]}
    assert_no_credential(shown.text, up)
    assert_no_credential(await everything_as_text(runtime), up)


async def test_a_change_without_new_credentials_keeps_them_and_makes_no_test_call(
    client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    await set_upstream(client, account, up)
    r = await put(client, {"account": account.account.key, "blacklist_sync": True})
    assert r.status_code == 200, r.text
    assert r.json()["balance"] is None
    assert r.json()["upstream"]["blacklist_sync"] is True
    assert r.json()["upstream"]["key"] == up.key
    checked = await client.post("/_ileti/relay/check", headers=control_headers(account))
    assert checked.status_code == 200, checked.text
    assert checked.json() == {
        "account": account.account.key,
        "balance": {"amount": 0.0, "sms": 100},
    }


async def test_relay_mode_forwards_an_order_to_the_upstream(
    upstream: Sandbox, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    r = await put(client, body_for(account, up, secret=None, hash=up.hash, mode="relay"))
    assert r.status_code == 200, r.text
    order_id = await send_now(client, account, [ALLOWED], "relayed through ileti")
    received = await eventually(lambda: outbox(upstream, up))
    assert [(m["recipient"], m["text"]) for m in received] == [(ALLOWED, "relayed through ileti")]

    async def sent() -> list[dict[str, Any]]:
        found = await client.get(
            f"/_ileti/relay/batches?order={order_id}", headers=control_headers(account)
        )
        assert found.status_code == 200, found.text
        batches: list[dict[str, Any]] = found.json()["batches"]
        return batches if batches and batches[0]["upstream_id"] else []

    (batch,) = await eventually(sent)
    assert batch["order_id"] == order_id
    assert batch["kind"] == "relay"
    assert batch["recipients"] == 1
    assert batch["upstream_id"] == str(received[0]["order_id"])
    assert batch["state"] in ("sent", "done")
    assert batch["error"] is None


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"url": "ftp://example.com/v1/"}, 422, "url", "the upstream URL must start with http"),
        ({"url": "http://user:pw@127.0.0.1/v1/"}, 422, "url", "must not carry a user"),
        ({"secret": "not-the-secret"}, 422, "hash", REFUSED),
        ({"secret": None, "hash": "ab" * 32}, 422, "hash", REFUSED),
        ({"secret": None, "hash": "xyz"}, 422, "hash", "64 hexadecimal characters"),
        ({"hash": "ab" * 32}, 422, "hash", "give the upstream hash or its secret, not both"),
        ({"secret": None}, 422, "hash", "the upstream hash (or secret) is required"),
        ({"secret": " "}, 422, "secret", "the upstream secret is empty"),
        ({"key": "has space"}, 422, "key", "1 to 64 printable ASCII characters"),
        ({"key": None}, 422, "key", "the upstream key is required"),
        ({"mode": "live"}, 422, "mode", "mode must be sandbox or relay"),
        ({"release_numbers": ["123"]}, 422, "release_numbers", "not a Turkish mobile number"),
        ({"mode": 1}, 400, "mode", "Expected `str | null`, got `int`"),
        ({"bogus": 1}, 400, "bogus", "Object contains unknown field"),
        ({"account": "nobody"}, 404, "account", "no account with this key"),
        ({"account": None}, 400, "account", "the admin names the account"),
    ],
)
async def test_a_refused_setting_names_its_field_and_stores_nothing(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    up: Made,
    change: dict[str, Any],
    status: int,
    field: str,
    message: str,
) -> None:
    before = await snapshot(runtime)
    body = {k: v for k, v in (body_for(account, up) | change).items() if v is not None}
    r = await put(client, body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert (error["status"], error["field"]) == (status, field)
    assert message in error["message"]
    assert_no_credential(r.text, up)
    assert await snapshot(runtime) == before


async def test_an_upstream_that_does_not_answer_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    before = await snapshot(runtime)
    r = await put(client, body_for(account, up, url=f"http://127.0.0.1:{closed_port()}/v1/"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "url"
    assert r.json()["error"]["message"].startswith("the upstream did not answer: ")
    assert await snapshot(runtime) == before


async def test_without_ileti_secret_key_no_upstream_can_be_set(
    settings: Settings, up: Made
) -> None:
    async with started(replace(settings, secret_key=())) as rt, asgi_client(rt) as client:
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        before = await snapshot(rt)
        r = await put(client, body_for(issued, up))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "secret_key"
        assert r.json()["error"]["message"].startswith("ILETI_SECRET_KEY is not set")
        assert await snapshot(rt) == before


async def test_only_the_admin_sets_or_removes_an_upstream(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    own = control_headers(account)
    before = await snapshot(runtime)
    r = await client.put("/_ileti/relay", json=body_for(account, up), headers=own)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "this needs the admin token (ILETI_ADMIN_TOKEN)"
    assert await snapshot(runtime) == before
    await set_upstream(client, account, up)
    r = await client.delete("/_ileti/relay", headers=own)
    assert r.status_code == 403
    shown = await client.get("/_ileti/relay", headers=own)
    assert shown.json()["upstream"]["key"] == up.key


async def test_an_account_sees_only_its_own_upstream(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    await set_upstream(client, other, up)
    r = await client.get(
        f"/_ileti/relay?account={other.account.key}", headers=control_headers(account)
    )
    assert r.status_code == 404
    assert r.json()["error"] == {
        "status": 404,
        "message": "no account with this key",
        "field": "account",
    }
    mine = await client.get("/_ileti/relay", headers=control_headers(account))
    assert mine.json() == {"account": account.account.key, "upstream": None}
    theirs = await client.get(f"/_ileti/relay?account={other.account.key}", headers=ADMIN)
    assert theirs.json()["upstream"]["key"] == up.key
    nameless = await client.get("/_ileti/relay", headers=ADMIN)
    assert nameless.status_code == 400
    assert nameless.json()["error"]["field"] == "account"


async def test_delete_forgets_the_upstream(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    await set_upstream(client, account, up)
    key = account.account.key
    r = await client.delete(f"/_ileti/relay?account={key}", headers=ADMIN)
    assert r.status_code == 204
    shown = await client.get(f"/_ileti/relay?account={key}", headers=ADMIN)
    assert shown.json() == {"account": key, "upstream": None}
    assert (await snapshot(runtime))["upstreams"] == []
    again = await client.delete(f"/_ileti/relay?account={key}", headers=ADMIN)
    assert again.status_code == 404
    assert again.json()["error"]["message"] == "the account has no upstream"
    checked = await client.post("/_ileti/relay/check", json={"account": key}, headers=ADMIN)
    assert checked.status_code == 422
    assert checked.json()["error"] == {
        "status": 422,
        "message": "the account has no upstream",
        "field": "account",
    }


async def test_a_failed_check_is_shown_as_the_last_error(
    upstream: Sandbox, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    await set_upstream(client, account, up)
    gone = httpx.delete(
        f"{upstream.url}/_ileti/accounts/{up.key}",
        headers={"Authorization": f"Bearer {upstream.admin_token}"},
    )
    assert gone.status_code == 204, gone.text
    r = await client.post("/_ileti/relay/check", headers=control_headers(account))
    assert r.status_code == 422
    assert r.json()["error"] == {"status": 422, "message": REFUSED, "field": "upstream"}
    shown = (await client.get("/_ileti/relay", headers=control_headers(account))).json()
    assert shown["upstream"]["last_error"] == REFUSED
    assert shown["upstream"]["last_error_at"] is not None


async def test_release_sends_a_captured_order_to_the_release_list_only(
    upstream: Sandbox, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    await set_upstream(client, account, up, release_numbers=[ALLOWED])
    order_id = await send_now(client, account, [ALLOWED, OTHER], "captured, then released")
    own = control_headers(account)
    r = await client.post("/_ileti/relay/release", json={"order": order_id}, headers=own)
    assert r.status_code == 201, r.text
    (made,) = r.json()["batches"]
    assert (made["order_id"], made["kind"], made["recipients"]) == (order_id, "release", 1)
    assert made["state"] == "pending"
    received = await eventually(lambda: outbox(upstream, up))
    assert [(m["recipient"], m["text"]) for m in received] == [(ALLOWED, "captured, then released")]

    async def listed() -> list[dict[str, Any]]:
        found = await client.get(f"/_ileti/relay/batches?order={order_id}", headers=own)
        batches: list[dict[str, Any]] = found.json()["batches"]
        return batches if batches[0]["upstream_id"] else []

    (batch,) = await eventually(listed)
    assert batch["upstream_id"] == str(received[0]["order_id"])
    recent = await client.get("/_ileti/relay/batches", headers=own)
    assert [b["id"] for b in recent.json()["batches"]] == [batch["id"]]
    again = await client.post("/_ileti/relay/release", json={"order": order_id}, headers=own)
    assert again.status_code == 422
    assert again.json()["error"] == {
        "status": 422,
        "message": f"order {order_id} was released already",
        "field": "order",
    }
    assert len(outbox(upstream, up)) == 1


@pytest.mark.parametrize(
    ("numbers", "to", "field", "message"),
    [
        (
            [],
            [ALLOWED],
            "release_numbers",
            "no number may receive released orders: set the release list first",
        ),
        ([ALLOWED], [OTHER], "order", "none of order {id}'s recipients is on the release list"),
    ],
)
async def test_a_release_that_cannot_be_made_sends_nothing(
    runtime: Runtime,
    upstream: Sandbox,
    client: httpx.AsyncClient,
    account: Issued,
    up: Made,
    numbers: list[str],
    to: list[str],
    field: str,
    message: str,
) -> None:
    await set_upstream(client, account, up, release_numbers=numbers)
    order_id = await send_now(client, account, to)
    before = await snapshot(runtime)
    own = control_headers(account)
    r = await client.post("/_ileti/relay/release", json={"order": order_id}, headers=own)
    assert r.status_code == 422
    assert r.json()["error"] == {
        "status": 422,
        "message": message.format(id=order_id),
        "field": field,
    }
    assert (await snapshot(runtime))["relay_batches"] == before["relay_batches"]
    assert outbox(upstream, up) == []


async def test_another_accounts_order_is_neither_released_nor_listed(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, up: Made
) -> None:
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    await set_upstream(client, account, up, release_numbers=[ALLOWED])
    theirs = await send_now(client, other, [ALLOWED])
    own = control_headers(account)
    r = await client.post("/_ileti/relay/release", json={"order": theirs}, headers=own)
    assert r.status_code == 422
    assert r.json()["error"] == {"status": 422, "message": f"no order {theirs}", "field": "order"}
    listed = await client.get(f"/_ileti/relay/batches?order={theirs}", headers=own)
    assert listed.status_code == 404
    assert listed.json()["error"] == {
        "status": 404,
        "message": f"no order {theirs}",
        "field": "order",
    }
    for order in ("x", 0, 2**63):
        bad = await client.post("/_ileti/relay/release", json={"order": order}, headers=own)
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"]["field"] == "order"
        listed = await client.get(f"/_ileti/relay/batches?order={order}", headers=own)
        assert listed.status_code == 400, listed.text
        assert listed.json()["error"]["field"] == "order"


async def test_the_openapi_document_takes_the_hash_and_never_gives_it(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/_ileti/openapi.json")).json()
    validate(spec)  # raises on an invalid document
    paths = spec["paths"]
    assert set(paths["/_ileti/relay"]) == {"get", "put", "delete"}
    assert {"/_ileti/relay/check", "/_ileti/relay/release", "/_ileti/relay/batches"} <= set(paths)
    assert paths["/_ileti/relay"]["put"]["security"] == [{"admin": []}]
    schemas = spec["components"]["schemas"]
    assert {"hash", "secret"} <= set(schemas["RelayIn"]["properties"])
    for name in ("RelayOut", "RelaySetOut", "UpstreamOut", "CheckOut", "BatchList", "BatchOut"):
        assert not {"hash", "secret"} & set(schemas[name]["properties"]), name


async def test_after_delete_a_batch_not_yet_sent_fails_refunded_and_nothing_goes_upstream(
    settings: Settings, upstream: Sandbox, up: Made
) -> None:
    # No relay loop runs (poll 0): the order's batch waits until the test steps it.
    async with started(replace(settings, relay_poll_seconds=0)) as rt, asgi_client(rt) as client:
        account = await rt.accounts.create("acme", senders=("ILETI",), balance=100)
        await set_upstream(client, account, up, mode="relay")
        order_id = await send_now(client, account, [ALLOWED])
        assert await balance(rt, account) == 99
        key = account.account.key
        assert (
            await client.delete(f"/_ileti/relay?account={key}", headers=ADMIN)
        ).status_code == 204
        await rt.relay.step()
        listed = await client.get(
            f"/_ileti/relay/batches?order={order_id}", headers=control_headers(account)
        )
        (batch,) = listed.json()["batches"]
        assert (batch["state"], batch["error"]) == ("failed", "the account has no upstream")
        assert await balance(rt, account) == 100
    assert outbox(upstream, up) == []
