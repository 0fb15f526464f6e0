"""Blacklist sync (issue 13, point 4) against a real upstream: a second ileti
(``ileti.testing.server.Sandbox``) whose account is made through its control API.
Local changes, whatever made them, reach the upstream's get-blacklist, in order per
number; the upstream's own opt-outs reach the local list with source ``upstream``,
block a local send-sms and are not sent back; nothing is queued while sync is off; an
upstream that is down or refuses is retried and shown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import now_us
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.services.blacklist_panel import BlacklistPanel
from ileti.testing.server import Sandbox
from tests.support import cli
from tests.support.http import auth
from tests.support.proxy import Proxy
from tests.support.runtime import started
from tests.support.sandbox import Made, control, make_account, outbox
from tests.support.spec import MESSAGES
from tests.support.stored import blacklist_entries, message_rows, sync_queue
from tests.support.waiting import eventually

SECRET = "relay-blacklist-test-secret-key-0123456789"
ADMIN_TOKEN = "relay-blacklist-admin-token"
SHORT_CODE = "7889"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The local instance: relays, polls its loops often, imports every 0.3 s."""
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=ADMIN_TOKEN,
        secret_key=(SECRET,),
        relay_poll_seconds=0.05,
        relay_report_seconds=0.2,
        relay_timeout_seconds=5.0,
        relay_blacklist_seconds=0.3,
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[Sandbox]:
    """The upstream: another ileti on a socket; each test makes its own account on it."""
    with Sandbox(delivery_delay_seconds=0.1) as found:
        yield found


@pytest.fixture
def made(upstream: Sandbox) -> Made:
    return make_account(upstream, short_code=SHORT_CODE)


@pytest.fixture
def proxy(upstream: Sandbox) -> Iterator[Proxy]:
    """The way to the upstream, which a test cuts (upstream down) and restores."""
    with Proxy(upstream.port) as found:
        yield found


def through(proxy: Proxy) -> str:
    return f"http://127.0.0.1:{proxy.port}/v1/"


async def use_upstream(
    rt: Runtime, account: Issued, made: Made, *, base_url: str, sync: bool = True
) -> None:
    await rt.relay_settings.set(
        account.account.id,
        base_url=base_url,
        key=made.key,
        secret=made.secret,
        mode="relay",
        blacklist_sync=sync,
    )


async def v1(
    base: str | httpx.AsyncClient, who: dict[str, str], action: str, body: dict[str, Any]
) -> tuple[int, str]:
    """(code, message) of a v1 call: through the local app's client or to a base URL."""
    payload = {"request": {"authentication": who, **body}}
    if isinstance(base, httpx.AsyncClient):
        reply = await base.post(f"/v1/{action}/json", json=payload)
    else:
        async with httpx.AsyncClient() as c:
            reply = await c.post(f"{base}{action}/json", json=payload)
    status = reply.json()["response"]["status"]
    return status["code"], status["message"]


def listing(number: str) -> dict[str, Any]:
    return {"blacklist": {"number": number}}


async def upstream_list(made: Made) -> set[str]:
    """Every number the upstream account's get-blacklist shows."""
    async with httpx.AsyncClient() as c:
        reply = await c.post(
            f"{made.base_url}get-blacklist/json",
            json={"request": {"authentication": up_auth(made), "blacklist": {"rowCount": 1000}}},
        )
    listed = reply.json()["response"]["blacklist"]
    return set(listed.get("number") or [])


def up_auth(made: Made) -> dict[str, str]:
    return {"key": made.key, "hash": made.hash}


def e164(stored: int) -> str:
    return f"+{stored}"


async def local_sources(rt: Runtime, account: Issued) -> dict[str, str]:
    return {e164(n): source for n, _at, source in await blacklist_entries(rt, account.account.id)}


# -- push ----------------------------------------------------------------------------------------


async def test_every_local_change_reaches_the_upstream(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    upstream: Sandbox,
    made: Made,
    database_url: str,
    tmp_path: Any,
) -> None:
    await use_upstream(runtime, account, made, base_url=upstream.base_url)
    key = account.account.key
    who = auth(account)
    # v1: add two, delete one of them.
    assert await v1(client, who, "add-blacklist", listing("+905330000101")) == (200, MESSAGES[200])
    assert (await v1(client, who, "add-blacklist", listing("05330000102")))[0] == 200
    assert (await v1(client, who, "delete-blacklist", listing("+905330000102")))[0] == 200
    # The CLI: add one, import a file of two.
    cli.run(database_url, "blacklist", "add", key, "+905330000103")
    csv = tmp_path / "numbers.csv"
    csv.write_text("number\n+905330000104\n905330000105\n")
    assert "2 added" in cli.run(database_url, "blacklist", "import", key, str(csv))
    # The panel's add form.
    added = await BlacklistPanel(runtime.store).add_lines(
        account.account.id, "+905330000106", now=now_us()
    )
    assert len(added.added) == 1
    # An opt-out keyword to the account's short code (control API).
    changed = await client.patch(
        f"/_ileti/accounts/{key}",
        json={"short_code": SHORT_CODE},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert changed.status_code == 200, changed.text
    got = await client.post(
        "/_ileti/inbound",
        json={"key": key, "from": "+905330000107", "to": SHORT_CODE, "text": "RET"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert got.status_code in (200, 201), got.text
    assert got.json()["action"] == "blacklisted"
    # A seed adding an entry to the existing account (control API).
    seeded = await client.post(
        "/_ileti/state",
        json={
            "version": 1,
            "accounts": [
                {
                    "name": account.account.name,
                    "key": key,
                    "secret": account.secret,
                    "senders": ["ILETI"],
                    "balance": account.account.balance,
                    "blacklist": [{"number": "+905330000108"}],
                }
            ],
        },
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert seeded.status_code == 200, seeded.text

    wanted = {f"+90533000010{i}" for i in (1, 3, 4, 5, 6, 7, 8)}
    assert set(await local_sources(runtime, account)) == wanted
    await eventually(lambda: _equal(upstream_list(made), wanted))
    await eventually(lambda: _empty(sync_queue(runtime, account.account.id)))

    # A sandbox reset of the account's blacklist is not mirrored: it queues no delete
    # (the queue is written in the reset's own transaction), so no opt-out is undone
    # upstream by a test's reset.
    reset = await client.post(
        "/_ileti/reset",
        json={"key": key, "blacklist": True},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert reset.status_code == 200, reset.text
    assert await local_sources(runtime, account) == {}
    assert await sync_queue(runtime, account.account.id) == []
    assert await upstream_list(made) == wanted


async def _equal(found: Any, wanted: Any) -> bool:
    return await found == wanted


async def _empty(found: Any) -> bool:
    return not await found


async def test_only_real_changes_are_queued_and_an_upstream_down_is_retried(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    made: Made,
    proxy: Proxy,
    database_url: str,
    tmp_path: Any,
) -> None:
    await use_upstream(runtime, account, made, base_url=through(proxy))
    proxy.cut()
    who = auth(account)
    account_id = account.account.id
    assert (await v1(client, who, "add-blacklist", listing("+905330000201")))[0] == 200
    # Listed already, not listed: nothing changes, nothing is queued.
    assert (await v1(client, who, "add-blacklist", listing("+905330000201")))[0] == 200
    assert await v1(client, who, "delete-blacklist", listing("+905330000299")) == (
        474,
        MESSAGES[474],
    )
    csv = tmp_path / "numbers.txt"
    csv.write_text("+905330000201\n+905330000202\n")
    out = cli.run(database_url, "blacklist", "import", account.account.key, str(csv))
    assert "1 added, 1 already listed" in out
    again = await BlacklistPanel(runtime.store).add_lines(
        account_id, "+905330000201\n+905330000202", now=now_us()
    )
    assert again.added == []

    queued = [(number, op) for number, op, _n, _e in await sync_queue(runtime, account_id)]
    assert queued == [("+905330000201", "add"), ("+905330000202", "add")]

    # The upstream is down: tried, and tried again, and the failure is shown.
    async def retried() -> bool:
        first = (await sync_queue(runtime, account_id))[0]
        return first[2] >= 2 and "cannot connect" in (first[3] or "")

    await eventually(retried)
    view = await runtime.relay_settings.show(account_id)
    assert view is not None and view.last_error is not None
    assert view.last_error.startswith("blacklist add +90533000020")
    assert await upstream_list(made) == set()

    proxy.restore()
    await eventually(
        lambda: _equal(upstream_list(made), {"+905330000201", "+905330000202"}), within=30
    )
    await eventually(lambda: _empty(sync_queue(runtime, account_id)))


async def test_changes_of_a_number_reach_the_upstream_in_order(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    made: Made,
    proxy: Proxy,
) -> None:
    who = auth(account)
    account_id = account.account.id
    # Listed before the sync began: never sent upstream, so its delete is answered 474
    # there, which counts as done.
    assert (await v1(client, who, "add-blacklist", listing("+905330000303")))[0] == 200
    await use_upstream(runtime, account, made, base_url=through(proxy))
    proxy.cut()
    for action, number in [
        ("add-blacklist", "+905330000301"),
        ("delete-blacklist", "+905330000301"),
        ("add-blacklist", "+905330000301"),
        ("add-blacklist", "+905330000302"),
        ("delete-blacklist", "+905330000302"),
        ("delete-blacklist", "+905330000303"),
    ]:
        assert (await v1(client, who, action, listing(number)))[0] == 200
    assert [(n, op) for n, op, _a, _e in await sync_queue(runtime, account_id)] == [
        ("+905330000301", "add"),
        ("+905330000301", "delete"),
        ("+905330000301", "add"),
        ("+905330000302", "add"),
        ("+905330000302", "delete"),
        ("+905330000303", "delete"),
    ]
    proxy.restore()
    await eventually(lambda: _empty(sync_queue(runtime, account_id)), within=30)
    assert await upstream_list(made) == {"+905330000301"}


async def test_sync_off_queues_and_pushes_nothing(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    upstream: Sandbox,
    made: Made,
) -> None:
    await use_upstream(runtime, account, made, base_url=upstream.base_url, sync=False)
    who = auth(account)
    account_id = account.account.id
    assert (await v1(client, who, "add-blacklist", listing("+905330000401")))[0] == 200
    await BlacklistPanel(runtime.store).add_lines(account_id, "+905330000402", now=now_us())
    assert (await v1(client, who, "delete-blacklist", listing("+905330000402")))[0] == 200
    # Queued in the change's own transaction, or never: nothing is.
    assert await sync_queue(runtime, account_id) == []
    # Turned on, the next change goes up; the earlier ones never do.
    await runtime.relay_settings.set(account_id, blacklist_sync=True)
    assert (await v1(client, who, "add-blacklist", listing("+905330000403")))[0] == 200
    await eventually(lambda: _equal(upstream_list(made), {"+905330000403"}))


async def test_a_refusal_stays_visible(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    upstream: Sandbox,
    made: Made,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await use_upstream(runtime, account, made, base_url=upstream.base_url)
    account_id = account.account.id
    # The upstream account's secret changes: its hash, kept here, is refused (401).
    rotated = control(upstream, made, "POST", f"/accounts/{made.key}/rotate")
    assert rotated.status_code == 200, rotated.text
    caplog.set_level(logging.WARNING, logger="ileti.relay.blacklist")
    assert (await v1(client, auth(account), "add-blacklist", listing("+905330000501")))[0] == 200

    async def refused() -> Any:
        found = await sync_queue(runtime, account_id)
        return found and found[0][2] >= 1 and found

    ((number, op, _attempts, error),) = await eventually(refused)
    assert (number, op, error) == ("+905330000501", "add", f"401 {MESSAGES[401]}")
    view = await runtime.relay_settings.show(account_id)
    assert view is not None
    assert view.last_error == f"blacklist add +905330000501: 401 {MESSAGES[401]}"
    assert any("blacklist add +905330000501: 401" in r.getMessage() for r in caplog.records), (
        caplog.text
    )


# -- pull ----------------------------------------------------------------------------------------


async def test_upstream_opt_outs_are_imported_block_sends_and_are_not_sent_back(
    runtime: Runtime,
    client: httpx.AsyncClient,
    account: Issued,
    upstream: Sandbox,
    made: Made,
) -> None:
    account_id = account.account.id
    # Listed on the upstream before the sync begins: by its own add-blacklist ...
    assert (await v1(made.base_url, up_auth(made), "add-blacklist", listing("+905330000601")))[
        0
    ] == 200
    # ... and, from now on, every add-blacklist there answers 503: a number sent back
    # would stay queued here, with that error.
    fault = control(
        upstream,
        made,
        "POST",
        "/faults",
        json={"kind": "api", "action": "add-blacklist", "code": 503},
    )
    assert fault.status_code == 201, fault.text
    await use_upstream(runtime, account, made, base_url=upstream.base_url)
    await eventually(lambda: _equal(local_sources(runtime, account), {"+905330000601": "upstream"}))
    # An opt-out the upstream received by its short code's RET keyword.
    got = control(
        upstream,
        made,
        "POST",
        "/inbound",
        json={"from": "+905330000602", "to": SHORT_CODE, "text": "RET"},
    )
    assert got.status_code in (200, 201), got.text
    await eventually(
        lambda: _equal(
            local_sources(runtime, account),
            {"+905330000601": "upstream", "+905330000602": "upstream"},
        )
    )
    # Not sent back: nothing queued, after another whole import too.
    view = await runtime.relay_settings.show(account_id)
    assert view is not None and view.blacklist_synced_at is not None
    imported = view.blacklist_synced_at

    async def imported_again() -> bool:
        again = await runtime.relay_settings.show(account_id)
        return again is not None and (again.blacklist_synced_at or 0) > imported

    await eventually(imported_again)
    assert await sync_queue(runtime, account_id) == []

    # A local send-sms skips the imported number; the upstream gets only the other.
    sent = await client.post(
        "/v1/send-sms/json",
        json={
            "request": {
                "authentication": auth(account),
                "order": {
                    "sender": "ILETI",
                    "sendDateTime": "",
                    "iys": "0",
                    "message": {
                        "text": "Merhaba",
                        "receipents": {"number": ["+905330000602", "+905330000699"]},
                    },
                },
            }
        },
    )
    answer = sent.json()["response"]
    assert answer["status"]["code"] == 200, answer
    order_id = int(answer["order"]["id"])
    rows = {
        number: (status, reason) for number, status, reason in await message_rows(runtime, order_id)
    }
    assert rows["+905330000602"][1] == "blacklisted"

    async def received() -> Any:
        return [m for m in outbox(upstream, made) if m.get("text") == "Merhaba"]

    found = await eventually(received)
    assert [m["recipient"] for m in found] == ["+905330000699"]


async def test_upstream_deletions_are_not_imported(
    runtime: Runtime,
    account: Issued,
    upstream: Sandbox,
    made: Made,
) -> None:
    assert (await v1(made.base_url, up_auth(made), "add-blacklist", listing("+905330000701")))[
        0
    ] == 200
    await use_upstream(runtime, account, made, base_url=upstream.base_url)
    await eventually(lambda: _equal(local_sources(runtime, account), {"+905330000701": "upstream"}))
    assert (await v1(made.base_url, up_auth(made), "delete-blacklist", listing("+905330000701")))[
        0
    ] == 200
    view = await runtime.relay_settings.show(account.account.id)
    assert view is not None
    imported = view.blacklist_synced_at or 0

    async def imported_again() -> bool:
        again = await runtime.relay_settings.show(account.account.id)
        return again is not None and (again.blacklist_synced_at or 0) > imported

    await eventually(imported_again)
    assert await local_sources(runtime, account) == {"+905330000701": "upstream"}


async def test_two_instances_never_import_one_account_together(
    settings: Settings, upstream: Sandbox, made: Made
) -> None:
    """Both instances' rounds at once: one claims the account and imports, the other
    passes it over. The upstream counts its get-blacklist calls (a fault rule's
    ``remaining``, kept in its database)."""
    assert (await v1(made.base_url, up_auth(made), "add-blacklist", listing("+905330000801")))[
        0
    ] == 200
    rule = control(
        upstream,
        made,
        "POST",
        "/faults",
        json={
            "kind": "api",
            "action": "get-blacklist",
            "latency_ms": 300,
            "remaining": 1000,
        },
    )
    assert rule.status_code == 201, rule.text
    quiet = replace(settings, relay_poll_seconds=0)  # the loops do not run: the test steps
    async with started(quiet) as first, started(quiet) as second:
        issued = await first.accounts.create("acme", senders=("ILETI",), balance=10)
        await use_upstream(first, issued, made, base_url=upstream.base_url)
        await asyncio.gather(first.relay_blacklist.step(), second.relay_blacklist.step())
        assert await local_sources(second, issued) == {"+905330000801": "upstream"}
    left = control(upstream, made, "GET", "/faults").json()["faults"]
    assert [f["remaining"] for f in left if f["id"] == rule.json()["id"]] == [999]
