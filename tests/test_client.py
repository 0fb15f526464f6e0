"""``ileti.client`` against a real ileti (served from a thread of the test process, over
a socket, or through the in-process transport): every method of both clients, what the
server stored, the exceptions of its refusals with their exact messages, the hash made
from the secret, validation before sending, and retries only where they are safe. On
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from ileti.client import AsyncClient, Client, InvalidRequest, Message, Retries
from ileti.client import errors as e
from ileti.client.models import Balance
from ileti.testing.server import Sandbox
from tests.support.sandbox import Made, balance, control, make_account, outbox
from tests.support.sms import ISTANBUL
from tests.support.spec import MESSAGES

A, B = "+905330000001", "+905330000002"
LISTED = ["+905330000011", "+905330000012", "+905330000013", "+905330000014", "+905330000015"]
KINDS = ("sync", "async", "async-in-process")


class Synced:
    """An AsyncClient driven from a synchronous test: each call (and each lazy
    iterator, collected) runs on the client's own event loop."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)
        if name.startswith("iter_"):

            async def collect(*args: Any, **kwargs: Any) -> list[Any]:
                return [item async for item in method(*args, **kwargs)]

            return lambda *a, **k: self._loop.run_until_complete(collect(*a, **k))
        return lambda *a, **k: self._loop.run_until_complete(method(*a, **k))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


def client_of(kind: str, sandbox: Sandbox, made: Made, **options: Any) -> Any:
    if kind == "sync":
        return Client(made.key, made.hash, base_url=made.base_url, **options)
    if kind == "async-in-process":
        options["transport"] = sandbox.async_transport()
    return Synced(AsyncClient(made.key, made.hash, base_url=made.base_url, **options))


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def made(sandbox: Sandbox) -> Made:
    return make_account(sandbox)


@pytest.fixture
def sms(kind: str, sandbox: Sandbox, made: Made) -> Iterator[Any]:
    found = client_of(kind, sandbox, made)
    try:
        yield found
    finally:
        found.close()


def test_every_method(sms: Any, sandbox: Sandbox, made: Made) -> None:
    assert sms.get_balance() == Balance(amount=0.0, sms=100)
    assert sms.get_senders() == ["ILETI"]

    for number in LISTED:
        sms.add_blacklist(number)
    sms.add_blacklist(LISTED[0])  # idempotent
    second = sms.get_blacklist(page=2, row_count=2)
    assert (second.count, second.numbers, second.page) == (5, tuple(LISTED[2:4]), 2)
    assert list(sms.iter_blacklist(row_count=2)) == LISTED
    sms.delete_blacklist(LISTED[0])
    with pytest.raises(e.NotBlacklisted) as refused:
        sms.delete_blacklist(LISTED[0])
    assert (refused.value.code, refused.value.message) == (474, MESSAGES[474])

    order = sms.send_sms([A, LISTED[1]], "Merhaba dünya", sender="ILETI")
    report = sms.get_report(order.id)
    assert (report.id, report.total, report.price, report.sender) == (order.id, 2, 1, "ILETI")
    assert {(m.number, m.status) for m in report.messages} == {(A, 110), (LISTED[1], 112)}
    every = sms.iter_report(order.id, row_count=1)
    assert sorted(m.number for m in every) == [A, LISTED[1]]
    stored = outbox(sandbox, made)
    assert [(m["recipient"], m["text"], m["order_id"]) for m in stored if m["charged"]] == [
        (A, "Merhaba dünya", int(order.id))
    ]

    two = sms.send_messages([Message("Bir", [A]), Message("İki", [B])], sender="ILETI")
    assert sms.get_report(two.id).total == 2

    tomorrow = datetime.now(ISTANBUL) + timedelta(days=1)
    later = sms.send_sms(A, "Yarın", sender="ILETI", send_at=tomorrow)
    with pytest.raises(e.OrderNotDue) as not_due:
        sms.get_report(later.id)
    assert not_due.value.message == MESSAGES[456]
    sms.cancel_order(later.id)
    assert sms.get_report(later.id).status == 115
    with pytest.raises(e.OrderNotFound):
        sms.cancel_order(later.id)

    today = datetime.now(ISTANBUL).date()
    page = sms.get_reports(today, today)
    assert page.count == 3
    orders = sms.iter_reports(today, today)
    assert sorted(o.id for o in orders) == sorted(int(i) for i in (order.id, two.id, later.id))
    assert balance(sandbox, made) == 100 - 1 - 2  # the cancelled order was refunded


def test_refusals_are_their_codes_exceptions(sms: Any, sandbox: Sandbox, made: Made) -> None:
    with pytest.raises(e.InvalidNumber) as bad:
        sms.add_blacklist("+905999000000")
    assert (bad.value.code, bad.value.http_status, bad.value.message) == (466, 466, MESSAGES[466])
    with pytest.raises(e.SenderNotAllowed) as sender:
        sms.send_sms(A, "Merhaba", sender="OTHER")
    assert sender.value.message == MESSAGES[450]
    assert sender.value.action == "send-sms"
    with pytest.raises(e.OrderNotFound):
        sms.get_report("999999")
    today = datetime.now(ISTANBUL).date()
    with pytest.raises(e.BadDateRange):
        sms.get_reports(today - timedelta(days=11), today)
    assert outbox(sandbox, made) == []


def test_wrong_credentials_are_unauthorized(kind: str, sandbox: Sandbox, made: Made) -> None:
    wrong = client_of(kind, sandbox, Made(made.key, "not-the-secret", made.base_url))
    try:
        with pytest.raises(e.Unauthorized) as refused:
            wrong.get_balance()
    finally:
        wrong.close()
    assert (refused.value.code, refused.value.message) == (401, MESSAGES[401])
    assert "API access" in refused.value.meaning
    assert isinstance(refused.value, e.ApiError) and isinstance(refused.value, e.IletiError)


def test_insufficient_balance(sandbox: Sandbox) -> None:
    poor = make_account(sandbox, balance=0)
    with (
        Client(poor.key, poor.hash, base_url=poor.base_url) as sms,
        pytest.raises(e.InsufficientBalance) as refused,
    ):
        sms.send_sms(A, "Merhaba", sender="ILETI")
    assert refused.value.message == MESSAGES[402]
    assert outbox(sandbox, poor) == []


def test_the_hash_is_computed_from_the_secret(sandbox: Sandbox, made: Made) -> None:
    with Client(made.key, secret=made.secret, base_url=made.base_url) as sms:
        assert sms.hash == made.hash
        assert sms.get_balance().sms == 100
    with pytest.raises(InvalidRequest, match="disagree"):
        Client(made.key, "0" * 64, secret=made.secret)
    with pytest.raises(InvalidRequest):
        Client(made.key)


def test_obvious_mistakes_are_refused_before_sending(sandbox: Sandbox, made: Made) -> None:
    with Client(made.key, made.hash, base_url=made.base_url) as sms:
        with pytest.raises(InvalidRequest, match="text is empty"):
            sms.send_sms(A, "", sender="ILETI")
        with pytest.raises(InvalidRequest, match="text is empty"):
            sms.send_sms(A, "   ", sender="ILETI")
        too_many = [f"+90533{i:07d}" for i in range(50_001)]
        with pytest.raises(InvalidRequest, match="more than 50,000 recipients"):
            sms.send_sms(too_many, "Merhaba", sender="ILETI")
        with pytest.raises(InvalidRequest, match="no recipient"):
            sms.send_sms([], "Merhaba", sender="ILETI")
        with pytest.raises(InvalidRequest, match="sender"):
            sms.send_sms(A, "Merhaba", sender="")
        with pytest.raises(InvalidRequest, match="page"):
            sms.get_blacklist(page=0)
    assert outbox(sandbox, made) == []
    assert balance(sandbox, made) == 100


def test_reads_are_retried_after_a_503_and_sends_are_not(
    kind: str, sandbox: Sandbox, made: Made
) -> None:
    for action in ("get-balance", "send-sms"):
        added = control(
            sandbox,
            made,
            "POST",
            "/faults",
            json={"kind": "api", "action": action, "code": 503, "remaining": 1},
        )
        assert added.status_code == 201, added.text
    sms = client_of(kind, sandbox, made, retries=Retries(total=2, backoff=0.01))
    try:
        assert sms.get_balance().sms == 100  # the 503, then the retry's answer
        with pytest.raises(e.Unavailable) as refused:
            sms.send_sms(A, "Merhaba", sender="ILETI")
        assert refused.value.message == MESSAGES[503]
        assert outbox(sandbox, made) == []
        sms.send_sms(A, "Merhaba", sender="ILETI")  # the rule is used up
    finally:
        sms.close()
    assert len(outbox(sandbox, made)) == 1
    rules = control(sandbox, made, "GET", "/faults").json()["faults"]
    assert sorted((r["action"], r["remaining"]) for r in rules) == [
        ("get-balance", 0),
        ("send-sms", 0),
    ]


def test_a_429_is_retried_after_its_retry_after(sandbox: Sandbox, made: Made) -> None:
    added = control(
        sandbox,
        made,
        "POST",
        "/faults",
        json={"kind": "api", "action": "get-sender", "code": 429, "remaining": 1},
    )
    assert added.status_code == 201, added.text
    waited: list[float] = []
    with Client(made.key, made.hash, base_url=made.base_url) as sms:
        sms._sleep = waited.append
        assert sms.get_senders() == ["ILETI"]
    assert waited == [1.0]  # the server's Retry-After: 1
