"""İYS consent (spec §10) as a client sees it: consent/create stores a list whole or
refuses it whole (422, nothing stored, the sandbox's refusals view naming the record
and the rule), 403 for the brand, consent/show, the registry's rules (sources, dates,
3 business days with Turkish holidays, the history), send-sms with iys=1 dropping
recipients without consent (112, not charged), and a RET texted to 3338. Every test
runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.actions import consent_record
from tests.support.cli import create as cli_create
from tests.support.cli import ileti, run
from tests.support.clock import FakeClock
from tests.support.http import auth, call, control_headers
from tests.support.runtime import running
from tests.support.sms import A, B, C, balance, order_of, report, send, sent
from tests.support.spec import OK, error
from tests.support.stored import latest_consents, snapshot, stored_consents, stored_messages

BRAND = "696422"
D = "+905330000004"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Accepted messages stay 110 while a test looks at them."""
    return Settings(
        database_url=database_url, auth_refresh_seconds=0.1, delivery_delay_seconds=3600
    )


@pytest.fixture
async def acme(runtime: Runtime) -> Issued:
    return await runtime.accounts.create("acme", senders=("ILETI",), balance=1000, brand_code=BRAND)


def ago(delta: timedelta) -> str:
    """Now minus ``delta``, Istanbul, as a consentDate."""
    return (datetime.now(ISTANBUL) - delta).strftime("%Y-%m-%d %H:%M:%S")


async def create(
    client: httpx.AsyncClient, issued: Issued, records: Any, brand: Any = BRAND
) -> tuple[int, dict[str, Any]]:
    consent = {"brandCode": brand, "list": records}
    return await call(
        client, "consent/create", {"authentication": auth(issued), "consent": consent}
    )


async def show(
    client: httpx.AsyncClient,
    issued: Issued,
    recipient: Any,
    recipient_type: Any = "BIREYSEL",
    type_: Any = "MESAJ",
    brand: Any = BRAND,
) -> tuple[int, dict[str, Any]]:
    query = {"brandCode": brand, "recipient": recipient, "recipientType": recipient_type}
    query["type"] = type_
    return await call(client, "consent/show", {"authentication": auth(issued), "consent": query})


async def created(client: httpx.AsyncClient, issued: Issued, *records: dict[str, Any]) -> None:
    code, body = await create(client, issued, list(records))
    assert (code, body) == (200, {"status": OK}), body


async def refusals(client: httpx.AsyncClient, issued: Issued) -> list[dict[str, Any]]:
    r = await client.get("/_ileti/consent/refusals", headers=control_headers(issued))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["refusals"]
    return found


# -- consent/create and consent/show ------------------------------------------------------------


async def test_create_then_show(runtime: Runtime, client: httpx.AsyncClient, acme: Issued) -> None:
    when = ago(timedelta(hours=2))
    await created(
        client,
        acme,
        consent_record("0533 000 00 01", consentDate=when),
        consent_record(B, recipientType="TACIR", source="HS_ISLAK_IMZA", consentDate=when),
        consent_record("Ayse@Example.COM", type="EPOSTA", source="HS_EPOSTA", consentDate=when),
    )
    assert await stored_consents(runtime, acme.account.id) == [
        (BRAND, A, "BIREYSEL", "MESAJ", "ONAY", "HS_WEB", when, "api"),
        (BRAND, B, "TACIR", "MESAJ", "ONAY", "HS_ISLAK_IMZA", when, "api"),
        (BRAND, "ayse@example.com", "BIREYSEL", "EPOSTA", "ONAY", "HS_EPOSTA", when, "api"),
    ]
    before = await snapshot(runtime)
    code, body = await show(client, acme, "905330000001", brand=int(BRAND))
    assert (code, body) == (
        200,
        {
            "status": OK,
            "consent": {
                "brandCode": int(BRAND),
                "recipient": A,
                "recipientType": "BIREYSEL",
                "type": "MESAJ",
                "status": "ONAY",
                "source": "HS_WEB",
                "consentDate": when,
            },
        },
    )
    code, body = await show(client, acme, "ayse@example.com", type_="EPOSTA")
    assert code == 200 and body["consent"]["recipient"] == "ayse@example.com"
    # show charges nothing and changes nothing
    assert await snapshot(runtime) == before
    assert await balance(runtime, acme) == 1000


async def test_show_without_a_record_is_422(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(client, acme, consent_record(A))
    for args in ((B,), (A, "TACIR"), (A, "BIREYSEL", "ARAMA")):
        assert await show(client, acme, *args) == (422, error(422))
    for bad in ((A, "HERKES"), (A, "BIREYSEL", "SMS"), ("12345",), (None,), ({"x": 1},)):
        assert await show(client, acme, *bad) == (422, error(422))


async def test_a_list_of_5000_is_stored_and_5001_refused(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    many = [consent_record(f"+90533{n:07d}") for n in range(5001)]
    assert await create(client, acme, many) == (422, error(422))
    assert await stored_consents(runtime, acme.account.id) == []
    assert (await refusals(client, acme))[0]["problems"] == [
        {"index": None, "recipient": None, "field": "list", "rule": "1 to 5000 records, not 5001"}
    ]
    await created(client, acme, *many[:5000])
    assert len(await latest_consents(runtime, acme.account.id)) == 5000


# -- 403 ----------------------------------------------------------------------------------------


async def test_403_without_a_brand_code_or_with_another(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    plain = await runtime.accounts.create("plain", senders=("ILETI",), balance=10)
    before = await snapshot(runtime)
    assert await create(client, plain, [consent_record()]) == (403, error(403))
    assert await show(client, plain, A) == (403, error(403))
    for other in ("696423", 696423, " 1 "):
        assert await create(client, acme, [consent_record()], brand=other) == (403, error(403))
        assert await show(client, acme, A, brand=other) == (403, error(403))
    # the brand is checked before the list
    assert await create(client, acme, "not a list", brand="1") == (403, error(403))
    assert await snapshot(runtime) == before


async def test_brand_code_as_string_or_integer(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(client, acme, consent_record(A))
    code, _ = await create(client, acme, [consent_record(B)], brand=int(BRAND))
    assert code == 200
    for missing in (None, "", True, 1.5, [BRAND], {"code": BRAND}):
        assert await create(client, acme, [consent_record(C)], brand=missing) == (422, error(422))
    assert len(await stored_consents(runtime, acme.account.id)) == 2


# -- 422: one bad record refuses the whole list ---------------------------------------------------

EARLY = "2015-05-01 00:00:00"

# (id, the bad record, the field, the rule)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "recipient-type",
        consent_record(D, recipientType="KURUMSAL"),
        "recipientType",
        "BIREYSEL or TACIR",
    ),
    ("type", consent_record(D, type="SMS"), "type", "MESAJ, ARAMA or EPOSTA"),
    ("status", consent_record(D, status="EVET"), "status", "ONAY or RET"),
    ("status-lower", consent_record(D, status="onay"), "status", "ONAY or RET"),
    ("status-number", consent_record(D, status=1), "status", "ONAY or RET"),
    ("source", consent_record(D, source="HS_FAX"), "source", "one of the HS_ sources"),
    ("source-missing", consent_record(D, source=None), "source", "one of the HS_ sources"),
    (
        "source-iys",
        consent_record(D, source="IYS_KISAMESAJ"),
        "source",
        "IYS_ sources come from the registry, never from an upload",
    ),
    ("date-missing", consent_record(D, consentDate=None), "consentDate", "YYYY-MM-DD HH:MM:SS"),
    (
        "date-iso",
        consent_record(D, consentDate="2026-11-30T10:00:00"),
        "consentDate",
        "YYYY-MM-DD HH:MM:SS",
    ),
    (
        "date-day-only",
        consent_record(D, consentDate="2026-11-30"),
        "consentDate",
        "YYYY-MM-DD HH:MM:SS",
    ),
    (
        "date-no-such-day",
        consent_record(D, consentDate="2026-02-30 10:00:00"),
        "consentDate",
        "YYYY-MM-DD HH:MM:SS: no such date or time",
    ),
    ("date-number", consent_record(D, consentDate=20261130), "consentDate", "YYYY-MM-DD HH:MM:SS"),
    (
        "date-before-2015",
        consent_record(D, consentDate="2015-04-30 23:59:59"),
        "consentDate",
        "not before 2015-05-01 00:00:00",
    ),
    (
        "date-future",
        consent_record(D, consentDate=ago(timedelta(days=-3650))),
        "consentDate",
        "not in the future",
    ),
    (
        "date-old",
        consent_record(D, consentDate=ago(timedelta(days=10))),
        "consentDate",
        "older than 3 business days",
    ),
    (
        "hs2015-other-date",
        consent_record(D, source="HS_2015", consentDate=ago(timedelta(hours=1))),
        "consentDate",
        "HS_2015 only with 2015-05-01 00:00:00",
    ),
    ("hs-karar-onay", consent_record(D, source="HS_KARAR"), "source", "HS_KARAR only with RET"),
    ("phone-invalid", consent_record("+905999000000"), "recipient", "not a Turkish mobile number"),
    (
        "email-in-mesaj",
        consent_record("ayse@example.com"),
        "recipient",
        "not a Turkish mobile number",
    ),
    (
        "phone-in-eposta",
        consent_record(D, type="EPOSTA"),
        "recipient",
        "not an e-mail address: An email address must have an @-sign.",
    ),
    (
        "email-too-short",
        consent_record("a@b.c", type="EPOSTA"),
        "recipient",
        "an e-mail address of 6 to 265 characters",
    ),
    ("recipient-true", consent_record(True), "recipient", "a phone number: a string or an integer"),
    (
        "recipient-missing",
        consent_record(None),
        "recipient",
        "a phone number: a string or an integer",
    ),
    (
        "unknown-field",
        consent_record(D, channel="SMS"),
        "channel",
        "not a field of a consent record",
    ),
]


@pytest.mark.parametrize(("bad", "field", "rule"), [p[1:] for p in BAD], ids=[p[0] for p in BAD])
async def test_one_bad_record_refuses_the_list(
    runtime: Runtime,
    client: httpx.AsyncClient,
    acme: Issued,
    bad: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    before = await snapshot(runtime)
    good = [consent_record(A), consent_record(B)]
    assert await create(client, acme, [*good, bad]) == (422, error(422))
    assert await snapshot(runtime) == before
    (refusal,) = await refusals(client, acme)
    assert refusal["records"] == 3
    assert [p for p in refusal["problems"] if p["field"] == field] == [
        {"index": 2, "recipient": refusal["problems"][0]["recipient"], "field": field, "rule": rule}
    ]
    assert await balance(runtime, acme) == 1000


async def test_shapes_that_are_not_lists_or_records(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    before = await snapshot(runtime)
    for records in (None, "x", 5, {"recipient": A}, [], ["x"], [None], [[consent_record()]]):
        assert await create(client, acme, records) == (422, error(422)), records
    assert await snapshot(runtime) == before
    # a body that does not parse, or a consent that is not an object: 400
    body = b'{"request":{"authentication":{},"consent":{"list":[}}}'
    r = await client.post("/v1/consent/create/json", content=body)
    assert (r.status_code, r.json()["response"]) == (400, error(400))
    request = {"authentication": auth(acme), "consent": [consent_record()]}
    assert await call(client, "consent/create", request) == (400, error(400))


async def test_tacir_may_omit_date_and_source(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(
        client,
        acme,
        consent_record(A, recipientType="TACIR", source=None, consentDate=None),
        consent_record(A),  # BIREYSEL beside TACIR for the same address
    )
    code, body = await show(client, acme, A, "TACIR")
    assert code == 200
    assert body["consent"]["source"] is None
    assert body["consent"]["status"] == "ONAY"
    assert (await show(client, acme, A))[1]["consent"]["source"] == "HS_WEB"


async def test_duplicates_inside_one_list(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    same = [consent_record(A), consent_record("05330000001", status="RET")]
    assert await create(client, acme, same) == (422, error(422))
    assert (await refusals(client, acme))[0]["problems"] == [
        {"index": 1, "recipient": A, "field": "recipient", "rule": "same as record 0"}
    ]
    assert await stored_consents(runtime, acme.account.id) == []


async def test_the_history_rules(runtime: Runtime, client: httpx.AsyncClient, acme: Issued) -> None:
    t1, t2, t3 = ago(timedelta(hours=3)), ago(timedelta(hours=2)), ago(timedelta(hours=1))
    # the first record may not be RET
    assert await create(client, acme, [consent_record(A, status="RET")]) == (422, error(422))
    await created(client, acme, consent_record(A, consentDate=t2))
    # the same status twice in a row
    assert await create(client, acme, [consent_record(A, consentDate=t3)]) == (422, error(422))
    # a date not later than the stored one
    for when in (t1, t2):
        record = consent_record(A, status="RET", consentDate=when)
        assert await create(client, acme, [record]) == (422, error(422))
    assert [p["rule"] for r in await refusals(client, acme) for p in r["problems"]] == [
        "not later than the latest record's",
        "not later than the latest record's",
        "already ONAY",
        "the first record may not be RET",
    ]
    # one refused record keeps the good ones of its list out too
    both = [consent_record(B), consent_record(A, consentDate=t3)]
    assert await create(client, acme, both) == (422, error(422))
    await created(client, acme, consent_record(A, status="RET", source="HS_KARAR", consentDate=t3))
    await created(client, acme, consent_record(A, consentDate=ago(timedelta(minutes=1))))
    assert [(r[1], r[4], r[5]) for r in await stored_consents(runtime, acme.account.id)] == [
        (A, "ONAY", "HS_WEB"),
        (A, "RET", "HS_KARAR"),
        (A, "ONAY", "HS_WEB"),
    ]
    r = await client.get(
        "/_ileti/consent/history",
        params={"recipient": "05330000001"},
        headers=control_headers(acme),
    )
    assert [(x["status"], x["origin"]) for x in r.json()["records"]] == [
        ("ONAY", "api"),
        ("RET", "api"),
        ("ONAY", "api"),
    ]


async def test_hs2015_only_with_the_law_s_first_second(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    """HS_2015 must carry exactly 2015-05-01 00:00:00, a date long past its 3 business
    days: the registry no longer takes it, and neither does ileti."""
    record = consent_record(A, source="HS_2015", consentDate=EARLY)
    assert await create(client, acme, [record]) == (422, error(422))
    (refusal,) = await refusals(client, acme)
    assert [p["rule"] for p in refusal["problems"]] == ["older than 3 business days"]


# -- 3 business days, Turkish public holidays counted ------------------------------------------


def at_istanbul(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ISTANBUL)
    return int(moment.timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("now", "dated", "accepted"),
    [
        # Ramazan Bayramı 2026: Friday 20 March is a holiday. Dated Wednesday 18: Thursday
        # 19, Monday 23, Tuesday 24 are its 3 business days.
        ("2026-03-24 23:59:00", "2026-03-18 09:00:00", True),
        ("2026-03-25 00:00:01", "2026-03-18 09:00:00", False),
        # without the holiday Tuesday 17's deadline would be Friday 20; it is Monday 23
        ("2026-03-23 12:00:00", "2026-03-17 09:00:00", True),
        ("2026-03-24 08:00:00", "2026-03-17 09:00:00", False),
        # a weekend: dated Friday 27 November, until Wednesday 2 December
        ("2026-12-02 23:00:00", "2026-11-27 18:00:00", True),
        ("2026-12-03 00:30:00", "2026-11-27 18:00:00", False),
        # Kurban Bayramı 2026 (27-30 May) and the weekend: dated Tuesday 26 May, until
        # Wednesday 3 June
        ("2026-06-03 10:00:00", "2026-05-26 10:00:00", True),
        ("2026-06-04 10:00:00", "2026-05-26 10:00:00", False),
    ],
)
async def test_three_business_days(
    settings: Settings, now: str, dated: str, accepted: bool
) -> None:
    clock = FakeClock(at_istanbul(now))
    async with running(settings, clock=clock) as (rt, client):
        acme = await rt.accounts.create("acme", brand_code=BRAND)
        code, _ = await create(client, acme, [consent_record(A, consentDate=dated)])
        assert code == (200 if accepted else 422)
        assert len(await stored_consents(rt, acme.account.id)) == (1 if accepted else 0)


# -- send-sms with iys=1 -----------------------------------------------------------------------


async def test_iys_bireysel_sends_only_to_a_current_onay(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(
        client,
        acme,
        consent_record(A),
        consent_record(B, consentDate=ago(timedelta(hours=2))),
        consent_record(C, recipientType="TACIR"),
        consent_record(D, type="ARAMA"),
    )
    await created(client, acme, consent_record(B, status="RET"))
    order = order_of([A, B, C, D, "+905999000000"], iys="1", iysList="BIREYSEL")
    order_id = await sent(client, acme, order)
    assert await stored_messages(runtime, order_id) == [
        (A, 110, None, True),
        (B, 112, "iys_ret", False),
        (C, 112, "iys_no_consent", False),  # a TACIR record is not a BIREYSEL one
        (D, 112, "iys_no_consent", False),  # ARAMA is not MESAJ
        ("+905999000000", 112, "invalid", False),
    ]
    assert await balance(runtime, acme) == 999
    _, body = await report(client, acme, order_id)
    assert [(m["number"], m["status"]) for m in body["order"]["message"]] == [
        (A, 110),
        (B, 112),
        (C, 112),
        (D, 112),
        ("+905999000000", 112),
    ]
    r = await client.get(
        "/_ileti/outbox", params={"order": order_id}, headers=control_headers(acme)
    )
    assert {m["recipient"]: m["reason"] for m in r.json()["messages"]}[C] == "iys_no_consent"


async def test_iys_tacir_drops_only_a_current_ret(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(
        client,
        acme,
        consent_record(A, recipientType="TACIR", consentDate=ago(timedelta(hours=2))),
        consent_record(B, recipientType="TACIR"),
        consent_record(C),  # BIREYSEL RET below: not the TACIR list's
    )
    await created(
        client,
        acme,
        consent_record(A, recipientType="TACIR", status="RET"),
        consent_record(C, status="RET", consentDate=ago(timedelta(seconds=1))),
    )
    order_id = await sent(client, acme, order_of([A, B, C, D], iys=1, iysList="TACIR"))
    assert await stored_messages(runtime, order_id) == [
        (A, 112, "iys_ret", False),
        (B, 110, None, True),
        (C, 110, None, True),
        (D, 110, None, True),  # no record: a TACIR is dropped only on RET
    ]
    assert await balance(runtime, acme) == 997


async def test_iys_0_and_apitest_skip_iys(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    order_id = await sent(client, acme, order_of([A, B], iys="0"))
    assert [m[1] for m in await stored_messages(runtime, order_id)] == [110, 110]
    tester = await runtime.accounts.create(
        "tester", senders=("ILETI",), balance=10, brand_code=BRAND, test_number=A
    )
    order = order_of([A], sender="APITEST", iys="1", iysList="BIREYSEL")
    order_id = await sent(client, tester, order)
    assert [m[1] for m in await stored_messages(runtime, order_id)] == [110]


async def test_iys_nobody_left_is_452_and_nothing_charged(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    request = {"authentication": auth(acme), "blacklist": {"number": A}}
    assert (await call(client, "add-blacklist", request))[0] == 200
    await created(
        client, acme, consent_record(A), consent_record(B, consentDate=ago(timedelta(hours=1)))
    )
    await created(client, acme, consent_record(B, status="RET"))
    before = await snapshot(runtime)
    code, body = await send(client, acme, order_of([A, B, C], iys="1", iysList="BIREYSEL"))
    assert (code, body) == (452, error(452))
    assert await snapshot(runtime) == before
    assert await balance(runtime, acme) == 1000


async def test_iys_is_per_brand(runtime: Runtime, client: httpx.AsyncClient, acme: Issued) -> None:
    """A record belongs to the brand it was recorded under: a new brand code starts
    without consent."""
    await created(client, acme, consent_record(A))
    r = await client.patch(
        f"/_ileti/accounts/{acme.account.key}",
        json={"brand_code": "777777"},
        headers=control_headers(acme),
    )
    assert r.status_code == 200
    code, body = await send(client, acme, order_of([A], iys="1", iysList="BIREYSEL"))
    assert (code, body) == (452, error(452))
    assert await show(client, acme, A, brand="777777") == (422, error(422))


# -- RET <BRAND> to 3338 -------------------------------------------------------------------------


async def inbound(
    client: httpx.AsyncClient, issued: Issued, sender: str, to: str, text: str
) -> dict[str, Any]:
    r = await client.post(
        "/_ileti/inbound",
        json={"from": sender, "to": to, "text": text},
        headers=control_headers(issued),
    )
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_ret_to_3338_is_an_iys_ret(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(client, acme, consent_record(A), consent_record(B, recipientType="TACIR"))
    got = await inbound(client, acme, "0533 000 00 01", "3338", f"ret  {BRAND}")
    assert (got["action"], got["keyword"], got["already_listed"]) == ("iys_ret", "RET", False)
    code, body = await show(client, acme, A)
    assert code == 200
    assert (body["consent"]["status"], body["consent"]["source"]) == ("RET", "IYS_KISAMESAJ")
    # by the account's name too; a recipient without any record gets its first, a RET
    got = await inbound(client, acme, B, "3338", "RET ACME")
    assert got["action"] == "iys_ret"
    assert (await show(client, acme, B, "TACIR"))[1]["consent"]["status"] == "RET"
    assert (await show(client, acme, B))[1]["consent"]["source"] == "IYS_KISAMESAJ"
    # again: nothing more recorded
    got = await inbound(client, acme, A, "3338", f"RET {BRAND}")
    assert got["already_listed"] is True
    assert [r[4:6] for r in await stored_consents(runtime, acme.account.id)] == [
        ("ONAY", "HS_WEB"),
        ("ONAY", "HS_WEB"),
        ("RET", "IYS_KISAMESAJ"),
        ("RET", "IYS_KISAMESAJ"),
        ("RET", "IYS_KISAMESAJ"),
    ]
    # send-sms honours it; the blacklist is untouched
    code, body = await send(client, acme, order_of([A], iys="1", iysList="BIREYSEL"))
    assert (code, body) == (452, error(452))
    code, body = await call(client, "get-blacklist", {"authentication": auth(acme)})
    assert body["blacklist"]["count"] == 0


async def test_other_texts_to_3338_record_nothing(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(client, acme, consent_record(A))
    for to, text in (("3338", "RET"), ("3338", "RET 111111"), ("3338", f"RET {BRAND} lütfen"),
                     ("3339", f"RET {BRAND}")):  # fmt: skip
        got = await inbound(client, acme, A, to, text)
        assert got["action"] is None, text
    assert (await show(client, acme, A))[1]["consent"]["status"] == "ONAY"
    plain = await runtime.accounts.create("plain")
    got = await inbound(client, plain, A, "3338", "RET PLAIN")  # no brand code: nothing
    assert got["action"] is None


# -- the refusals view -----------------------------------------------------------------------


async def test_refusals_name_every_problem(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    records = [
        consent_record(A),
        consent_record("123", status="EVET"),
        consent_record(B, source="HS_KARAR"),
    ]
    assert await create(client, acme, records) == (422, error(422))
    (refusal,) = await refusals(client, acme)
    assert refusal["records"] == 3
    assert [(p["index"], p["recipient"], p["field"], p["rule"]) for p in refusal["problems"]] == [
        (1, "123", "status", "ONAY or RET"),
        (1, "123", "recipient", "not a Turkish mobile number"),
        (2, B, "source", "HS_KARAR only with RET"),
    ]
    # another account sees none of it
    other = await runtime.accounts.create("other", brand_code="1")
    assert await refusals(client, other) == []


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_add_show_import_export(database_url: str, tmp_path: Path) -> None:
    cli_create(database_url, "acme", "--key", "acme", "--brand-code", BRAND)
    one_hour = ago(timedelta(hours=1))
    assert run(database_url, "consent", "add", "acme", "0533 000 00 01", "--date", one_hour) == (
        "ONAY recorded for 0533 000 00 01 (BIREYSEL MESAJ).\n"
    )
    run(database_url, "consent", "add", "acme", A, "--status", "RET", "--source", "HS_KARAR")
    # the same status twice: refused, every problem named, nothing stored
    refused = ileti(database_url, "consent", "add", "acme", A, "--status", "RET")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"record 0 ({A}): status: already RET",
        "Error: refused: 1 problem(s), nothing stored",
    ]
    shown = json.loads(run(database_url, "consent", "show", "acme", "05330000001", "--json"))
    assert [(r["status"], r["source"], r["origin"]) for r in shown] == [
        ("RET", "HS_KARAR", "cli"),
        ("ONAY", "HS_FIZIKSEL_ORTAM", "cli"),
    ]
    # import: stored whole, or refused whole with each problem's line
    good = tmp_path / "good.csv"
    good.write_text(
        "recipient,recipientType,type,status,source,consentDate\n"
        f"{B},BIREYSEL,MESAJ,ONAY,HS_WEB,{one_hour}\n"
        f"ayse@example.com,BIREYSEL,EPOSTA,ONAY,HS_EPOSTA,{one_hour}\n"
        f"{C},TACIR,MESAJ,ONAY,,\n"
    )
    assert run(database_url, "consent", "import", "acme", str(good)) == (
        "3 consent record(s) imported.\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "recipient,recipientType,type,status,source,consentDate\n"
        f"{D},BIREYSEL,MESAJ,ONAY,HS_WEB,{one_hour}\n"
        f"{B},BIREYSEL,MESAJ,EVET,HS_WEB,{one_hour}\n"
    )
    refused = ileti(database_url, "consent", "import", "acme", str(bad))
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == f"{bad}:3 ({B}): status: ONAY or RET"
    exported = run(database_url, "consent", "export", "acme").splitlines()
    assert exported[0] == "recipient,recipientType,type,status,source,consentDate"
    assert [line.split(",")[:5] for line in exported[1:]] == [
        [A, "BIREYSEL", "MESAJ", "RET", "HS_KARAR"],
        [B, "BIREYSEL", "MESAJ", "ONAY", "HS_WEB"],
        [C, "TACIR", "MESAJ", "ONAY", ""],
        ["ayse@example.com", "BIREYSEL", "EPOSTA", "ONAY", "HS_EPOSTA"],
    ]
    # an account without a brand code
    cli_create(database_url, "plain", "--key", "plain")
    refused = ileti(database_url, "consent", "add", "plain", A)
    assert refused.exit_code == 1
    assert "403" in refused.stderr


# -- what the panel reads (the service) -----------------------------------------------------------


async def test_history_and_search_for_the_panel(
    runtime: Runtime, client: httpx.AsyncClient, acme: Issued
) -> None:
    await created(
        client,
        acme,
        consent_record(A, consentDate=ago(timedelta(hours=1))),
        consent_record(A, recipientType="TACIR"),
        consent_record(B),
        consent_record("ali@example.com", type="EPOSTA", source="HS_EPOSTA"),
    )
    await created(client, acme, consent_record(A, status="RET"))
    history = await runtime.consent.history(acme.account.id, "0533 000 00 01")
    assert [(h.consent.recipient_type, h.consent.status) for h in history] == [
        ("BIREYSEL", "RET"),
        ("TACIR", "ONAY"),
        ("BIREYSEL", "ONAY"),
    ]
    assert [h.origin for h in history] == ["api", "api", "api"]
    # search by the start of a recipient: a number in any written form, or an address
    for prefix in ("0533000000", "533000000", "+90533000000", "90533000000"):
        found = await runtime.consent.search(acme.account.id, prefix)
        assert [
            (f.consent.recipient, f.consent.recipient_type, f.consent.status) for f in found
        ] == [
            (A, "BIREYSEL", "RET"),
            (A, "TACIR", "ONAY"),
            (B, "BIREYSEL", "ONAY"),
        ], prefix
    found = await runtime.consent.search(acme.account.id, "ali@")
    assert [f.consent.recipient for f in found] == ["ali@example.com"]
    assert len(await runtime.consent.search(acme.account.id, "", limit=2)) == 2
    found = await runtime.consent.search(acme.account.id, "", after=A)
    assert [f.consent.recipient for f in found] == [B, "ali@example.com"]
    # another account sees none of it
    other = await runtime.accounts.create("other", brand_code=BRAND)
    assert await runtime.consent.history(other.account.id, A) == []
    assert await runtime.consent.search(other.account.id, "") == []
