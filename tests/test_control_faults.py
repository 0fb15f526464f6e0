"""Fault rules (/_ileti/faults) and delivery control (/_ileti/delivery, /_ileti/advance)
on real storage: injected v1 errors and latency, recipient and webhook faults, expiry on
the clock, delivery modes and advancing; background work is stepped on a FakeClock."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from ileti.api.actions import ACTIONS
from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services import faults as fault_service
from ileti.services.accounts import Issued
from ileti.services.auth import api_hash
from tests.support.cli import aileti, failed, ok
from tests.support.clock import FakeClock
from tests.support.http import auth, call
from tests.support.receiver import serving
from tests.support.runtime import asgi_client
from tests.support.spec import MESSAGES
from tests.support.stored import account_webhooks, count_rows, message_rows, order_polls

TOKEN = "admin-token-for-faults-01"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
TO = "+905330000099"
OTHER_TO = "+905330000098"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        auth_refresh_seconds=0.1,
        admin_token=TOKEN,
        delivery_delay_seconds=2.0,
        delivery_poll_seconds=0,
        webhook_backoff_seconds=10.0,
        webhook_attempts=3,
        webhook_timeout_seconds=2.0,
    )


@pytest.fixture
def runtime(stepped: Runtime) -> Runtime:
    """The module's instance: stepped on the test's clock (no background loop)."""
    return stepped


async def make(rt: Runtime, name: str = "acme", **settings: Any) -> Issued:
    return await rt.accounts.create(name, senders=("ILETI",), balance=100, **settings)


def as_account(issued: Issued) -> dict[str, str]:
    return {"X-Ileti-Key": issued.account.key, "X-Ileti-Hash": issued.hash}


def order_request(issued: Issued, *numbers: str, text: str = "Merhaba") -> dict[str, Any]:
    return {
        "authentication": auth(issued),
        "order": {
            "sender": "ILETI",
            "sendDateTime": "",
            "iys": "0",
            "message": {"text": text, "receipents": {"number": list(numbers)}},
        },
    }


async def send(client: httpx.AsyncClient, issued: Issued, *numbers: str, text: str = "x") -> int:
    status, body = await call(client, "send-sms", order_request(issued, *numbers, text=text))
    assert status == 200, body
    return int(body["order"]["id"])


async def add_rule(
    client: httpx.AsyncClient, headers: dict[str, str], **rule: Any
) -> dict[str, Any]:
    r = await client.post("/_ileti/faults", headers=headers, json=rule)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def balance(rt: Runtime, issued: Issued) -> int:
    return (await rt.accounts.get(issued.account.key)).balance


def test_the_service_knows_every_v1_action() -> None:
    assert set(ACTIONS) == fault_service.ACTIONS


# -- api rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_api_rule_answers_its_code_twice_then_service_resumes(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str
) -> None:
    issued = await make(runtime)
    rule = await add_rule(
        client, as_account(issued), kind="api", action="send-sms", code=503, remaining=2
    )
    assert (rule["key"], rule["code"], rule["remaining"]) == (issued.account.key, 503, 2)
    request = order_request(issued, TO)
    for _ in range(2):
        status, body = await call(client, "send-sms", request, fmt)
        assert status == 503
        assert body["status"] == {"code": 503, "message": MESSAGES[503]}
    assert await count_rows(runtime, "orders") == 0
    assert await balance(runtime, issued) == 100
    # Another action is not faulted by a send-sms rule.
    status, body = await call(client, "get-balance", {"authentication": auth(issued)}, fmt)
    assert status == 200
    status, body = await call(client, "send-sms", request, fmt)
    assert status == 200 and body["status"]["code"] == 200
    assert await count_rows(runtime, "orders") == 1
    assert await balance(runtime, issued) == 99
    listed = (await client.get("/_ileti/faults", headers=as_account(issued))).json()["faults"]
    assert [(f["id"], f["remaining"]) for f in listed] == [(rule["id"], 0)]


async def test_a_rejected_request_is_not_faulted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await make(runtime)
    await add_rule(client, ADMIN, kind="api", code=503, remaining=1)
    status, body = await call(
        client, "get-balance", {"authentication": {"key": issued.account.key, "hash": "0" * 64}}
    )
    assert (status, body["status"]["code"]) == (401, 401)
    status, _ = await call(client, "get-balance", {"authentication": auth(issued)})
    assert status == 503


async def test_a_429_rule_carries_retry_after(client: httpx.AsyncClient, runtime: Runtime) -> None:
    issued = await make(runtime)
    await add_rule(client, as_account(issued), kind="api", code=429)
    request = {"request": {"authentication": auth(issued)}}
    r = await client.post("/v1/get-balance/json", json=request)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert r.json()["response"]["status"] == {"code": 429, "message": MESSAGES[429]}


async def test_latency_is_added_before_answering(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await make(runtime)
    await add_rule(client, as_account(issued), kind="api", action="get-balance", latency_ms=300)
    started = time.monotonic()
    status, body = await call(client, "get-balance", {"authentication": auth(issued)})
    assert time.monotonic() - started >= 0.3
    assert status == 200 and body["balance"]["sms"] == 100


async def test_probability_zero_never_and_one_always_fires(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await make(runtime)
    never = await add_rule(
        client, as_account(issued), kind="api", action="get-balance", code=402, probability=0
    )
    for _ in range(20):
        status, _ = await call(client, "get-balance", {"authentication": auth(issued)})
        assert status == 200
    r = await client.delete(f"/_ileti/faults/{never['id']}", headers=as_account(issued))
    assert r.status_code == 204
    await add_rule(
        client, as_account(issued), kind="api", action="get-balance", code=402, probability=1
    )
    for _ in range(20):
        status, body = await call(client, "get-balance", {"authentication": auth(issued)}, "xml")
        assert (status, body["status"]["message"]) == (402, MESSAGES[402])


async def test_a_global_rule_hits_every_account_and_only_the_admin_removes_it(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    first, second = await make(runtime, "one"), await make(runtime, "two")
    rule = await add_rule(client, ADMIN, kind="api", action="get-sender", code=450)
    assert rule["key"] is None
    for issued in (first, second):
        status, body = await call(client, "get-sender", {"authentication": auth(issued)})
        assert status == 450
        assert body["status"]["message"] == MESSAGES[450]
        listed = (await client.get("/_ileti/faults", headers=as_account(issued))).json()
        assert [f["id"] for f in listed["faults"]] == [rule["id"]]
    r = await client.delete(f"/_ileti/faults/{rule['id']}", headers=as_account(first))
    assert r.status_code == 403 and r.json()["error"]["field"] == "id"
    assert await count_rows(runtime, "faults") == 1
    assert (await client.delete(f"/_ileti/faults/{rule['id']}", headers=ADMIN)).status_code == 204
    status, _ = await call(client, "get-sender", {"authentication": auth(first)})
    assert status == 200


async def test_an_account_neither_sees_nor_removes_another_accounts_rule(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    mine, theirs = await make(runtime, "mine"), await make(runtime, "theirs")
    rule = await add_rule(client, ADMIN, kind="api", code=503, key=theirs.account.key)
    assert rule["key"] == theirs.account.key
    listed = (await client.get("/_ileti/faults", headers=as_account(mine))).json()
    assert listed == {"faults": []}
    r = await client.get(
        "/_ileti/faults", headers=as_account(mine), params={"key": theirs.account.key}
    )
    assert r.status_code == 404
    r = await client.delete(f"/_ileti/faults/{rule['id']}", headers=as_account(mine))
    assert r.status_code == 404 and r.json()["error"]["field"] == "id"
    r = await client.post(
        "/_ileti/faults",
        headers=as_account(mine),
        json={"kind": "api", "code": 503, "key": theirs.account.key},
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "key"
    assert await count_rows(runtime, "faults") == 1
    status, _ = await call(client, "get-balance", {"authentication": auth(mine)})
    assert status == 200
    status, _ = await call(client, "get-balance", {"authentication": auth(theirs)})
    assert status == 503
    admin_view = (
        await client.get("/_ileti/faults", headers=ADMIN, params={"key": theirs.account.key})
    ).json()
    assert [f["id"] for f in admin_view["faults"]] == [rule["id"]]


async def test_a_rule_reaches_a_second_instance_within_the_refresh_bound(
    runtime: Runtime, settings: Settings, clock: FakeClock
) -> None:
    issued = await make(runtime)
    other = Runtime.build(settings, clock=clock)
    await other.start()
    try:
        async with asgi_client(runtime) as first, asgi_client(other) as second:
            status, _ = await call(second, "get-balance", {"authentication": auth(issued)})
            assert status == 200  # the second instance has cached "no rules"
            await add_rule(first, as_account(issued), kind="api", code=503, remaining=3)
            deadline = time.monotonic() + 5 * settings.auth_refresh_seconds + 2
            while True:
                status, _ = await call(second, "get-balance", {"authentication": auth(issued)})
                if status == 503:
                    break
                assert time.monotonic() < deadline, "the rule never reached the second instance"
                await asyncio.sleep(0.02)
            # Two uses left, counted in the database: one here, one there, then none.
            status, _ = await call(first, "get-balance", {"authentication": auth(issued)})
            assert status == 503
            status, _ = await call(second, "get-balance", {"authentication": auth(issued)})
            assert status == 503
            for c in (first, second):
                status, _ = await call(c, "get-balance", {"authentication": auth(issued)})
                assert status == 200
    finally:
        await other.stop()


async def test_an_api_rule_expires_on_the_clock(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued = await make(runtime)
    rule = await add_rule(client, as_account(issued), kind="api", code=503, ttl_seconds=60)
    assert rule["expires_at"] is not None
    clock.advance(59.9)
    status, _ = await call(client, "get-balance", {"authentication": auth(issued)})
    assert status == 503
    clock.advance(0.1)
    status, _ = await call(client, "get-balance", {"authentication": auth(issued)})
    assert status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "chaos"}, "kind"),
        ({"kind": "api", "code": 999}, "code"),
        ({"kind": "api", "code": 200}, "code"),
        ({"kind": "api"}, "code"),
        ({"kind": "api", "code": 503, "action": "send-email"}, "action"),
        ({"kind": "api", "latency_ms": 30_001}, "latency_ms"),
        ({"kind": "api", "latency_ms": 0}, "latency_ms"),
        ({"kind": "api", "code": 503, "remaining": 0}, "remaining"),
        ({"kind": "api", "code": 503, "probability": 1.5}, "probability"),
        ({"kind": "api", "code": 503, "ttl_seconds": -1}, "ttl_seconds"),
        ({"kind": "api", "code": 503, "pattern": "+90*"}, "pattern"),
        ({"kind": "api", "code": "503"}, "code"),
        ({"kind": "api", "code": 503, "surprise": 1}, "surprise"),
        ({"kind": "recipient"}, "pattern"),
        ({"kind": "recipient", "pattern": "12345"}, "pattern"),
        ({"kind": "recipient", "pattern": "+90*a"}, "pattern"),
        ({"kind": "recipient", "pattern": "+90" + "?" * 40}, "pattern"),
        ({"kind": "recipient", "pattern": "+90555*", "code": 111}, "code"),
        ({"kind": "recipient", "pattern": "+90555*", "action": "send-sms"}, "action"),
        ({"kind": "webhook"}, "code"),
        ({"kind": "webhook", "code": 500, "timeout": True}, "code"),
        ({"kind": "webhook", "code": 204}, "code"),
        ({"kind": "webhook", "code": 500, "latency_ms": 5}, "latency_ms"),
    ],
)
async def test_bad_rules_are_400_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, Any], field: str
) -> None:
    issued = await make(runtime)
    r = await client.post("/_ileti/faults", headers=as_account(issued), json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["status"], error["field"]) == (400, field) and error["message"]
    assert await count_rows(runtime, "faults") == 0


async def test_removing_an_unknown_rule_is_404(client: httpx.AsyncClient, runtime: Runtime) -> None:
    for path in ("/_ileti/faults/12345", "/_ileti/faults/abc"):
        r = await client.delete(path, headers=ADMIN)
        assert r.status_code == 404 and r.json()["error"]["field"] == "id"


async def test_the_control_api_needs_credentials_for_faults(client: httpx.AsyncClient) -> None:
    r = await client.get("/_ileti/faults")
    assert r.status_code == 401
    wrong = {"X-Ileti-Key": "nobody", "X-Ileti-Hash": api_hash("nobody", "x")}
    assert (await client.post("/_ileti/faults", headers=wrong, json={})).status_code == 401


# -- recipient rules --------------------------------------------------------------------------


async def test_recipient_rules_end_112_with_reason_fault_or_keep_110(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued = await make(runtime)
    ended = await add_rule(
        client, as_account(issued), kind="recipient", pattern="0533 000 00 9*", code=112
    )
    assert ended["pattern"] == "+90533000009*"
    kept = await add_rule(
        client, as_account(issued), kind="recipient", pattern="5330000088", code=110
    )
    assert kept["pattern"] == "+905330000088"
    order_id = await send(client, issued, TO, "+905330000088", "+905330000077")
    await runtime.carrier.step()  # dispatched; final in 2 s
    clock.advance(2)
    await runtime.carrier.step()
    assert await message_rows(runtime, order_id) == [
        (TO, 112, "fault"),
        ("+905330000088", 110, None),
        ("+905330000077", 111, None),
    ]
    status, body = await call(
        client, "get-report", {"authentication": auth(issued), "order": {"id": str(order_id)}}
    )
    assert status == 200
    assert [(m["number"], m["status"]) for m in body["order"]["message"]] == [
        (TO, 112),
        ("+905330000088", 110),
        ("+905330000077", 111),
    ]


async def test_a_recipient_rule_with_remaining_applies_that_many_times(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued = await make(runtime)
    other = await make(runtime, "other")
    await add_rule(
        client, as_account(issued), kind="recipient", pattern="+9053300000*", remaining=1
    )
    first = await send(client, issued, TO, OTHER_TO)
    foreign = await send(client, other, TO)
    await runtime.carrier.step()
    clock.advance(2)
    await runtime.carrier.step()
    assert await message_rows(runtime, first) == [(TO, 112, "fault"), (OTHER_TO, 111, None)]
    assert await message_rows(runtime, foreign) == [(TO, 111, None)]  # not its rule
    listed = (await client.get("/_ileti/faults", headers=as_account(issued))).json()
    assert listed["faults"][0]["remaining"] == 0


async def test_a_recipient_rule_expires_on_the_clock(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued = await make(runtime)
    await add_rule(client, ADMIN, kind="recipient", pattern=TO, ttl_seconds=10)
    order_id = await send(client, issued, TO)
    await runtime.carrier.step()
    clock.advance(10)  # final at +2 s would have been faulted; the rule is gone by now
    await runtime.carrier.step()
    assert await message_rows(runtime, order_id) == [(TO, 111, None)]


# -- webhook rules ----------------------------------------------------------------------------


async def test_a_webhook_rule_fails_attempts_with_its_status_then_delivery_resumes(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    async with serving() as receiver:
        issued = await make(runtime, webhook_url=receiver.url)
        rule = await add_rule(client, as_account(issued), kind="webhook", code=500, remaining=2)
        await send(client, issued, TO)
        await runtime.carrier.step()  # dispatched: an "accepted" report queued
        await runtime.webhooks.step()
        [row] = await account_webhooks(runtime, issued.account.id)
        assert (row.attempts, row.delivered_at) == (1, None)
        assert row.last_error == f"HTTP 500 (fault rule {rule['id']})"
        clock.advance(9.9)  # the backoff (10 s) has not passed
        await runtime.webhooks.step()
        assert (await account_webhooks(runtime, issued.account.id))[0].attempts == 1
        clock.advance(0.1)
        await runtime.webhooks.step()
        assert (await account_webhooks(runtime, issued.account.id))[0].attempts == 2
        assert receiver.seen() == []
        clock.advance(20)
        await runtime.webhooks.step()
        [row] = await account_webhooks(runtime, issued.account.id)
        assert row.attempts == 3 and row.delivered_at is not None
        assert [hit.report["status"] for hit in receiver.seen()] == ["accepted"]


async def test_a_webhook_timeout_rule_is_retried_then_given_up(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    async with serving() as receiver:
        issued = await make(runtime, webhook_url=receiver.url)
        await add_rule(client, ADMIN, kind="webhook", timeout=True)
        await send(client, issued, TO)
        await runtime.carrier.step()
        for wait in (0, 10, 20):
            clock.advance(wait)
            await runtime.webhooks.step()
        [row] = await account_webhooks(runtime, issued.account.id)
        assert (row.attempts, row.delivered_at, row.next_attempt_at) == (3, None, None)
        assert row.last_error is not None and row.last_error.startswith("timeout after 2 s")
        assert receiver.seen() == []


# -- delivery control -----------------------------------------------------------------------


async def put_delivery(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    r = await client.put("/_ileti/delivery", headers=headers, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def report(client: httpx.AsyncClient, issued: Issued, order_id: int) -> list[int]:
    status, body = await call(
        client, "get-report", {"authentication": auth(issued), "order": {"id": str(order_id)}}
    )
    assert status == 200, body
    return [m["status"] for m in body["order"]["message"]]


async def test_delivery_delay_is_per_account(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    slow, default = await make(runtime, "slow"), await make(runtime, "default")
    assert (await client.get("/_ileti/delivery", headers=as_account(slow))).json() == {
        "key": slow.account.key,
        "mode": "default",
        "after": 2.0,
    }
    shown = await put_delivery(client, as_account(slow), mode="delay", after=30)
    assert (shown["mode"], shown["after"]) == ("delay", 30.0)
    slow_order, default_order = await send(client, slow, TO), await send(client, default, TO)
    await runtime.carrier.step()
    clock.advance(2)
    await runtime.carrier.step()
    assert await report(client, default, default_order) == [111]
    clock.advance(27.9)
    await runtime.carrier.step()
    assert await report(client, slow, slow_order) == [110]
    clock.advance(0.1)
    await runtime.carrier.step()
    assert await report(client, slow, slow_order) == [111]


async def test_delivery_after_polls_counts_get_report_polls(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued = await make(runtime)
    await put_delivery(client, ADMIN, mode="polls", after=3, key=issued.account.key)
    order_id = await send(client, issued, TO)
    await runtime.carrier.step()
    for _ in range(2):
        assert await report(client, issued, order_id) == [110]
    clock.advance(3600)  # time alone does nothing
    await runtime.carrier.step()
    assert await report(client, issued, order_id) == [110]  # the third poll
    await runtime.carrier.step()
    assert await report(client, issued, order_id) == [111]

    assert await order_polls(runtime, order_id) == 4


async def test_manual_delivery_waits_for_an_advance_of_one_order(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    async with serving() as receiver:
        issued = await make(runtime, webhook_url=receiver.url)
        await put_delivery(client, as_account(issued), mode="manual")
        first, second = await send(client, issued, TO), await send(client, issued, OTHER_TO)
        await runtime.carrier.step()
        clock.advance(24 * 3600)
        await runtime.carrier.step()
        assert await report(client, issued, first) == [110]
        r = await client.post("/_ileti/advance", headers=as_account(issued), json={"order": first})
        assert r.status_code == 200
        assert r.json() == {
            "orders": 0,
            "messages": 1,
            "delivered": 1,
            "undelivered": 0,
            "waiting": 0,
        }
        assert await report(client, issued, first) == [111]
        assert await report(client, issued, second) == [110]
        await runtime.webhooks.step()  # the "accepted" reports
        await runtime.webhooks.step()  # then the "delivered" one (a message's in order)
        seen = sorted((h.report["to"], h.report["status"]) for h in receiver.seen())
        assert seen == [(OTHER_TO, "accepted"), (TO, "accepted"), (TO, "delivered")]


@pytest.mark.parametrize("too_big", [2**31, 2**63, 10**30])
async def test_ids_past_what_is_stored_are_no_such_rule_or_order(
    client: httpx.AsyncClient, runtime: Runtime, too_big: int
) -> None:
    """Not a database error (a 503 on PostgreSQL, an OverflowError on SQLite): 404."""
    issued = await make(runtime)
    r = await client.delete(f"/_ileti/faults/{too_big}", headers=ADMIN)
    assert (r.status_code, r.json()["error"]["field"]) == (404, "id")
    if too_big > 2**31:
        r = await client.post(
            "/_ileti/advance", headers=as_account(issued), json={"order": too_big}
        )
        assert (r.status_code, r.json()["error"]["field"]) == (404, "order"), r.text


async def test_advance_dispatches_scheduled_orders_and_ends_all_with_112(
    client: httpx.AsyncClient, runtime: Runtime, clock: FakeClock
) -> None:
    issued, other = await make(runtime), await make(runtime, "other")
    request = order_request(issued, TO)
    request["order"]["sendDateTime"] = "01/01/2099 10:00"
    status, body = await call(client, "send-sms", request)
    assert status == 200
    scheduled = int(body["order"]["id"])
    now = await send(client, issued, OTHER_TO)
    theirs = await send(client, other, TO)
    r = await client.post("/_ileti/advance", headers=as_account(issued), json={"status": 112})
    assert r.json() == {"orders": 2, "messages": 2, "delivered": 0, "undelivered": 2, "waiting": 0}
    assert await message_rows(runtime, scheduled) == [(TO, 112, "undelivered")]
    assert await message_rows(runtime, now) == [(OTHER_TO, 112, "undelivered")]
    assert await message_rows(runtime, theirs) == [(TO, 110, None)]  # another account's
    r = await client.post("/_ileti/advance", headers=as_account(issued), json={"order": theirs})
    assert r.status_code == 404 and r.json()["error"]["field"] == "order"
    assert await message_rows(runtime, theirs) == [(TO, 110, None)]


async def test_advance_without_a_status_follows_the_carriers_policy(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await make(runtime)
    await add_rule(client, as_account(issued), kind="recipient", pattern=OTHER_TO)
    order_id = await send(client, issued, TO, OTHER_TO, "+905559990002")  # a pending test no.
    r = await client.post("/_ileti/advance", headers=ADMIN, json={"key": issued.account.key})
    assert r.json() == {"orders": 1, "messages": 3, "delivered": 1, "undelivered": 1, "waiting": 1}
    assert await message_rows(runtime, order_id) == [
        (TO, 111, None),
        (OTHER_TO, 112, "fault"),
        ("+905559990002", 110, None),
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_ileti/delivery", {"mode": "later"}, "mode"),
        ("/_ileti/delivery", {"mode": "delay"}, "after"),
        ("/_ileti/delivery", {"mode": "delay", "after": -1}, "after"),
        ("/_ileti/delivery", {"mode": "polls", "after": 1.5}, "after"),
        ("/_ileti/delivery", {"mode": "polls", "after": 0}, "after"),
        ("/_ileti/delivery", {"mode": "manual", "after": 3}, "after"),
        ("/_ileti/delivery", {"mode": "delay", "after": "soon"}, "after"),
        ("/_ileti/advance", {"status": 110}, "status"),
        ("/_ileti/advance", {"order": "x"}, "order"),
        ("/_ileti/advance", {"surprise": 1}, "surprise"),
    ],
)
async def test_bad_delivery_input_is_400_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, path: str, body: dict[str, Any], field: str
) -> None:
    issued = await make(runtime)
    order_id = await send(client, issued, TO)
    method = client.put if path.endswith("delivery") else client.post
    r = await method(path, headers=as_account(issued), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == field
    account = await runtime.accounts.get(issued.account.key)
    assert (account.delivery, account.delivery_after) == (None, None)
    assert await message_rows(runtime, order_id) == [(TO, 110, None)]
    r = await client.put("/_ileti/delivery", headers=ADMIN, json={"mode": "manual"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "key"


# -- the CLI ----------------------------------------------------------------------------------


async def test_cli_fault_add_list_remove_reaches_the_running_instance(
    database_url: str, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await make(runtime)
    key = issued.account.key
    added = ok(
        await aileti(
            database_url,
            "fault",
            "add",
            key,
            "--kind",
            "api",
            "--action",
            "get-balance",
            "--code",
            "503",
            "--times",
            "2",
        )
    )
    rule = json.loads(added.stdout)
    assert (rule["key"], rule["code"], rule["remaining"]) == (key, 503, 2)
    deadline = time.monotonic() + 5
    while (await call(client, "get-balance", {"authentication": auth(issued)}))[0] != 503:
        assert time.monotonic() < deadline, "the CLI's rule never reached the instance"
        await asyncio.sleep(0.02)
    listed = json.loads(ok(await aileti(database_url, "fault", "list", key)).stdout)
    assert [(r["id"], r["remaining"]) for r in listed] == [(rule["id"], 1)]
    removed = ok(await aileti(database_url, "fault", "remove", str(rule["id"])))
    assert removed.stdout == f"Removed fault rule {rule['id']}.\n"
    assert await count_rows(runtime, "faults") == 0
    failed(await aileti(database_url, "fault", "remove", str(rule["id"])), "no fault rule", 1)


async def test_cli_fault_refusals_are_one_line_and_store_nothing(
    database_url: str, runtime: Runtime
) -> None:
    key = (await make(runtime)).account.key
    add = ("fault", "add", key, "--kind")
    failed(await aileti(database_url, *add, "api", "--code", "999"), "--code:", 2)
    failed(await aileti(database_url, *add, "recipient", "--pattern", "12"), "--pattern:", 2)
    failed(await aileti(database_url, *add, "api", "--latency-ms", "40000"), "--latency-ms:", 2)
    failed(await aileti(database_url, *add, "chaos"), "--kind", 2)
    failed(await aileti(database_url, "fault", "add", "--kind", "api"), "KEY or --global", 2)
    failed(await aileti(database_url, *add, "api", "--global", "--code", "503"), "--global", 2)
    failed(
        await aileti(database_url, "fault", "add", "nobody", "--kind", "api", "--code", "503"),
        "no account with key",
        1,
    )
    assert await count_rows(runtime, "faults") == 0
    ok(await aileti(database_url, "fault", "add", "--global", "--kind", "webhook", "--timeout"))
    listed = json.loads(ok(await aileti(database_url, "fault", "list")).stdout)
    assert [(r["key"], r["kind"], r["timeout"]) for r in listed] == [(None, "webhook", True)]


async def test_cli_advance_finalises_an_accounts_orders(
    database_url: str, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued, other = await make(runtime), await make(runtime, "other")
    await put_delivery(client, as_account(issued), mode="manual")
    mine, theirs = await send(client, issued, TO), await send(client, other, TO)
    await runtime.carrier.step()
    key = issued.account.key
    moved = json.loads(ok(await aileti(database_url, "advance", key, "--status", "112")).stdout)
    assert moved == {"orders": 0, "messages": 1, "delivered": 0, "undelivered": 1, "waiting": 0}
    assert await message_rows(runtime, mine) == [(TO, 112, "undelivered")]
    failed(await aileti(database_url, "advance", key, "--order", str(theirs)), "--order", 1)
    failed(await aileti(database_url, "advance", key, "--status", "110"), "--status", 2)
    failed(await aileti(database_url, "advance", "nobody"), "no account with key", 1)
    assert await message_rows(runtime, theirs) == [(TO, 110, None)]
