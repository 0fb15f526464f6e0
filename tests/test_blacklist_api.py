"""The blacklist over the v1 API (spec §4, §5): add, delete and get-blacklist as a user
sees them, and what is stored behind them. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ileti import numbers
from ileti.api.runtime import Runtime
from ileti.clock import SECOND, parse_local, to_us
from ileti.config import Settings
from ileti.models import BlacklistEntry
from ileti.services.accounts import Issued
from tests.support.http import auth, call
from tests.support.runtime import client_of
from tests.support.spec import OK, status
from tests.support.stored import put_blacklisted

FORMATS = ("json", "xml")
INVALID = status(466)
NOT_LISTED = status(474)
BAD_DATE = status(458)
BAD_PAGE = status(464)

NUMBER = "+905330000099"
STORED = 905330000099


# -- helpers ----------------------------------------------------------------------------------


async def entries(runtime: Runtime, issued: Issued) -> list[BlacklistEntry]:
    """What the export shows: every entry in (blocked-at, number) order."""
    out: list[BlacklistEntry] = []

    def consume(items: Iterator[BlacklistEntry]) -> None:
        out.extend(items)

    await asyncio.to_thread(runtime.blacklist.export, issued.account.id, consume)
    return out


async def stored(runtime: Runtime, issued: Issued) -> list[int]:
    return [e.number for e in await entries(runtime, issued)]


async def add(
    client: httpx.AsyncClient, issued: Issued, number: Any, fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    return await call(
        client,
        "add-blacklist",
        {"authentication": auth(issued), "blacklist": {"number": number}},
        fmt,
    )


async def delete(
    client: httpx.AsyncClient, issued: Issued, number: Any, fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    return await call(
        client,
        "delete-blacklist",
        {"authentication": auth(issued), "blacklist": {"number": number}},
        fmt,
    )


async def get_list(
    client: httpx.AsyncClient, issued: Issued, fmt: str = "json", **query: Any
) -> tuple[int, list[str]]:
    """(count, numbers) of a successful get-blacklist, the same in either encoding."""
    request: dict[str, Any] = {"authentication": auth(issued)}
    if query:
        request["blacklist"] = query
    status, body = await call(client, "get-blacklist", request, fmt)
    assert (status, body["status"]) == (200, OK), body
    blacklist = body["blacklist"]
    assert set(blacklist) <= {"count", "number"}
    count = blacklist["count"]
    if fmt == "json":
        assert type(count) is int
    else:
        assert count.isdigit()
    return int(count), list(blacklist.get("number", []))


async def get_error(
    client: httpx.AsyncClient, issued: Issued, fmt: str = "json", **query: Any
) -> tuple[int, dict[str, Any]]:
    request = {"authentication": auth(issued), "blacklist": query}
    status, body = await call(client, "get-blacklist", request, fmt)
    assert list(body) == ["status"]
    return status, body["status"]


def put(runtime: Runtime, issued: Issued, rows: list[tuple[int, int]], source: str = "api") -> None:
    """Store (number, blocked_at) rows directly, below the API."""
    put_blacklisted(runtime, issued, rows, source)


def istanbul(text: str, micros: int = 0) -> int:
    return parse_local(text) + micros


# -- add-blacklist ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_add_is_idempotent_and_keeps_the_first_time(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, fmt: str
) -> None:
    assert await add(client, account, NUMBER, fmt) == (200, {"status": OK})
    [first] = await entries(runtime, account)
    assert (first.number, first.source) == (STORED, "api")

    await asyncio.sleep(0.01)
    for again in (NUMBER, "05330000099", "533 000 00 99", "905330000099"):
        assert await add(client, account, again, fmt) == (200, {"status": OK})
    assert await entries(runtime, account) == [first]
    assert await get_list(client, account, fmt) == (1, [NUMBER])
    # The filtered count is a scan, the unfiltered one a counter: both must agree.
    assert await get_list(client, account, fmt, filter={"start": "2000-01-01 00:00:00"}) == (
        1,
        [NUMBER],
    )


ACCEPTED_FORMS = [
    "905330000099",
    "+905330000099",
    "5330000099",
    "05330000099",
    "+90 533 000 00 99",
    "0 (533) 000-00-99",
    "+90-533-000-00-99",
    "(0533) 000 00 99",
    "0533 000 0099",
    " 05330000099 ",
    "90 533 000 00 99",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("form", ACCEPTED_FORMS)
async def test_every_accepted_form_is_one_entry(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, form: str, fmt: str
) -> None:
    assert await add(client, account, form, fmt) == (200, {"status": OK})
    assert await get_list(client, account, fmt) == (1, [NUMBER])
    assert await stored(runtime, account) == [STORED]
    # The same form removes it.
    assert await delete(client, account, form, fmt) == (200, {"status": OK})
    assert await get_list(client, account, fmt) == (0, [])


async def test_all_forms_together_make_one_entry(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    for form in ACCEPTED_FORMS:
        assert await add(client, account, form) == (200, {"status": OK})
    for integer in (905330000099, 5330000099):
        assert await add(client, account, integer) == (200, {"status": OK})
    assert await get_list(client, account) == (1, [NUMBER])
    assert await stored(runtime, account) == [STORED]


@pytest.mark.parametrize("integer", [905330000099, 5330000099])
async def test_json_integer_number(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, integer: int
) -> None:
    assert await add(client, account, integer) == (200, {"status": OK})
    assert await get_list(client, account) == (1, [NUMBER])
    assert await delete(client, account, integer) == (200, {"status": OK})
    assert await stored(runtime, account) == []


INVALID_NUMBERS: list[Any] = [
    "+905999000000",  # the spec's invalid example
    "05999000000",
    "+4915112345678",  # Germany
    "+15005550006",  # United States
    "+902120000000",  # an Istanbul landline
    "02123456789",
    "08505550000",
    "5330000",  # too short
    "053300000990",  # too long
    "0090533000009",
    "abc",
    "05330000099x",
    "0533000009９",  # a full-width digit
    "",
    "   ",
    None,
    123,
    0,
]


@pytest.mark.parametrize(
    ("number", "fmt"),
    [
        pytest.param(number, fmt, id=f"{number!r}-{fmt}")
        for number in INVALID_NUMBERS
        for fmt in FORMATS
        if fmt == "json" or isinstance(number, str | None)  # XML has no integers
    ],
)
async def test_invalid_number_is_466_and_nothing_changes(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, number: Any, fmt: str
) -> None:
    put(runtime, account, [(905330000100, 1_700_000_000 * SECOND)])
    before = await entries(runtime, account)
    assert await add(client, account, number, fmt) == (466, {"status": INVALID})
    assert await delete(client, account, number, fmt) == (466, {"status": INVALID})
    assert await entries(runtime, account) == before


@pytest.mark.parametrize("fmt", FORMATS)
async def test_missing_number_is_466(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, fmt: str
) -> None:
    for action in ("add-blacklist", "delete-blacklist"):
        for request in ({}, {"blacklist": {}}, {"blacklist": {"other": "05330000099"}}):
            status, body = await call(
                client, action, {"authentication": auth(account), **request}, fmt
            )
            assert (status, body) == (466, {"status": INVALID})
    assert await stored(runtime, account) == []


# -- delete-blacklist -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_delete_then_474(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, fmt: str
) -> None:
    assert await delete(client, account, NUMBER, fmt) == (474, {"status": NOT_LISTED})
    await add(client, account, NUMBER, fmt)
    await add(client, account, "+905330000100", fmt)
    [first, _] = await entries(runtime, account)

    assert await delete(client, account, "0533 000 00 99", fmt) == (200, {"status": OK})
    assert await delete(client, account, NUMBER, fmt) == (474, {"status": NOT_LISTED})
    assert await get_list(client, account, fmt) == (1, ["+905330000100"])

    # Listed again later: a new entry with a new blocked-at time.
    await asyncio.sleep(0.01)
    assert await add(client, account, NUMBER, fmt) == (200, {"status": OK})
    again = next(e for e in await entries(runtime, account) if e.number == STORED)
    assert again.blocked_at > first.blocked_at
    assert await get_list(client, account, fmt) == (2, ["+905330000100", NUMBER])


# -- get-blacklist: paging ------------------------------------------------------------------

BULK = 2500


@pytest.fixture
async def bulk(runtime: Runtime, account: Issued) -> AsyncIterator[list[str]]:
    """2,500 numbers with many blocked-at ties, inserted in an order that is neither
    the number order nor the time order; yields the list in the order the API owes."""
    base = istanbul("2024-09-27 01:10:00")
    rows = []
    for i in range(BULK):
        number = 905330000000 + (i * 7919) % BULK
        assert numbers.parse(str(number)) == number
        rows.append((number, base + (i * 104729 % 13) * SECOND))
    put(runtime, account, rows)
    yield [numbers.e164(n) for n, _ in sorted(rows, key=lambda r: (r[1], r[0]))]


async def test_page_defaults_and_cap(
    client: httpx.AsyncClient, account: Issued, bulk: list[str]
) -> None:
    assert len(set(bulk)) == BULK
    assert await get_list(client, account) == (BULK, bulk[:1000])
    assert await get_list(client, account, page=1) == (BULK, bulk[:1000])
    assert await get_list(client, account, page=2) == (BULK, bulk[1000:2000])
    assert await get_list(client, account, page=3) == (BULK, bulk[2000:])
    assert await get_list(client, account, page=4) == (BULK, [])
    assert await get_list(client, account, page=1000000) == (BULK, [])
    for above in (1001, 5000, 10**9):
        assert await get_list(client, account, rowCount=above) == (BULK, bulk[:1000])
        assert await get_list(client, account, page=3, rowCount=above) == (BULK, bulk[2000:])
    assert await get_list(client, account, rowCount=1000) == (BULK, bulk[:1000])
    assert await get_list(client, account, page=2500, rowCount=1) == (BULK, bulk[-1:])
    assert await get_list(client, account, page=2501, rowCount=1) == (BULK, [])


@pytest.mark.parametrize("row_count", [1000, 999, 400, 333])
async def test_pages_concatenate_to_the_full_list(
    client: httpx.AsyncClient, account: Issued, bulk: list[str], row_count: int
) -> None:
    pages: list[str] = []
    page = 1
    while True:
        count, chunk = await get_list(client, account, page=page, rowCount=row_count)
        assert count == BULK
        if not chunk:
            break
        assert len(chunk) == min(row_count, BULK - len(pages))
        pages.extend(chunk)
        page += 1
    assert pages == bulk
    assert page == -(-BULK // row_count) + 1


async def test_xml_pages_match_json(
    client: httpx.AsyncClient, account: Issued, bulk: list[str]
) -> None:
    for page in (1, 2, 3, 4):
        assert await get_list(client, account, "xml", page=page) == await get_list(
            client, account, "json", page=page
        )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_page_below_one_is_464(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, fmt: str
) -> None:
    put(runtime, account, [(STORED, istanbul("2024-09-27 01:10:00"))])
    for page in (0, -1, -1000):
        assert await get_error(client, account, fmt, page=page) == (464, BAD_PAGE)
        assert await get_error(client, account, fmt, page=str(page)) == (464, BAD_PAGE)


# -- get-blacklist: filters -----------------------------------------------------------------


@pytest.fixture
async def timed(runtime: Runtime, account: Issued) -> dict[str, str]:
    """Entries blocked at known Istanbul times (name -> E.164)."""
    times = {
        "before": istanbul("2024-09-27 01:09:59", 999_999),
        "at": istanbul("2024-09-27 01:10:00"),
        "within": istanbul("2024-09-27 01:10:00", 999_999),
        "next second": istanbul("2024-09-27 01:10:01"),
        "later": istanbul("2024-09-27 13:45:10", 500_000),
        "next day": istanbul("2024-09-28 00:00:00"),
    }
    rows = [(905330000100 + i, at) for i, at in enumerate(times.values())]
    put(runtime, account, rows)
    return {name: numbers.e164(n) for name, (n, _) in zip(times, rows, strict=True)}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_filters(
    client: httpx.AsyncClient, account: Issued, timed: dict[str, str], fmt: str
) -> None:
    def expect(*names: str) -> tuple[int, list[str]]:
        return len(names), [timed[n] for n in names]

    everything = expect("before", "at", "within", "next second", "later", "next day")
    assert await get_list(client, account, fmt) == everything

    async def filtered(**f: str) -> tuple[int, list[str]]:
        return await get_list(client, account, fmt, filter=f)

    # start alone: from that second on.
    assert await filtered(start="2024-09-27 01:10:00") == expect(
        "at", "within", "next second", "later", "next day"
    )
    assert await filtered(start="2024-09-27 01:10:01") == expect("next second", "later", "next day")
    # end alone: up to the end of that second.
    assert await filtered(end="2024-09-27 01:10:00") == expect("before", "at", "within")
    assert await filtered(end="2024-09-27 01:09:59") == expect("before")
    # both; a one-second range; a range holding nothing.
    assert await filtered(start="2024-09-27 01:10:00", end="2024-09-27 13:45:10") == expect(
        "at", "within", "next second", "later"
    )
    assert await filtered(start="2024-09-27 01:10:00", end="2024-09-27 01:10:00") == expect(
        "at", "within"
    )
    assert await filtered(start="2024-09-27 14:00:00", end="2024-09-27 23:59:59") == (0, [])
    assert await filtered(start="2024-09-28 00:00:00") == expect("next day")
    assert await filtered(start="2030-01-01 00:00:00") == (0, [])
    # Empty values are "not given" (what request templates send).
    assert await filtered(start="", end="") == everything
    # Paging within a filter.
    ranged = {"start": "2024-09-27 01:10:00", "end": "2024-09-27 13:45:10"}
    assert await get_list(client, account, fmt, filter=ranged, page=2, rowCount=3) == (
        4,
        [timed["later"]],
    )
    assert await get_list(client, account, fmt, filter=ranged, page=3, rowCount=3) == (4, [])


async def test_filters_are_istanbul_time(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    """Blocked at 22:10:00 UTC is 01:10:00 the next day in Istanbul (UTC+3)."""
    at = to_us(datetime(2024, 9, 26, 22, 10, 0, tzinfo=UTC))
    put(runtime, account, [(STORED, at)])
    one = (1, [NUMBER])
    assert await get_list(client, account, filter={"start": "2024-09-27 01:10:00"}) == one
    assert await get_list(client, account, filter={"end": "2024-09-27 01:10:00"}) == one
    assert await get_list(client, account, filter={"start": "2024-09-27 01:10:01"}) == (0, [])
    assert await get_list(client, account, filter={"end": "2024-09-27 01:09:59"}) == (0, [])
    # The same wall-clock time read as UTC would miss it.
    assert await get_list(client, account, filter={"start": "2024-09-26 22:10:01"}) == one
    assert await get_list(client, account, filter={"end": "2024-09-26 22:10:00"}) == (0, [])


BAD_DATES = [
    "27/09/2024 01:10:00",
    "2024-09-27T01:10:00",
    "2024-13-01 00:00:00",
    "2024-02-30 00:00:00",
    "2024-09-27 25:00:00",
    "2024-09-27 01:60:00",
    "yesterday",
    "2024-09-27 01:10:00 +03:00",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", BAD_DATES)
async def test_bad_date_is_458(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, bad: str, fmt: str
) -> None:
    put(runtime, account, [(STORED, istanbul("2024-09-27 01:10:00"))])
    good = "2024-09-27 01:10:00"
    for f in (
        {"start": bad},
        {"end": bad},
        {"start": bad, "end": good},
        {"start": good, "end": bad},
    ):
        assert await get_error(client, account, fmt, filter=f) == (458, BAD_DATE)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_start_after_end_is_458(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued, fmt: str
) -> None:
    put(runtime, account, [(STORED, istanbul("2024-09-27 01:10:00"))])
    for start, end in (
        ("2024-09-27 01:10:01", "2024-09-27 01:10:00"),
        ("2024-09-28 00:00:00", "2024-09-27 23:59:59"),
        ("2025-01-01 00:00:00", "2024-01-01 00:00:00"),
    ):
        f = {"start": start, "end": end}
        assert await get_error(client, account, fmt, filter=f) == (458, BAD_DATE)


# -- concurrency ------------------------------------------------------------------------------


async def test_concurrent_identical_adds_make_one_row(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    results = await asyncio.gather(*(add(client, account, NUMBER) for _ in range(50)))
    assert results == [(200, {"status": OK})] * 50
    assert await stored(runtime, account) == [STORED]
    assert await get_list(client, account) == (1, [NUMBER])
    assert await get_list(client, account, filter={"start": "2000-01-01 00:00:00"}) == (
        1,
        [NUMBER],
    )


async def test_concurrent_adds_in_mixed_forms_make_one_row(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    calls = [add(client, account, ACCEPTED_FORMS[i % len(ACCEPTED_FORMS)]) for i in range(44)]
    calls += [add(client, account, NUMBER, "xml") for _ in range(6)]
    results = await asyncio.gather(*calls)
    assert [status for status, _ in results] == [200] * 50
    assert await stored(runtime, account) == [STORED]
    assert await get_list(client, account) == (1, [NUMBER])


async def test_concurrent_adds_of_different_numbers_are_all_stored(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    wanted = [905330000000 + i for i in range(200)]
    results = await asyncio.gather(
        *(add(client, account, numbers.e164(n), "json" if n % 2 else "xml") for n in wanted)
    )
    assert [status for status, _ in results] == [200] * len(wanted)
    assert sorted(await stored(runtime, account)) == wanted
    count, listed = await get_list(client, account)
    assert (count, sorted(listed)) == (len(wanted), [numbers.e164(n) for n in wanted])
    filtered = await get_list(client, account, filter={"start": "2000-01-01 00:00:00"})
    assert filtered == (count, listed)


async def test_concurrent_deletes_of_one_number(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    await add(client, account, NUMBER)
    await add(client, account, "+905330000100")
    results = await asyncio.gather(*(delete(client, account, NUMBER) for _ in range(30)))
    assert sorted(status for status, _ in results) == [200] + [474] * 29
    assert {(s, b["status"]["code"]) for s, b in results} == {(200, 200), (474, 474)}
    assert await stored(runtime, account) == [905330000100]
    assert await get_list(client, account) == (1, ["+905330000100"])


async def test_concurrent_adds_and_deletes_of_different_numbers(
    runtime: Runtime, client: httpx.AsyncClient, account: Issued
) -> None:
    listed = [905330001000 + i for i in range(40)]
    put(runtime, account, [(n, istanbul("2024-09-27 01:10:00")) for n in listed])
    fresh = [905330002000 + i for i in range(40)]
    results = await asyncio.gather(
        *(delete(client, account, numbers.e164(n)) for n in listed),
        *(add(client, account, numbers.e164(n)) for n in fresh),
    )
    assert [status for status, _ in results] == [200] * 80
    assert sorted(await stored(runtime, account)) == fresh
    assert (await get_list(client, account))[0] == 40


# -- durability ---------------------------------------------------------------------------------


async def test_data_survives_a_restart(settings: Settings) -> None:
    first = Runtime.build(settings)
    await first.start()
    try:
        issued = await first.accounts.create("acme")
        async with client_of(first) as c:
            for number in ("05330000099", "+905330000100", "5330000101"):
                assert await add(c, issued, number) == (200, {"status": OK})
            assert await delete(c, issued, "+905330000100") == (200, {"status": OK})
        before = await entries(first, issued)
    finally:
        await first.stop()
    assert [(e.number, e.source) for e in before] == [(905330000099, "api"), (905330000101, "api")]

    second = Runtime.build(settings)
    await second.start()
    try:
        assert await entries(second, issued) == before
        async with client_of(second) as c:
            # The same credentials work, and the list reads back as it was.
            assert await get_list(c, issued) == (2, [NUMBER, "+905330000101"])
            assert await get_list(c, issued, "xml") == (2, [NUMBER, "+905330000101"])
            assert await add(c, issued, NUMBER) == (200, {"status": OK})
            assert await delete(c, issued, "+905330000100") == (474, {"status": NOT_LISTED})
        assert await entries(second, issued) == before
    finally:
        await second.stop()
