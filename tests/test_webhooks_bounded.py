"""Webhook delivery bounded and fair, on both databases, against real receivers on
127.0.0.1: a huge reply is read to a few KiB, a hanging receiver holds only its own
account's reports, each attempt is recorded (and shown in the log) as it completes, a
stop waits for the POSTs in flight and records them; the attempts table's migration.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import replace

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.services.auth import api_hash
from ileti.services.webhooks import MAX_REPLY_BYTES, PER_ACCOUNT
from tests.support.clock import FakeClock
from tests.support.receiver import Receiver, serving
from tests.support.runtime import asgi_client, settle, started
from tests.support.sms import PENDING_TO
from tests.support.sms import send_now as send
from tests.support.stored import (
    has_table,
    last_errors,
    legacy_webhook,
    migrate_to,
    stored_attempts,
    stored_webhooks,
)
from tests.support.waiting import eventually

TIMEOUT = 5.0  # seconds a POST may take: far longer than any fast one here
HUGE = 50 * 1024 * 1024


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token="admin-token-for-tests-0123",
        delivery_delay_seconds=3600.0,  # only "accepted" reports here
        delivery_poll_seconds=0.05,
        webhook_timeout_seconds=TIMEOUT,
        webhook_attempts=3,
        webhook_backoff_seconds=3600.0,
    )


async def hooked(rt: Runtime, name: str, url: str) -> Issued:
    return await rt.accounts.create(name, senders=("ILETI",), balance=1000, webhook_url=url)


def numbers(count: int, first: int = 0) -> list[str]:
    return [f"+90533{first + i:07d}" for i in range(count)]


def as_account(issued: Issued) -> dict[str, str]:
    key = issued.account.key
    return {"X-Ileti-Key": key, "X-Ileti-Hash": api_hash(key, issued.secret)}


# -- a huge reply ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 500])
async def test_a_huge_reply_is_read_to_a_few_kib_and_its_status_decides(
    stepped: Runtime,
    stepped_client: httpx.AsyncClient,
    receiver: Receiver,
    clock: FakeClock,
    status: int,
) -> None:
    receiver.default = status
    receiver.reply_bytes = HUGE
    issued = await hooked(stepped, "acme", receiver.url)
    await send(stepped_client, issued, [PENDING_TO])  # one report: "accepted"
    started_at = time.monotonic()
    await settle(stepped)
    assert time.monotonic() - started_at < TIMEOUT  # not a timeout: it stopped reading
    # The receiver managed to write a small part of its reply before the connection
    # was closed (the rest of what it wrote sat in the sockets' buffers).
    await eventually(lambda: len(receiver.sent) == 1)
    assert receiver.sent[0] < HUGE // 4
    (row,) = await stored_webhooks(stepped, issued.account.id)
    (tried,) = row.history
    assert (row.attempts, tried.http_status) == (1, status)
    if status == 200:
        assert (row.delivered_at, tried.error, tried.reply) == (clock.now_us(), None, None)
    else:
        assert (row.delivered_at, tried.error, row.last_error) == (None, "HTTP 500", "HTTP 500")
        assert tried.reply == "x" * MAX_REPLY_BYTES + " ..."


# -- one hanging receiver ------------------------------------------------------------------


async def test_a_hanging_receiver_does_not_hold_back_another_accounts_reports(
    settings: Settings,
) -> None:
    async with serving() as hanging, serving() as fast, started(settings) as rt:
        hanging.default = "hang"
        slow = await hooked(rt, "slow", hanging.url)
        quick = await hooked(rt, "quick", fast.url)
        async with asgi_client(rt) as client:
            # Three times as many reports as one account may have in flight.
            await send(client, slow, numbers(3 * PER_ACCOUNT))
            await eventually(lambda: len(hanging.seen()) == PER_ACCOUNT)
            sent_at = time.monotonic()
            await send(client, quick, numbers(20, first=500))
            await eventually(lambda: len(fast.seen()) == 20, within=TIMEOUT)

            async def quick_recorded() -> bool:
                rows = await stored_webhooks(rt, quick.account.id)
                return [w.status for w in rows] == ["delivered"] * 20

            # A POST is recorded once its answer is read: a moment after the receiver
            # counted it.
            await eventually(quick_recorded, within=TIMEOUT)
            took = time.monotonic() - sent_at
        # All of quick's reports were delivered while slow's first ones still hung:
        # none of slow's was attempted to the end, no more of them was sent.
        assert took < TIMEOUT, took
        assert len(hanging.seen()) == PER_ACCOUNT
        assert [w.attempts for w in await stored_webhooks(rt, slow.account.id)] == [0] * (
            3 * PER_ACCOUNT
        )
        quick_rows = await stored_webhooks(rt, quick.account.id)
        assert [w.status for w in quick_rows] == ["delivered"] * 20
        assert sorted(h.report["to"] for h in fast.seen()) == numbers(20, first=500)


# -- each attempt recorded as it completes ------------------------------------------------


async def test_each_attempt_shows_in_the_log_as_it_completes(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.script = ["slow", 503]  # the first POST to arrive is slow, the next fails
    receiver.slow_seconds = 2.0
    issued = await hooked(stepped, "acme", receiver.url)
    await send(stepped_client, issued, numbers(2))
    await stepped.carrier.step()  # two "accepted" reports queued
    step = asyncio.create_task(stepped.webhooks.step())

    async def log() -> list[tuple[str, int, list[int | None]]]:
        r = await stepped_client.get("/_ileti/webhooks", headers=as_account(issued))
        assert r.status_code == 200, r.text
        return [
            (w["status"], w["attempts"], [h["http_status"] for h in w["history"]])
            for w in r.json()["webhooks"]
        ]

    async def failed_shown() -> list[tuple[str, int, list[int | None]]] | None:
        found = await log()
        return found if ("failed", 1, [503]) in found else None

    # The failed attempt is in the log while the other POST is still under way.
    seen = await eventually(failed_shown, within=10)
    assert sorted(seen) == [("failed", 1, [503]), ("pending", 0, [])]
    assert not step.done()
    await step
    assert sorted(await log()) == [("delivered", 1, [200]), ("failed", 1, [503])]


# -- stopping --------------------------------------------------------------------------------


async def test_a_stop_waits_for_the_posts_in_flight_and_records_them(
    settings: Settings, receiver: Receiver
) -> None:
    receiver.default = "slow"
    receiver.slow_seconds = 1.0
    async with started(settings) as rt:
        issued = await hooked(rt, "acme", receiver.url)
        async with asgi_client(rt) as client:
            await send(client, issued, numbers(3))
        await eventually(lambda: len(receiver.seen()) == 3)
    # Stopped while the three were in flight: each was answered, then recorded.
    async with started(replace(settings, delivery_poll_seconds=0)) as again:
        rows = await stored_webhooks(again, issued.account.id)
        assert [(w.status, w.attempts) for w in rows] == [("delivered", 1)] * 3
        await again.webhooks.step()
    assert len(receiver.seen()) == 3  # none sent again


# -- the migration ----------------------------------------------------------------------------


def test_0010_moves_each_history_into_attempt_rows(empty_database_url: str) -> None:
    url = empty_database_url
    migrate_to(url, "0009")
    history = [{"at": 10, "error": "HTTP 500"}, {"at": 20, "error": None}]
    delivered = legacy_webhook(url, json.dumps(history))
    failed = legacy_webhook(url, json.dumps([{"at": 30, "error": "timeout after 5 s"}]))
    older = legacy_webhook(url, "HTTP 502")  # before histories were kept
    untried = legacy_webhook(url, None)
    migrate_to(url, "head")
    assert stored_attempts(url) == [
        (delivered, 10, "HTTP 500", None, None),
        (delivered, 20, None, None, None),
        (failed, 30, "timeout after 5 s", None, None),
        (older, 0, "HTTP 502", None, None),
    ]
    assert last_errors(url) == ["HTTP 500", "timeout after 5 s", "HTTP 502", None]
    assert untried == older + 1
    migrate_to(url, "0009", down=True)
    assert not has_table(url, "webhook_attempts")
    assert last_errors(url) == ["HTTP 500", "timeout after 5 s", "HTTP 502", None]


# -- the connection ---------------------------------------------------------------------------


async def test_connections_are_kept_alive_and_a_url_password_is_basic_auth(
    stepped: Runtime, stepped_client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    url = receiver.url.replace("http://", "http://hook%20user:pa55:word@") + "?token=t0p"
    issued = await hooked(stepped, "acme", url)
    for first in (0, 100, 200):  # three rounds of 5 reports: the same connections
        await send(stepped_client, issued, numbers(5, first=first))
        await settle(stepped)
    hits = receiver.seen()
    assert len(hits) == 15
    assert receiver.accepted <= 5
    credentials = base64.b64encode(b"hook user:pa55:word").decode()
    for hit in hits:
        assert hit.path == "/hook?token=t0p"
        assert hit.headers["authorization"] == f"Basic {credentials}"
        assert hit.headers["host"] == url.split("@")[1].split("/")[0]
        assert hit.headers["content-length"] == str(len(hit.body))


async def test_a_url_it_cannot_use_fails_its_attempt(
    stepped: Runtime, stepped_client: httpx.AsyncClient
) -> None:
    issued = await hooked(stepped, "acme", "http://127.0.0.1:99999/hook")
    await send(stepped_client, issued, [PENDING_TO])
    await settle(stepped)
    (row,) = await stored_webhooks(stepped, issued.account.id)
    assert row.attempts == 1 and row.delivered_at is None
    assert row.last_error == "UnsupportedUrl: Port out of range 0-65535"
