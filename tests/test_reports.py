"""get-report, get-reports (and its alias get-report-summary) and cancel-order (spec §7,
§8) as a user sees them, in JSON and XML, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.http import auth, call, xml_of
from tests.support.runtime import running
from tests.support.sms import INVALID, balance, cancel, istanbul, order_of, report, sent
from tests.support.spec import OK
from tests.support.spec import error as err

FORMATS = ("json", "xml")
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+9053{40000000 + start + i:08d}" for i in range(count)]


def day(delta: int = 0) -> str:
    return (datetime.now(ISTANBUL) + timedelta(days=delta)).strftime("%Y-%m-%d")


def as_int(value: Any) -> int:
    return int(value)


def one(value: Any) -> Any:
    """A leaf as JSON gives it (the XML reader in tests.support.http lists every <sender>)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The carrier runs but reports after an hour: accepted messages stay 110."""
    return Settings(
        database_url=database_url, auth_refresh_seconds=0.1, delivery_delay_seconds=3600
    )


@pytest.fixture
async def acme(runtime: Runtime) -> Issued:
    return await runtime.accounts.create("acme", senders=("ILETI", "eMarka"), balance=10_000)


async def reports(
    client: httpx.AsyncClient,
    issued: Issued,
    flt: Any,
    fmt: str = "json",
    action: str = "get-reports",
    **top: Any,
) -> tuple[int, dict[str, Any]]:
    request: dict[str, Any] = {"authentication": auth(issued), **top}
    if flt is not None:
        request["filter"] = flt
    return await call(client, action, request, fmt)


# -- get-report ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_report_pages_and_whole_order_counters(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    given = numbers(25)
    await runtime.blacklist.add(acme.account.id, given[3])
    given[7] = INVALID
    before = datetime.now(ISTANBUL).replace(microsecond=0)
    order_id = await sent(client, acme, order_of(given, text="ş" * 151, sender="eMarka"))
    after = datetime.now(ISTANBUL)

    pages: list[list[Any]] = []
    for page in (1, 2, 3, 4):
        status, body = await report(client, acme, order_id, fmt, page=page, rowCount=10)
        assert (status, body["status"]) == (200, OK)
        got = body["order"]
        assert str(got["id"]) == str(order_id)
        assert as_int(got["status"]) == 113
        counters = [as_int(got[k]) for k in ("total", "delivered", "undelivered", "waiting")]
        assert counters == [25, 0, 2, 23]  # the whole order on every page
        assert one(got["sender"]) == "eMarka"
        assert as_int(got["price"]) == 23 * 2
        for name in ("submitAt", "sendAt"):
            assert WIRE_TIME.match(got[name])
            shown = datetime.strptime(got[name], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ISTANBUL)
            assert before <= shown <= after
        pages.append(got.get("message") or [])
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    flat = [[one(m["number"]), as_int(m["status"])] for p in pages for m in p]
    expected = [[n, 112 if i in (3, 7) else 110] for i, n in enumerate(given)]
    assert flat == expected
    if fmt == "json":
        assert isinstance(got["id"], str) and isinstance(got["status"], int)
        assert isinstance(got["price"], int) and pages[3] == []


async def test_report_defaults_and_caps(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued
) -> None:
    await runtime.accounts.add_balance(acme.account.key, 2000)
    order_id = await sent(client, acme, order_of(numbers(1001)))
    status, body = await report(client, acme, order_id)  # page 1, rowCount 1000
    assert status == 200 and len(body["order"]["message"]) == 1000
    status, body = await report(client, acme, order_id, page="2", rowCount="5000")  # capped
    assert status == 200
    assert [m["number"] for m in body["order"]["message"]] == numbers(1001)[1000:]
    status, body = await report(client, acme, str(order_id), page=1, rowCount=1)
    assert status == 200 and len(body["order"]["message"]) == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("paging", "code"),
    [
        ({"page": 0}, 464),
        ({"page": -1}, 464),
        ({"page": "0"}, 464),
        ({"page": "abc"}, 422),
        ({"rowCount": 0}, 422),
        ({"rowCount": "many"}, 422),
        ({"page": 1.5}, 400),  # a JSON number that is not whole: the wrong type
    ],
)
async def test_report_paging_errors(
    client: httpx.AsyncClient, acme: Issued, fmt: str, paging: dict[str, Any], code: int
) -> None:
    if fmt == "xml" and isinstance(paging.get("page"), float):
        code = 422  # XML carries text: "1.5" is a value, not a type, that is wrong
    order_id = await sent(client, acme, order_of())
    assert await report(client, acme, order_id, fmt, **paging) == (code, err(code))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_report_unknown_and_other_accounts_order_is_455(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    order_id = await sent(client, acme, order_of())
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    assert await report(client, other, order_id, fmt) == (455, err(455))
    for unknown in (order_id + 1000, "abc", "", None, 0, -5, "99999999999999999999999"):
        assert await report(client, acme, unknown, fmt) == (455, err(455)), unknown
    status, body = await call(client, "get-report", {"authentication": auth(acme)}, fmt)
    assert (status, body) == (455, err(455))


async def test_report_xml_shape(client: httpx.AsyncClient, acme: Issued) -> None:
    order_id = await sent(client, acme, order_of(numbers(2), sender="eMarka"))
    body = xml_of({"authentication": auth(acme), "order": {"id": order_id}})
    r = await client.post("/v1/get-report", content=body)
    assert r.status_code == 200
    text = r.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><response><status>')
    pattern = (
        r"<order><id>(\d+)</id><status>113</status><total>2</total><delivered>0</delivered>"
        r"<undelivered>0</undelivered><waiting>2</waiting><submitAt>[\d: -]+</submitAt>"
        r"<sendAt>[\d: -]+</sendAt><sender>eMarka</sender><price>2</price>"
        r"<message><number>\+905340000000</number><status>110</status></message>"
        r"<message><number>\+905340000001</number><status>110</status></message>"
        r"</order></response>$"
    )
    match = re.search(pattern, text)
    assert match is not None, text
    assert int(match.group(1)) == order_id


async def test_report_of_a_delivered_order(database_url: str) -> None:
    """With the simulated carrier reporting at once: 111 and 112, order status 114."""
    async with running(
        Settings(database_url=database_url, auth_refresh_seconds=0.1, delivery_delay_seconds=0)
    ) as (fast, c):
        issued = await fast.accounts.create("acme", senders=("ILETI",), balance=10)
        order_id = await sent(c, issued, order_of([*numbers(2), INVALID]))
        for _ in range(100):
            status, body = await report(c, issued, order_id)
            if status == 200 and body["order"]["status"] == 114:
                break
            await asyncio.sleep(0.1)
        got = body["order"]
        counters = [got[k] for k in ("status", "delivered", "undelivered", "waiting")]
        assert counters == [114, 2, 1, 0]
        assert [m["status"] for m in got["message"]] == [111, 111, 112]


# -- cancel-order -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_cancel_order(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    when = istanbul(timedelta(days=3))
    order_id = await sent(client, acme, order_of(numbers(3), sendDateTime=when))
    immediate = await sent(client, acme, order_of(numbers(2)))
    assert await balance(runtime, acme) == 10_000 - 5
    assert await report(client, acme, order_id, fmt) == (456, err(456))
    assert await cancel(client, acme, immediate, fmt) == (455, err(455))
    for unknown in (order_id + 1000, "abc", None):
        assert await cancel(client, acme, unknown, fmt) == (455, err(455))
    assert await cancel(client, acme, str(order_id), fmt) == (200, {"status": OK})
    assert await balance(runtime, acme) == 10_000 - 2
    status, body = await report(client, acme, order_id, fmt)
    assert status == 200
    assert as_int(body["order"]["status"]) == 115
    assert as_int(body["order"]["undelivered"]) == 3
    assert await cancel(client, acme, order_id, fmt) == (455, err(455))
    # the immediate order is untouched
    status, body = await report(client, acme, immediate, fmt)
    assert as_int(body["order"]["status"]) == 113 and as_int(body["order"]["waiting"]) == 2


async def test_cancelled_order_may_be_sent_again(client: httpx.AsyncClient, acme: Issued) -> None:
    order = order_of(numbers(1), sendDateTime=istanbul(timedelta(days=1)))
    first = await sent(client, acme, order)
    assert await cancel(client, acme, first) == (200, {"status": OK})
    second = await sent(client, acme, order)  # not 451: the first never went out
    assert second != first


# -- get-reports --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_reports_range_and_shape(
    client: httpx.AsyncClient, runtime: Runtime, acme: Issued, fmt: str
) -> None:
    first = await sent(client, acme, order_of(numbers(2), sender="eMarka"))
    scheduled = await sent(client, acme, order_of(numbers(1), sendDateTime=istanbul(timedelta(2))))
    other = await runtime.accounts.create("other", senders=("ILETI",), balance=10)
    await sent(client, other, order_of(numbers(1)))

    for start, end in ((day(), day()), (day(-10), day()), (day(-1), day(1)), (day(), day(10))):
        status, body = await reports(client, acme, {"start": start, "end": end}, fmt)
        assert (status, body["status"]) == (200, OK)
        assert as_int(body["count"]) == 2
        listed = body["orders"]
        assert [as_int(o["id"]) for o in listed] == [scheduled, first]  # newest first
    newest, oldest = listed
    assert one(oldest["sender"]) == "eMarka"
    assert [
        as_int(oldest[k]) for k in ("status", "total", "delivered", "undelivered", "waiting")
    ] == [
        113,
        2,
        0,
        0,
        2,
    ]
    assert WIRE_TIME.match(oldest["submitAt"]) and WIRE_TIME.match(oldest["sendAt"])
    assert newest["sendAt"] > newest["submitAt"]
    assert set(oldest) == {
        "id",
        "status",
        "total",
        "delivered",
        "undelivered",
        "waiting",
        "submitAt",
        "sendAt",
        "sender",
    }
    if fmt == "json":
        assert isinstance(oldest["id"], int)
    for start, end in ((day(-1), day(-1)), (day(1), day(1))):
        status, body = await reports(client, acme, {"start": start, "end": end}, fmt)
        assert status == 200 and as_int(body["count"]) == 0
        assert not body.get("orders")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "flt",
    [
        pytest.param({"start": "2026-13-01", "end": "2026-13-02"}, id="bad-month"),
        pytest.param({"start": "01/02/2026", "end": "02/02/2026"}, id="not-y-m-d"),
        pytest.param({"start": "yesterday", "end": "today"}, id="words"),
        pytest.param({"end": "2026-02-02"}, id="no-start"),
        pytest.param({"start": "2026-02-02"}, id="no-end"),
        pytest.param({}, id="empty-filter"),
        pytest.param(None, id="no-filter"),
        pytest.param({"start": "2026-02-01", "end": "2026-02-12"}, id="eleven-days-apart"),
        pytest.param({"start": "2026-02-05", "end": "2026-02-04"}, id="start-after-end"),
    ],
)
async def test_reports_bad_range_is_458(
    client: httpx.AsyncClient, acme: Issued, fmt: str, flt: Any
) -> None:
    assert await reports(client, acme, flt, fmt) == (458, err(458))


async def test_reports_ten_days_apart_is_fine(client: httpx.AsyncClient, acme: Issued) -> None:
    status, body = await reports(client, acme, {"start": "2026-02-01", "end": "2026-02-11"})
    assert (status, body) == (200, {"status": OK, "count": 0, "orders": []})


@pytest.mark.parametrize("action", ["get-reports", "get-report-summary"])
async def test_reports_thirty_per_page_page_in_filter_or_top(
    client: httpx.AsyncClient, acme: Issued, action: str
) -> None:
    ids = [await sent(client, acme, order_of(numbers(1, i), text=f"t{i}")) for i in range(31)]
    newest_first = ids[::-1]
    flt = {"start": day(), "end": day()}
    status, body = await reports(client, acme, flt, action=action)
    assert status == 200 and body["count"] == 31
    assert [o["id"] for o in body["orders"]] == newest_first[:30]
    status, body = await reports(client, acme, {**flt, "page": 2}, action=action)
    assert [o["id"] for o in body["orders"]] == newest_first[30:]
    status, body = await reports(client, acme, flt, action=action, page="2")
    assert [o["id"] for o in body["orders"]] == newest_first[30:]
    status, body = await reports(client, acme, flt, action=action, page=3)
    assert (status, body["count"], body["orders"]) == (200, 31, [])
    assert await reports(client, acme, {**flt, "page": 0}, action=action) == (464, err(464))
    assert await reports(client, acme, flt, action=action, page=0) == (464, err(464))


async def test_reports_xml_repeats_orders(client: httpx.AsyncClient, acme: Issued) -> None:
    ids = [await sent(client, acme, order_of(numbers(1, i), text=f"t{i}")) for i in range(2)]
    request = {"authentication": auth(acme), "filter": {"start": day(), "end": day()}}
    r = await client.post("/v1/get-reports", content=xml_of(request))
    assert r.status_code == 200
    found = re.findall(r"<orders><id>(\d+)</id><status>113</status>", r.text)
    assert [int(i) for i in found] == ids[::-1]
    assert "<count>2</count><orders>" in r.text
