"""The simulated carrier: 110 -> 111 after the delay, the documented test numbers,
scheduled and cancelled orders, restarts, and several instances on one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL, SECOND, from_us, now_us
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.store import webhooks as webhook_store
from tests.support.http import auth, call
from tests.support.receiver import Receiver
from tests.support.runtime import running
from tests.support.sms import DELIVERED_TO, PENDING_TO, UNDELIVERED_TO
from tests.support.sms import send_now as send
from tests.support.stored import message_states as statuses
from tests.support.stored import move_send_at as _move_send_at
from tests.support.stored import reports_per_message, rows
from tests.support.waiting import eventually

DELAY = 0.5


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_delay_seconds=DELAY,
        delivery_poll_seconds=0.05,
        webhook_backoff_seconds=0.2,
    )


async def report(client: httpx.AsyncClient, issued: Issued, order_id: int) -> dict[str, Any]:
    status, body = await call(
        client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert status == 200, body
    return body["order"]


async def hooked(rt: Runtime, url: str, balance: int = 100) -> Issued:
    return await rt.accounts.create("acme", senders=("ILETI",), balance=balance, webhook_url=url)


def later(minutes: int) -> str:
    """``sendDateTime`` some minutes ahead, Istanbul time."""
    return from_us(now_us() + minutes * 60 * SECOND).astimezone(ISTANBUL).strftime("%d/%m/%Y %H:%M")


async def schedule(client: httpx.AsyncClient, issued: Issued, number: str) -> int:
    status, body = await call(
        client,
        "send-sms",
        {
            "authentication": auth(issued),
            "order": {
                "sender": "ILETI",
                "sendDateTime": later(3),
                "iys": "0",
                "message": {"text": "Yarın", "receipents": {"number": [number]}},
            },
        },
    )
    assert status == 200, body
    return int(body["order"]["id"])


# -- one instance ---------------------------------------------------------------------------


async def test_a_sent_message_is_delivered_after_the_delay(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    order_id = await send(client, account, [DELIVERED_TO])
    first = await report(client, account, order_id)
    assert first["message"] == [{"number": DELIVERED_TO, "status": 110}]
    assert (first["waiting"], first["delivered"]) == (1, 0)

    async def delivered() -> dict[str, Any] | None:
        order = await report(client, account, order_id)
        return order if order["delivered"] == 1 else None

    order = await eventually(delivered)
    assert order["message"] == [{"number": DELIVERED_TO, "status": 111}]
    assert (order["waiting"], order["undelivered"], order["total"]) == (0, 0, 1)
    (row,) = await rows(
        runtime,
        "SELECT m.status, m.reason, m.due_at, m.updated_at, o.submit_at, o.dispatched "
        "FROM messages m JOIN orders o ON o.id = m.order_id WHERE o.id = :o",
        o=order_id,
    )
    assert (row.status, row.reason, row.due_at, bool(row.dispatched)) == (111, None, None, True)
    assert row.updated_at - row.submit_at >= DELAY * SECOND


async def test_test_numbers_end_undelivered_or_stay_pending(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    order_id = await send(client, account, [DELIVERED_TO, UNDELIVERED_TO, PENDING_TO])

    async def settled() -> dict[str, Any] | None:
        order = await report(client, account, order_id)
        return order if order["delivered"] == 1 and order["undelivered"] == 1 else None

    order = await eventually(settled)
    assert order["message"] == [
        {"number": DELIVERED_TO, "status": 111},
        {"number": UNDELIVERED_TO, "status": 112},
        {"number": PENDING_TO, "status": 110},
    ]
    assert order["waiting"] == 1
    found = await statuses(runtime, order_id)
    assert found[UNDELIVERED_TO] == (112, "undelivered", None)
    # The pending one is no longer due: the carrier never comes back to it.
    assert found[PENDING_TO] == (110, None, None)
    await asyncio.sleep(DELAY + 0.3)
    assert (await statuses(runtime, order_id))[PENDING_TO] == (110, None, None)
    # The undelivered one was charged (it went to the carrier) and not refunded.
    assert (await runtime.accounts.get(account.account.key)).balance == 100 - 3


async def test_test_numbers_are_settings(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        delivery_delay_seconds=0.0,
        delivery_poll_seconds=0.05,
        undelivered_numbers=("+905330000011",),
        pending_numbers=(),
    )
    async with running(settings) as (rt, client):
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        order_id = await send(client, issued, ["+905330000011", PENDING_TO, UNDELIVERED_TO])

        async def settled() -> dict[str, Any] | None:
            found = await statuses(rt, order_id)
            return found if all(s != 110 for s, _, _ in found.values()) else None

        found = await eventually(settled)
        assert {n: s for n, (s, _, _) in found.items()} == {
            "+905330000011": 112,
            PENDING_TO: 111,
            UNDELIVERED_TO: 111,
        }


async def test_skipped_recipients_are_not_dispatched(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await hooked(runtime, receiver.url)
    status, _ = await call(
        client,
        "add-blacklist",
        {"authentication": auth(issued), "blacklist": {"number": "+905330000100"}},
    )
    assert status == 200
    order_id = await send(client, issued, [DELIVERED_TO, "+905330000100", "12345"])
    await eventually(lambda: len(receiver.seen()) >= 2)
    found = await statuses(runtime, order_id)
    assert found == {
        DELIVERED_TO: (111, None, None),
        "+905330000100": (112, "blacklisted", None),
        "12345": (112, "invalid", None),
    }
    await asyncio.sleep(0.3)
    assert sorted(h.report["status"] for h in receiver.seen()) == ["accepted", "delivered"]


async def test_a_scheduled_order_is_dispatched_at_its_time(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await hooked(runtime, receiver.url)
    order_id = await schedule(client, issued, DELIVERED_TO)
    await asyncio.sleep(DELAY + 0.3)  # many carrier rounds
    (order,) = await rows(runtime, "SELECT dispatched FROM orders WHERE id = :o", o=order_id)
    assert not order.dispatched
    assert await statuses(runtime, order_id) == {DELIVERED_TO: (110, None, None)}
    assert await reports_per_message(runtime, issued.account.id) == Counter()
    status, body = await call(
        client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body["status"]["code"]) == (456, 456)

    await runtime.store.transaction(_move_send_at(order_id))

    async def delivered() -> bool:
        return (await statuses(runtime, order_id))[DELIVERED_TO][0] == 111

    await eventually(delivered)
    (message_id,) = [r.id for r in await rows(runtime, "SELECT id FROM messages")]
    await eventually(lambda: len(receiver.seen()) == 2)
    assert await reports_per_message(runtime, issued.account.id) == Counter(
        {(message_id, "accepted"): 1, (message_id, "delivered"): 1}
    )


async def test_a_cancelled_order_is_never_dispatched(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await hooked(runtime, receiver.url)
    order_id = await schedule(client, issued, DELIVERED_TO)
    status, body = await call(
        client, "cancel-order", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body["status"]["code"]) == (200, 200)
    await runtime.store.transaction(_move_send_at(order_id))  # its time comes
    # A later order is delivered: the carrier has been round since.
    other = await send(client, issued, [UNDELIVERED_TO])

    async def other_done() -> bool:
        return (await statuses(runtime, other))[UNDELIVERED_TO][0] == 112

    await eventually(other_done)
    (order,) = await rows(
        runtime, "SELECT dispatched, cancelled FROM orders WHERE id = :o", o=order_id
    )
    assert (bool(order.dispatched), bool(order.cancelled)) == (False, True)
    assert await statuses(runtime, order_id) == {DELIVERED_TO: (112, "cancelled", None)}
    # The cancelled message gets one "undelivered" report (from the cancel), never an
    # "accepted"; the later order gets accepted + undelivered.
    await eventually(lambda: len(receiver.seen()) == 3)
    reports = sorted((h.report["packet_id"], h.report["status"]) for h in receiver.seen())
    assert reports == sorted(
        [(order_id, "undelivered"), (other, "accepted"), (other, "undelivered")]
    )


# -- restarts and several instances ------------------------------------------------------------


async def test_delivery_survives_a_restart(settings: Settings, receiver: Receiver) -> None:
    slow = replace(settings, delivery_delay_seconds=1.0)
    numbers = [f"+9053300001{i:02d}" for i in range(20)]
    # A first instance dispatches an order, and stops with its messages still 110.
    async with running(slow) as (rt, client):
        issued = await hooked(rt, receiver.url)
        dispatched = await send(client, issued, numbers)

        async def handed_over() -> bool:
            found = await statuses(rt, dispatched)
            return all(due is not None for _, _, due in found.values())

        await eventually(handed_over)
    # A second one, with the carrier off, takes an order and stops.
    async with running(replace(slow, delivery_poll_seconds=0)) as (rt, client):
        queued = await send(client, issued, numbers[:5], "ikinci")
        left = [*(await statuses(rt, dispatched)).values(), *(await statuses(rt, queued)).values()]
        assert [s for s, _, _ in left] == [110] * 25
    # A third finishes both: every message once.
    async with running(slow) as (rt, client):

        async def finished() -> bool:
            counts = await rows(
                rt, "SELECT count(*) AS n FROM messages WHERE status = 110 OR due_at IS NOT NULL"
            )
            return counts[0].n == 0

        await eventually(finished)
        for order_id, count in ((dispatched, 20), (queued, 5)):
            order = await report(client, issued, order_id)
            assert (order["delivered"], order["waiting"], order["total"]) == (count, 0, count)
        ids = [r.id for r in await rows(rt, "SELECT id FROM messages")]
        assert len(ids) == 25
        await eventually(lambda: len(receiver.seen()) >= 50)
        await asyncio.sleep(0.3)
        expected = Counter({(i, s): 1 for i in ids for s in ("accepted", "delivered")})
        assert await reports_per_message(rt, issued.account.id) == expected
        posted = Counter((h.report["id"], h.report["status"]) for h in receiver.seen())
        assert posted == expected


@pytest.mark.parametrize("instances", [2, 3])
async def test_several_instances_dispatch_each_message_once(
    settings: Settings, receiver: Receiver, instances: int
) -> None:
    async with running(settings) as (first, first_client):
        issued = await hooked(first, receiver.url, balance=10_000)
        async with _more(settings, instances - 1) as others:
            clients = [first_client, *(c for _, c in others)]
            sends = [
                send(
                    clients[n % len(clients)],
                    issued,
                    [f"+90533{n:03d}{i:04d}" for i in range(20)],
                    f"sipariş {n}",
                )
                for n in range(12)
            ]
            order_ids = await asyncio.gather(*sends)
            assert len(set(order_ids)) == 12

            async def finished() -> bool:
                counts = await rows(first, "SELECT count(*) AS n FROM messages WHERE status <> 111")
                return counts[0].n == 0

            await eventually(finished, within=60)
            ids = [r.id for r in await rows(first, "SELECT id FROM messages")]
            assert len(ids) == 12 * 20
            await eventually(lambda: len(receiver.seen()) >= 2 * len(ids), within=60)
            await asyncio.sleep(0.3)
    expected = Counter({(i, s): 1 for i in ids for s in ("accepted", "delivered")})
    async with running(replace(settings, delivery_poll_seconds=0)) as (rt, _):
        assert await reports_per_message(rt, issued.account.id) == expected
        queued = await rt.store.read(webhook_store.of_account, issued.account.id)
        assert [w for w in queued if w.attempts != 1 or w.delivered_at is None] == []
    posted = Counter((h.report["id"], h.report["status"]) for h in receiver.seen())
    assert posted == expected


@asynccontextmanager
async def _more(
    settings: Settings, count: int
) -> AsyncIterator[list[tuple[Runtime, httpx.AsyncClient]]]:
    if count == 0:
        yield []
        return
    async with running(settings) as one, _more(settings, count - 1) as rest:
        yield [one, *rest]
