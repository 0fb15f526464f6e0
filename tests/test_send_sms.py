"""send-sms (spec §7) as a user sees it, in JSON, XML and the GET form: every code in
the documented order, the shapes the official SDKs send, skipped recipients (112, not
charged), cost by parts, scheduling and cancel, APITEST, concurrent charging and the
50,000-recipient limit; with what was stored behind each answer. Every test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.store.schema import orders
from tests.support.actions import consent_record
from tests.support.http import auth, call
from tests.support.sms import (
    INVALID,
    A,
    B,
    C,
    balance,
    cancel,
    istanbul,
    order_of,
    report,
    send,
    sent,
)
from tests.support.spec import OK, error
from tests.support.stored import snapshot, stored_messages, stored_orders

FORMS = ("json", "xml", "get")
TEST_NUMBER = "+905320000000"


async def statuses(client: httpx.AsyncClient, issued: Issued, order_id: int) -> list[list[Any]]:
    """[number, status] of every message of an order, in order (one report page)."""
    status, body = await report(client, issued, order_id)
    assert status == 200, body
    return [[m["number"], m["status"]] for m in body["order"]["message"]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The simulated carrier runs, but takes an hour to report: accepted messages stay
    110 while a test looks at them (delivery itself is tested in test_delivery.py)."""
    return Settings(
        database_url=database_url, auth_refresh_seconds=0.1, delivery_delay_seconds=3600
    )


@pytest.fixture
async def acme(runtime: Runtime) -> Issued:
    return await runtime.accounts.create(
        "acme",
        senders=("ILETI", "eMarka"),
        balance=1000,
        brand_code="123456",
        test_number=TEST_NUMBER,
    )


# -- every code, in the three forms -------------------------------------------------------------

SEVEN_GSM = 7 * 153 - 5  # the longest 7-part GSM-7 text

# (id, order, account settings, expected code); None as settings: the acme account.
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, int]] = [
    ("sender-empty", order_of(sender=""), None, 459),
    ("sender-blank", order_of(sender="   "), None, 459),
    ("sender-missing", {**order_of(), "sender": None}, None, 459),
    ("sender-12-chars", order_of(sender="ABCDEFGHIJKL"), None, 460),
    ("sender-turkish-letter", order_of(sender="İLETİ"), None, 460),
    ("sender-turkish-s", order_of(sender="ŞIRKET"), None, 460),
    ("sender-case", order_of(sender="ileti"), None, 450),
    ("sender-inner-space", order_of(sender="ILE TI"), None, 450),
    ("sender-unknown", order_of(sender="OTHER"), None, 450),
    ("text-empty", order_of(text=""), None, 454),
    ("text-blank", order_of(text="   "), None, 454),
    ("text-missing", order_of(text=None), None, 454),
    ("text-8-parts", order_of(text="a" * (SEVEN_GSM + 1)), None, 453),
    ("text-8-parts-turkish", order_of(text="ş" * (7 * 149 - 5 + 1)), None, 453),
    ("text-8-parts-ucs2", order_of(text="ж" * (7 * 67 - 5 + 1)), None, 453),
    ("date-iso", order_of(sendDateTime="2030-01-01 10:00"), None, 457),
    ("date-bad-day", order_of(sendDateTime="32/01/2030 10:00"), None, 457),
    ("date-words", order_of(sendDateTime="tomorrow"), None, 457),
    ("date-seconds-strict", order_of(sendDateTime="01/01/2030 10:00:00"), {"strict": True}, 457),
    ("iys-missing-strict", order_of(iys=None), {"strict": True}, 468),
    ("iys-empty-strict", order_of(iys=""), {"strict": True}, 468),
    ("iys-2", order_of(iys="2"), None, 468),
    ("iys-word", order_of(iys="yes"), None, 468),
    ("iys-list-missing", order_of(iys="1"), None, 469),
    ("iys-list-bad", order_of(iys="1", iysList="HERKES"), None, 469),
    ("iys-no-brand", order_of(iys="1", iysList="BIREYSEL"), {"brand_code": None}, 470),
    ("no-numbers", order_of([]), None, 452),
    ("all-invalid", order_of([INVALID, "123", "+4915112345678"]), None, 452),
    ("balance-short", order_of([A, B]), {"balance": 1}, 402),
    # the documented order: the first failing check wins
    ("459-before-454", order_of(sender="", text=""), None, 459),
    ("460-before-454", order_of(sender="ABCDEFGHIJKL", text=""), None, 460),
    ("450-before-454", order_of(sender="OTHER", text=""), None, 450),
    ("454-before-457", order_of(text="", sendDateTime="tomorrow"), None, 454),
    ("453-before-457", order_of(text="a" * 2000, sendDateTime="tomorrow"), None, 453),
    ("457-before-469", order_of(sendDateTime="x", iys="1"), None, 457),
    ("457-before-468", order_of(sendDateTime="x", iys=None), {"strict": True}, 457),
    ("469-before-470", order_of(iys="1", iysList="X"), {"brand_code": None}, 469),
    ("470-before-452", order_of([INVALID], iys="1", iysList="TACIR"), {"brand_code": None}, 470),
    ("452-before-402", order_of([INVALID]), {"balance": 0}, 452),
]

ARRAY_CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, int]] = [
    (
        "second-text-empty",
        {**order_of(), "message": [{"text": "a", "receipents": {"number": [A]}}, {"text": ""}]},
        None,
        454,
    ),
    (
        "454-before-453",
        {
            **order_of(),
            "message": [
                {"text": "a" * 2000, "receipents": {"number": [A]}},
                {"text": "", "receipents": {"number": [B]}},
            ],
        },
        None,
        454,
    ),
    (
        "second-text-too-long",
        {
            **order_of(),
            "message": [
                {"text": "a", "receipents": {"number": [A]}},
                {"text": "a" * 2000, "receipents": {"number": [B]}},
            ],
        },
        None,
        453,
    ),
    (
        "date-two-elements",
        order_of(sendDateTime=["01/01/2030 10:00", "02/01/2030 10:00"]),
        None,
        457,
    ),
]


async def _account_for(runtime: Runtime, settings: dict[str, Any] | None, n: int) -> Issued:
    base: dict[str, Any] = {"balance": 1000, "brand_code": "123456", "strict": False}
    base.update(settings or {})
    return await runtime.accounts.create(f"case{n}", senders=("ILETI", "eMarka"), **base)


@pytest.mark.parametrize("fmt", FORMS)
async def test_every_code(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str, subtests: pytest.Subtests
) -> None:
    cases = CASES if fmt == "get" else CASES + ARRAY_CASES
    for n, (name, order, settings, code) in enumerate(cases):
        with subtests.test(msg=name):
            issued = await _account_for(runtime, settings, n)
            before = await balance(runtime, issued)
            status, body = await send(client, issued, order, fmt)
            assert (status, body) == (code, error(code))
            assert await balance(runtime, issued) == before
            assert await stored_orders(runtime, issued) == 0


@pytest.mark.parametrize("fmt", FORMS)
async def test_all_blacklisted_is_452(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    for number in (A, B):
        await runtime.blacklist.add(acme.account.id, number)
    status, body = await send(client, acme, order_of([A, "05330000002", INVALID]), fmt)
    assert (status, body) == (452, error(452))
    assert await balance(runtime, acme) == 1000
    assert await stored_orders(runtime, acme) == 0


@pytest.mark.parametrize("fmt", FORMS)
async def test_duplicate_within_ten_minutes_is_451(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    first = await sent(client, acme, order_of([A, B]), fmt)
    # The same set in another order and another written form is the same set.
    status, body = await send(client, acme, order_of(["05330000002", A]), fmt)
    assert (status, body) == (451, error(451))
    assert await balance(runtime, acme) == 998
    assert await stored_orders(runtime, acme) == 1
    # A different set, text or sender is a new order.
    await sent(client, acme, order_of([A, B, C]), fmt)
    await sent(client, acme, order_of([A, B], text="Merhaba!"), fmt)
    await sent(client, acme, order_of([A, B], sender="eMarka"), fmt)
    assert await stored_orders(runtime, acme) == 4
    assert first > 0


@pytest.mark.parametrize("fmt", FORMS)
async def test_balance_short_is_checked_before_duplicate(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str
) -> None:
    issued = await runtime.accounts.create("poor", senders=("ILETI",), balance=1)
    await sent(client, issued, order_of([A]), fmt)
    status, body = await send(client, issued, order_of([A]), fmt)
    assert (status, body) == (402, error(402))


@pytest.mark.parametrize("fmt", ["json", "get"])
async def test_sender_leading_and_trailing_spaces_count(
    client: httpx.AsyncClient, acme: Issued, fmt: str
) -> None:
    # (XML strips the whitespace around element values: "<sender> ILETI </sender>" is ILETI.)
    for sender in ("ILETI ", " ILETI"):
        status, body = await send(client, acme, order_of(sender=sender), fmt)
        assert (status, body) == (450, error(450))


@pytest.mark.parametrize("fmt", FORMS)
async def test_missing_iys_is_zero_when_not_strict(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    order_id = await sent(client, acme, order_of(iys=None), fmt)
    assert await statuses(client, acme, order_id) == [[A, 110]]
    assert await balance(runtime, acme) == 999


# -- success: shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMS)
async def test_success_returns_order_id_and_charges(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    status, body = await send(client, acme, order_of([A, B, "0533 000 00 03"]), fmt)
    assert status == 200
    assert body["status"] == OK
    assert set(body) == {"status", "order"}
    assert set(body["order"]) == {"id"}
    assert isinstance(body["order"]["id"], str) and body["order"]["id"].isdigit()
    order_id = int(body["order"]["id"])
    assert await statuses(client, acme, order_id) == [[A, 110], [B, 110], [C, 110]]
    assert await balance(runtime, acme) == 997


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_message_array_with_per_number_texts(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    order = order_of()
    order["message"] = [
        {"text": "Merhaba Ayşe", "receipents": {"number": [A]}},
        {"text": "a" * 200, "receipents": {"number": [B, C]}},  # 2 parts
    ]
    order_id = await sent(client, acme, order, fmt)
    assert await statuses(client, acme, order_id) == [[A, 110], [B, 110], [C, 110]]
    assert await balance(runtime, acme) == 1000 - (1 + 2 * 2)
    _, body = await report(client, acme, order_id)
    assert body["order"]["total"] == 3 and body["order"]["price"] == 5


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_number_as_single_string(client: httpx.AsyncClient, acme: Issued, fmt: str) -> None:
    order_id = await sent(client, acme, order_of("05330000001"), fmt)
    assert await statuses(client, acme, order_id) == [[A, 110]]


async def test_number_as_json_integer_and_receipents_as_list(
    client: httpx.AsyncClient, acme: Issued
) -> None:
    order_id = await sent(client, acme, order_of(905330000001))
    assert await statuses(client, acme, order_id) == [[A, 110]]
    order = order_of()
    order["message"] = {"text": "x", "receipents": [B]}
    order_id = await sent(client, acme, order)
    assert await statuses(client, acme, order_id) == [[B, 110]]


async def test_duplicate_numbers_within_one_text_are_sent_once(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    order_id = await sent(client, acme, order_of([A, "05330000001", "905330000001", B]))
    assert await statuses(client, acme, order_id) == [[A, 110], [B, 110]]
    assert await balance(runtime, acme) == 998


@pytest.mark.parametrize("value", ["", [], [""], None])
async def test_send_date_time_empty_means_now(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, value: Any
) -> None:
    order = order_of(sendDateTime=value)
    if value is None:
        order.pop("sendDateTime", None)
    order_id = await sent(client, acme, order)
    status, body = await report(client, acme, order_id)
    assert status == 200  # not 456: it is not scheduled
    assert body["order"]["submitAt"] == body["order"]["sendAt"]
    # an immediate order cannot be cancelled
    assert await cancel(client, acme, order_id) == (455, error(455))
    assert await balance(runtime, acme) == 999


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_send_date_time_with_seconds_sends_now_when_not_strict(
    client: httpx.AsyncClient, acme: Issued, fmt: str
) -> None:
    future = istanbul(timedelta(days=2), "%d/%m/%Y %H:%M:%S")
    order_id = await sent(client, acme, order_of(sendDateTime=future), fmt)
    status, body = await report(client, acme, order_id)
    assert status == 200
    assert body["order"]["sendAt"] == body["order"]["submitAt"]


async def test_send_date_time_in_the_past_sends_now(
    client: httpx.AsyncClient, acme: Issued
) -> None:
    order_id = await sent(client, acme, order_of(sendDateTime=["01/01/2020 10:00"]))
    status, _ = await report(client, acme, order_id)
    assert status == 200


@pytest.mark.parametrize("fmt", FORMS)
async def test_scheduled_order_report_cancel_refund(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    when = istanbul(timedelta(days=1))
    value: Any = [when] if fmt == "json" else when
    order_id = await sent(client, acme, order_of([A, B, INVALID], sendDateTime=value), fmt)
    assert await balance(runtime, acme) == 998
    assert await report(client, acme, order_id) == (456, error(456))
    assert await report(client, acme, str(order_id), "xml") == (456, error(456))
    # another account can neither see nor cancel it
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    assert await cancel(client, other, order_id) == (455, error(455))
    assert await report(client, other, order_id) == (455, error(455))

    assert await cancel(client, acme, order_id) == (200, {"status": OK})
    assert await balance(runtime, acme) == 1000
    status, body = await report(client, acme, order_id)
    assert status == 200
    got = body["order"]
    assert got["status"] == 115
    assert (got["total"], got["delivered"], got["undelivered"], got["waiting"]) == (3, 0, 3, 0)
    assert [m["status"] for m in got["message"]] == [112, 112, 112]
    assert got["sendAt"] == datetime.strptime(when, "%d/%m/%Y %H:%M").strftime("%Y-%m-%d %H:%M:00")
    # cancelled once: never again, and no second refund
    assert await cancel(client, acme, order_id) == (455, error(455))
    assert await balance(runtime, acme) == 1000


async def test_cancel_of_a_dispatched_scheduled_order_is_455(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    order_id = await sent(client, acme, order_of(sendDateTime=istanbul(timedelta(hours=3))))

    # The carrier has taken it (what the dispatcher records when it hands an order over).
    def dispatch(conn: sa.Connection) -> None:
        conn.execute(sa.update(orders).where(orders.c.id == order_id).values(dispatched=True))

    await runtime.store.transaction(dispatch)
    assert await cancel(client, acme, order_id) == (455, error(455))
    assert await balance(runtime, acme) == 999


# -- skipped recipients --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMS)
async def test_blacklisted_and_invalid_are_skipped_and_not_charged(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    await runtime.blacklist.add(acme.account.id, B)
    text = "ş" * 151  # Turkish, 2 parts
    order_id = await sent(client, acme, order_of([A, B, INVALID, "123", C], text=text), fmt)
    assert await balance(runtime, acme) == 1000 - 2 * 2
    _, body = await report(client, acme, order_id)
    got = body["order"]
    assert (got["total"], got["delivered"], got["undelivered"], got["waiting"]) == (5, 0, 3, 2)
    assert got["price"] == 4
    assert got["status"] == 113
    assert [[m["number"], m["status"]] for m in got["message"]] == [
        [A, 110],
        [B, 112],
        [INVALID, 112],
        ["123", 112],
        [C, 110],
    ]
    assert await stored_messages(runtime, order_id) == [
        (A, 110, None, True),
        (B, 112, "blacklisted", False),
        (INVALID, 112, "invalid", False),
        ("123", 112, "invalid", False),
        (C, 110, None, True),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_add_blacklist_then_delete_blacklist_between_sends(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    credentials = {"authentication": auth(acme)}
    status, _ = await call(
        client, "add-blacklist", {**credentials, "blacklist": {"number": B}}, fmt
    )
    assert status == 200
    first = await sent(client, acme, order_of([A, B], text="one"), fmt)
    assert await statuses(client, acme, first) == [[A, 110], [B, 112]]
    assert await balance(runtime, acme) == 999

    status, _ = await call(
        client, "delete-blacklist", {**credentials, "blacklist": {"number": B}}, fmt
    )
    assert status == 200
    second = await sent(client, acme, order_of([A, B], text="two"), fmt)
    assert await statuses(client, acme, second) == [[A, 110], [B, 110]]
    assert await balance(runtime, acme) == 997


# -- cost ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        pytest.param("a" * 155, 1, id="gsm7-155"),
        pytest.param("a" * 156, 2, id="gsm7-156"),
        pytest.param("a" * 153 + "€", 1, id="gsm7-extension-fits"),
        pytest.param("a" * 154 + "€", 2, id="gsm7-extension-counts-twice"),
        pytest.param("ÇÖÜöü" + "a" * 150, 1, id="gsm7-turkish-in-default"),
        pytest.param("ç" + "a" * 149, 1, id="turkish-c-cedilla-150"),
        pytest.param("ç" + "a" * 150, 2, id="turkish-c-cedilla-151"),
        pytest.param("ş" * 150, 1, id="turkish-150"),
        pytest.param("ş" * 151, 2, id="turkish-151"),
        pytest.param("ж" * 65, 1, id="ucs2-65"),
        pytest.param("ж" * 66, 2, id="ucs2-66"),
        pytest.param("😀" * 33, 2, id="ucs2-emoji-counts-twice"),
        pytest.param("a" * SEVEN_GSM, 7, id="gsm7-7-parts"),
        pytest.param("ş" * (7 * 149 - 5), 7, id="turkish-7-parts"),
        pytest.param("ж" * (7 * 67 - 5), 7, id="ucs2-7-parts"),
    ],
)
async def test_cost_is_parts_times_charged_recipients(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, text: str, parts: int
) -> None:
    await runtime.blacklist.add(acme.account.id, C)
    order_id = await sent(client, acme, order_of([A, B, C, INVALID], text=text))
    assert await balance(runtime, acme) == 1000 - 2 * parts
    _, body = await report(client, acme, order_id)
    assert body["order"]["price"] == 2 * parts


async def test_get_balance_shows_the_charge(client: httpx.AsyncClient, runtime: Runtime) -> None:
    issued = await runtime.accounts.create(
        "priced", senders=("ILETI",), balance=100, unit_price="0.25"
    )
    await sent(client, issued, order_of([A, B], text="ş" * 151))
    status, body = await call(client, "get-balance", {"authentication": auth(issued)})
    assert status == 200
    assert body["balance"] == {"amount": 24.0, "sms": 96}


# -- APITEST ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMS)
async def test_apitest_only_to_the_test_number_and_free(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str
) -> None:
    issued = await runtime.accounts.create(
        "tester", balance=0, test_number="05320000000", strict=True
    )  # no senders, no balance, no brand code, strict: APITEST still goes
    order = order_of([TEST_NUMBER, A], sender="APITEST", iys="1", iysList="BIREYSEL")
    order_id = await sent(client, issued, order, fmt)
    assert await balance(runtime, issued) == 0
    assert await statuses(client, issued, order_id) == [[TEST_NUMBER, 110], [A, 112]]
    stored = await stored_messages(runtime, order_id)
    assert stored == [(TEST_NUMBER, 110, None, False), (A, 112, "not_test_number", False)]

    def iys(conn: sa.Connection) -> tuple[Any, Any]:
        row = conn.execute(
            sa.select(orders.c.iys, orders.c.iys_list).where(orders.c.id == order_id)
        ).one()
        return bool(row.iys), row.iys_list

    assert await runtime.store.read(iys) == (False, None)
    # missing iys in strict mode is fine for APITEST too
    order_id = await sent(client, issued, order_of([TEST_NUMBER], sender="APITEST", iys=None))
    # only other numbers: nothing to send
    status, body = await send(client, issued, order_of([A], sender="APITEST"), fmt)
    assert (status, body) == (452, error(452))


async def test_apitest_without_a_test_number_is_452(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await runtime.accounts.create("tester", balance=10)
    for numbers in ([A], [TEST_NUMBER]):
        status, body = await send(client, issued, order_of(numbers, sender="APITEST"))
        assert (status, body) == (452, error(452))
    assert await stored_orders(runtime, issued) == 0


async def test_apitest_is_case_sensitive(client: httpx.AsyncClient, runtime: Runtime) -> None:
    issued = await runtime.accounts.create("tester", balance=10, test_number=TEST_NUMBER)
    status, body = await send(client, issued, order_of([TEST_NUMBER], sender="apitest"))
    assert (status, body) == (450, error(450))


# -- the official SDKs' payloads ------------------------------------------------------------------


def python_sdk_body(issued: Issued, order: dict[str, Any]) -> bytes:
    """What the Python SDK sends: ``json.dumps`` defaults (ASCII escapes, ", " and ": ")."""
    payload = {"request": {"authentication": {"key": issued.account.key, "hash": issued.hash}}}
    payload["request"].update(order)
    return json.dumps(payload).encode("utf-8")


PY_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


async def test_python_sdk_send_report_summary(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    # sms().send([...], text): iys "1", iysList BIREYSEL, sendDateTime "" by default; so
    # the recipients need a current İYS ONAY under the account's brand (spec §10)
    consent = {"brandCode": "123456", "list": [consent_record(n) for n in (A, B, C)]}
    status, got = await call(
        client, "consent/create", {"authentication": auth(acme), "consent": consent}
    )
    assert status == 200, got
    order = {
        "order": {
            "sender": "eMarka",
            "sendDateTime": "",
            "iys": "1",
            "iysList": "BIREYSEL",
            "message": {"text": "Güzel günler şeker", "receipents": {"number": [A, B]}},
        }
    }
    r = await client.post(
        "/v1/send-sms/json", content=python_sdk_body(acme, order), headers=PY_HEADERS
    )
    body = r.json()["response"]
    assert r.status_code == 200 and body["status"]["code"] == 200  # the SDK's ok()
    order_id = body["order"]["id"]
    assert isinstance(order_id, str)
    # sms().send({number: text, ...}): a message array, one number each
    order["order"]["message"] = [
        {"text": "Merhaba Ali", "receipents": {"number": [A]}},
        {"text": "Merhaba Ayşe", "receipents": {"number": [C]}},
    ]
    r = await client.post(
        "/v1/send-sms/json", content=python_sdk_body(acme, order), headers=PY_HEADERS
    )
    assert r.status_code == 200 and r.json()["response"]["status"]["code"] == 200
    second = r.json()["response"]["order"]["id"]
    # schedule("dd/MM/yyyy HH:mm")
    order["order"]["sendDateTime"] = istanbul(timedelta(days=1))
    order["order"]["message"] = {"text": "Yarın", "receipents": {"number": [A]}}
    r = await client.post(
        "/v1/send-sms/json", content=python_sdk_body(acme, order), headers=PY_HEADERS
    )
    assert r.status_code == 200
    assert await balance(runtime, acme) == 1000 - 2 - 2 - 1

    # reports().get(order_id): the id as the SDK got it (a string), ints for page/rowCount
    ask = {"order": {"id": order_id, "page": 1, "rowCount": 1000}}
    r = await client.post(
        "/v1/get-report/json", content=python_sdk_body(acme, ask), headers=PY_HEADERS
    )
    got = r.json()["response"]
    assert r.status_code == 200 and got["status"]["code"] == 200
    assert got["order"]["id"] == order_id and got["order"]["total"] == 2
    assert got["order"]["status"] in (113, 114)
    assert [m["status"] for m in got["order"]["message"]] == [110, 110]
    ask = {"order": {"id": int(second), "page": 2, "rowCount": 1000}}
    r = await client.post(
        "/v1/get-report/json", content=python_sdk_body(acme, ask), headers=PY_HEADERS
    )
    assert r.status_code == 200 and r.json()["response"]["order"]["message"] == []

    # summary().list(start, end, page): page at the top level
    today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
    ask = {"filter": {"start": today, "end": today}, "page": 1}
    r = await client.post(
        "/v1/get-reports/json", content=python_sdk_body(acme, ask), headers=PY_HEADERS
    )
    got = r.json()["response"]
    assert r.status_code == 200 and got["count"] == 3
    assert {o["id"] for o in got["orders"]} >= {int(order_id), int(second)}

    # balance() and senders().list()
    r = await client.post(
        "/v1/get-balance/json", content=python_sdk_body(acme, {}), headers=PY_HEADERS
    )
    assert r.json()["response"]["balance"]["sms"] == 995
    r = await client.post(
        "/v1/get-sender/json", content=python_sdk_body(acme, {}), headers=PY_HEADERS
    )
    assert r.json()["response"]["senders"]["sender"] == ["ILETI", "eMarka"]


async def test_python_sdk_reads_errors_as_json(client: httpx.AsyncClient, acme: Issued) -> None:
    order = {
        "order": {
            "sender": "NOPE",
            "sendDateTime": "",
            "iys": "1",
            "iysList": "BIREYSEL",
            "message": {"text": "x", "receipents": {"number": [A]}},
        }
    }
    r = await client.post(
        "/v1/send-sms/json", content=python_sdk_body(acme, order), headers=PY_HEADERS
    )
    assert r.status_code == 450
    assert r.json() == {"response": error(450)}


def node_sdk_body(issued: Issued, order: dict[str, Any]) -> bytes:
    """What the Node SDK sends: ``JSON.stringify`` (compact, UTF-8), undefined keys left out."""
    payload = {"request": {"authentication": {"key": issued.account.key, "hash": issued.hash}}}
    payload["request"].update(order)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


NODE_HEADERS = {"Content-Type": "application/json", "User-Agent": "IletiMerkezi-Node/1.0.0"}


async def test_node_sdk_send_report_summary(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    # iys is a number; sender left out when neither given nor defaulted
    order = {
        "order": {
            "sender": "ILETI",
            "sendDateTime": "",
            "iys": 1,
            "iysList": "TACIR",
            "message": {"text": "Çok güzel", "receipents": {"number": [A]}},
        }
    }
    r = await client.post(
        "/v1/send-sms/json", content=node_sdk_body(acme, order), headers=NODE_HEADERS
    )
    assert r.status_code == 200
    order_id = r.json()["response"]["order"]["id"]
    order["order"]["iys"] = 0
    order["order"]["message"] = [{"text": "Selam", "receipents": {"number": [B]}}]
    r = await client.post(
        "/v1/send-sms/json", content=node_sdk_body(acme, order), headers=NODE_HEADERS
    )
    assert r.status_code == 200
    del order["order"]["sender"]
    r = await client.post(
        "/v1/send-sms/json", content=node_sdk_body(acme, order), headers=NODE_HEADERS
    )
    assert r.status_code == 459 and r.json()["response"] == error(459)

    ask = {"order": {"id": order_id, "page": 1, "rowCount": 1000}}
    r = await client.post(
        "/v1/get-report/json", content=node_sdk_body(acme, ask), headers=NODE_HEADERS
    )
    assert r.status_code == 200
    assert r.json()["response"]["order"]["message"] == [{"number": A, "status": 110}]

    # summary list: page inside the filter
    today = datetime.now(ISTANBUL).strftime("%Y-%m-%d")
    ask = {"filter": {"start": today, "end": today, "page": 1}}
    r = await client.post(
        "/v1/get-reports/json", content=node_sdk_body(acme, ask), headers=NODE_HEADERS
    )
    assert r.status_code == 200 and r.json()["response"]["count"] == 2
    assert await balance(runtime, acme) == 998


# -- concurrency and size ------------------------------------------------------------------------


async def test_balance_never_negative_under_concurrent_sends(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await runtime.accounts.create("busy", senders=("ILETI",), balance=40)
    costs: list[int] = []
    orders_: list[dict[str, Any]] = []
    for i in range(40):
        recipients = 1 + i % 3  # 1..3 recipients of a 1-part text
        numbers = [f"+90533{1000000 + i * 10 + j}" for j in range(recipients)]
        orders_.append(order_of(numbers, text=f"kampanya {i}"))
        costs.append(recipients)
    assert sum(costs) > 40
    results = await asyncio.gather(*(send(client, issued, o) for o in orders_))
    spent = sum(c for c, (status, _) in zip(costs, results, strict=True) if status == 200)
    refused = [c for c, (status, _) in zip(costs, results, strict=True) if status != 200]
    assert all(body == error(402) for status, body in results if status != 200)
    assert all(status in (200, 402) for status, _ in results)
    left = await balance(runtime, issued)
    assert left >= 0
    assert spent == 40 - left
    assert refused and all(left < cost for cost in refused)
    assert await stored_orders(runtime, issued) == sum(1 for s, _ in results if s == 200)


def many(count: int) -> list[str]:
    return [f"+9053{30000000 + i:08d}" for i in range(count)]


async def test_fifty_thousand_recipients_accepted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    issued = await runtime.accounts.create("bulk", senders=("ILETI",), balance=60_000)
    numbers = many(50_000)
    order_id = await sent(client, issued, order_of(numbers))
    assert await balance(runtime, issued) == 10_000
    status, body = await report(client, issued, order_id, page=50, rowCount=1000)
    assert status == 200
    assert body["order"]["total"] == 50_000 and body["order"]["waiting"] == 50_000
    assert [m["number"] for m in body["order"]["message"]] == numbers[49_000:]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_over_fifty_thousand_recipients_is_422(
    client: httpx.AsyncClient, runtime: Runtime, fmt: str
) -> None:
    issued = await runtime.accounts.create("bulk", senders=("ILETI",), balance=60_000)
    status, body = await send(client, issued, order_of(many(50_001)), fmt)
    assert (status, body) == (422, error(422))
    # counted across texts too
    order = order_of()
    order["message"] = [
        {"text": "a", "receipents": {"number": many(25_000)}},
        {"text": "b", "receipents": {"number": many(25_001)}},
    ]
    status, body = await send(client, issued, order, fmt)
    assert (status, body) == (422, error(422))
    assert await balance(runtime, issued) == 60_000
    assert await stored_orders(runtime, issued) == 0


async def test_over_fifty_thousand_written_recipients_is_422_even_with_duplicates(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    """Counted as written, before any is read: the same number 50,001 times is 422."""
    before = await snapshot(runtime)
    status, body = await send(client, acme, order_of([A] * 50_001))
    assert (status, body) == (422, error(422))
    assert await snapshot(runtime) == before


def junk(count: int) -> list[str]:
    return [f"junk-{i}" for i in range(count)]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_junk_beside_one_valid_number_is_refused_past_1000_distinct(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    """49,999 distinct invalid recipients beside one valid number: 452, nothing stored,
    nothing charged (was: 50,000 rows for 1 credit)."""
    before = await snapshot(runtime)
    status, body = await send(client, acme, order_of([A, *junk(49_999)]), fmt)
    assert (status, body) == (452, error(452))
    status, body = await send(client, acme, order_of([A, *junk(1_001)]), fmt)
    assert (status, body) == (452, error(452))
    # across texts too
    order = order_of()
    order["message"] = [
        {"text": "a", "receipents": {"number": [A, *junk(600)]}},
        {"text": "b", "receipents": {"number": [B, *(f"other-{i}" for i in range(401))]}},
    ]
    status, body = await send(client, acme, order, fmt)
    assert (status, body) == (452, error(452))
    assert await snapshot(runtime) == before
    assert await balance(runtime, acme) == 1000


async def test_invalid_recipients_are_kept_once_each_up_to_1000(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    """The same junk 49,999 times (spaces around aside) is one row; 1,000 distinct junk
    recipients are kept (112, free) beside the one charged number."""
    order_id = await sent(client, acme, order_of([A, *(["junk"] * 49_998), " junk "]))
    assert await statuses(client, acme, order_id) == [[A, 110], ["junk", 112]]
    assert await balance(runtime, acme) == 999
    assert len(await stored_messages(runtime, order_id)) == 2

    order_id = await sent(client, acme, order_of([B, *junk(1_000)]))
    status, body = await report(client, acme, order_id)
    assert status == 200
    assert (body["order"]["total"], body["order"]["undelivered"], body["order"]["price"]) == (
        1_001,
        1_000,
        1,
    )
    assert await balance(runtime, acme) == 998
    assert len(await stored_messages(runtime, order_id)) == 1_001


async def test_nul_characters_never_reach_the_database(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    """PostgreSQL cannot store NUL: a text with one is 422, an invalid recipient with one
    is kept (112) with the NUL shown as U+FFFD; nothing fails with 503."""
    status, body = await send(client, acme, order_of([A], text="a\x00b"))
    assert (status, body) == (422, error(422))
    assert await stored_orders(runtime, acme) == 0
    order_id = await sent(client, acme, order_of([A, "0533\x00"]))
    assert await statuses(client, acme, order_id) == [[A, 110], ["0533\ufffd", 112]]
    assert await balance(runtime, acme) == 999
