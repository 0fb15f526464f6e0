"""The rules of send-sms as pure functions: the draft's checks and the plan (each
recipient's fate and reason, the cost), with no database."""

from __future__ import annotations

import pytest

from ileti import errors
from ileti.models import Account, OutgoingText, SendCommand
from ileti.services import order_rules
from ileti.values import MAX_ID, Page, order_id, page_of, whole

NOW = 1_800_000_000_000_000
ACCOUNT = Account(
    id=7,
    name="acme",
    key="k" * 32,
    hash_sha256="0" * 64,
    api_access=True,
    allow_ips=(),
    senders=("ILETI",),
    balance=100,
    blacklist_count=0,
    created_at=0,
    updated_at=0,
    test_number=905330000009,
)


def command(*texts: tuple[str, tuple[str, ...]], sender: str = "ILETI", **kw: str) -> SendCommand:
    return SendCommand(
        sender=sender,
        schedule=kw.get("schedule"),
        iys=kw.get("iys", "0"),
        iys_list=kw.get("iys_list"),
        texts=tuple(OutgoingText(text, numbers) for text, numbers in texts),
    )


def test_plan_skips_invalid_and_blacklisted_and_charges_parts_of_the_rest() -> None:
    long_text = "x" * 200  # two parts
    draft = order_rules.draft(
        ACCOUNT,
        command(
            ("kısa", ("+905330000001", "+905999000000", "05330000002")),
            (long_text, ("+905330000002", "+905330000001", "905330000001")),
        ),
        now=NOW,
    )
    plan = order_rules.plan(draft, blacklisted={905330000002})
    assert [(f.text_idx, f.shown, f.status, f.reason, f.charged) for f in plan.fates] == [
        (0, "+905330000001", 110, None, True),
        (0, "+905999000000", 112, "invalid", False),
        (0, "+905330000002", 112, "blacklisted", False),
        (1, "+905330000002", 112, "blacklisted", False),
        (1, "+905330000001", 110, None, True),  # the same number twice in a text: once
    ]
    assert (plan.cost, plan.sendable) == (1 + 2, 2)


def test_apitest_is_free_and_only_reaches_the_test_number() -> None:
    draft = order_rules.draft(
        ACCOUNT,
        command(("deneme", ("+905330000009", "+905330000001")), sender="APITEST", iys="1"),
        now=NOW,
    )
    assert draft.iys is False  # APITEST forces iys=0
    plan = order_rules.plan(draft, blacklisted=set())
    assert [(f.reason, f.charged) for f in plan.fates] == [
        (None, False),
        ("not_test_number", False),
    ]
    assert (plan.cost, plan.sendable) == (0, 1)


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (command(("a", ("+905330000001",)), sender=""), errors.EmptySender),
        (command(("a", ("+905330000001",)), sender="ÇOKUZUNBAŞLIK"), errors.BadSender),
        (command(("a", ("+905330000001",)), sender="OTHER"), errors.SenderNotAllowed),
        (command((" ", ("+905330000001",))), errors.EmptyText),
        (command(("x" * 2000, ("+905330000001",))), errors.OrderTooLarge),
        (command(("a", ("+905330000001",)), schedule="2026-01-01"), errors.BadSendDate),
        (command(("a", ("+905330000001",)), iys="2"), errors.IysMissing),
        (command(("a", ("+905330000001",)), iys="1", iys_list="X"), errors.IysListInvalid),
        (command(("a", ("+905330000001",)), iys="1", iys_list="TACIR"), errors.IysCodeMissing),
    ],
)
def test_draft_refuses_in_the_documented_order(cmd: SendCommand, error: type) -> None:
    with pytest.raises(error):
        order_rules.draft(ACCOUNT, cmd, now=NOW)


def test_whole_numbers_have_one_parser() -> None:
    assert [whole(v) for v in (None, "", " 7 ", 7, "-2", "+3")] == [None, None, 7, 7, -2, 3]
    for bad in ("abc", "1.5", "1e3", "٣", True):
        with pytest.raises(ValueError):
            whole(bad)  # type: ignore[arg-type]
    assert page_of(None, None) == Page(1, 1000)
    assert page_of("2", "5000") == Page(2, 1000)
    assert page_of(3, None, rows_max=30).offset == 60
    with pytest.raises(errors.PageOutOfRange):
        page_of("0", None)
    with pytest.raises(errors.Unprocessable):
        page_of("abc", None)
    with pytest.raises(errors.Unprocessable):
        page_of(None, "0")
    assert order_id(" 12 ") == 12
    for bad in (None, "", "abc", 0, -1, MAX_ID + 1):
        with pytest.raises(errors.OrderNotFound):
            order_id(bad)
