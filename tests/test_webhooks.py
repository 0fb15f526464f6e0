"""Delivery reports by webhook (spec §7), against a real HTTP receiver on 127.0.0.1:
the exact body and content type, retries with backoff on errors and timeouts, giving
up after the bound, attempts recorded, order per message.

The carrier and the webhook sender read a clock the tests advance (``settle`` steps
them): a backoff is proven by stepping just before the retry is due, then at it. The
POSTs themselves are real, and so is the HTTP timeout.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import SECOND, parse_send_time
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.clock import FakeClock
from tests.support.http import auth, call
from tests.support.receiver import Receiver
from tests.support.runtime import settle
from tests.support.sms import DELIVERED_TO, PENDING_TO, UNDELIVERED_TO
from tests.support.sms import send_now as send
from tests.support.spec import OK
from tests.support.stored import message_ids, order_flags, stored_webhooks

DELAY = 0.2
BACKOFF = 0.2  # then twice that
JUST_BEFORE = 0.001  # seconds: stepping this long before a due time proves it not due yet
#: Real seconds: long enough that a loaded machine's receiver answers in time (at 0.5 s a
#: CI run's first POST timed out); only the timeout test waits it out.
TIMEOUT = 2.0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_delay_seconds=DELAY,
        delivery_poll_seconds=0.05,
        webhook_timeout_seconds=TIMEOUT,
        webhook_attempts=3,
        webhook_backoff_seconds=BACKOFF,
    )


async def hooked(rt: Runtime, url: str, **settings: Any) -> Issued:
    return await rt.accounts.create(
        "acme", senders=("ILETI",), balance=100, webhook_url=url, **settings
    )


def us(seconds: float) -> int:
    return round(seconds * SECOND)


async def delivered_count(client: httpx.AsyncClient, issued: Issued, order_id: int) -> int:
    status, body = await call(
        client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert status == 200, body
    return int(body["order"]["delivered"])


async def retried_at_its_backoff(
    rt: Runtime, clock: FakeClock, attempts: Callable[[], Awaitable[int]], made: int, wait: float
) -> None:
    """Attempt ``made`` is not made ``JUST_BEFORE`` its backoff ``wait`` has passed, and
    is made when it has; ``attempts()`` counts the attempts so far."""
    clock.advance(wait - JUST_BEFORE)
    await settle(rt)
    assert await attempts() == made - 1
    clock.advance(JUST_BEFORE)
    await settle(rt)
    assert await attempts() == made


# -- the payload -------------------------------------------------------------------------


async def test_accepted_and_delivered_reports_have_the_documented_shape(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await hooked(stepped, receiver.url)
    text = 'Merhaba "dünya"\nçğış'
    order_id = await send(stepped_client, issued, [DELIVERED_TO, UNDELIVERED_TO], text)
    ids = await message_ids(stepped, order_id)
    start = clock.now_us()
    await settle(stepped)
    clock.advance(DELAY)
    await settle(stepped)
    clock.advance(3600)
    await settle(stepped)  # nothing more is sent
    hits = receiver.seen()
    assert len(hits) == 4
    for hit in hits:
        assert hit.method == "POST" and hit.path == "/hook"
        assert hit.content_type == "application/json"
        assert list(json.loads(hit.body)) == ["report"]
        assert list(hit.report) == ["id", "packet_id", "status", "to", "body"]
    got = sorted((h.report["to"], h.report["status"], h.report["id"]) for h in hits)
    assert got == [
        (DELIVERED_TO, "accepted", ids[DELIVERED_TO]),
        (DELIVERED_TO, "delivered", ids[DELIVERED_TO]),
        (UNDELIVERED_TO, "accepted", ids[UNDELIVERED_TO]),
        (UNDELIVERED_TO, "undelivered", ids[UNDELIVERED_TO]),
    ]
    for hit in hits:
        assert hit.report["packet_id"] == order_id
        assert isinstance(hit.report["id"], int) and isinstance(hit.report["packet_id"], int)
        assert hit.report["body"] == text
    # "accepted" (at dispatch) arrives before the final reports (after the delay).
    assert [h.report["status"] for h in hits[:2]] == ["accepted", "accepted"]
    rows = await stored_webhooks(stepped, issued.account.id)
    assert len(rows) == 4
    assert all(r.attempts == 1 and r.next_attempt_at is None and r.last_error is None for r in rows)
    assert [r.delivered_at for r in rows] == [start, start, start + us(DELAY), start + us(DELAY)]
    assert {r.payload.encode() for r in rows} == {h.body for h in hits}


async def test_no_webhook_url_queues_nothing(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await stepped.accounts.create("acme", senders=("ILETI",), balance=10)
    order_id = await send(stepped_client, issued, [DELIVERED_TO])
    await settle(stepped)
    clock.advance(DELAY)
    await settle(stepped)
    assert await delivered_count(stepped_client, issued, order_id) == 1
    assert await stored_webhooks(stepped, issued.account.id) == []
    assert receiver.seen() == []


# -- retries -------------------------------------------------------------------------------


async def test_retries_after_a_server_error(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.script = [500]
    issued = await hooked(stepped, receiver.url)
    order_id = await send(stepped_client, issued, [PENDING_TO])  # one report: "accepted"
    ids = await message_ids(stepped, order_id)
    start = clock.now_us()
    await settle(stepped)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.delivered_at, row.last_error) == (1, None, "HTTP 500")
    assert row.next_attempt_at == start + us(BACKOFF)

    async def attempts() -> int:
        return len(receiver.seen())

    await retried_at_its_backoff(stepped, clock, attempts, 2, BACKOFF)
    hits = receiver.seen()
    assert hits[0].body == hits[1].body
    assert hits[0].report == {
        "id": ids[PENDING_TO],
        "packet_id": order_id,
        "status": "accepted",
        "to": PENDING_TO,
        "body": "Merhaba dünya",
    }
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.delivered_at, row.next_attempt_at) == (2, start + us(BACKOFF), None)
    assert row.last_error == "HTTP 500"


async def test_retries_after_a_timeout(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.script = ["slow"]
    receiver.slow_seconds = TIMEOUT + 0.5  # longer than the timeout (real time)
    issued = await hooked(stepped, receiver.url)
    await send(stepped_client, issued, [PENDING_TO])
    start = clock.now_us()
    await settle(stepped)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.delivered_at, row.next_attempt_at) == (1, None, start + us(BACKOFF))
    assert row.last_error == "timeout after 2 s"

    async def attempts() -> int:
        return len(receiver.seen())

    await retried_at_its_backoff(stepped, clock, attempts, 2, BACKOFF)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.delivered_at, row.next_attempt_at) == (2, start + us(BACKOFF), None)
    assert row.last_error == "timeout after 2 s"


async def test_gives_up_after_the_bound(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.default = 503
    issued = await hooked(stepped, receiver.url)
    await send(stepped_client, issued, [PENDING_TO])
    await settle(stepped)
    assert len(receiver.seen()) == 1

    async def attempts() -> int:
        return len(receiver.seen())

    await retried_at_its_backoff(stepped, clock, attempts, 2, BACKOFF)
    await retried_at_its_backoff(stepped, clock, attempts, 3, 2 * BACKOFF)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.next_attempt_at, row.delivered_at) == (3, None, None)
    assert row.last_error == "HTTP 503"
    clock.advance(24 * 3600)  # far beyond any next backoff: no fourth attempt
    await settle(stepped)
    assert len(receiver.seen()) == 3
    assert await stored_webhooks(stepped, issued.account.id) == [row]


async def test_unreachable_url_is_retried_and_recorded(
    stepped: Runtime, stepped_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    issued = await hooked(stepped, f"http://127.0.0.1:{port}/hook")
    await send(stepped_client, issued, [PENDING_TO])

    async def attempts() -> int:
        (row,) = await stored_webhooks(stepped, issued.account.id)
        return row.attempts

    await settle(stepped)
    assert await attempts() == 1
    await retried_at_its_backoff(stepped, clock, attempts, 2, BACKOFF)
    await retried_at_its_backoff(stepped, clock, attempts, 3, 2 * BACKOFF)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert (row.attempts, row.next_attempt_at, row.delivered_at) == (3, None, None)
    assert row.last_error is not None and row.last_error.startswith("ConnectError")


async def test_a_later_report_waits_for_an_earlier_one(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.script = [500, 500]  # "accepted" fails twice (BACKOFF, then twice that)
    issued = await hooked(stepped, receiver.url)
    await send(stepped_client, issued, [DELIVERED_TO])  # "delivered" is due DELAY after

    def statuses() -> list[str]:
        return [h.report["status"] for h in receiver.seen()]

    await settle(stepped)
    assert statuses() == ["accepted"]
    clock.advance(DELAY)  # "delivered" is queued; "accepted" fails again
    await settle(stepped)
    assert statuses() == ["accepted", "accepted"]
    clock.advance(2 * BACKOFF - JUST_BEFORE)
    await settle(stepped)
    assert statuses() == ["accepted", "accepted"]  # "delivered" waits for it
    clock.advance(JUST_BEFORE)
    await settle(stepped)
    assert statuses() == ["accepted", "accepted", "accepted", "delivered"]
    rows = await stored_webhooks(stepped, issued.account.id)
    assert [(r.attempts, r.delivered_at is not None) for r in rows] == [(3, True), (1, True)]


async def test_reports_are_sent_off_the_request_path(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.default = 500
    issued = await hooked(stepped, receiver.url)
    # The receiver fails every report; the send is answered all the same, and the
    # order is delivered.
    order_id = await send(stepped_client, issued, [DELIVERED_TO])
    assert receiver.seen() == []
    await settle(stepped)
    clock.advance(DELAY)
    await settle(stepped)
    assert await delivered_count(stepped_client, issued, order_id) == 1
    assert [h.report["status"] for h in receiver.seen()] == ["accepted", "accepted"]
    rows = await stored_webhooks(stepped, issued.account.id)
    assert [(r.attempts, r.delivered_at) for r in rows] == [(2, None), (0, None)]


async def test_cancelling_a_scheduled_order_reports_undelivered(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    issued = await hooked(stepped, receiver.url)
    status, body = await call(
        stepped_client,
        "send-sms",
        {
            "authentication": auth(issued),
            "order": {
                "sender": "ILETI",
                "sendDateTime": "01/01/2099 10:00",
                "iys": "0",
                "message": {"text": "Sonra", "receipents": {"number": [DELIVERED_TO]}},
            },
        },
    )
    assert status == 200, body
    order_id = int(body["order"]["id"])
    status, body = await call(
        stepped_client, "cancel-order", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body) == (200, {"status": OK})
    await settle(stepped)
    (hit,) = receiver.seen()
    ids = await message_ids(stepped, order_id)
    assert hit.report == {
        "id": ids[DELIVERED_TO],
        "packet_id": order_id,
        "status": "undelivered",
        "to": DELIVERED_TO,
        "body": "Sonra",
    }
    # Past its time and the delay: no "accepted", it was never handed to the carrier.
    clock.advance_to(parse_send_time("01/01/2099 10:00")[0] + us(DELAY) + us(3600))
    await settle(stepped)
    assert len(receiver.seen()) == 1
    assert await order_flags(stepped, order_id) == (False, True)
