"""The rules of send-sms (spec §7) as pure functions: no database, no HTTP.

``draft`` runs every check that needs only the request and the account, in the
documented order: sender empty 459; too long or not ASCII 460; not approved 450; any
text empty 454; any text over 7 parts 453; bad ``sendDateTime`` 457; ``iys`` missing 468
(strict mode only); ``iys=1`` with a bad list 469; ``iys=1`` without a brand code 470.

``plan`` then decides, given which numbers the account has blacklisted and (iys=1)
the latest İYS status (type MESAJ, the order's list) of each recipient under the
account's brand, each recipient's fate and reason, the cost and whether anything can
be sent (452 when not). The order service runs the rest in one transaction: balance
402, duplicates 451, the rate limit 429, then the charge and the rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import NamedTuple

from ileti import numbers, parts
from ileti.chars import storable
from ileti.clock import parse_send_time
from ileti.errors import (
    BadSendDate,
    BadSender,
    Code,
    EmptySender,
    EmptyText,
    InvalidRecipients,
    IysCodeMissing,
    IysListInvalid,
    IysMissing,
    OrderTooLarge,
    SenderNotAllowed,
    Unprocessable,
)
from ileti.models import Account, OutgoingText, SendCommand

TEST_SENDER = "APITEST"
MAX_RECIPIENTS = 50_000
MAX_SENDER = 11
IYS_LISTS = ("BIREYSEL", "TACIR")
#: An invalid recipient is kept as written, up to this many characters.
MAX_SHOWN = 64
#: Distinct invalid recipients one request may name (each is kept, 112, free).
MAX_INVALID = 1_000

# Why a recipient was not sent, decided when the order is accepted.
BLACKLISTED = "blacklisted"
INVALID = "invalid"
NOT_TEST_NUMBER = "not_test_number"
#: iys=1: BIREYSEL without a current ONAY (no record); with a current RET (either list).
IYS_NO_CONSENT = "iys_no_consent"
IYS_RET = "iys_ret"
SENDING = int(Code.SENDING)  # 110
UNDELIVERED = int(Code.UNDELIVERED)  # 112
#: Reasons decided at submission: those messages never went out.
SKIPPED = frozenset({BLACKLISTED, INVALID, NOT_TEST_NUMBER, IYS_NO_CONSENT, IYS_RET})
IYS_TYPE = "MESAJ"
ONAY, RET = "ONAY", "RET"


class Recipient(NamedTuple):
    text_idx: int
    #: E.164 for a valid number; as written (storable) for an invalid one.
    shown: str
    #: The stored form (905XXXXXXXXX), None when invalid.
    number: int | None


@dataclass(frozen=True, slots=True)
class Draft:
    """A send-sms request that passed every check needing no database."""

    account_id: int
    sender: str
    iys: bool
    iys_list: str | None
    submit_at: int
    send_at: int
    scheduled: bool
    texts: tuple[tuple[str, int], ...]  # (text, parts)
    recipients: tuple[Recipient, ...]
    fingerprint: str
    #: APITEST: free, and only to the account's test number.
    free: bool = False
    only_number: int | None = None
    #: iys=1: the account's İYS brand code, under which consent is looked up.
    brand_code: str | None = None

    def valid_numbers(self) -> list[int]:
        return list({r.number for r in self.recipients if r.number is not None})


class Fate(NamedTuple):
    """What happens to one recipient: sent (110, charged unless free) or skipped (112).
    A plain tuple (50,000 of them in a large order), in the store's message-row order."""

    text_idx: int
    shown: str
    status: int
    reason: str | None
    charged: bool


@dataclass(frozen=True, slots=True)
class Plan:
    fates: tuple[Fate, ...]
    #: Credits: parts of each charged recipient's text.
    cost: int
    #: Recipients that go to the carrier.
    sendable: int


def check_sender(sender: str | None, account: Account) -> str:
    if sender is None or sender.strip() == "":
        raise EmptySender()
    if len(sender) > MAX_SENDER or not sender.isascii() or not sender.isprintable():
        raise BadSender(f"sender {sender!r}")
    if sender != TEST_SENDER and sender not in account.senders:
        raise SenderNotAllowed(f"sender {sender!r} is not approved")
    return sender


def check_texts(texts: tuple[OutgoingText, ...]) -> tuple[tuple[str, int], ...]:
    """Each text with its parts: 454 for an empty one, then 453 for one too long."""
    if not texts:
        raise EmptyText("no message")
    checked = []
    for outgoing in texts:
        text = outgoing.text
        if text is None or text.strip() == "":
            raise EmptyText()
        if "\x00" in text:  # no SMS alphabet has it, and PostgreSQL cannot store it
            raise Unprocessable("NUL character in a text")
        checked.append((text, parts.count(text).count))
    for _, count in checked:
        if count > parts.MAX_PARTS:
            raise OrderTooLarge(f"{count} parts")
    return tuple(checked)


def send_time(schedule: str | None, *, strict: bool, now: int) -> int | None:
    """When a scheduled order goes out (microseconds), or None for now (also for a time
    already past, and, unless strict, for a time with seconds, as the live service)."""
    if schedule is None or schedule.strip() == "":
        return None
    try:
        at, with_seconds = parse_send_time(schedule)
    except ValueError as exc:
        raise BadSendDate(f"not dd/MM/yyyy HH:mm: {schedule!r}") from exc
    if with_seconds:
        if strict:
            raise BadSendDate(f"seconds are not part of the format: {schedule!r}")
        return None
    return at if at > now else None


def check_iys(command: SendCommand, account: Account, *, test: bool) -> tuple[bool, str | None]:
    """(iys, iys list): 468, 469, 470 concern the request and the account only."""
    if test:
        return False, None  # APITEST forces iys=0
    raw = command.iys
    if raw is None or raw == "":
        if account.strict:
            raise IysMissing()
        return False, None
    if raw not in ("0", "1"):
        raise IysMissing(f"iys must be 0 or 1, not {raw!r}")
    if raw == "0":
        return False, None
    iys_list = (command.iys_list or "").strip().upper()
    if iys_list not in IYS_LISTS:
        raise IysListInvalid(f"iysList {command.iys_list!r}")
    if not account.brand_code:
        raise IysCodeMissing()
    return True, iys_list


def as_written(written: str) -> str:
    """How an invalid recipient is kept and shown: as written, cut to ``MAX_SHOWN``
    characters, each character XML cannot carry (NUL among them) as U+FFFD."""
    return storable(written[:MAX_SHOWN])


def recipients(texts: tuple[OutgoingText, ...]) -> tuple[Recipient, ...]:
    """Every recipient of every text: each valid number once per text, each invalid one
    once per text as written (``as_written``). 422 beyond ``MAX_RECIPIENTS`` written
    (all texts, duplicates included: counted before any is read); 452 beyond
    ``MAX_INVALID`` distinct invalid ones (junk beside one valid number would otherwise
    store a row each, free)."""
    written_count = sum(len(outgoing.recipients) for outgoing in texts)
    if written_count > MAX_RECIPIENTS:
        raise Unprocessable(f"{written_count} recipients; at most {MAX_RECIPIENTS} per request")
    out: list[Recipient] = []
    invalid = 0
    for idx, outgoing in enumerate(texts):
        seen: set[int] = set()
        seen_invalid: set[str] = set()
        for written in outgoing.recipients:
            stored = numbers.parse(written)
            if stored is None:
                shown = as_written(written)
                if shown in seen_invalid:
                    continue
                seen_invalid.add(shown)
                invalid += 1
                if invalid > MAX_INVALID:
                    raise InvalidRecipients(f"over {MAX_INVALID} invalid recipients")
                out.append(Recipient(idx, shown, None))
            elif stored not in seen:
                seen.add(stored)
                out.append(Recipient(idx, numbers.e164(stored), stored))
    return tuple(out)


def fingerprint(
    sender: str, texts: tuple[tuple[str, int], ...], found: tuple[Recipient, ...]
) -> str:
    """What makes two orders the same for 451: sender, texts and each text's recipients."""
    per_text: list[set[str]] = [set() for _ in texts]
    for recipient in found:
        per_text[recipient.text_idx].add(recipient.shown)
    pairs = zip(texts, per_text, strict=True)
    material = [sender, [[text, sorted(shown)] for (text, _), shown in pairs]]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()


def draft(account: Account, command: SendCommand, *, now: int) -> Draft:
    """Every check that needs no database, in the documented order."""
    sender = check_sender(command.sender, account)
    texts = check_texts(command.texts)
    send_at = send_time(command.schedule, strict=account.strict, now=now)
    test = sender == TEST_SENDER
    iys, iys_list = check_iys(command, account, test=test)
    found = recipients(command.texts)
    return Draft(
        account_id=account.id,
        sender=sender,
        iys=iys,
        iys_list=iys_list,
        submit_at=now,
        send_at=send_at if send_at is not None else now,
        scheduled=send_at is not None,
        texts=texts,
        recipients=found,
        fingerprint=fingerprint(sender, texts, found),
        free=test,
        only_number=(account.test_number or 0) if test else None,
        brand_code=account.brand_code if iys else None,
    )


def iys_reason(draft: Draft, status: str | None) -> str | None:
    """Why iys=1 drops a recipient whose latest status is ``status`` (None: no record),
    or None: BIREYSEL needs a current ONAY; TACIR is dropped only on a current RET."""
    if not draft.iys:
        return None
    if status == RET:
        return IYS_RET
    if draft.iys_list == "BIREYSEL" and status != ONAY:
        return IYS_NO_CONSENT
    return None


def plan(draft: Draft, blacklisted: set[int], consent: dict[int, str] | None = None) -> Plan:
    """Each recipient's fate: invalid, blacklisted, (iys=1) without consent
    (``iys_reason``; ``consent``: number -> latest status) and (APITEST) other than
    the test number are skipped with 112 and not charged; the rest go out and cost their
    text's parts (nothing for APITEST)."""
    fates: list[Fate] = []
    cost = 0
    sendable = 0
    statuses = consent or {}
    for r in draft.recipients:
        if r.number is None:
            fates.append(Fate(r.text_idx, r.shown, UNDELIVERED, INVALID, False))
        elif r.number in blacklisted:
            fates.append(Fate(r.text_idx, r.shown, UNDELIVERED, BLACKLISTED, False))
        elif draft.iys and (reason := iys_reason(draft, statuses.get(r.number))) is not None:
            fates.append(Fate(r.text_idx, r.shown, UNDELIVERED, reason, False))
        elif draft.only_number is not None and r.number != draft.only_number:
            fates.append(Fate(r.text_idx, r.shown, UNDELIVERED, NOT_TEST_NUMBER, False))
        else:
            fates.append(Fate(r.text_idx, r.shown, SENDING, None, not draft.free))
            sendable += 1
            if not draft.free:
                cost += draft.texts[r.text_idx][1]
    return Plan(tuple(fates), cost, sendable)
