"""What the panel reads of the relay (``ileti.services.relay_pages``), on SQLite and
PostgreSQL, with a second ileti as the upstream: the batch that carried a message
(relayed or released; none for a recipient a local check kept back, none across
accounts), and an order's release plan before and after its release. And the relay
form of a server without ``ILETI_SECRET_KEY``: the reason in one line, nothing stored."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ileti.config import Settings
from ileti.services.order_pages import OrderPages
from ileti.services.relay_pages import RelayPages
from ileti.testing.server import Sandbox
from tests.support.panel_upstream import UpstreamAccount, start_upstream, upstream_account
from tests.support.runtime import running
from tests.support.stored import message_ids, upstream_by_key
from tests.support.waiting import eventually


@pytest.fixture
def upstream() -> Iterator[Sandbox]:
    sandbox = start_upstream()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def relay_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        secret_key=("relay-pages-tests-" + "k" * 32,),
        relay_poll_seconds=0.05,
        relay_report_seconds=0.5,
    )


async def send(client: httpx.AsyncClient, auth: dict[str, str], *numbers: str) -> int:
    order: dict[str, Any] = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "0",
        "message": {"text": "Merhaba", "receipents": {"number": list(numbers)}},
    }
    body = {"request": {"authentication": auth, "order": order}}
    answer = await client.post("/v1/send-sms/json", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["response"]["order"]["id"])


async def test_a_relayed_message_has_its_batch_and_a_kept_back_one_none(
    database_url: str, upstream: Sandbox
) -> None:
    up: UpstreamAccount = upstream_account(upstream)
    async with running(relay_settings(database_url)) as (rt, client):
        issued = await rt.accounts.create("app", senders=("ILETI",), balance=100)
        other = await rt.accounts.create("other", senders=("ILETI",), balance=100)
        account_id = issued.account.id
        await rt.relay_settings.set(
            account_id, base_url=up.base_url, key=up.key, secret=up.secret, mode="relay"
        )
        auth = {"key": issued.account.key, "hash": issued.hash}
        body = {"request": {"authentication": auth, "blacklist": {"number": "05330000202"}}}
        assert (await client.post("/v1/add-blacklist/json", json=body)).status_code == 200
        order_id = await send(client, auth, "05330000201", "05330000202")
        pages = RelayPages(rt.store)

        async def sent() -> Any:
            batches = await rt.relay_settings.batches(order_id)
            return batches and batches[0].state in ("sent", "done") and batches[0]

        batch = await eventually(sent)
        ids = await message_ids(rt, order_id)
        carried = await pages.message(account_id, ids["+905330000201"], order_id)
        assert carried.relayed and carried.batch is not None
        assert (carried.batch.id, carried.batch.kind) == (batch.id, "relay")
        assert carried.batch.upstream_id == batch.upstream_id
        assert up.received(str(batch.upstream_id)) == ["+905330000201"]
        kept = await pages.message(account_id, ids["+905330000202"], order_id)
        assert kept.relayed and kept.batch is None
        # Another account asking for the same message: nothing.
        foreign = await pages.message(other.account.id, ids["+905330000201"], order_id)
        assert not foreign.relayed and foreign.batch is None
        found = await pages.order(account_id, order_id)
        assert found is not None and found.relayed and not found.releasable
        assert [b.id for b in found.batches] == [batch.id]
        assert await pages.order(other.account.id, order_id) is None
        # The order page reads the report and the batches in one transaction.
        orders = OrderPages(rt.store)
        both = await orders.report_with_relay(account_id, order_id)
        assert both is not None
        report, relay = both
        assert report.order.id == order_id and relay.relayed
        assert [b.id for b in relay.batches] == [batch.id]
        assert {m.recipient: m.reason for m in report.messages}["+905330000202"] == "blacklisted"
        assert await orders.report_with_relay(other.account.id, order_id) is None


async def test_a_captured_order_is_planned_then_released(
    database_url: str, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    async with running(relay_settings(database_url)) as (rt, client):
        issued = await rt.accounts.create("app", senders=("ILETI",), balance=100)
        account_id = issued.account.id
        auth = {"key": issued.account.key, "hash": issued.hash}
        order_id = await send(client, auth, "05330000211", "05330000212", "12345")
        pages = RelayPages(rt.store)
        before = await pages.order(account_id, order_id)
        assert before is not None and not before.has_upstream and not before.releasable
        await rt.relay_settings.set(
            account_id,
            base_url=up.base_url,
            key=up.key,
            hash=up.hash,
            release_numbers=["05330000211", "05330000299"],
        )
        plan = await pages.order(account_id, order_id)
        assert plan is not None and plan.releasable and not plan.relayed
        assert plan.release_numbers == ("+905330000211", "+905330000299")
        assert plan.reach == {0: ["+905330000211"]}
        assert plan.batches == []
        await rt.relay_settings.release(account_id, order_id)
        after = await pages.order(account_id, order_id)
        assert after is not None and not after.releasable and after.reach == {}
        assert [b.kind for b in after.batches] == ["release"]
        ids = await message_ids(rt, order_id)
        released = await pages.message(account_id, ids["+905330000211"], order_id)
        assert not released.relayed and released.batch is not None
        assert released.batch.kind == "release"
        other = await pages.message(account_id, ids["+905330000212"], order_id)
        assert other.batch is None


async def test_without_a_secret_key_the_relay_form_says_so_and_stores_nothing(
    database_url: str, upstream: Sandbox
) -> None:
    up = upstream_account(upstream)
    settings = Settings(database_url=database_url, auth_refresh_seconds=0.1)
    async with running(settings) as (rt, client):
        issued = await rt.accounts.create("app", senders=("ILETI",), balance=100)
        await asyncio.to_thread(
            rt.users.create_sync,
            "relay@example.com",
            "pw-relay-123456",
            account_key=issued.account.key,
            admin=True,  # only an admin sets an upstream; this one shows the account
        )
        form = await client.get("/panel/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        origin = {"Origin": str(client.base_url)}
        login = {
            "csrf": token.group(1),
            "email": "relay@example.com",
            "password": "pw-relay-123456",
        }
        assert (await client.post("/panel/login", data=login, headers=origin)).status_code == 303
        page = await client.get("/panel/settings/relay")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        fields = {
            "csrf": csrf.group(1),
            "url": up.base_url,
            "key": up.key,
            "hash": up.hash,
            "mode": "relay",
        }
        answer = await client.post("/panel/settings/relay", data=fields, headers=origin)
        assert answer.status_code == 422
        found = re.search(
            r'<p class="error" role="alert" id="relay-form-error">(.*?)</p>', answer.text
        )
        assert found is not None
        assert found.group(1).startswith("Üst hesap ayarlanamıyor: <span")
        assert "ILETI_SECRET_KEY is not set" in found.group(1)
        assert up.hash not in answer.text
        assert upstream_by_key(database_url, issued.account.key) is None
