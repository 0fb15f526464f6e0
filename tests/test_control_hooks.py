"""The control API's webhook log, replays and test webhooks (/_ileti/webhooks), and the
inbound opt-out simulation (/_ileti/inbound), on both databases with real storage: a
webhook receiver on 127.0.0.1, the sender and the carrier stepped on a FakeClock."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.config import Settings
from ileti.models import OutgoingText, SendCommand
from ileti.services.auth import api_hash
from tests.support.clock import FakeClock
from tests.support.stored import blacklist_rows, inbound_rows, webhook_rows

TOKEN = "admin-token-for-tests-0123"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
DELIVERED_TO = "+905330000099"


def as_account(key: str, secret: str) -> dict[str, str]:
    return {"X-Ileti-Key": key, "X-Ileti-Hash": api_hash(key, secret)}


ONE = as_account("one-key", "one-secret")
TWO = as_account("two-key", "two-secret")


@dataclass
class Receiver:
    """A webhook endpoint (HTTP/1.1 on asyncio streams): records each request's path
    and body; answers the statuses of ``script`` in turn, then 200."""

    url: str = ""
    hits: list[tuple[str, bytes]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await reader.readline():
                path = request.decode("latin-1").split(" ")[1]
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                self.hits.append((path, await reader.readexactly(length)))
                status = self.script.pop(0) if self.script else 200
                writer.write(f"HTTP/1.1 {status} -\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield found
    finally:
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(database_url: str) -> Settings:
    """For conftest's ``stepped`` instance (no background loop; the test steps it)."""
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        delivery_delay_seconds=2.0,
        delivery_poll_seconds=0,
        webhook_backoff_seconds=10.0,
        webhook_attempts=2,
    )


@pytest.fixture
def rt(stepped: Runtime) -> Runtime:
    return stepped


@pytest.fixture
def runtime(stepped: Runtime) -> Runtime:
    """conftest's ``client`` talks to this instance."""
    return stepped


async def two_accounts(rt: Runtime, url_one: str | None, url_two: str | None = None) -> None:
    for name, url in (("one", url_one), ("two", url_two)):
        await rt.accounts.create(
            name,
            key=f"{name}-key",
            secret=f"{name}-secret",
            senders=("ILETI",),
            balance=50,
            webhook_url=url,
        )


async def send(rt: Runtime, key: str, to: str = DELIVERED_TO, text: str = "merhaba") -> int:
    account = await rt.accounts.get(key)
    command = SendCommand("ILETI", None, "0", None, (OutgoingText(text, (to,)),))
    return await rt.orders.send(account, command)


def accepted(message_id: int, order_id: int, to: str = DELIVERED_TO, text: str = "merhaba") -> str:
    report = {"id": message_id, "packet_id": order_id, "status": "accepted", "to": to, "body": text}
    return json.dumps({"report": report}, ensure_ascii=False, separators=(",", ":"))


# -- the log ------------------------------------------------------------------------------


async def test_the_log_shows_each_attempt_of_a_failing_then_delivered_webhook(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver, clock: FakeClock
) -> None:
    secret_url = receiver.url.replace("http://", "http://hook:pa55word@") + "/hook?token=t0p"
    await two_accounts(rt, secret_url)
    order_id = await send(rt, "one-key")
    await rt.carrier.step()  # dispatched: an "accepted" report is queued
    receiver.script = [500]
    first = clock.now_us()
    await rt.webhooks.step()

    r = await client.get("/_ileti/webhooks", headers=ONE)
    assert r.status_code == 200
    ((row,), after) = r.json()["webhooks"], r.json()["next"]
    assert after is None
    message_id = row["message_id"]
    body = accepted(message_id, order_id)
    # Each attempt as it was recorded: the receiver's status and, unless 2xx, the start
    # of its reply.
    first_attempt = {
        "at": format_local(first),
        "status": "failed",
        "error": "HTTP 500",
        "http_status": 500,
        "reply": "ok",
    }
    assert row == {
        "id": row["id"],
        "account_key": "one-key",
        "message_id": message_id,
        "order_id": order_id,
        "url": f"{receiver.url}/hook",
        "body": body,
        "status": "failed",
        "attempts": 1,
        "last_error": "HTTP 500",
        "last_attempt_at": format_local(first),
        "next_attempt_at": format_local(first + 10_000_000),
        "delivered_at": None,
        "history": [first_attempt],
    }
    assert "pa55word" not in r.text and "t0p" not in r.text

    clock.advance(10)
    second = clock.now_us()
    await rt.webhooks.step()
    assert [hit[1].decode() for hit in receiver.hits] == [body, body]
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"status": "delivered"})
    (row,) = r.json()["webhooks"]
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, "HTTP 500")
    assert (row["delivered_at"], row["last_attempt_at"]) == (format_local(second),) * 2
    assert row["next_attempt_at"] is None
    assert row["history"] == [
        first_attempt,
        {
            "at": format_local(second),
            "status": "delivered",
            "error": None,
            "http_status": 200,
            "reply": None,
        },
    ]
    for params in ({"status": "failed"}, {"status": "pending"}, {"order": order_id + 1}):
        r = await client.get("/_ileti/webhooks", headers=ONE, params=params)
        assert (r.status_code, r.json()["webhooks"]) == (200, [])
    for params in ({"order": order_id}, {"message": message_id}):
        r = await client.get("/_ileti/webhooks", headers=ONE, params=params)
        assert [w["id"] for w in r.json()["webhooks"]] == [row["id"]]


async def test_a_webhook_given_up_keeps_every_error(
    rt: Runtime, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await two_accounts(rt, f"http://127.0.0.1:{closed_port()}/hook")
    await send(rt, "one-key")
    await rt.carrier.step()
    await rt.webhooks.step()
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"status": "failed"})
    assert [w["attempts"] for w in r.json()["webhooks"]] == [1]
    clock.advance(10)
    await rt.webhooks.step()  # the second attempt is the last (webhook_attempts=2)
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"status": "given_up"})
    (row,) = r.json()["webhooks"]
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("given_up", 2, None)
    assert [h["status"] for h in row["history"]] == ["failed", "failed"]
    assert all(h["error"].startswith("ConnectError") for h in row["history"])
    assert all((h["http_status"], h["reply"]) == (None, None) for h in row["history"])
    assert row["last_error"] == row["history"][-1]["error"]


async def test_the_log_pages_newest_first(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await two_accounts(rt, receiver.url, receiver.url)
    for i in range(3):
        await send(rt, "one-key", text=f"t{i}")
    await send(rt, "two-key")
    await rt.carrier.step()
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"limit": 2})
    page = r.json()
    ids = [w["id"] for w in page["webhooks"]]
    assert len(ids) == 2 and ids == sorted(ids, reverse=True)
    assert {w["status"] for w in page["webhooks"]} == {"pending"}
    assert page["next"] == f"/_ileti/webhooks?limit=2&before={ids[-1]}"
    r = await client.get(page["next"], headers=ONE)
    rest = [w["id"] for w in r.json()["webhooks"]]
    assert len(rest) == 1 and rest[0] < ids[-1] and r.json()["next"] is None
    r = await client.get("/_ileti/webhooks", headers=ADMIN)
    assert [w["account_key"] for w in r.json()["webhooks"]] == ["two-key"] + ["one-key"] * 3
    r = await client.get("/_ileti/webhooks", headers=ADMIN, params={"key": "two-key"})
    assert [w["account_key"] for w in r.json()["webhooks"]] == ["two-key"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"status": "lost"}, "status"),
        ({"before": "x"}, "before"),
        ({"order": -1}, "order"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_log_queries_are_400_naming_the_field(
    rt: Runtime, client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    await two_accounts(rt, None)
    r = await client.get("/_ileti/webhooks", headers=ONE, params=params)
    assert r.status_code == 400
    assert r.json()["error"]["field"] == field and r.json()["error"]["message"]


# -- replays and test webhooks ----------------------------------------------------------


async def test_a_replay_posts_the_same_body_to_the_current_url(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await two_accounts(rt, f"{receiver.url}/first")
    order_id = await send(rt, "one-key")
    await rt.carrier.step()
    await rt.webhooks.step()
    ((path, body),) = receiver.hits
    assert path == "/first"
    (original,) = (await client.get("/_ileti/webhooks", headers=ONE)).json()["webhooks"]
    await rt.accounts.update("one-key", webhook_url=f"{receiver.url}/second")

    r = await client.post(f"/_ileti/webhooks/{original['id']}/replay", headers=ONE)
    assert r.status_code == 201
    made = r.json()
    assert made["id"] > original["id"]
    assert (made["status"], made["attempts"], made["history"]) == ("pending", 0, [])
    assert (made["url"], made["body"]) == (f"{receiver.url}/second", original["body"])
    assert (made["message_id"], made["order_id"]) == (original["message_id"], order_id)
    await rt.webhooks.step()
    assert receiver.hits[1] == ("/second", body)
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"status": "delivered"})
    assert [w["id"] for w in r.json()["webhooks"]] == [made["id"], original["id"]]


async def test_a_test_webhook_goes_to_the_accounts_url(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await two_accounts(rt, f"{receiver.url}/hook")
    await rt.accounts.update("one-key", test_number="05330000009")
    r = await client.post("/_ileti/webhooks/test", headers=ONE, json={"status": "undelivered"})
    assert r.status_code == 201
    made = r.json()
    expected = (
        '{"report":{"id":0,"packet_id":0,"status":"undelivered","to":"+905330000009",'
        '"body":"ileti test webhook"}}'
    )
    assert (made["body"], made["message_id"], made["order_id"]) == (expected, 0, None)
    r = await client.post("/_ileti/webhooks/test", headers=ADMIN, json={"key": "one-key"})
    assert r.status_code == 201 and '"status":"delivered"' in r.json()["body"]
    await rt.webhooks.step()  # test webhooks are not held back behind one another
    assert sorted(hit[1].decode() for hit in receiver.hits) == sorted(
        [expected, expected.replace("undelivered", "delivered")]
    )
    r = await client.get("/_ileti/webhooks", headers=ONE, params={"status": "delivered"})
    assert len(r.json()["webhooks"]) == 2


async def test_a_test_webhook_without_a_url_is_409_and_queues_nothing(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await two_accounts(rt, None)
    r = await client.post("/_ileti/webhooks/test", headers=ONE)
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "webhook_url"
    assert r.json()["error"]["message"].startswith("the account has no webhook URL")
    assert await webhook_rows(rt) == []


@pytest.mark.parametrize(
    ("headers", "body", "status", "field"),
    [
        (ONE, {"status": "lost"}, 400, "status"),
        (ONE, {"surprise": 1}, 400, "surprise"),
        (ADMIN, {}, 400, "key"),
        (ADMIN, {"key": "nobody"}, 404, "key"),
        (ONE, {"key": "two-key"}, 404, "key"),
    ],
)
async def test_bad_test_webhooks_are_refused_and_queue_nothing(
    rt: Runtime,
    client: httpx.AsyncClient,
    receiver: Receiver,
    headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    await two_accounts(rt, receiver.url, receiver.url)
    r = await client.post("/_ileti/webhooks/test", headers=headers, json=body)
    assert (r.status_code, r.json()["error"]["field"]) == (status, field)
    assert await webhook_rows(rt) == []


async def test_an_account_never_sees_or_replays_anothers_webhooks(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await two_accounts(rt, receiver.url, receiver.url)
    await send(rt, "one-key")
    await rt.carrier.step()
    ((one_id, _, _),) = await webhook_rows(rt)
    r = await client.get("/_ileti/webhooks", headers=TWO)
    assert (r.status_code, r.json()["webhooks"]) == (200, [])
    r = await client.get("/_ileti/webhooks", headers=TWO, params={"key": "one-key"})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "key")
    r = await client.post(f"/_ileti/webhooks/{one_id}/replay", headers=TWO)
    assert (r.status_code, r.json()["error"]) == (
        404,
        {"status": 404, "message": "no webhook with this id", "field": "id"},
    )
    for bad, status in (("x", 400), ("0", 400), (str(one_id + 99), 404)):
        r = await client.post(f"/_ileti/webhooks/{bad}/replay", headers=ADMIN)
        assert (r.status_code, r.json()["error"]["field"]) == (status, "id")
    assert len(await webhook_rows(rt)) == 1
    r = await client.post(f"/_ileti/webhooks/{one_id}/replay", headers=ADMIN)
    assert (r.status_code, r.json()["account_key"]) == (201, "one-key")


async def test_a_replay_without_a_url_now_is_409(
    rt: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await two_accounts(rt, receiver.url)
    await send(rt, "one-key")
    await rt.carrier.step()
    ((one_id, _, _),) = await webhook_rows(rt)
    await rt.accounts.update("one-key", webhook_url=None)
    r = await client.post(f"/_ileti/webhooks/{one_id}/replay", headers=ONE)
    assert (r.status_code, r.json()["error"]["field"]) == (409, "webhook_url")
    assert len(await webhook_rows(rt)) == 1


# -- the short code and inbound opt-outs -----------------------------------------------

SENDER = "+905331112233"


@pytest.fixture
async def short_code(rt: Runtime) -> None:
    await two_accounts(rt, None)
    await rt.accounts.update("one-key", short_code="7889")


async def test_the_short_code_is_an_account_setting(rt: Runtime, client: httpx.AsyncClient) -> None:
    await two_accounts(rt, None)
    r = await client.patch("/_ileti/accounts/one-key", headers=ONE, json={"short_code": " 7889 "})
    assert (r.status_code, r.json()["short_code"]) == (200, "7889")
    for bad in ("78a9", "12", "123456789", "+7889"):
        r = await client.patch("/_ileti/accounts/one-key", headers=ONE, json={"short_code": bad})
        assert (r.status_code, r.json()["error"]["field"]) == (400, "short_code")
        assert r.json()["error"]["message"].startswith("short code: 3 to 8 digits")
    assert (await rt.accounts.get("one-key")).short_code == "7889"
    r = await client.patch("/_ileti/accounts/one-key", headers=ONE, json={"short_code": None})
    assert (r.status_code, r.json()["short_code"]) == (200, None)
    body = {"name": "three", "short_code": "3338"}
    r = await client.post("/_ileti/accounts", headers=ADMIN, json=body)
    assert (r.status_code, r.json()["account"]["short_code"]) == (201, "3338")


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("RET", "RET"),
        ("  ret ", "RET"),
        ("İPTAL", "IPTAL"),
        ("iptal", "IPTAL"),
        ("ıptal", "IPTAL"),
        ("IPTAL", "IPTAL"),
        ("Stop", "STOP"),
        ("ONE RET", "RET"),
        ("one   ret", "RET"),
        ("RET One", "RET"),
        ("One İptal", "IPTAL"),
    ],
)
async def test_an_opt_out_keyword_to_the_short_code_blacklists_the_sender(
    rt: Runtime, client: httpx.AsyncClient, short_code: None, text: str, keyword: str
) -> None:
    body = {"from": "05331112233", "to": "7889", "text": text}
    r = await client.post("/_ileti/inbound", headers=ONE, json=body)
    assert r.status_code == 201
    got = r.json()
    assert (got["action"], got["keyword"], got["already_listed"]) == ("blacklisted", keyword, False)
    message = got["message"]
    assert (message["from"], message["to"], message["text"], message["action"]) == (
        SENDER,
        "7889",
        text,
        "blacklisted",
    )
    one = await rt.accounts.get("one-key")
    assert await blacklist_rows(rt) == [(one.id, 905331112233, "keyword")]
    r = await client.post("/_ileti/inbound", headers=ONE, json=body)
    assert (r.json()["action"], r.json()["already_listed"]) == ("blacklisted", True)
    assert len(await blacklist_rows(rt)) == 1


@pytest.mark.parametrize(
    "text", ["RET lütfen", "RETT", "", "two RET", "R E T", "RET RET", "ONE", "iptal et"]
)
async def test_other_texts_are_kept_and_do_nothing(
    rt: Runtime, client: httpx.AsyncClient, short_code: None, text: str
) -> None:
    r = await client.post(
        "/_ileti/inbound", headers=ONE, json={"from": SENDER, "to": "7889", "text": text}
    )
    assert r.status_code == 201
    assert (r.json()["action"], r.json()["keyword"]) == (None, None)
    assert await inbound_rows(rt) == [(SENDER, "7889", text, None)]
    assert await blacklist_rows(rt) == []


async def test_a_keyword_to_another_number_is_kept_and_does_nothing(
    rt: Runtime, client: httpx.AsyncClient, short_code: None
) -> None:
    for to, headers in (("7890", ONE), ("3338", ONE), ("7889", TWO)):  # two has no short code
        r = await client.post(
            "/_ileti/inbound", headers=headers, json={"from": SENDER, "to": to, "text": "RET"}
        )
        assert (r.status_code, r.json()["action"]) == (201, None)
    assert [row[1] for row in await inbound_rows(rt)] == ["7890", "3338", "7889"]
    assert await blacklist_rows(rt) == []


async def test_an_opted_out_number_is_skipped_and_listed(
    rt: Runtime, client: httpx.AsyncClient, short_code: None
) -> None:
    body = {"key": "one-key", "from": SENDER, "to": "7889", "text": "ONE RET"}
    r = await client.post("/_ileti/inbound", headers=ADMIN, json=body)
    assert r.json()["action"] == "blacklisted"
    account = await rt.accounts.get("one-key")
    recipients = (SENDER, DELIVERED_TO)
    command = SendCommand("ILETI", None, "0", None, (OutgoingText("kampanya", recipients),))
    order_id = await rt.orders.send(account, command)
    r = await client.get("/_ileti/outbox", headers=ONE, params={"order": order_id})
    found = {m["recipient"]: (m["status"], m["reason"]) for m in r.json()["messages"]}
    assert found == {SENDER: (112, "blacklisted"), DELIVERED_TO: (110, None)}
    one = await rt.accounts.get("one-key")
    hash_hex = api_hash("one-key", "one-secret")
    request = {"request": {"authentication": {"key": "one-key", "hash": hash_hex}}}
    r = await client.post("/v1/get-blacklist/json", json=request)
    listed = r.json()["response"]["blacklist"]
    assert (int(listed["count"]), listed["number"]) == (1, [SENDER])
    assert one.blacklist_count == 1
    entries: list[Any] = []
    rt.blacklist.export(one.id, lambda found: entries.extend(found))
    assert [(e.number, e.source) for e in entries] == [(905331112233, "keyword")]


@pytest.mark.parametrize(
    ("headers", "body", "status", "field"),
    [
        (ONE, {"from": "12345", "to": "7889", "text": "RET"}, 400, "from"),
        (ONE, {"from": "+902125551212", "to": "7889", "text": "RET"}, 400, "from"),
        (ONE, {"to": "7889", "text": "RET"}, 400, "from"),
        (ONE, {"from": SENDER, "text": "RET"}, 400, "to"),
        (ONE, {"from": SENDER, "to": "7889"}, 400, "text"),
        (ONE, {"from": SENDER, "to": "", "text": "RET"}, 400, "to"),
        (ONE, {"from": SENDER, "to": "7" * 17, "text": "RET"}, 400, "to"),
        (ONE, {"from": SENDER, "to": "7889", "text": "x" * 1001}, 400, "text"),
        (ONE, {"from": 5331112233, "to": "7889", "text": "RET"}, 400, "from"),
        (ONE, {"from": SENDER, "to": "7889", "text": "RET", "extra": 1}, 400, "extra"),
        (ADMIN, {"from": SENDER, "to": "7889", "text": "RET"}, 400, "key"),
        (ONE, {"key": "two-key", "from": SENDER, "to": "7889", "text": "RET"}, 404, "key"),
    ],
)
async def test_bad_inbound_messages_are_refused_and_change_nothing(
    rt: Runtime,
    client: httpx.AsyncClient,
    short_code: None,
    headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    r = await client.post("/_ileti/inbound", headers=headers, json=body)
    assert (r.status_code, r.json()["error"]["field"]) == (status, field)
    assert r.json()["error"]["message"]
    assert await inbound_rows(rt) == []
    assert await blacklist_rows(rt) == []


async def test_inbound_messages_are_listed_newest_first_in_scope(
    rt: Runtime, client: httpx.AsyncClient, short_code: None
) -> None:
    for text in ("a", "b", "c"):
        await client.post(
            "/_ileti/inbound", headers=ONE, json={"from": SENDER, "to": "7889", "text": text}
        )
    await client.post("/_ileti/inbound", headers=TWO, json={"from": SENDER, "to": "1", "text": "d"})
    r = await client.get("/_ileti/inbound", headers=ONE, params={"limit": 2})
    page = r.json()
    assert [m["text"] for m in page["messages"]] == ["c", "b"]
    assert page["messages"][0]["account_key"] == "one-key"
    r = await client.get(page["next"], headers=ONE)
    assert ([m["text"] for m in r.json()["messages"]], r.json()["next"]) == (["a"], None)
    r = await client.get("/_ileti/inbound", headers=TWO)
    assert [m["text"] for m in r.json()["messages"]] == ["d"]
    r = await client.get("/_ileti/inbound", headers=TWO, params={"key": "one-key"})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "key")
    r = await client.get("/_ileti/inbound", headers=ADMIN)
    assert [m["text"] for m in r.json()["messages"]] == ["d", "c", "b", "a"]
    r = await client.get("/_ileti/inbound", headers=ADMIN, params={"limit": 0})
    assert (r.status_code, r.json()["error"]["field"]) == (400, "limit")
