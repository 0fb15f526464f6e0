"""One write path for orders: a send-sms or cancel-order is one transaction; a refusal
changes nothing (balance, rate limit, rows); a refusal fails only its own caller while
the rest of the writer's batch commits; a lost COMMIT acknowledgement is a 503, never a
retry that turns a committed order into 451 or a committed cancel into 455."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.config import Settings
from ileti.errors import InsufficientBalance
from ileti.models import OutgoingText, SendCommand
from ileti.services.accounts import Issued
from tests.support.http import auth, call
from tests.support.runtime import asgi_client, started
from tests.support.spec import MESSAGES
from tests.support.spec import status as spec_status
from tests.support.stored import COMMIT_UNKNOWN, account_facts, port_of, through_port

REDIS_URL = os.environ.get("ILETI_TEST_REDIS_URL", "").strip()
REQUIRE_REDIS = os.environ.get("ILETI_TEST_REQUIRE_REDIS", "") not in ("", "0")
OK = spec_status(200)

_texts = iter(range(10**9))


def order_of(recipients: list[str], **extra: Any) -> dict[str, Any]:
    """A send-sms order with a fresh text (no accidental 451)."""
    return {
        "sender": "ILETI",
        "iys": "0",
        "message": {"text": f"order test {next(_texts)}", "receipents": {"number": recipients}},
        **extra,
    }


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+90533{start + i:07d}" for i in range(count)]


async def send(client: httpx.AsyncClient, issued: Issued, order: dict[str, Any]) -> Any:
    return await call(client, "send-sms", {"authentication": auth(issued), "order": order})


# -- a refusal spends nothing ----------------------------------------------------------


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, auth_refresh_seconds=0.1, rate_limit=2, rate_limit_burst=20
    )


async def test_refused_orders_spend_no_rate_limit(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """With 2 recipients/s and a burst of 20: a 20-recipient order refused 402, 451 or
    452 leaves the whole burst in place (before: the next order answered 429)."""
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=5)
    account_id = issued.account.id
    before = await account_facts(runtime, account_id)

    status, body = await send(client, issued, order_of(numbers(20)))  # 20 credits, 5 held
    assert (status, body["status"]) == (402, spec_status(402))
    await runtime.blacklist.add(account_id, "+905330000000")
    status, body = await send(client, issued, order_of(["+905330000000", "+905999000000"]))
    assert (status, body["status"]) == (452, spec_status(452))
    assert await account_facts(runtime, account_id) == before

    await runtime.accounts.add_balance(issued.account.key, 100)
    repeated = order_of(numbers(1, 100))
    status, body = await send(client, issued, repeated)
    assert (status, body["status"]) == (200, OK)
    status, body = await send(client, issued, repeated)
    assert (status, body["status"]) == (451, spec_status(451))
    # 19 of the burst are left: a 19-recipient order passes, the next one is limited.
    status, body = await send(client, issued, order_of(numbers(19, 200)))
    assert (status, body["status"]) == (200, OK)
    status, body = await send(client, issued, order_of(numbers(1, 300)))
    assert (status, body["status"]) == (429, spec_status(429))
    after = await account_facts(runtime, account_id)
    assert (after["balance"], after["orders"], after["messages"]) == (105 - 1 - 19, 2, 20)


@pytest.mark.skipif(not REDIS_URL and not REQUIRE_REDIS, reason="set ILETI_TEST_REDIS_URL")
async def test_refused_orders_give_redis_back_what_they_took(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        redis_url=REDIS_URL,
        redis_prefix=f"t{os.getpid()}{next(_texts)}",
        rate_limit=2,
        rate_limit_burst=20,
    )
    async with started(settings) as rt, asgi_client(rt) as client:
        assert rt.ratelimit.backend == "redis"
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=5)
        for _ in range(3):  # each would have emptied the bucket
            status, body = await send(client, issued, order_of(numbers(20)))
            assert (status, body["status"]["code"]) == (402, 402)
        await rt.accounts.add_balance(issued.account.key, 100)
        status, body = await send(client, issued, order_of(numbers(20)))
        assert (status, body["status"]) == (200, OK)
        status, body = await send(client, issued, order_of(numbers(1, 50)))
        assert (status, body["status"]["code"]) == (429, 429)
        assert (await account_facts(rt, issued.account.id))[
            "tat"
        ] is None  # nothing in the database


async def test_one_send_is_one_durable_commit(runtime: Runtime) -> None:
    """The rate limit lives in the database here, and is taken in the order's own
    transaction: one commit per send-sms (before: two)."""
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10)
    command = SendCommand("ILETI", None, "0", None, (OutgoingText("bir", ("+905330000001",)),))
    before = runtime.store.writer.batches
    assert await runtime.orders.send(issued.account, command) > 0
    assert runtime.store.writer.batches == before + 1


async def test_a_refusal_fails_only_its_own_caller_in_a_batch(runtime: Runtime) -> None:
    """Three orders reach the writer together; the middle one cannot pay. It is refused
    alone; the other two commit in the same transaction."""
    rich = await runtime.accounts.create("rich", senders=("ILETI",), balance=10)
    poor = await runtime.accounts.create("poor", senders=("ILETI",), balance=0)

    def command(number: str) -> SendCommand:
        return SendCommand("ILETI", None, "0", None, (OutgoingText(f"t {number}", (number,)),))

    before = runtime.store.writer.batches
    results = await asyncio.gather(
        runtime.orders.send(rich.account, command("+905330000001")),
        runtime.orders.send(poor.account, command("+905330000002")),
        runtime.orders.send(rich.account, command("+905330000003")),
        return_exceptions=True,
    )
    assert runtime.store.writer.batches == before + 1
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], InsufficientBalance)
    assert (await account_facts(runtime, rich.account.id))["orders"] == 2
    assert await account_facts(runtime, poor.account.id) == {
        "balance": 0,
        "orders": 0,
        "messages": 0,
        "tat": None,
    }


# -- a cancelled order is not charged ----------------------------------------------------


async def test_a_cancelled_order_reads_as_not_charged(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10)
    later = (datetime.now(ISTANBUL) + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M")
    status, body = await send(
        client, issued, order_of(["+905330000001", "+905330000002"], sendDateTime=later)
    )
    assert status == 200
    order_id = body["order"]["id"]
    assert (await account_facts(runtime, issued.account.id))["balance"] == 8
    request = {"authentication": auth(issued), "order": {"id": order_id}}
    assert await call(client, "cancel-order", request) == (200, {"status": OK})
    assert (await account_facts(runtime, issued.account.id))["balance"] == 10
    status, body = await call(client, "get-report", request)
    assert status == 200
    assert (body["order"]["status"], body["order"]["price"]) == (115, 0)
    page = await runtime_outbox(runtime, issued)
    assert [(m.status, m.reason, m.charged) for m in page] == [(112, "cancelled", False)] * 2


async def runtime_outbox(rt: Runtime, issued: Issued) -> list[Any]:
    from ileti.services.outbox import OutboxService

    return (await OutboxService(rt.store).page(key=issued.account.key)).messages


# -- a lost COMMIT acknowledgement -------------------------------------------------------


class CommitCutter:
    """A TCP proxy in front of PostgreSQL. Armed with a statement fragment, it lets the
    first COMMIT that follows that statement on a connection reach the server, waits
    for the server's answer, and then cuts the connection instead of passing the
    answer on: the client cannot know whether its transaction committed."""

    COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.trigger: bytes | None = None
        self.cuts = 0
        self.port = 0
        # Its own thread and event loop: the server under test blocks its loop at times
        # (migrations at start), and must still reach the database through here.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> CommitCutter:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(5)
        self.port = int(server.sockets[0].getsockname()[1])
        self._server = server
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        cut = asyncio.Event()

        async def upstream() -> None:
            seen = False
            while chunk := await client_r.read(65536):
                if self.trigger is not None and self.trigger in chunk:
                    seen = True
                server_w.write(chunk)
                await server_w.drain()
                if seen and self.trigger is not None and self.COMMIT in chunk:
                    self.trigger = None
                    self.cuts += 1
                    cut.set()
                    return

        async def downstream() -> None:
            while chunk := await server_r.read(65536):
                if cut.is_set():
                    return  # the COMMIT's answer: dropped
                client_w.write(chunk)
                await client_w.drain()

        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up = asyncio.create_task(upstream())
            down = asyncio.create_task(downstream())
            await up
            if cut.is_set():
                await down  # the server answered the COMMIT: it is decided
            else:
                down.cancel()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            self._tasks.discard(task)


@contextlib.asynccontextmanager
async def through_cutter(postgres_url: str) -> AsyncIterator[tuple[CommitCutter, Runtime]]:
    with CommitCutter(port_of(postgres_url)) as cutter:
        settings = Settings(
            database_url=through_port(postgres_url, cutter.port), delivery_poll_seconds=0
        )
        async with started(settings) as rt:
            yield cutter, rt


async def test_a_lost_commit_answer_is_503_not_451(postgres_url: str) -> None:
    async with through_cutter(postgres_url) as (cutter, rt), asgi_client(rt) as client:
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        order = order_of(["+905330000001"])
        cutter.trigger = b"INSERT INTO orders"
        status, body = await send(client, issued, order)
        assert cutter.cuts == 1
        assert (status, body["status"]) == (
            503,
            spec_status(503),
        )
        # It did commit, once: charged once, one order. The client's retry is the
        # duplicate it really is.
        stored = await account_facts(rt, issued.account.id)
        assert (stored["balance"], stored["orders"], stored["messages"]) == (9, 1, 1)
        status, body = await send(client, issued, order)
        assert (status, body["status"]["code"]) == (451, 451)
        # The writer carries on with a new connection.
        status, body = await send(client, issued, order_of(["+905330000002"]))
        assert (status, body["status"]) == (200, OK)


def _command(number: str) -> SendCommand:
    return SendCommand("ILETI", None, "0", None, (OutgoingText(f"t {number}", (number,)),))


async def test_a_lost_commit_answer_fails_every_write_of_the_batch(postgres_url: str) -> None:
    """Two orders in one batch whose COMMIT answer is lost: both callers get the 503
    error, neither is re-run (which would answer 451 for an order that was stored)."""
    async with through_cutter(postgres_url) as (cutter, rt):
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        cutter.trigger = b"INSERT INTO orders"
        results = await asyncio.gather(
            rt.orders.send(issued.account, _command("+905330000001")),
            rt.orders.send(issued.account, _command("+905330000002")),
            return_exceptions=True,
        )
        assert cutter.cuts == 1
        assert [type(r) for r in results] == [COMMIT_UNKNOWN, COMMIT_UNKNOWN]
        stored = await account_facts(rt, issued.account.id)
        assert (stored["balance"], stored["orders"], stored["messages"]) == (8, 2, 2)


async def test_a_lost_commit_answer_of_a_cancel_is_503_not_455(postgres_url: str) -> None:
    async with through_cutter(postgres_url) as (cutter, rt), asgi_client(rt) as client:
        issued = await rt.accounts.create("acme", senders=("ILETI",), balance=10)
        later = (datetime.now(ISTANBUL) + timedelta(hours=2)).strftime("%d/%m/%Y %H:%M")
        status, body = await send(client, issued, order_of(["+905330000001"], sendDateTime=later))
        assert status == 200
        request = {"authentication": auth(issued), "order": {"id": body["order"]["id"]}}
        status, body = await send(client, issued, order_of(["+905330000002"], sendDateTime=later))
        other = int(body["order"]["id"])
        cutter.trigger = b"UPDATE orders SET cancelled"
        results = await asyncio.gather(
            rt.orders.cancel(issued.account.id, int(request["order"]["id"])),
            rt.orders.cancel(issued.account.id, other),
            return_exceptions=True,
        )
        assert cutter.cuts == 1
        assert [type(r) for r in results] == [COMMIT_UNKNOWN, COMMIT_UNKNOWN]
        assert (await account_facts(rt, issued.account.id))["balance"] == 10  # refunded, once each
        status, body = await call(client, "get-report", request)
        assert (status, body["order"]["status"], body["order"]["price"]) == (200, 115, 0)


# -- one parser, one rule, one answer ----------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_the_same_bad_page_gets_the_same_code_in_every_action(
    runtime: Runtime, client: httpx.AsyncClient, fmt: str
) -> None:
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10)
    status, body = await send(client, issued, order_of(["+905330000001"]))
    order_id = body["order"]["id"]
    today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")

    def requests(page: Any) -> dict[str, dict[str, Any]]:
        return {
            "get-blacklist": {"blacklist": {"page": page}},
            "get-report": {"order": {"id": order_id, "page": page}},
            "get-reports": {"filter": {"start": today, "end": today, "page": page}},
        }

    expected = {
        "abc": (422, MESSAGES[422]),
        "1x": (422, MESSAGES[422]),
        "0": (464, MESSAGES[464]),
        "-3": (464, MESSAGES[464]),
        "99999999999999999999999": (464, MESSAGES[464]),
    }
    for page, (code, message) in expected.items():
        for action, request in requests(page).items():
            status, body = await call(
                client, action, {"authentication": auth(issued), **request}, fmt
            )
            assert (status, body) == (code, {"status": {"code": code, "message": message}}), (
                action,
                page,
            )
    for action, request in requests("2").items():
        status, body = await call(client, action, {"authentication": auth(issued), **request}, fmt)
        assert (status, body["status"]["code"]) == (200, 200), action


@pytest.mark.parametrize(
    "span",
    [
        ("2026-11-25xyz", "2026-11-26"),
        ("2026-11-25", "2026-11-26 junk"),
        ("9999-12-30", "9999-12-31"),
        ("2026-13-01", "2026-13-02"),
    ],
)
async def test_get_reports_refuses_what_is_not_a_day_with_458(
    runtime: Runtime, client: httpx.AsyncClient, span: tuple[str, str]
) -> None:
    issued = await runtime.accounts.create("acme", senders=("ILETI",), balance=10)
    request = {"authentication": auth(issued), "filter": {"start": span[0], "end": span[1]}}
    assert await call(client, "get-reports", request) == (
        458,
        {"status": spec_status(458)},
    )
