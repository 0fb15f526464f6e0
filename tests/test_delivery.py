"""The simulated carrier: 110 -> 111 after the delay, the documented test numbers,
scheduled and cancelled orders, restarts, and several instances on one database.

The carrier and the webhook sender read a clock the tests advance: a test moves time
on and steps the work (``settle``), and proves that something has not happened yet by
stepping at the moment just before it is due. One test runs in real time, end to end.
"""

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
from ileti.clock import ISTANBUL, MINUTE, SECOND, from_us
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.clock import FakeClock
from tests.support.http import auth, call
from tests.support.receiver import Receiver
from tests.support.runtime import running, settle
from tests.support.sms import DELIVERED_TO, PENDING_TO, UNDELIVERED_TO
from tests.support.sms import send_now as send
from tests.support.spec import error
from tests.support.stored import (
    all_message_ids,
    order_flags,
    reports_per_message,
    settled_after,
    stored_webhooks,
)
from tests.support.stored import message_states as statuses
from tests.support.waiting import eventually

DELAY = 0.5
JUST_BEFORE = 0.001  # seconds: stepping this long before a due time proves it not due yet


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


async def schedule(
    client: httpx.AsyncClient, issued: Issued, number: str, clock: FakeClock
) -> tuple[int, int]:
    """An order scheduled three minutes ahead (``sendDateTime`` has whole minutes):
    (its id, its send time in microseconds)."""
    send_at = (clock.now_us() + 3 * MINUTE) // MINUTE * MINUTE
    when = from_us(send_at).astimezone(ISTANBUL).strftime("%d/%m/%Y %H:%M")
    status, body = await call(
        client,
        "send-sms",
        {
            "authentication": auth(issued),
            "order": {
                "sender": "ILETI",
                "sendDateTime": when,
                "iys": "0",
                "message": {"text": "Yarın", "receipents": {"number": [number]}},
            },
        },
    )
    assert status == 200, body
    return int(body["order"]["id"]), send_at


def statuses_of(receiver: Receiver) -> list[tuple[str, str]]:
    """(recipient, report status) of every webhook received, in arrival order."""
    return [(h.report["to"], h.report["status"]) for h in receiver.seen()]


# -- one instance ---------------------------------------------------------------------------


async def test_a_sent_message_is_delivered_exactly_after_the_delay(
    stepped: Runtime, stepped_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=10)
    order_id = await send(stepped_client, issued, [DELIVERED_TO])
    first = await report(stepped_client, issued, order_id)
    assert first["message"] == [{"number": DELIVERED_TO, "status": 110}]
    assert (first["waiting"], first["delivered"]) == (1, 0)

    await settle(stepped)  # dispatched: due DELAY from now
    assert await order_flags(stepped, order_id) == (True, False)
    clock.advance(DELAY - JUST_BEFORE)
    await settle(stepped)
    assert await report(stepped_client, issued, order_id) == first
    assert (await statuses(stepped, order_id))[DELIVERED_TO][:2] == (110, None)

    clock.advance(JUST_BEFORE)
    await settle(stepped)
    order = await report(stepped_client, issued, order_id)
    assert order["message"] == [{"number": DELIVERED_TO, "status": 111}]
    counts = (order["waiting"], order["delivered"], order["undelivered"], order["total"])
    assert counts == (0, 1, 0, 1)
    assert await statuses(stepped, order_id) == {DELIVERED_TO: (111, None, None)}
    assert await settled_after(stepped, order_id) == {DELIVERED_TO: round(DELAY * SECOND)}


async def test_real_time_delivery_and_webhooks_with_the_loops_running(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Real time, end to end: the instance's own poll loops, the system clock and a
    real webhook receiver; nothing is stepped by hand."""
    issued = await hooked(runtime, receiver.url)
    order_id = await send(client, issued, [DELIVERED_TO, UNDELIVERED_TO])
    await eventually(lambda: len(receiver.seen()) >= 4)
    order = await report(client, issued, order_id)
    assert order["message"] == [
        {"number": DELIVERED_TO, "status": 111},
        {"number": UNDELIVERED_TO, "status": 112},
    ]
    assert (order["waiting"], order["delivered"], order["undelivered"]) == (0, 1, 1)
    after = await settled_after(runtime, order_id)
    assert min(after.values()) >= DELAY * SECOND
    got = statuses_of(receiver)
    assert sorted(got) == [
        (DELIVERED_TO, "accepted"),
        (DELIVERED_TO, "delivered"),
        (UNDELIVERED_TO, "accepted"),
        (UNDELIVERED_TO, "undelivered"),
    ]
    # Per message, "accepted" first.
    assert [s for n, s in got if n == DELIVERED_TO] == ["accepted", "delivered"]
    assert [s for n, s in got if n == UNDELIVERED_TO] == ["accepted", "undelivered"]


async def test_test_numbers_end_undelivered_or_stay_pending(
    stepped: Runtime, stepped_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=100)
    order_id = await send(stepped_client, issued, [DELIVERED_TO, UNDELIVERED_TO, PENDING_TO])
    await settle(stepped)
    clock.advance(DELAY)
    await settle(stepped)
    order = await report(stepped_client, issued, order_id)
    assert order["message"] == [
        {"number": DELIVERED_TO, "status": 111},
        {"number": UNDELIVERED_TO, "status": 112},
        {"number": PENDING_TO, "status": 110},
    ]
    assert (order["waiting"], order["delivered"], order["undelivered"]) == (1, 1, 1)
    found = await statuses(stepped, order_id)
    assert found[UNDELIVERED_TO] == (112, "undelivered", None)
    # The pending one is no longer due: the carrier never comes back to it.
    assert found[PENDING_TO] == (110, None, None)
    clock.advance(24 * 3600)
    assert await stepped.carrier.step() is False
    assert await statuses(stepped, order_id) == found
    # The undelivered one was charged (it went to the carrier) and not refunded.
    assert (await stepped.accounts.get(issued.account.key)).balance == 100 - 3


async def test_test_numbers_are_settings(database_url: str, clock: FakeClock) -> None:
    settings = Settings(
        database_url=database_url,
        delivery_delay_seconds=0.0,
        delivery_poll_seconds=0,
        undelivered_numbers=("+905330000011",),
        pending_numbers=(),
    )
    async with running(settings, clock=clock) as (rt, client):
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        order_id = await send(client, issued, ["+905330000011", PENDING_TO, UNDELIVERED_TO])
        await settle(rt)  # no delay: dispatched and final in one step
        assert await statuses(rt, order_id) == {
            "+905330000011": (112, "undelivered", None),
            PENDING_TO: (111, None, None),
            UNDELIVERED_TO: (111, None, None),
        }


async def test_skipped_recipients_are_not_dispatched(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await hooked(stepped, receiver.url)
    status, _ = await call(
        stepped_client,
        "add-blacklist",
        {"authentication": auth(issued), "blacklist": {"number": "+905330000100"}},
    )
    assert status == 200
    order_id = await send(stepped_client, issued, [DELIVERED_TO, "+905330000100", "12345"])
    skipped = {
        "+905330000100": (112, "blacklisted", None),
        "12345": (112, "invalid", None),
    }
    await settle(stepped)
    assert statuses_of(receiver) == [(DELIVERED_TO, "accepted")]
    clock.advance(DELAY)
    await settle(stepped)
    assert await statuses(stepped, order_id) == {DELIVERED_TO: (111, None, None), **skipped}
    clock.advance(3600)
    await settle(stepped)
    assert statuses_of(receiver) == [(DELIVERED_TO, "accepted"), (DELIVERED_TO, "delivered")]


async def test_a_scheduled_order_is_dispatched_at_its_time(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await hooked(stepped, receiver.url)
    order_id, send_at = await schedule(stepped_client, issued, DELIVERED_TO, clock)
    await settle(stepped)
    clock.advance_to(send_at - round(JUST_BEFORE * SECOND))
    await settle(stepped)
    assert await order_flags(stepped, order_id) == (False, False)
    assert await statuses(stepped, order_id) == {DELIVERED_TO: (110, None, None)}
    assert await reports_per_message(stepped, issued.account.id) == Counter()
    status, body = await call(
        stepped_client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body) == (456, error(456))
    assert receiver.seen() == []

    clock.advance_to(send_at)
    await settle(stepped)
    assert await order_flags(stepped, order_id) == (True, False)
    assert (await report(stepped_client, issued, order_id))["waiting"] == 1
    clock.advance(DELAY)
    await settle(stepped)
    assert await statuses(stepped, order_id) == {DELIVERED_TO: (111, None, None)}
    (message_id,) = await all_message_ids(stepped)
    assert await reports_per_message(stepped, issued.account.id) == Counter(
        {(message_id, "accepted"): 1, (message_id, "delivered"): 1}
    )
    assert statuses_of(receiver) == [(DELIVERED_TO, "accepted"), (DELIVERED_TO, "delivered")]


async def test_a_cancelled_order_is_never_dispatched(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await hooked(stepped, receiver.url)
    order_id, send_at = await schedule(stepped_client, issued, DELIVERED_TO, clock)
    status, body = await call(
        stepped_client, "cancel-order", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body["status"]["code"]) == (200, 200)
    clock.advance_to(send_at)  # its time comes
    other = await send(stepped_client, issued, [UNDELIVERED_TO])
    await settle(stepped)
    clock.advance(DELAY)
    await settle(stepped)
    assert await statuses(stepped, other) == {UNDELIVERED_TO: (112, "undelivered", None)}
    assert await order_flags(stepped, order_id) == (False, True)
    assert await statuses(stepped, order_id) == {DELIVERED_TO: (112, "cancelled", None)}
    # The cancelled message gets one "undelivered" report (from the cancel), never an
    # "accepted"; the later order gets accepted + undelivered.
    clock.advance(3600)
    await settle(stepped)
    reports = [(h.report["packet_id"], h.report["status"]) for h in receiver.seen()]
    assert reports == [(order_id, "undelivered"), (other, "accepted"), (other, "undelivered")]


# -- restarts and several instances ------------------------------------------------------------


async def test_delivery_survives_a_restart(
    settings: Settings, receiver: Receiver, clock: FakeClock
) -> None:
    stepped = replace(settings, delivery_delay_seconds=1.0, delivery_poll_seconds=0)
    numbers = [f"+9053300001{i:02d}" for i in range(20)]
    # A first instance dispatches an order (its "accepted" reports queued, not sent),
    # and stops with its messages still 110.
    async with running(stepped, clock=clock) as (rt, client):
        issued = await hooked(rt, receiver.url)
        dispatched = await send(client, issued, numbers)
        assert await rt.carrier.step() is False
        found = await statuses(rt, dispatched)
        assert [(s, due is not None) for s, _, due in found.values()] == [(110, True)] * 20
    # A second one takes an order and stops, its work not stepped.
    async with running(stepped, clock=clock) as (rt, client):
        queued = await send(client, issued, numbers[:5], "ikinci")
        left = [*(await statuses(rt, dispatched)).values(), *(await statuses(rt, queued)).values()]
        assert [s for s, _, _ in left] == [110] * 25
    assert receiver.seen() == []
    # A third finishes both: every message and every report once.
    async with running(stepped, clock=clock) as (rt, client):
        await settle(rt)
        clock.advance(1.0)
        await settle(rt)
        for order_id, count in ((dispatched, 20), (queued, 5)):
            order = await report(client, issued, order_id)
            assert (order["delivered"], order["waiting"], order["total"]) == (count, 0, count)
        ids = await all_message_ids(rt)
        assert len(ids) == 25
        expected = Counter({(i, s): 1 for i in ids for s in ("accepted", "delivered")})
        assert await reports_per_message(rt, issued.account.id) == expected
        posted = Counter((h.report["id"], h.report["status"]) for h in receiver.seen())
        assert posted == expected


@pytest.mark.parametrize("instances", [2, 3])
async def test_several_instances_dispatch_each_message_once(
    settings: Settings, receiver: Receiver, clock: FakeClock, instances: int
) -> None:
    """The instances share one database and one clock; their steps run concurrently."""
    stepped = replace(settings, delivery_poll_seconds=0)
    async with running(stepped, clock=clock) as (first, first_client):
        issued = await hooked(first, receiver.url, balance=10_000)
        async with _more(stepped, clock, instances - 1) as others:
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
            everyone = [first, *(rt for rt, _ in others)]
            await settle(*everyone)
            clock.advance(DELAY)
            await settle(*everyone)
        ids = await all_message_ids(first)
        assert len(ids) == 12 * 20
        for order_id in order_ids:
            assert {s for s, _, _ in (await statuses(first, order_id)).values()} == {111}
        expected = Counter({(i, s): 1 for i in ids for s in ("accepted", "delivered")})
        assert await reports_per_message(first, issued.account.id) == expected
        queued = await stored_webhooks(first, issued.account.id)
        assert [w for w in queued if w.attempts != 1 or w.delivered_at is None] == []
    posted = Counter((h.report["id"], h.report["status"]) for h in receiver.seen())
    assert posted == expected


@asynccontextmanager
async def _more(
    settings: Settings, clock: FakeClock, count: int
) -> AsyncIterator[list[tuple[Runtime, httpx.AsyncClient]]]:
    if count == 0:
        yield []
        return
    async with running(settings, clock=clock) as one, _more(settings, clock, count - 1) as rest:
        yield [one, *rest]
