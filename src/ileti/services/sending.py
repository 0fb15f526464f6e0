"""send-sms (spec §7): the checks in the documented order, part counting, the order
draft; the store then skips blacklisted and invalid recipients, charges and stores it
in one transaction.

Checks, in order: sender empty 459; too long or not ASCII 460; not approved 450; any
text empty 454; any text over 7 parts 453; bad ``sendDateTime`` 457; ``iys`` missing
468 (strict mode only); ``iys=1`` with a bad list 469; ``iys=1`` without a brand code
470; no valid, non-blacklisted recipient 452; balance short 402; the same sender, texts
and recipients within 10 minutes 451.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from ileti import numbers, parts
from ileti.clock import ISTANBUL, now_us, to_us
from ileti.errors import (
    BY_CODE,
    BadSendDate,
    BadSender,
    Code,
    EmptySender,
    EmptyText,
    IysCodeMissing,
    IysListInvalid,
    IysMissing,
    OrderTooLarge,
    SenderNotAllowed,
    Unprocessable,
)
from ileti.models import Account, OrderDraft
from ileti.store import Store
from ileti.store import orders as order_store
from ileti.wire.orders import MessageIn, OrderIn

TEST_SENDER = "APITEST"
MAX_RECIPIENTS = 50_000
MAX_SENDER = 11
IYS_LISTS = ("BIREYSEL", "TACIR")
DUPLICATE_WINDOW_US = 10 * 60 * 1_000_000
SEND_FORMAT = "%d/%m/%Y %H:%M"
SEND_FORMAT_SECONDS = "%d/%m/%Y %H:%M:%S"

#: Called with (account, recipient count) before an order is stored; raises
#: RateLimited when the account is over its limit.
Limiter = Callable[[Account, int], Awaitable[None]]


def check_sender(sender: str | None, account: Account) -> str:
    if sender is None or sender.strip() == "":
        raise EmptySender()
    if len(sender) > MAX_SENDER or not sender.isascii() or not sender.isprintable():
        raise BadSender(f"sender {sender!r}")
    if sender != TEST_SENDER and sender not in account.senders:
        raise SenderNotAllowed(f"sender {sender!r} is not approved")
    return sender


def _messages(order: OrderIn) -> list[MessageIn]:
    if order.message is None:
        return []
    return order.message if isinstance(order.message, list) else [order.message]


def check_texts(messages: list[MessageIn]) -> list[tuple[str, int]]:
    if not messages:
        raise EmptyText("no message")
    texts = []
    for message in messages:
        text = message.text
        if text is None or text.strip() == "":
            raise EmptyText()
        if "\x00" in text:  # no SMS alphabet has it, and PostgreSQL cannot store it
            raise Unprocessable("NUL character in a text")
        texts.append((text, parts.count(text).count))
    for _, count in texts:
        if count > parts.MAX_PARTS:
            raise OrderTooLarge(f"{count} parts")
    return texts


def send_time(value: list[str | None] | str | None, *, strict: bool, now: int) -> int | None:
    """When a scheduled order goes out (microseconds), or None for now."""
    if isinstance(value, list):
        if len(value) > 1:
            raise BadSendDate("more than one sendDateTime")
        value = value[0] if value else None
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        moment = datetime.strptime(text, SEND_FORMAT)
    except ValueError:
        try:
            datetime.strptime(text, SEND_FORMAT_SECONDS)
        except ValueError as exc:
            raise BadSendDate(f"not dd/MM/yyyy HH:mm: {text!r}") from exc
        if strict:
            raise BadSendDate(f"seconds are not part of the format: {text!r}") from None
        return None  # the live service ignores such a schedule and sends now
    at = to_us(moment.replace(tzinfo=ISTANBUL))
    return at if at > now else None


def check_iys(order: OrderIn, account: Account, *, test: bool) -> tuple[bool, str | None]:
    if test:
        return False, None  # APITEST forces iys=0
    raw = order.iys
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if account.strict:
            raise IysMissing()
        return False, None
    value = str(raw).strip()
    if value not in ("0", "1"):
        raise IysMissing(f"iys must be 0 or 1, not {raw!r}")
    if value == "0":
        return False, None
    iys_list = (order.iysList or "").strip().upper()
    if iys_list not in IYS_LISTS:
        raise IysListInvalid(f"iysList {order.iysList!r}")
    if not account.brand_code:
        raise IysCodeMissing()
    return True, iys_list


def _raw_numbers(message: MessageIn) -> list[Any]:
    recipients = message.receipents
    if recipients is None or isinstance(recipients, list):
        return list(recipients or [])
    number = recipients.number
    if number is None:
        return []
    return number if isinstance(number, list) else [number]


def recipients(messages: list[MessageIn]) -> list[tuple[int, str, int | None]]:
    """(text index, as shown, stored number or None) — each valid number once per text."""
    out: list[tuple[int, str, int | None]] = []
    for idx, message in enumerate(messages):
        seen: set[int] = set()
        for raw in _raw_numbers(message):
            if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int):
                continue
            text = str(raw).strip()
            if not text:
                continue
            stored = numbers.parse(text)
            if stored is None:  # kept as written, but storable everywhere (no NUL)
                out.append((idx, text[:64].replace("\x00", "\ufffd"), None))
            elif stored not in seen:
                seen.add(stored)
                out.append((idx, numbers.e164(stored), stored))
    if len(out) > MAX_RECIPIENTS:
        raise Unprocessable(f"{len(out)} recipients; at most {MAX_RECIPIENTS} per request")
    return out


def fingerprint(sender: str, texts: list[tuple[str, int]], rows: list[tuple[int, str, Any]]) -> str:
    per_text: list[set[str]] = [set() for _ in texts]
    for idx, shown, _ in rows:
        per_text[idx].add(shown)
    pairs = zip(texts, per_text, strict=True)
    material = [sender, [[text, sorted(shown)] for (text, _), shown in pairs]]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()


class SendingService:
    def __init__(self, store: Store, *, limiter: Limiter | None = None) -> None:
        self._store = store
        self._limiter = limiter

    def draft(self, account: Account, order: OrderIn | None, *, now: int) -> OrderDraft:
        """Every check that needs no database, in the documented order."""
        order = order or OrderIn()
        sender = check_sender(order.sender, account)
        messages = _messages(order)
        texts = check_texts(messages)
        send_at = send_time(order.sendDateTime, strict=account.strict, now=now)
        test = sender == TEST_SENDER
        iys, iys_list = check_iys(order, account, test=test)
        rows = recipients(messages)
        return OrderDraft(
            account_id=account.id,
            sender=sender,
            iys=iys,
            iys_list=iys_list,
            submit_at=now,
            send_at=send_at if send_at is not None else now,
            scheduled=send_at is not None,
            texts=texts,
            recipients=rows,
            fingerprint=fingerprint(sender, texts, rows),
            free=test,
            only_number=(account.test_number or 0) if test else None,
            duplicate_since=now - DUPLICATE_WINDOW_US,
        )

    async def send(self, account: Account, order: OrderIn | None) -> int:
        """Store the order; its id. Raises the documented error otherwise."""
        draft = self.draft(account, order, now=now_us())
        if not draft.recipients:
            raise BY_CODE[Code.INVALID_RECIPIENTS]("no recipients")
        if self._limiter is not None:
            await self._limiter(account, len(draft.recipients))
        outcome = await self._store.write(order_store.create, draft)
        if outcome.code != Code.OK:
            raise BY_CODE[Code(outcome.code)]()
        assert outcome.order_id is not None
        return outcome.order_id
