"""Orders after sending: get-report, get-reports, cancel-order (spec §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ileti.clock import ISTANBUL, now_us, to_us
from ileti.errors import (
    Code,
    DateRangeInvalid,
    OrderNotDue,
    OrderNotFound,
    PageOutOfRange,
    Unprocessable,
)
from ileti.models import Order, OrderCounts
from ileti.store import Store
from ileti.store import orders as order_store

MAX_ROWS = 1000
REPORTS_PAGE = 30
MAX_RANGE_DAYS = 10


def whole(value: Any, *, default: int | None = None) -> int | None:
    """A wire number (int or string of digits) -> int; None when absent; ValueError."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return default
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or not text.isascii():
        raise ValueError(value)
    return int(text)


def order_id(value: Any) -> int:
    try:
        found = whole(value)
    except ValueError as exc:
        raise OrderNotFound(f"order id {value!r}") from exc
    if found is None or found < 1 or found > 2**63 - 1:
        raise OrderNotFound(f"order id {value!r}")
    return found


def page_and_rows(page: Any, rows: Any, *, rows_max: int) -> tuple[int, int]:
    try:
        number = whole(page, default=1)
        count = whole(rows, default=rows_max)
    except ValueError as exc:
        raise Unprocessable(f"page {page!r} / rowCount {rows!r}") from exc
    assert number is not None and count is not None
    if number < 1:
        raise PageOutOfRange(f"page {number}")
    if count < 1:
        raise Unprocessable(f"rowCount {count}")
    return number, min(count, rows_max)


def order_status(order: Order, counts: OrderCounts) -> Code:
    if order.cancelled:
        return Code.ORDER_FAILED
    if counts.waiting:
        return Code.ORDER_IN_PROGRESS
    return Code.ORDER_COMPLETED


@dataclass(frozen=True)
class Report:
    order: Order
    counts: OrderCounts
    status: Code
    messages: list[tuple[int, str, int]]  # (message id, recipient, status)


def _day(text: Any, *, end: bool) -> int:
    if not isinstance(text, str) or not text.strip():
        raise DateRangeInvalid("start and end are required")
    try:
        day = datetime.strptime(text.strip()[:10], "%Y-%m-%d")
    except ValueError as exc:
        raise DateRangeInvalid(f"not Y-m-d: {text!r}") from exc
    if end:
        day += timedelta(days=1)
    return to_us(day.replace(tzinfo=ISTANBUL))


class ReportService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def report(self, account_id: int, raw_id: Any, page: Any, rows: Any) -> Report:
        oid = order_id(raw_id)
        number, count = page_and_rows(page, rows, rows_max=MAX_ROWS)
        order = await self._store.read(order_store.find, account_id, oid)
        if order is None:
            raise OrderNotFound(f"order {oid}")
        pending = order.scheduled and not order.dispatched and not order.cancelled
        if pending and order.send_at > now_us():
            raise OrderNotDue(f"order {oid} is scheduled")
        counts, messages = await self._store.read(_report_rows, oid, (number - 1) * count, count)
        return Report(order, counts, order_status(order, counts), messages)

    async def reports(
        self, account_id: int, start: Any, end: Any, page: Any
    ) -> tuple[int, list[tuple[Order, OrderCounts, Code]]]:
        since, until = _day(start, end=False), _day(end, end=True)
        days = (until - since) / (86_400 * 1_000_000)
        if until <= since or days > MAX_RANGE_DAYS + 1:
            raise DateRangeInvalid("start after end, or more than 10 days")
        number, _ = page_and_rows(page, None, rows_max=REPORTS_PAGE)
        total, found = await self._store.read(
            _range, account_id, since, until, (number - 1) * REPORTS_PAGE, REPORTS_PAGE
        )
        return total, [(order, counts, order_status(order, counts)) for order, counts in found]

    async def cancel(self, account_id: int, raw_id: Any) -> None:
        oid = order_id(raw_id)
        done = await self._store.write(order_store.cancel, (account_id, oid, now_us()))
        if not done:
            raise OrderNotFound(f"order {oid} cannot be cancelled")


def _report_rows(
    conn: Any, oid: int, offset: int, limit: int
) -> tuple[OrderCounts, list[tuple[int, str, int]]]:
    return order_store.counts(conn, oid), order_store.message_page(
        conn, oid, offset=offset, limit=limit
    )


def _range(
    conn: Any, account_id: int, since: int, until: int, offset: int, limit: int
) -> tuple[int, list[tuple[Order, OrderCounts]]]:
    return order_store.in_range(
        conn, account_id, start=since, end=until, offset=offset, limit=limit
    )
