"""The sandbox outbox: ``GET /outbox`` (admin token) and ``ileti outbox list``, on
SQLite and PostgreSQL. Messages go in through send-sms over the v1 API, in process;
what the outbox shows is checked against what the store holds."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.config import ConfigError, Settings
from ileti.services import outbox as outbox_service
from ileti.services.accounts import Issued
from tests.support.cli import invoke
from tests.support.http import auth, call
from tests.support.runtime import running
from tests.support.stored import rows as stored
from tests.support.waiting import eventually

TOKEN = "outbox-admin-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

DELIVERED_TO = "+905330000099"
UNDELIVERED_TO = "+905559990001"  # the simulated carrier never delivers it
BLACKLISTED = "+905321112233"
INVALID = "12345"
TEST_NUMBER = "+905337776655"
NOT_TEST_NUMBER = "+905337776600"
LONG_TEXT = "a" * 200  # GSM-7, two parts


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        delivery_delay_seconds=0.05,
        delivery_poll_seconds=0.02,
        admin_token=TOKEN,
    )


async def send(
    client: httpx.AsyncClient,
    issued: Issued,
    recipients: list[str],
    *,
    message: str = "Merhaba dünya",
    sender: str = "ILETI",
    when: str = "",
) -> int:
    status, body = await call(
        client,
        "send-sms",
        {
            "authentication": auth(issued),
            "order": {
                "sender": sender,
                "sendDateTime": when,
                "iys": "0",
                "message": {"text": message, "receipents": {"number": recipients}},
            },
        },
    )
    assert status == 200, body
    return int(body["order"]["id"])


async def outbox(client: httpx.AsyncClient, **query: Any) -> dict[str, Any]:
    r = await client.get("/outbox", params=query, headers=BEARER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def by_recipient(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {m["recipient"]: m for m in messages}
    assert len(found) == len(messages)
    return found


# -- what the outbox shows ---------------------------------------------------------------


async def test_each_message_with_its_status_and_reason(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    issued = await runtime.accounts.create(
        "acme", senders=("ILETI",), balance=100, test_number=TEST_NUMBER
    )
    status, body = await call(
        client,
        "add-blacklist",
        {"authentication": auth(issued), "blacklist": {"number": BLACKLISTED}},
    )
    assert status == 200, body

    sent = await send(
        client, issued, [DELIVERED_TO, BLACKLISTED, INVALID, UNDELIVERED_TO], message=LONG_TEXT
    )
    test = await send(client, issued, [TEST_NUMBER, NOT_TEST_NUMBER], sender="APITEST")
    tomorrow = (datetime.now(ISTANBUL) + timedelta(days=1)).replace(second=0, microsecond=0)
    when = tomorrow.strftime("%d/%m/%Y %H:%M")
    scheduled = await send(client, issued, [DELIVERED_TO], message="Yarın", when=when)
    status, body = await call(
        client, "cancel-order", {"authentication": auth(issued), "order": {"id": scheduled}}
    )
    assert status == 200, body

    async def settled() -> dict[str, Any] | None:
        page = await outbox(client, key=issued.account.key)
        waiting = [m for m in page["messages"] if m["status"] == 110]
        return None if waiting else page

    page = await eventually(settled)
    assert page["next"] is None
    shown = page["messages"]
    # Newest first; every message of the account, nothing else.
    ids = [m["id"] for m in shown]
    assert ids == sorted(ids, reverse=True)
    rows = await stored(
        runtime,
        "SELECT id, status, reason FROM messages WHERE account_id = :a ORDER BY id DESC",
        a=issued.account.id,
    )
    assert [(m["id"], m["status"], m["reason"]) for m in shown] == [tuple(r) for r in rows]
    assert [m["order_id"] for m in shown] == [scheduled] + [test] * 2 + [sent] * 4

    for m in shown:
        assert m["account_key"] == issued.account.key
        assert m["account_name"] == "acme"
        assert m["iys"] is False
        assert DATE.match(m["submitted_at"]) and DATE.match(m["updated_at"])

    first = by_recipient([m for m in shown if m["order_id"] == sent])
    common = {"order_id": sent, "sender": "ILETI", "text": LONG_TEXT, "parts": 2}
    delivered = first[DELIVERED_TO]
    assert delivered | common == delivered
    assert delivered["status"] == 111
    assert delivered["status_message"] == "Mesaj gönderildi"
    assert delivered["reason"] is None
    assert delivered["charged"] is True
    assert delivered["scheduled_at"] is None
    assert delivered["sent_at"] == delivered["submitted_at"]
    undelivered = first[UNDELIVERED_TO]
    assert undelivered | common == undelivered
    assert (undelivered["status"], undelivered["reason"]) == (112, "undelivered")
    assert undelivered["status_message"] == "Mesaj gönderilemedi"
    assert undelivered["charged"] is True
    assert undelivered["sent_at"] == undelivered["submitted_at"]
    for recipient, reason in ((BLACKLISTED, "blacklisted"), (INVALID, "invalid")):
        skipped = first[recipient]
        assert skipped | common == skipped
        assert (skipped["status"], skipped["reason"]) == (112, reason)
        assert skipped["status_message"] == "Mesaj gönderilemedi"
        assert skipped["charged"] is False
        assert skipped["sent_at"] is None

    apitest = by_recipient([m for m in shown if m["order_id"] == test])
    assert apitest[TEST_NUMBER]["sender"] == "APITEST"
    assert (apitest[TEST_NUMBER]["status"], apitest[TEST_NUMBER]["reason"]) == (111, None)
    assert apitest[TEST_NUMBER]["charged"] is False  # APITEST is free
    assert apitest[TEST_NUMBER]["sent_at"] is not None
    other = apitest[NOT_TEST_NUMBER]
    assert (other["status"], other["reason"], other["sent_at"]) == (112, "not_test_number", None)

    (cancelled,) = [m for m in shown if m["order_id"] == scheduled]
    assert cancelled["recipient"] == DELIVERED_TO
    assert (cancelled["status"], cancelled["reason"]) == (112, "cancelled")
    assert cancelled["text"] == "Yarın"
    assert cancelled["scheduled_at"] == tomorrow.strftime("%Y-%m-%d %H:%M:%S")
    assert cancelled["sent_at"] is None

    # By order: the same rows, in the same order.
    only = await outbox(client, order=str(sent))
    assert only["messages"] == [m for m in shown if m["order_id"] == sent]


async def test_one_account_never_sees_another(runtime: Runtime, client: httpx.AsyncClient) -> None:
    acme = await runtime.accounts.create("acme", senders=("ILETI",), balance=100)
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=100)
    acme_order = await send(client, acme, ["+905330000001", "+905330000002"], message="acme")
    other_order = await send(client, other, ["+905330000003"], message="other")

    mine = (await outbox(client, key=acme.account.key))["messages"]
    assert {m["recipient"] for m in mine} == {"+905330000001", "+905330000002"}
    assert {(m["account_key"], m["text"], m["order_id"]) for m in mine} == {
        (acme.account.key, "acme", acme_order)
    }
    theirs = (await outbox(client, key=other.account.key))["messages"]
    assert [(m["recipient"], m["account_name"]) for m in theirs] == [("+905330000003", "other")]
    # Another account's order through this account's key: nothing.
    crossed = await outbox(client, key=acme.account.key, order=str(other_order))
    assert crossed == {"messages": [], "next": None}
    # No key: every account, newest first.
    everyone = (await outbox(client))["messages"]
    assert [m["order_id"] for m in everyone] == [other_order, acme_order, acme_order]

    r = await client.get("/outbox", params={"key": "0" * 32}, headers=BEARER)
    assert (r.status_code, r.json()) == (404, {"error": "no account with this key"})


async def test_cursor_paging(runtime: Runtime, client: httpx.AsyncClient, account: Issued) -> None:
    recipients = [f"+90533000001{i}" for i in range(7)]
    order = await send(client, account, recipients)
    seen: list[dict[str, Any]] = []
    pages = []
    url: str | None = f"/outbox?key={account.account.key}&limit=3"
    while url is not None:
        r = await client.get(url, headers=BEARER)
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(len(page["messages"]))
        seen.extend(page["messages"])
        url = page["next"]
        if url is not None:
            assert url == (
                f"/outbox?key={account.account.key}&limit=3&before={page['messages'][-1]['id']}"
            )
    assert pages == [3, 3, 1]
    ids = [m["id"] for m in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7
    # Newest first means the order's recipients in reverse.
    assert [m["recipient"] for m in seen] == recipients[::-1]
    assert {m["order_id"] for m in seen} == {order}
    # A cursor below every id: empty, no next; exactly a page left: no next either.
    assert await outbox(client, before=str(min(ids))) == {"messages": [], "next": None}
    last = await outbox(client, limit="2", before=str(ids[4]))
    assert [m["id"] for m in last["messages"]] == ids[5:] and last["next"] is None


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"limit": "0"}, "limit must be a whole number from 1 to 1000"),
        ({"limit": "1001"}, "limit must be a whole number from 1 to 1000"),
        ({"limit": "ten"}, "limit must be a whole number from 1 to 1000"),
        ({"before": "-1"}, f"before must be a whole number from 1 to {2**63 - 1}"),
        ({"before": str(2**63)}, f"before must be a whole number from 1 to {2**63 - 1}"),
        ({"order": "1e3"}, f"order must be a whole number from 1 to {2**63 - 1}"),
        ({"order": "٣"}, f"order must be a whole number from 1 to {2**63 - 1}"),
    ],
)
async def test_bad_query_values(
    client: httpx.AsyncClient, query: dict[str, str], error: str
) -> None:
    r = await client.get("/outbox", params=query, headers=BEARER)
    assert (r.status_code, r.json()) == (400, {"error": error})


# -- the admin token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer "},
    ],
)
async def test_token_required(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, headers: dict[str, str]
) -> None:
    await send(client, account, [DELIVERED_TO])
    r = await client.get("/outbox", params={"key": account.account.key}, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized"}
    assert r.headers["www-authenticate"] == 'Bearer realm="ileti"'
    assert DELIVERED_TO not in r.text
    # The scheme is case-insensitive; the token is not.
    ok = await client.get("/outbox", headers={"Authorization": f"bearer {TOKEN}"})
    assert ok.status_code == 200 and len(ok.json()["messages"]) == 1


async def test_absent_without_a_token(settings: Settings, account: Issued) -> None:
    from dataclasses import replace

    async with running(replace(settings, admin_token=None)) as (_rt, c):
        absent = await c.get("/no-such-page")
        for headers in ({}, BEARER):
            r = await c.get("/outbox", headers=headers)
            assert (r.status_code, r.text) == (404, absent.text)
            assert r.headers["content-type"] == absent.headers["content-type"]


def test_token_setting() -> None:
    assert Settings.from_env({}).admin_token is None
    assert Settings.from_env({"ILETI_ADMIN_TOKEN": "  "}).admin_token is None
    found = Settings.from_env({"ILETI_ADMIN_TOKEN": f" {TOKEN} "})
    assert found.admin_token == TOKEN
    assert TOKEN not in repr(found)
    for weak in ("short", "has a space in it 0123456789"):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"ILETI_ADMIN_TOKEN": weak})
        assert str(caught.value) == (
            "ILETI_ADMIN_TOKEN must be at least 16 characters, without spaces"
        )


# -- the CLI --------------------------------------------------------------------------------


async def test_cli_list(
    runtime: Runtime,
    client: httpx.AsyncClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = ["--database", database_url]
    acme = await runtime.accounts.create("acme", senders=("ILETI",), balance=100)
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=100)

    empty = invoke(["outbox", "list", acme.account.key, *db])
    assert empty.exit_code == 0, empty.output
    assert empty.stdout.splitlines()[0].split() == [
        "ID", "ORDER", "SUBMITTED", "SENDER", "RECIPIENT", "STATUS", "REASON", "PARTS", "TEXT"
    ]  # fmt: skip
    assert len(empty.stdout.splitlines()) == 1
    assert empty.stderr == "No messages.\n"
    assert invoke(["outbox", "list", acme.account.key, "--json", *db]).stdout == "[]\n"

    await call(
        client,
        "add-blacklist",
        {"authentication": auth(acme), "blacklist": {"number": BLACKLISTED}},
    )
    recipients = [f"+90533000002{i}" for i in range(5)]
    first = await send(client, acme, [*recipients, BLACKLISTED, INVALID], message="İlk\nsatır")
    second = await send(client, other, ["+905330000031"], message="other")

    api = (await outbox(client, key=acme.account.key, limit="1000"))["messages"]
    listed = invoke(["outbox", "list", acme.account.key, "--json", *db])
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    # The same messages as the API shows (statuses may have moved on in between).
    moving = ("status", "status_message", "reason", "sent_at", "updated_at")

    def still(m: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in m.items() if k not in moving}

    assert [still(m) for m in found] == [still(m) for m in api]
    assert len(found) == 7
    # One message a line, so the array can be read as it is written.
    assert listed.stdout.splitlines()[0] == "["
    assert json.loads(listed.stdout.splitlines()[1].rstrip(",")) == found[0]

    table = invoke(["outbox", "list", acme.account.key, *db])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()[1:]
    assert len(lines) == 7
    row = {line.split()[5]: line.split() for line in lines}  # the date is two words
    assert row[BLACKLISTED][6:8] == ["112", "blacklisted"]
    assert row[INVALID][6:8] == ["112", "invalid"]
    assert row[recipients[0]][1] == str(first)
    assert row[recipients[0]][-2:] == ["İlk", "satır"]  # a newline in a text stays on one line
    assert "other" not in table.stdout

    everyone = invoke(["outbox", "list", "--limit", "2", *db])
    assert everyone.exit_code == 0, everyone.output
    head, *rows = everyone.stdout.splitlines()
    assert head.split()[3] == "ACCOUNT"
    assert [r.split()[4] for r in rows] == ["other", "acme"]
    assert rows[0].split()[1] == str(second)

    by_order = json.loads(invoke(["outbox", "list", "--order", str(second), "--json", *db]).stdout)
    assert [(m["recipient"], m["account_name"]) for m in by_order] == [("+905330000031", "other")]

    # Read in chunks smaller than the outbox: nothing lost or repeated at the seams.
    monkeypatch.setattr(outbox_service, "CHUNK", 2)
    chunked = json.loads(invoke(["outbox", "list", acme.account.key, "--json", *db]).stdout)
    assert [m["id"] for m in chunked] == [m["id"] for m in found]
    five = json.loads(invoke(["outbox", "list", "--limit", "5", "--json", *db]).stdout)
    everything = (await outbox(client))["messages"]
    assert [m["id"] for m in five] == [m["id"] for m in everything[:5]]

    missing = invoke(["outbox", "list", "nosuchkey", *db])
    assert missing.exit_code == 1
    assert missing.stdout == ""
    assert missing.stderr == "Error: no account with key 'nosuchkey'\n"
    bad = invoke(["outbox", "list", "--order", "0", *db])
    assert bad.exit_code == 2 and "--order" in bad.stderr


# -- what the CLI prints of tenant-controlled text ------------------------------------------

#: Terminal control: clear the screen, retitle the window (OSC ... BEL), a C1 CSI, a
#: right-to-left override; each must reach the terminal as visible escapes.
HOSTILE = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202e"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def strings(value: Any) -> set[str]:
    """Every string in a decoded JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return set().union(*map(strings, value)) if value else set()
    if isinstance(value, dict):
        return strings(list(value.values()))
    return set()


def assert_no_terminal_control(output: str) -> None:
    assert not [c for c in RAW if c in output], repr(output)


async def test_cli_shows_control_characters_as_visible_escapes(
    runtime: Runtime, client: httpx.AsyncClient, database_url: str
) -> None:
    """Text a tenant controls (message texts, recipients as written, account names,
    inbound texts) is printed with its control characters as visible escapes
    (``\\x1b``), in tables and in JSON alike; the JSON still decodes to the exact value."""
    db = ["--database", database_url]
    name = f"acme{HOSTILE}"
    acme = await runtime.accounts.create(name, senders=("ILETI",), balance=100)
    text = f"a{HOSTILE}b"
    order_id = await send(client, acme, [DELIVERED_TO, f"x{HOSTILE}"], message=text)

    table = invoke(["outbox", "list", *db])
    assert table.exit_code == 0, table.output
    assert_no_terminal_control(table.stdout)
    assert "a\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202eb" in table.stdout
    assert "acme\\x1b[2J" in table.stdout

    listed = invoke(["outbox", "list", acme.account.key, "--json", *db])
    assert listed.exit_code == 0, listed.output
    assert_no_terminal_control(listed.stdout)
    found = json.loads(listed.stdout)
    assert {m["text"] for m in found} == {text}
    assert {m["account_name"] for m in found} == {name}
    # kept as written, but for what XML cannot carry (docs/api.md, "Characters")
    assert "x\ufffd[2J\ufffd]0;owned\ufffd\x9b31m\u202e" in {m["recipient"] for m in found}

    for args in (
        ["account", "list"],
        ["account", "show", acme.account.key],
        ["outbox", "search", "--order", str(order_id)],
    ):
        shown = invoke([*args, *db])
        assert shown.exit_code == 0, (args, shown.output)
        assert_no_terminal_control(shown.stdout)
        assert "\\x1b[2J" in shown.stdout, args
        as_json = invoke([*args, "--json", *db])
        assert as_json.exit_code == 0, (args, as_json.output)
        assert_no_terminal_control(as_json.stdout)
        assert name in strings(json.loads(as_json.stdout)), args

    inbound = invoke(
        [
            *("inbound", acme.account.key, "--from", "05331112233", "--to", "7889"),
            *("--text", text, "--json", *db),
        ]
    )
    assert inbound.exit_code == 0, inbound.output
    assert_no_terminal_control(inbound.stdout)
    assert json.loads(inbound.stdout)["message"]["text"] == text
