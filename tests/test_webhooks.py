"""Delivery reports by webhook (spec §7), against a real HTTP receiver on 127.0.0.1:
the exact body and content type, retries with backoff on errors and timeouts, giving
up after the bound, attempts recorded, order per message."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.store import webhooks as webhook_store
from tests.support.http import auth, call
from tests.support.receiver import Receiver
from tests.support.sms import DELIVERED_TO, PENDING_TO, UNDELIVERED_TO
from tests.support.sms import send_now as send
from tests.support.stored import message_ids
from tests.support.stored import webhooks_once_delivered as _done
from tests.support.waiting import eventually


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_delay_seconds=0.2,
        delivery_poll_seconds=0.05,
        webhook_timeout_seconds=0.5,
        webhook_attempts=3,
        webhook_backoff_seconds=0.2,
    )


async def hooked(rt: Runtime, url: str, **settings: Any) -> Issued:
    return await rt.accounts.create(
        "acme", senders=("ILETI",), balance=100, webhook_url=url, **settings
    )


# -- the payload -------------------------------------------------------------------------


async def test_accepted_and_delivered_reports_have_the_documented_shape(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await hooked(runtime, receiver.url)
    order_id = await send(client, issued, [DELIVERED_TO, UNDELIVERED_TO], 'Merhaba "dünya"\nçğış')
    ids = await message_ids(runtime, order_id)
    await eventually(lambda: len(receiver.seen()) >= 4)
    await asyncio.sleep(0.3)  # nothing more arrives
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
        assert hit.report["body"] == 'Merhaba "dünya"\nçğış'
    # Per message, "accepted" arrives before the final report.
    for number in (DELIVERED_TO, UNDELIVERED_TO):
        statuses = [h.report["status"] for h in hits if h.report["to"] == number]
        assert statuses[0] == "accepted"
    rows = await runtime.store.read(webhook_store.of_account, issued.account.id)
    assert len(rows) == 4
    assert all(r.attempts == 1 and r.delivered_at is not None for r in rows)
    assert all(r.next_attempt_at is None and r.last_error is None for r in rows)
    assert {r.payload.encode() for r in rows} == {h.body for h in hits}


async def test_no_webhook_url_queues_nothing(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10)
    order_id = await send(client, issued, [DELIVERED_TO])

    async def delivered() -> bool:
        _, body = await call(
            client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
        )
        return body["order"]["delivered"] == 1

    await eventually(delivered)
    assert await runtime.store.read(webhook_store.of_account, issued.account.id) == []
    assert receiver.seen() == []


# -- retries -------------------------------------------------------------------------------


async def test_retries_after_a_server_error(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.script = [500]
    issued = await hooked(runtime, receiver.url)
    order_id = await send(client, issued, [PENDING_TO])  # one report: "accepted"
    ids = await message_ids(runtime, order_id)
    rows = await eventually(lambda: _done(runtime, issued.account.id, 1))
    hits = receiver.seen()
    assert len(hits) == 2
    assert hits[0].body == hits[1].body
    assert hits[0].report == {
        "id": ids[PENDING_TO],
        "packet_id": order_id,
        "status": "accepted",
        "to": PENDING_TO,
        "body": "Merhaba dünya",
    }
    assert hits[1].at - hits[0].at >= 0.2  # the backoff base
    (row,) = rows
    assert row.attempts == 2 and row.delivered_at is not None and row.next_attempt_at is None
    assert row.last_error == "HTTP 500"


async def test_retries_after_a_timeout(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.script = ["slow"]  # longer than the 0.5 s timeout
    issued = await hooked(runtime, receiver.url)
    await send(client, issued, [PENDING_TO])
    rows = await eventually(lambda: _done(runtime, issued.account.id, 1))
    (row,) = rows
    assert row.attempts == 2 and row.delivered_at is not None
    assert row.last_error == "timeout after 0.5 s"
    assert len(receiver.seen()) == 2


async def test_gives_up_after_the_bound(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.default = 503
    issued = await hooked(runtime, receiver.url)
    await send(client, issued, [PENDING_TO])

    async def given_up() -> list[webhook_store.Webhook]:
        rows = await runtime.store.read(webhook_store.of_account, issued.account.id)
        return [r for r in rows if r.attempts == 3 and r.next_attempt_at is None]

    (row,) = await eventually(given_up)
    assert row.delivered_at is None and row.last_error == "HTTP 503"
    await asyncio.sleep(1.0)  # longer than the next backoff would be: no fourth attempt
    assert len(receiver.seen()) == 3
    (again,) = await runtime.store.read(webhook_store.of_account, issued.account.id)
    assert again == row


async def test_unreachable_url_is_retried_and_recorded(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    issued = await hooked(runtime, f"http://127.0.0.1:{port}/hook")
    await send(client, issued, [PENDING_TO])

    async def given_up() -> list[webhook_store.Webhook]:
        rows = await runtime.store.read(webhook_store.of_account, issued.account.id)
        return [r for r in rows if r.next_attempt_at is None]

    (row,) = await eventually(given_up)
    assert row.attempts == 3 and row.delivered_at is None
    assert row.last_error is not None and row.last_error.startswith("ConnectError")


async def test_a_later_report_waits_for_an_earlier_one(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.script = [500, 500]  # "accepted" fails twice (0.2 s, then 0.4 s backoff)
    issued = await hooked(runtime, receiver.url)
    await send(client, issued, [DELIVERED_TO])  # "delivered" is due 0.2 s after dispatch
    await eventually(lambda: _done(runtime, issued.account.id, 2))
    statuses = [h.report["status"] for h in receiver.seen()]
    assert statuses == ["accepted", "accepted", "accepted", "delivered"]


async def test_reports_are_sent_off_the_request_path(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.default = 500
    issued = await hooked(runtime, receiver.url)
    # The receiver fails every report; the send is answered all the same, and the
    # order is delivered.
    order_id = await send(client, issued, [DELIVERED_TO])

    async def delivered() -> bool:
        _, body = await call(
            client, "get-report", {"authentication": auth(issued), "order": {"id": order_id}}
        )
        return body["order"]["delivered"] == 1

    await eventually(delivered)


async def test_cancelling_a_scheduled_order_reports_undelivered(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    issued = await hooked(runtime, receiver.url)
    status, body = await call(
        client,
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
        client, "cancel-order", {"authentication": auth(issued), "order": {"id": order_id}}
    )
    assert (status, body) == (200, {"status": {"code": 200, "message": "İşlem başarılı"}})
    hit = (await eventually(receiver.seen))[0]
    ids = await message_ids(runtime, order_id)
    assert hit.report == {
        "id": ids[DELIVERED_TO],
        "packet_id": order_id,
        "status": "undelivered",
        "to": DELIVERED_TO,
        "body": "Sonra",
    }
    await asyncio.sleep(0.3)
    assert len(receiver.seen()) == 1  # no "accepted": it was never handed to the carrier
