"""The control API's outbox (``/_ileti/outbox``, ``/wait``, ``/code``) on SQLite and
PostgreSQL: every filter, paging with ``next``, the caller's scope, 400 naming the
query parameter, waits woken by a message stored before the call, during it and by
another instance, timeouts, shutdown, the per-account bound, codes under bounded
patterns, and the recipient index in the query plans.

Messages go in through the order service (the same transaction send-sms runs) or, for
another instance, through its v1 API; the runtime's clock is one the tests set."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import parse_local
from ileti.config import Settings
from ileti.models import OutgoingText, SendCommand
from ileti.services.accounts import Issued
from ileti.services.auth import api_hash
from ileti.services.outbox import filters
from tests.support.clock import FakeClock
from tests.support.http import auth, call
from tests.support.runtime import asgi_client, running
from tests.support.spec import MESSAGES
from tests.support.stored import (
    search_plan,
    search_store,
    statements_read,
    store_messages,
    uncommitted_message,
)

TOKEN = "outbox-control-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
START = "2026-03-10 12:00:00"

TO = "+905330000099"
OTHER_TO = "+905330000088"
NOBODY = "+905330000077"
INVALID = "12345"
KEYS = {
    "id",
    "order_id",
    "account_key",
    "account_name",
    "sender",
    "recipient",
    "text",
    "parts",
    "status",
    "status_message",
    "reason",
    "charged",
    "iys",
    "submitted_at",
    "scheduled_at",
    "sent_at",
    "updated_at",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No delivery loop: statuses change only when a test steps the carrier.
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        delivery_poll_seconds=0,
        delivery_delay_seconds=1.0,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(parse_local(START))


@pytest.fixture
def runtime(stepped: Runtime) -> Runtime:
    """The module's instance: stepped on its clock, which starts at START."""
    return stepped


async def account(rt: Runtime, name: str) -> Issued:
    return await rt.accounts.create(
        name, key=f"{name}-key", secret=f"{name}-secret", senders=("ILETI", "ACME"), balance=1000
    )


def as_account(issued: Issued) -> dict[str, str]:
    key = issued.account.key
    return {"X-Ileti-Key": key, "X-Ileti-Hash": api_hash(key, f"{issued.account.name}-secret")}


async def send(rt: Runtime, issued: Issued, *to: str, text: str, sender: str = "ILETI") -> int:
    """One order through the order service (send-sms's own transaction)."""
    command = SendCommand(sender, None, "0", None, (OutgoingText(text, to),))
    return await rt.orders.send(issued.account, command)


async def get(
    client: httpx.AsyncClient, path: str = "", headers: dict[str, str] = ADMIN, **params: str
) -> tuple[int, Any]:
    r = await client.get(f"/_ileti/outbox{path}", params=params, headers=headers)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    return r.status_code, r.json()


async def found(client: httpx.AsyncClient, **params: str) -> list[tuple[str, str]]:
    """(recipient, text) of each message a search as the admin finds, newest first."""
    status, body = await get(client, **params)
    assert status == 200, body
    return [(m["recipient"], m["text"]) for m in body["messages"]]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.01)


def later(seconds: float, work: Callable[[], Awaitable[int]]) -> asyncio.Task[int]:
    async def run() -> int:
        await asyncio.sleep(seconds)
        return await work()

    return asyncio.create_task(run())


# -- search ------------------------------------------------------------------------------


async def test_search_shows_messages_newest_first_as_the_outbox_describes_them(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    first = await send(runtime, one, TO, OTHER_TO, text="ilk")
    second = await send(runtime, one, TO, text="ikinci", sender="ACME")
    status, body = await get(client)
    assert status == 200
    assert body["next"] is None
    shown = body["messages"]
    assert [m["id"] for m in shown] == sorted((m["id"] for m in shown), reverse=True)
    assert [(m["order_id"], m["recipient"], m["text"]) for m in shown] == [
        (second, TO, "ikinci"),
        (first, OTHER_TO, "ilk"),
        (first, TO, "ilk"),
    ]
    newest = shown[0]
    assert set(newest) == KEYS
    assert newest["account_key"] == "one-key" and newest["account_name"] == "one"
    assert (newest["sender"], newest["status"], newest["reason"]) == ("ACME", 110, None)
    assert newest["status_message"] == MESSAGES[110]
    assert newest["submitted_at"] == START and DATE.match(newest["updated_at"])
    assert (newest["parts"], newest["charged"], newest["sent_at"]) == (1, True, None)


@pytest.mark.parametrize(
    "written",
    ["+905330000099", "905330000099", "05330000099", "5330000099", "0 (533) 000 00 99"],
)
async def test_recipient_in_any_accepted_form_finds_the_number(
    runtime: Runtime, client: httpx.AsyncClient, written: str
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, OTHER_TO, INVALID, text="hepsine")
    await send(runtime, one, OTHER_TO, text="ötekine")
    assert await found(client, recipient=written) == [(TO, "hepsine")]


async def test_an_invalid_recipient_finds_messages_stored_as_written(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, INVALID, text="biri geçersiz")
    status, body = await get(client, recipient=INVALID)
    assert status == 200
    [message] = body["messages"]
    assert (message["recipient"], message["status"], message["reason"]) == (
        INVALID,
        112,
        "invalid",
    )
    assert await found(client, recipient=NOBODY) == []


async def test_sender_order_and_status_filters(
    runtime: Runtime, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    one = await account(runtime, "one")
    first = await send(runtime, one, TO, INVALID, text="bir", sender="ILETI")
    await send(runtime, one, OTHER_TO, text="iki", sender="ACME")
    assert await found(client, sender="ACME") == [(OTHER_TO, "iki")]
    assert await found(client, sender="acme") == []
    assert await found(client, order=str(first)) == [(INVALID, "bir"), (TO, "bir")]
    assert await found(client, status="112") == [(INVALID, "bir")]
    assert await found(client, status="110") == [(OTHER_TO, "iki"), (TO, "bir")]
    assert await found(client, status="111") == []
    await runtime.carrier.step()  # dispatched: final in 1 s
    clock.advance(1.0)
    await runtime.carrier.step()
    assert await found(client, status="111") == [(OTHER_TO, "iki"), (TO, "bir")]
    assert await found(client, status="111", sender="ILETI") == [(TO, "bir")]
    assert await found(client, status="112", order=str(first), recipient=INVALID) == [
        (INVALID, "bir")
    ]


async def test_text_is_a_case_sensitive_substring_without_wildcards(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="Kodunuz 100% hazır")
    await send(runtime, one, TO, text="kodunuz 1000 hazır")
    await send(runtime, one, TO, text="a_b")
    await send(runtime, one, TO, text="Doğrulama İçin")
    assert await found(client, text="100%") == [(TO, "Kodunuz 100% hazır")]
    assert await found(client, text="Kod") == [(TO, "Kodunuz 100% hazır")]
    assert await found(client, text="kod") == [(TO, "kodunuz 1000 hazır")]
    assert await found(client, text="_") == [(TO, "a_b")]
    assert await found(client, text="İçin") == [(TO, "Doğrulama İçin")]
    assert await found(client, text="için") == []
    assert len(await found(client, text="hazır")) == 2


async def test_since_and_until_bound_the_submit_time_in_istanbul(
    runtime: Runtime, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="salı")  # 2026-03-10 12:00:00
    clock.advance(24 * 3600)
    await send(runtime, one, TO, text="çarşamba")  # 2026-03-11 12:00:00
    assert await found(client, since="2026-03-11") == [(TO, "çarşamba")]
    assert await found(client, until="2026-03-10") == [(TO, "salı")]
    assert await found(client, since=START, until=START) == [(TO, "salı")]
    assert await found(client, since="2026-03-10 12:00:01", until="2026-03-11 11:59:59") == []
    assert len(await found(client, since="2026-03-10", until="2026-03-11")) == 2
    # 09:00 UTC is 12:00 in Istanbul: a bound one second later leaves the message out.
    assert await found(client, since="2026-03-10 12:00:01", until="2026-03-10 23:59:59") == []


async def test_paging_with_next_walks_every_match_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one, two = await account(runtime, "one"), await account(runtime, "two")
    numbers = [f"+90533000001{i}" for i in range(5)]
    await send(runtime, one, *numbers, text="herkese")
    await send(runtime, two, TO, text="başkası")
    status, whole = await get(client, key="one-key")
    assert status == 200 and len(whole["messages"]) == 5
    seen: list[dict[str, Any]] = []
    status, body = await get(client, key="one-key", limit="2")
    pages = 1
    while body["next"] is not None:
        assert body["next"].startswith("/_ileti/outbox?")
        assert "key=one-key" in body["next"] and "limit=2" in body["next"]
        seen += body["messages"]
        r = await client.get(body["next"], headers=ADMIN)
        assert r.status_code == 200
        body = r.json()
        pages += 1
    seen += body["messages"]
    assert pages == 3
    assert [len(p) for p in (seen[:2], seen[2:4], seen[4:])] == [2, 2, 1]
    assert seen == whole["messages"]


async def test_an_account_sees_only_its_own_messages(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one, two = await account(runtime, "one"), await account(runtime, "two")
    await send(runtime, one, TO, text="bir 1111")
    await send(runtime, two, TO, text="iki 2222")
    status, body = await get(client, headers=as_account(one))
    assert status == 200 and [m["text"] for m in body["messages"]] == ["bir 1111"]
    status, body = await get(client, headers=as_account(one), key="one-key")
    assert status == 200 and [m["text"] for m in body["messages"]] == ["bir 1111"]
    for key in ("two-key", "nobody", "one-key\x00"):
        for path, params in (("", {}), ("/wait", {"timeout": "1"}), ("/code", {"wait": "1"})):
            status, body = await get(
                client, path, headers=as_account(one), key=key, recipient=TO, **params
            )
            assert (status, body) == (
                404,
                {"error": {"status": 404, "message": "no account with this key", "field": "key"}},
            )
    assert await found(client) == [(TO, "iki 2222"), (TO, "bir 1111")]
    assert await found(client, key="two-key") == [(TO, "iki 2222")]
    # The newest message to TO is two's; one's own newest is what one gets.
    status, body = await get(client, "/code", headers=as_account(one), recipient=TO)
    assert (status, body["code"], body["message"]["text"]) == (200, "1111", "bir 1111")
    status, body = await get(client, "/wait", headers=as_account(one), text="iki", timeout="0.2")
    assert status == 408


async def test_wrong_credentials_are_401(client: httpx.AsyncClient) -> None:
    for path in ("", "/wait", "/code"):
        status, body = await get(client, path, headers={"Authorization": "Bearer wrong-one"})
        assert status == 401 and body["error"]["status"] == 401


@pytest.mark.parametrize(
    ("path", "params", "field", "message"),
    [
        ("", {"limit": "0"}, "limit", "Expected `int` >= 1"),
        ("", {"limit": "1001"}, "limit", "Expected `int` <= 1000"),
        ("", {"limit": "many"}, "limit", "Expected `int`"),
        ("", {"status": "113"}, "status", "Invalid enum value 113"),
        ("", {"before": "0"}, "before", "Expected `int` >= 1"),
        ("", {"order": "x"}, "order", "Expected `int"),
        ("", {"since": "yesterday"}, "since", "since must be Y-m-d H:i:s or Y-m-d"),
        ("", {"until": "2026-02-30"}, "until", "until must be Y-m-d H:i:s or Y-m-d"),
        ("", {"since": "2026-03-02", "until": "2026-03-01"}, "until", "until is before since"),
        ("", {"text": "a\x00b"}, "text", "text must not contain NUL characters"),
        ("", {"sender": "\x00"}, "sender", "sender must not contain NUL characters"),
        ("", {"surprise": "1"}, "surprise", "unknown query parameter"),
        ("", {"after": "1"}, "after", "unknown query parameter"),
        ("/wait", {"timeout": "0"}, "timeout", "Expected `float` > 0.0"),
        ("/wait", {"timeout": "31"}, "timeout", "Expected `float` <= 30.0"),
        ("/wait", {"timeout": "soon"}, "timeout", "Expected `float`"),
        ("/wait", {"after": "x"}, "after", "Expected `int"),
        ("/wait", {"before": "5"}, "before", "unknown query parameter"),
        ("/code", {}, "recipient", "recipient is required"),
        ("/code", {"recipient": TO, "pattern": "("}, "pattern", "not a regular expression"),
        ("/code", {"recipient": TO, "pattern": ""}, "pattern", "the pattern is empty"),
        ("/code", {"recipient": TO, "pattern": "a" * 201}, "pattern", "at most 200"),
        ("/code", {"recipient": TO, "wait": "31"}, "wait", "Expected `float` <= 30.0"),
        ("/code", {"recipient": TO, "wait": "-1"}, "wait", "Expected `float` >= 0.0"),
    ],
)
async def test_a_bad_value_is_400_naming_the_query_parameter(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str, message: str
) -> None:
    status, body = await get(client, path, **params)
    assert status == 400
    error = body["error"]
    assert (error["status"], error["field"]) == (400, field)
    assert message in error["message"], error["message"]


# -- wait --------------------------------------------------------------------------------


async def test_wait_returns_a_message_stored_after_the_call_began(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    sending = later(0.3, lambda: send(runtime, one, TO, text="geç gelen"))
    began = time.monotonic()
    status, body = await get(client, "/wait", recipient="05330000099", timeout="10")
    elapsed = time.monotonic() - began
    assert status == 200, body
    assert body["message"]["order_id"] == await sending
    assert (body["message"]["recipient"], body["message"]["text"]) == (TO, "geç gelen")
    assert 0.25 < elapsed < 5


async def test_wait_returns_a_message_stored_before_the_call_at_once(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="eski")
    order = await send(runtime, one, TO, text="daha yeni")
    began = time.monotonic()
    status, body = await get(client, "/wait", headers=as_account(one), recipient=TO)
    assert status == 200
    assert (body["message"]["order_id"], body["message"]["text"]) == (order, "daha yeni")
    assert time.monotonic() - began < 5


async def test_wait_after_an_id_counts_only_newer_messages(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="eski")
    _, body = await get(client, recipient=TO)
    seen = str(body["messages"][0]["id"])
    status, body = await get(client, "/wait", recipient=TO, after=seen, timeout="0.3")
    assert (status, body) == (
        408,
        {"error": {"status": 408, "message": "no matching message within 0.3 s", "field": None}},
    )
    sending = later(0.2, lambda: send(runtime, one, TO, text="yeni"))
    status, body = await get(client, "/wait", recipient=TO, after=seen, timeout="10")
    assert status == 200 and body["message"]["text"] == "yeni"
    assert body["message"]["order_id"] == await sending


async def test_wait_filters_like_search(runtime: Runtime, client: httpx.AsyncClient) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="başka bir şey")

    async def both() -> int:
        await send(runtime, one, TO, text="yine başka", sender="ACME")
        return await send(runtime, one, OTHER_TO, text="aranan kod", sender="ACME")

    sending = later(0.2, both)
    status, body = await get(client, "/wait", sender="ACME", text="kod", timeout="10")
    assert status == 200
    assert (body["message"]["recipient"], body["message"]["text"]) == (OTHER_TO, "aranan kod")
    assert body["message"]["order_id"] == await sending


async def test_a_message_stored_by_another_instance_wakes_the_waiter(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    one = await account(runtime, "one")
    async with running(settings) as (_other, other_client):

        async def through_the_other() -> int:
            status, body = await call(
                other_client,
                "send-sms",
                {
                    "authentication": auth(one),
                    "order": {
                        "sender": "ILETI",
                        "sendDateTime": "",
                        "iys": "0",
                        "message": {"text": "öteki sunucudan", "receipents": {"number": [TO]}},
                    },
                },
            )
            assert status == 200, body
            return int(body["order"]["id"])

        sending = later(0.3, through_the_other)
        began = time.monotonic()
        status, body = await get(client, "/wait", recipient=TO, timeout="10")
        assert status == 200, body
        assert body["message"]["order_id"] == await sending
        assert body["message"]["text"] == "öteki sunucudan"
        assert time.monotonic() - began < 5


async def test_a_waiting_request_reads_nothing_while_nothing_changes(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    with statements_read(runtime) as statements:
        watcher = runtime.outbox_watcher
        before = watcher.probes
        await asyncio.sleep(0.2)
        assert watcher.probes == before  # nobody waits: no probe
        status, _ = await get(client, "/wait", headers=as_account(one), recipient=TO, timeout="0.6")
        assert status == 408
        searches = [s for s in statements if "order_texts" in s]
        assert len(searches) == 1  # the first look; nothing changed, so no other
        assert watcher.probes - before >= 5
        await asyncio.sleep(0.2)  # a probe under way as the wait ended may still count
        after = watcher.probes
        await asyncio.sleep(0.3)
        assert watcher.probes == after  # the wait ended: probing stopped


async def test_waits_are_bounded_per_account_and_all_wake_on_one_message(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one, two = await account(runtime, "one"), await account(runtime, "two")
    waits = [
        asyncio.create_task(get(client, "/wait", headers=as_account(one), recipient=TO))
        for _ in range(50)
    ]
    await eventually(lambda: runtime.outbox_watcher.waiting(one.account.id) == 50)
    status, body = await get(client, "/wait", headers=as_account(one), recipient=TO)
    assert (status, body["error"]["message"]) == (
        429,
        "at most 50 waits at once per account; wait for one to end",
    )
    status, _ = await get(client, "/wait", headers=as_account(two), recipient=TO, timeout="0.1")
    assert status == 408  # another account is not held up
    order = await send(runtime, one, TO, text="herkes için")
    answers = await asyncio.gather(*waits)
    assert {(s, b["message"]["order_id"]) for s, b in answers} == {(200, order)}
    assert runtime.outbox_watcher.waiting(one.account.id) == 0


async def test_stopping_the_instance_ends_every_wait(settings: Settings, clock: FakeClock) -> None:
    rt = Runtime.build(settings, clock=clock)
    await rt.start()
    stopped = False
    try:
        async with asgi_client(rt) as c:
            waits = [
                asyncio.create_task(get(c, "/wait", recipient=TO, timeout="20")) for _ in range(3)
            ]
            await eventually(lambda: rt.outbox_watcher.waiting(None) == 3)
            began = time.monotonic()
            await rt.stop()
            stopped = True
            answers = await asyncio.gather(*waits)
            assert time.monotonic() - began < 5
    finally:
        if not stopped:
            await rt.stop()
    assert (
        answers
        == [
            (
                503,
                {"error": {"status": 503, "message": "the server is shutting down", "field": None}},
            )
        ]
        * 3
    )


async def test_a_late_commit_below_the_newest_id_still_wakes_the_waiter(
    postgres_url: str,
) -> None:
    """PostgreSQL: instance A takes a message id, instance B commits a higher one first;
    the waiter for A's message is woken when A commits, though the newest id is B's."""
    settings = Settings(database_url=postgres_url, admin_token=TOKEN, delivery_poll_seconds=0)
    async with running(settings) as (rt, client):
        early, late = await account(rt, "early"), await account(rt, "late")
        with uncommitted_message(
            postgres_url,
            account_id=late.account.id,
            recipient=TO,
            text="Kodunuz 777111",
            at=parse_local(START),
        ) as commit:
            waiting = asyncio.create_task(get(client, "/code", recipient=TO, wait="10"))
            await eventually(lambda: rt.outbox_watcher.waiting(None) == 1)
            await send(rt, early, OTHER_TO, text="önce biten")
            await asyncio.sleep(0.3)  # the watcher has seen the higher id by now
            assert not waiting.done()
            commit()
        status, body = await waiting
    assert status == 200, body
    assert (body["code"], body["message"]["account_key"]) == ("777111", "late-key")


# -- code --------------------------------------------------------------------------------


async def test_the_default_pattern_finds_a_one_time_password(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="Eski kodunuz: 111111")
    order = await send(runtime, one, TO, text="Doğrulama kodunuz: 482913")
    status, body = await get(client, "/code", recipient="0533 000 00 99")
    assert status == 200
    assert body["code"] == "482913"
    assert set(body["message"]) == KEYS
    assert (body["message"]["order_id"], body["message"]["recipient"]) == (order, TO)


async def test_a_pattern_with_a_group_gives_group_one(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="Kod: AB-7731 (5 dk geçerli), 2024")
    status, body = await get(client, "/code", recipient=TO, pattern=r"Kod: ([A-Z]{2}-\d+)")
    assert (status, body["code"]) == (200, "AB-7731")


async def test_sender_picks_the_message_a_code_is_read_from(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="kod 1111", sender="ILETI")
    await send(runtime, one, TO, text="kod 2222", sender="ACME")
    assert (await get(client, "/code", recipient=TO))[1]["code"] == "2222"
    assert (await get(client, "/code", recipient=TO, sender="ILETI"))[1]["code"] == "1111"


async def test_no_message_or_no_match_is_404(runtime: Runtime, client: httpx.AsyncClient) -> None:
    one = await account(runtime, "one")
    status, body = await get(client, "/code", recipient=TO)
    assert (status, body) == (
        404,
        {"error": {"status": 404, "message": "no message passes the filters", "field": None}},
    )
    await send(runtime, one, TO, text="Kodunuz yakında gelecek")
    status, body = await get(client, "/code", recipient=TO)
    _, listed = await get(client, recipient=TO)
    newest = listed["messages"][0]["id"]
    assert status == 404
    assert (
        body["error"]["message"] == f"no match of the pattern in the newest message (id {newest})"
    )


async def test_a_catastrophic_pattern_is_refused_quickly(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="a" * 600 + "!")
    began = time.monotonic()
    status, body = await get(client, "/code", recipient=TO, pattern="(a+)+$")
    assert time.monotonic() - began < 3
    assert (status, body["error"]["field"]) == (400, "pattern")
    assert "took longer than 0.1 s" in body["error"]["message"]
    # The server is still answering.
    status, body = await get(client, "/code", recipient=TO, pattern="(a{3})")
    assert (status, body["code"]) == (200, "aaa")


async def test_code_waits_for_a_message_that_holds_a_code(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    one = await account(runtime, "one")
    await send(runtime, one, TO, text="Eski kod: 1234")
    _, listed = await get(client, recipient=TO)
    seen = str(listed["messages"][0]["id"])

    async def two() -> int:
        await send(runtime, one, TO, text="Hoş geldiniz")
        await asyncio.sleep(0.2)
        return await send(runtime, one, TO, text="Giriş kodunuz 556677")

    sending = later(0.2, two)
    status, body = await get(client, "/code", recipient=TO, after=seen, wait="10")
    assert status == 200, body
    assert body["code"] == "556677"
    assert body["message"]["order_id"] == await sending
    status, body = await get(client, "/code", recipient=NOBODY, wait="0.3")
    assert (status, body["error"]["message"]) == (
        408,
        "no message with a match of the pattern within 0.3 s",
    )


# -- the recipient index -----------------------------------------------------------------


async def test_a_search_by_recipient_walks_the_recipient_index(runtime: Runtime) -> None:
    one = await account(runtime, "one")
    recipients = [f"+9053300{i % 2000:05d}" for i in range(20_000)]
    store_messages(runtime, one.account.id, recipients, "toplu", parse_local(START))
    for account_id in (None, one.account.id):
        text = await search_plan(
            runtime, filters(account_id=account_id, recipient="05330000042"), 101
        )
        assert "ix_messages_recipient" in text, text
        found = await search_store(runtime, filters(recipient="5330000042"), 50)
        assert len(found) == 10 and {m.recipient for m in found} == {"+905330000042"}
