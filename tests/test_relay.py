"""The relay (issue 13, docs/relay.md) between two real iletis: an upstream sandbox
standing in for iletiMerkezi (never mocked) and a local ileti, on SQLite and on
PostgreSQL, whose account forwards its orders upstream. What the tests look at: what
the upstream stored and answers (its outbox, get-reports, get-report, its fault rules'
counters), the local order's get-report, balance and webhooks, and the local batches.

Forwarding (only the recipients that survive the local checks), splitting, the upstream's
refusals (401, 402, 450, 470), 429 and 503 retried, an upstream that always answers 503,
a slow upstream (reconciled, not sent twice), an upstream down and back, cancel-order,
release from the sandbox, the settings' refusals, the start with sealed credentials, and
APITEST orders staying in the sandbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ileti.api.runtime import Runtime
from ileti.config import ConfigError, Settings
from ileti.services.order_pages import OrderPages, order_filter
from ileti.services.relay import poll_stretch
from ileti.services.relay_settings import RelaySettingError
from ileti.testing.server import Sandbox
from tests.support.receiver import Receiver
from tests.support.relay import (
    BRAND,
    OTHER_SECRET_KEY,
    SECRET_KEY,
    Relay,
    UpstreamFile,
    consent,
    free_port,
    make_account,
    on,
    start_local,
    start_upstream,
)
from tests.support.sms import INVALID, UNDELIVERED_TO, A, B, C, istanbul, order_of
from tests.support.spec import MESSAGES
from tests.support.stored import (
    everything_as_text,
    message_ids,
    order_relay,
    relay_batch_rows,
    snapshot,
    upstream_rows,
)
from tests.support.waiting import eventually

D, E = "+905330000004", "+905330000005"
TEST_NUMBER = "+905330000009"

Make = Callable[..., Awaitable[Relay]]


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[Sandbox]:
    """One upstream for the module's tests: each test has an account of its own there
    (its orders, outbox and fault rules are its own)."""
    upstream = start_upstream()
    try:
        yield upstream
    finally:
        upstream.stop()


@pytest.fixture
async def relays(database_url: str, shared_upstream: Sandbox) -> AsyncIterator[Make]:
    """``await relays(**local_settings)``: an account on an upstream, and a local ileti on
    the test's database with an account relaying to it (``set_relay=False``: not set
    yet; ``up_fields`` / ``app_fields``: the accounts' fields; ``upstream``: an upstream
    of the test's own, stopped after it; else the module's)."""
    made: list[tuple[Relay, bool]] = []

    async def make(
        *,
        set_relay: bool = True,
        upstream: Sandbox | None = None,
        up_fields: dict[str, Any] | None = None,
        app_fields: dict[str, Any] | None = None,
        **local_settings: Any,
    ) -> Relay:
        owned = upstream is not None
        up_sandbox = upstream or shared_upstream
        try:
            local = start_local(database_url, **local_settings)
        except BaseException:
            if owned:
                up_sandbox.stop()
            raise
        try:
            pair = Relay(
                upstream=up_sandbox,
                local=local,
                up=make_account(up_sandbox, **(up_fields or {})),
                app=make_account(local, **(app_fields or {})),
            )
        except BaseException:
            local.stop()
            if owned:
                up_sandbox.stop()
            raise
        made.append((pair, owned))
        if set_relay:
            await pair.connect()
        return pair

    yield make
    for pair, owned in made:
        await pair.close()
        pair.local.stop()
        if owned:
            pair.upstream.stop()


async def batches_settled(r: Relay, order_id: int) -> list[Any]:
    """The order's batches once none is pending or in flight."""

    async def settled() -> list[Any] | None:
        found = await r.batches(order_id)
        return (
            found if found and all(b.state not in ("pending", "sending") for b in found) else None
        )

    return await eventually(settled)


def statuses(order: dict[str, Any]) -> dict[str, int]:
    return {m["number"]: m["status"] for m in order["message"]}


# -- 1. forwarding ----------------------------------------------------------------------------


async def test_only_the_recipients_that_survive_the_local_checks_reach_the_upstream(
    receiver: Receiver, relays: Make
) -> None:
    r = await relays(app_fields={"webhook_url": receiver.url})
    status, body = await r.call(r.local, r.app, "add-blacklist", blacklist={"number": C})
    assert status == 200, body
    before = await r.balance()
    text = "Merhaba relay: ğüşiöç"
    order_id = await r.sent(order_of([A, B, C, INVALID, UNDELIVERED_TO], text=text))
    assert await r.balance() == before - 3  # the three that survive, one part each

    final = await r.finished(order_id)
    assert final["status"] == 114
    assert statuses(final) == {A: 111, B: 111, C: 112, INVALID: 112, UNDELIVERED_TO: 112}

    # The upstream has one order of the same sender and text to the three survivors.
    (upstream_order,) = await r.upstream_orders()
    assert (upstream_order["sender"], upstream_order["total"]) == ("ILETI", 3)
    stored = await r.upstream_messages()
    assert [(m["sender"], m["recipient"], m["text"]) for m in stored] == [
        ("ILETI", A, text),
        ("ILETI", B, text),
        ("ILETI", UNDELIVERED_TO, text),
    ]
    status, upstream_report = await r.upstream_report(upstream_order["id"])
    assert status == 200 and upstream_report["order"]["status"] == 114
    assert statuses(upstream_report["order"]) == {A: 111, B: 111, UNDELIVERED_TO: 112}
    (batch,) = await r.batches(order_id)
    assert (batch.state, batch.upstream_id, batch.attempts) == ("done", upstream_order["id"], 1)
    assert (batch.delivered, batch.undelivered) == (2, 1)

    # Local webhooks: "accepted" then the final report, with the local ids.
    ids = await on(r.local, message_ids(r.local.runtime, order_id))
    expected = [
        (A, "accepted"),
        (A, "delivered"),
        (B, "accepted"),
        (B, "delivered"),
        (UNDELIVERED_TO, "accepted"),
        (UNDELIVERED_TO, "undelivered"),
    ]
    await eventually(lambda: len(receiver.hits) >= len(expected))
    reports = [hit.report for hit in receiver.seen()]
    assert sorted((rep["to"], rep["status"]) for rep in reports) == expected
    for rep in reports:
        assert (rep["id"], rep["packet_id"], rep["body"]) == (ids[rep["to"]], order_id, text)
    for number in (A, B, UNDELIVERED_TO):
        assert next(rep["status"] for rep in reports if rep["to"] == number) == "accepted"


async def test_iys_recipients_without_consent_or_with_ret_are_not_forwarded(
    relays: Make,
) -> None:
    r = await relays()
    status, body = await r.call(
        r.local,
        r.app,
        "consent/create",
        consent={"brandCode": BRAND, "list": [consent(A), consent(B, minutes_ago=60)]},
    )
    assert status == 200, body
    status, body = await r.call(
        r.local, r.app, "consent/create", consent={"brandCode": BRAND, "list": [consent(B, "RET")]}
    )
    assert status == 200, body
    status, body = await r.call(
        r.upstream, r.up, "consent/create", consent={"brandCode": BRAND, "list": [consent(A)]}
    )
    assert status == 200, body

    order_id = await r.sent(order_of([A, B, C], iys="1", iysList="BIREYSEL"))
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (114, {A: 111, B: 112, C: 112})
    stored = await r.upstream_messages()
    assert [(m["recipient"], m["iys"]) for m in stored] == [(A, True)]


# -- 2. splitting -------------------------------------------------------------------------------


async def test_an_order_is_split_into_upstream_orders_of_the_batch_size(relays: Make) -> None:
    r = await relays(relay_batch_size=2)
    order = order_of()
    order["message"] = [
        {"text": "Birinci", "receipents": {"number": [A, B, C]}},
        {"text": "İkinci", "receipents": {"number": [D, E]}},
    ]
    order_id = await r.sent(order)
    final = await r.finished(order_id)
    assert final["status"] == 114
    assert sorted((m["number"], m["status"]) for m in final["message"]) == [
        (A, 111),
        (B, 111),
        (C, 111),
        (D, 111),
        (E, 111),
    ]
    upstream_orders = await r.upstream_orders()
    assert sorted(o["total"] for o in upstream_orders) == [1, 2, 2]
    stored = await r.upstream_messages()
    assert sorted((m["text"], m["recipient"]) for m in stored) == [
        ("Birinci", A),
        ("Birinci", B),
        ("Birinci", C),
        ("İkinci", D),
        ("İkinci", E),
    ]
    per_order: dict[int, set[str]] = {}
    for m in stored:
        per_order.setdefault(m["order_id"], set()).add(m["text"])
    assert all(len(texts) == 1 for texts in per_order.values())  # one text each
    batches = await r.batches(order_id)
    assert [(b.text_idx, b.size, b.state) for b in batches] == [
        (0, 2, "done"),
        (0, 1, "done"),
        (1, 2, "done"),
    ]
    assert sorted(b.upstream_id for b in batches) == sorted(o["id"] for o in upstream_orders)


# -- 3. upstream refusals ------------------------------------------------------------------------


async def _refuse(r: Relay, code: int) -> dict[str, Any]:
    """Make the upstream refuse the next send-sms with ``code``; the order to send."""
    if code == 401:
        await r.patch_upstream_account(api_access=False)
    elif code == 402:
        await r.patch_upstream_account(balance=0)
    elif code == 450:
        return order_of([A, B], sender="OTHER")
    elif code == 470:
        await r.patch_upstream_account(brand_code=None)
        return order_of([A, B], iys="1", iysList="TACIR")
    return order_of([A, B])


@pytest.mark.parametrize("code", [401, 402, 450, 470])
async def test_an_upstream_refusal_fails_the_order_with_its_code_and_message(
    relays: Make, code: int
) -> None:
    r = await relays(app_fields={"senders": ["ILETI", "OTHER"]})
    counter = await r.fault(action="send-sms", latency_ms=1, remaining=1000)
    order = await _refuse(r, code)
    before = await r.balance()
    calls = r.watch_calls()
    order_id = await r.sent(order)  # charged 2, refunded once refused (at once: no check)
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (115, {A: 112, B: 112})
    assert await r.balance() == before  # refunded
    (batch,) = await r.batches(order_id)
    assert (batch.state, batch.error_code, batch.error) == ("failed", code, MESSAGES[code])
    assert batch.attempts == 1 and batch.upstream_id is None  # not retried
    assert calls == [("before", batch.id)]  # one send-sms, no answer to record
    relayed, relay_error, price = await on(r.local, order_relay(r.local.runtime, order_id))
    assert (relayed, relay_error, price) == (True, f"{code} {MESSAGES[code]}", 0)
    view = await r.show()
    assert view.last_error == f"order {order_id}: {code} {MESSAGES[code]}"
    assert await r.upstream_messages() == []
    if code != 401:  # the upstream saw exactly one send-sms (401 is answered before faults)
        assert await r.fault_remaining(counter) == 999


# -- 4. 429, 503 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [429, 503])
async def test_429_and_503_are_retried_and_the_order_reaches_the_upstream_once(
    relays: Make, code: int
) -> None:
    r = await relays()
    rule = await r.fault(action="send-sms", code=code, remaining=1)
    calls = r.watch_calls()
    order_id = await r.sent(order_of([A, B]))
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (114, {A: 111, B: 111})
    assert await r.fault_remaining(rule) == 0
    (upstream_order,) = await r.upstream_orders()
    (batch,) = await r.batches(order_id)
    assert (batch.upstream_id, batch.attempts, batch.error) == (upstream_order["id"], 2, None)
    assert calls == [("before", batch.id), ("before", batch.id), ("after", batch.id)]


@pytest.mark.parametrize(
    ("action", "why"),
    [
        ("send-sms", "the order is not in the upstream's reports"),
        (None, "the upstream's reports could not be read, so it may have the order"),
    ],
)
async def test_an_upstream_that_always_answers_503_fails_the_order_at_the_deadline(
    relays: Make, action: str | None, why: str
) -> None:
    """503 may mean the upstream stored the order: each retry first looks for it in the
    upstream's reports. At the deadline the order fails with the upstream's message,
    whether its reports could be read (only send-sms answers 503) or not (everything
    does)."""
    r = await relays(relay_deadline_seconds=1.5)
    await r.fault(action=action, code=503)
    before = await r.balance()
    order_id = await r.sent(order_of([A, B]))
    final = await r.finished(order_id, within=10)
    assert (final["status"], statuses(final)) == (115, {A: 112, B: 112})
    assert await r.balance() == before
    (batch,) = await r.batches(order_id)
    assert (batch.state, batch.error_code) == ("failed", 503) and batch.attempts >= 2
    assert batch.error == f"{MESSAGES[503]} (gave up at the deadline; {why})"
    _, relay_error, _ = await on(r.local, order_relay(r.local.runtime, order_id))
    assert relay_error == f"503 {batch.error}"
    assert await r.upstream_messages() == []


# -- 5. a slow upstream --------------------------------------------------------------------------


async def test_a_send_that_times_out_is_sent_again_and_adopted_not_sent_twice(
    relays: Make,
) -> None:
    r = await relays(relay_timeout_seconds=0.3)
    # The upstream stores the order 0.45 s after the call, which gave up at 0.3 s. The
    # retry (0.5 s later) is inside the upstream's 10-minute duplicate window, so it
    # sends again: the upstream answers 451 and the relay adopts the order it has.
    slow = await r.fault(action="send-sms", latency_ms=450, remaining=1)
    calls = r.watch_calls()
    order_id = await r.sent(order_of([A, B]))
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (114, {A: 111, B: 111})
    assert await r.fault_remaining(slow) == 0  # the slow call reached the upstream
    (upstream_order,) = await r.upstream_orders()  # one order upstream, not two
    assert upstream_order["total"] == 2
    (batch,) = await r.batches(order_id)
    assert batch.upstream_id == upstream_order["id"] and batch.attempts == 2
    # Two calls went out; neither was recorded as a new send: the first got no answer,
    # the second the upstream's 451, and the order was adopted.
    assert calls == [("before", batch.id), ("before", batch.id)]
    (row,) = await on(r.local, relay_batch_rows(r.local.runtime, order_id))
    assert (row["uncertain"], row["upstream_id"]) == (False, upstream_order["id"])
    assert len(await r.upstream_messages()) == 2


# -- 6. the upstream down ------------------------------------------------------------------------


async def test_an_upstream_down_then_back_gets_the_order_once(relays: Make, tmp_path: Path) -> None:
    port, kept = free_port(), UpstreamFile(tmp_path)
    r = await relays(upstream=start_upstream(port=port, database_url=kept.url))
    r.upstream.stop()
    order_id = await r.sent(order_of([A, B]))

    async def refused_twice() -> bool:
        (row,) = await on(r.local, relay_batch_rows(r.local.runtime, order_id))
        return row["attempts"] >= 2 and row["state"] == "pending"

    await eventually(refused_twice)
    (row,) = await on(r.local, relay_batch_rows(r.local.runtime, order_id))
    assert row["error"].startswith(f"cannot connect to http://127.0.0.1:{port}/v1/send-sms/json")
    assert not row["uncertain"]

    r.upstream = start_upstream(port=port, database_url=kept.url)
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (114, {A: 111, B: 111})
    (upstream_order,) = await r.upstream_orders()
    (batch,) = await r.batches(order_id)
    assert batch.upstream_id == upstream_order["id"]


async def test_an_upstream_down_past_the_deadline_fails_the_order(relays: Make) -> None:
    r = await relays(upstream=start_upstream(), relay_deadline_seconds=1.0)
    port = r.upstream.port
    r.upstream.stop()
    before = await r.balance()
    order_id = await r.sent(order_of([A, B]))
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (115, {A: 112, B: 112})
    assert await r.balance() == before
    _, relay_error, _ = await on(r.local, order_relay(r.local.runtime, order_id))
    assert relay_error is not None
    assert relay_error.startswith(f"cannot connect to http://127.0.0.1:{port}/v1/send-sms/json")
    assert relay_error.endswith("(gave up at the deadline)") and "\n" not in relay_error
    view = await r.show()
    assert view.last_error == f"order {order_id}: {relay_error}"


# -- 7. cancel-order ------------------------------------------------------------------------------


async def _scheduled(r: Relay) -> tuple[int, str]:
    """A relayed order for two hours from now, once the upstream has it: (local id,
    upstream id)."""
    order_id = await r.sent(order_of([A, B], sendDateTime=istanbul(timedelta(hours=2))))
    (batch,) = await batches_settled(r, order_id)
    assert batch.state == "sent" and batch.upstream_id is not None
    status, body = await r.upstream_report(batch.upstream_id)
    assert (status, body["status"]["code"]) == (456, 456)  # scheduled upstream too
    return order_id, batch.upstream_id


async def test_a_relayed_scheduled_order_is_listed_waiting_until_its_time(
    relays: Make,
) -> None:
    """The panel's order list: the upstream holds a relayed scheduled order until its
    time, so it is "waiting" (and cancellable), not "sent", though it went upstream."""
    r = await relays()
    order_id, _ = await _scheduled(r)
    pages = OrderPages(r.local.runtime.store, clock=r.local.runtime.clock)

    async def listed(status: str) -> list[int]:
        found = await on(r.local, pages.list(r.app.id, order_filter(status=status)))
        return [order.id for order in found.orders]

    assert await listed("waiting") == [order_id]
    assert await listed("sent") == []


async def test_cancel_order_cancels_the_upstream_order_first(relays: Make) -> None:
    r = await relays()
    before = await r.balance()
    order_id, upstream_id = await _scheduled(r)
    assert await r.balance() == before - 2
    status, body = await r.cancel(order_id)
    assert (status, body["status"]["code"]) == (200, 200)
    status, body = await r.upstream_report(upstream_id)
    assert (status, body["order"]["status"]) == (200, 115)
    assert await r.balance() == before
    status, body = await r.report(order_id)
    assert (status, body["order"]["status"]) == (200, 115)
    assert statuses(body["order"]) == {A: 112, B: 112}
    (batch,) = await r.batches(order_id)
    assert batch.state == "cancelled"


async def test_cancel_order_the_upstream_refuses_changes_nothing_locally(relays: Make) -> None:
    r = await relays()
    before = await r.balance()
    order_id, upstream_id = await _scheduled(r)
    status, body = await r.call(r.upstream, r.up, "cancel-order", order={"id": upstream_id})
    assert status == 200, body
    stored = await on(r.local, snapshot(r.local.runtime))
    status, body = await r.cancel(order_id)
    assert (status, body["status"]) == (455, {"code": 455, "message": MESSAGES[455]})
    assert await on(r.local, snapshot(r.local.runtime)) == stored
    assert await r.balance() == before - 2


async def test_cancel_order_while_the_upstream_is_down(relays: Make) -> None:
    """A forwarded order cannot be cancelled while the upstream cannot be asked: 503,
    nothing changed. One not yet forwarded is cancelled here, and never sent."""
    r = await relays(upstream=start_upstream())
    before = await r.balance()
    order_id, _ = await _scheduled(r)
    r.upstream.stop()
    stored = await on(r.local, snapshot(r.local.runtime))
    status, body = await r.cancel(order_id)
    assert (status, body["status"]) == (503, {"code": 503, "message": MESSAGES[503]})
    assert await on(r.local, snapshot(r.local.runtime)) == stored

    waiting = await r.sent(order_of([C], sendDateTime=istanbul(timedelta(hours=2))))
    assert await r.balance() == before - 3

    async def cancelled() -> bool:  # 503 while a (failing) call is under way
        return (await r.cancel(waiting))[0] == 200

    await eventually(cancelled)
    (batch,) = await r.batches(waiting)
    assert (batch.state, batch.upstream_id) == ("cancelled", None)
    assert await r.balance() == before - 2
    status, body = await r.report(waiting)
    assert (status, body["order"]["status"], statuses(body["order"])) == (200, 115, {C: 112})


# -- 8. release ------------------------------------------------------------------------------------


async def test_release_sends_only_the_listed_recipients_once(relays: Make) -> None:
    r = await relays(set_relay=False)
    await r.set(mode="sandbox", release_numbers=["0533 000 00 01"])
    order_id = await r.sent(order_of([A, B], text="Yalnızca listedekilere"))
    (relayed, _, _) = await on(r.local, order_relay(r.local.runtime, order_id))
    assert not relayed and await r.batches(order_id) == []  # captured, not forwarded

    made = await r.release(order_id)
    assert [(b.kind, b.size) for b in made] == [("release", 1)]
    (batch,) = await batches_settled(r, order_id)
    (upstream_order,) = await r.upstream_orders()
    assert batch.upstream_id == upstream_order["id"]
    stored = await r.upstream_messages()
    assert [(m["recipient"], m["text"]) for m in stored] == [(A, "Yalnızca listedekilere")]

    with pytest.raises(RelaySettingError) as again:
        await r.release(order_id)
    assert (str(again.value), again.value.field) == (
        f"order {order_id} was released already",
        "order",
    )
    unlisted = await r.sent(order_of([B, C]))
    with pytest.raises(RelaySettingError) as none_listed:
        await r.release(unlisted)
    assert (str(none_listed.value), none_listed.value.field) == (
        f"none of order {unlisted}'s recipients is on the release list",
        "order",
    )
    await r.set(release_numbers=[])
    with pytest.raises(RelaySettingError) as no_list:
        await r.release(unlisted)
    assert no_list.value.field == "release_numbers"
    assert str(no_list.value) == "no number may receive released orders: set the release list first"
    assert await r.batches(unlisted) == [] and len(await r.batches(order_id)) == 1
    assert len(await r.upstream_orders()) == 1 and len(await r.upstream_messages()) == 1


# -- 9. settings -----------------------------------------------------------------------------------


async def _refused_setting(r: Relay, **fields: Any) -> RelaySettingError:
    """set() refused: the error, with nothing stored."""
    before = await on(r.local, upstream_rows(r.local.runtime))
    with pytest.raises(RelaySettingError) as refused:
        await r.set(**fields)
    assert "\n" not in str(refused.value)
    assert await on(r.local, upstream_rows(r.local.runtime)) == before
    return refused.value


async def test_settings_refuse_bad_input_in_one_line_naming_the_field(relays: Make) -> None:
    r = await relays(set_relay=False)
    bad_url = await _refused_setting(r, base_url="ftp://example.com/v1/")
    assert (bad_url.field, str(bad_url)) == (
        "url",
        "the upstream URL must start with http:// or https://, got 'ftp://example.com/v1/'",
    )
    wrong = await _refused_setting(r, secret="not-the-secret")
    assert (wrong.field, str(wrong)) == (
        "hash",
        f"the upstream refused the credentials: 401 {MESSAGES[401]}",
    )
    port = free_port()
    down = await _refused_setting(r, base_url=f"http://127.0.0.1:{port}/v1/")
    assert down.field == "url"
    assert str(down).startswith(
        f"the upstream did not answer: cannot connect to http://127.0.0.1:{port}/v1/get-balance"
    )
    assert await r.show() is None

    # Set, then refused changes leave the stored row as it was.
    view, balance = await r.set()
    assert balance == (0.0, 1000) and view.mode == "relay"
    await _refused_setting(r, secret="not-the-secret")
    await _refused_setting(r, base_url="http://")


async def test_settings_without_secret_key_are_refused(
    database_url: str, shared_upstream: Sandbox
) -> None:
    local = start_local(database_url, secret_key=())
    try:
        r = Relay(shared_upstream, local, make_account(shared_upstream), make_account(local))
        refused = await _refused_setting(r)
        assert refused.field == "secret_key"
        assert str(refused).startswith("ILETI_SECRET_KEY is not set")
        await r.close()
    finally:
        local.stop()


async def test_the_upstream_hash_and_secret_are_never_stored_or_shown(
    relays: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ileti")
    r = await relays()
    (row,) = await on(r.local, upstream_rows(r.local.runtime))
    assert row["key"] == r.up.key and row["mode"] == "relay"
    stored = await on(r.local, everything_as_text(r.local.runtime))
    assert r.up.hash.lower() not in stored and r.up.secret.lower() not in stored
    view = await r.show()
    shown = repr(view)
    assert r.up.hash not in shown and r.up.secret not in shown
    assert not any("hash" in name or "secret" in name for name in vars(view))
    # Given as the hash itself: sealed just the same.
    await r.set(hash=r.up.hash, secret=None)
    # A forward the upstream refuses is logged and recorded with its code and message only.
    await r.patch_upstream_account(api_access=False)
    order_id = await r.sent(order_of([A]))
    assert (await r.finished(order_id))["status"] == 115
    stored = await on(r.local, everything_as_text(r.local.runtime))
    assert r.up.hash.lower() not in stored and r.up.secret.lower() not in stored
    assert f"401 {MESSAGES[401]}".lower() in stored
    assert "relay: order" in caplog.text  # the failure was logged ...
    assert r.up.hash not in caplog.text and r.up.secret not in caplog.text  # ... without them


# -- 10. start -------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [(), (OTHER_SECRET_KEY,)])
async def test_a_start_with_sealed_upstreams_and_no_or_another_key_is_refused(
    relays: Make, database_url: str, keys: tuple[str, ...]
) -> None:
    r = await relays()
    r.local.stop()
    rt = Runtime.build(Settings(database_url=database_url, secret_key=keys))
    try:
        with pytest.raises(ConfigError) as refused:
            await rt.start(migrate=False)
    finally:
        await rt.upstream.close()
        rt.store.close()
    message = str(refused.value)
    assert "ILETI_SECRET_KEY" in message and "\n" not in message
    # The right key (after the new one: rotation) starts.
    rt = Runtime.build(Settings(database_url=database_url, secret_key=(*keys, SECRET_KEY)))
    await rt.start(migrate=False)
    await rt.stop()


# -- 11. APITEST -----------------------------------------------------------------------------------


async def test_apitest_orders_of_a_relay_account_stay_in_the_sandbox(relays: Make) -> None:
    r = await relays(app_fields={"test_number": TEST_NUMBER})
    order_id = await r.sent(order_of([TEST_NUMBER], sender="APITEST"))
    assert await r.batches(order_id) == []
    (relayed, _, _) = await on(r.local, order_relay(r.local.runtime, order_id))
    assert not relayed
    final = await r.finished(order_id)
    assert (final["status"], statuses(final)) == (114, {TEST_NUMBER: 111})
    assert await r.upstream_orders() == []


def test_an_unfinished_upstream_order_is_polled_less_and_less_often() -> None:
    """The mirror's rate stays bounded: every interval for 30 polls, then every 2, 4, …
    intervals, never rarer than every 32."""
    assert [poll_stretch(n) for n in (1, 30, 31, 60, 61, 91, 121, 151, 181, 10_000)] == [
        1,
        1,
        2,
        2,
        4,
        8,
        16,
        32,
        32,
        32,
    ]
