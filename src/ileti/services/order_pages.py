"""What the panel shows of an account's orders: the list (newest first, filtered by
submit day, status and sender) and one order's report with every recipient's fate.

Both are keyset-paged and bounded: the list reads at most ``WALK`` orders a page when
a status or sender filter is set (a rare sender must not read every order), and says
where it stopped so the next page goes on from there.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sqlalchemy import Connection

from ileti.clock import SYSTEM, Clock, next_day, parse_day
from ileti.models import Order, OrderCounts
from ileti.services.relay_pages import OrderRelay, relay_of
from ileti.store import Store
from ileti.store import order_pages as page_store
from ileti.store import orders as order_store
from ileti.store.order_pages import OrderMessage

#: How an order stands, from its own row: not yet gone out, gone out, cancelled.
STATUSES = ("waiting", "sent", "cancelled")
PAGE = 50
REPORT_PAGE = 100
#: Orders read at most for one filtered page.
WALK = 2000
#: Texts of one order shown at most on its report.
TEXTS = 20
MAX_SENDER = 16
_CURSOR = re.compile(r"(\d{1,19})\.(\d{1,19})")


class OrderQueryError(ValueError):
    """A filter the order list cannot use; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def status_of(order: Order, now: int) -> str:
    """cancelled; waiting (not gone out yet: not dispatched, or a relayed order the
    upstream holds until its time); sent. The same rule as ``page_store.walk``'s
    ``status``."""
    if order.cancelled:
        return "cancelled"
    if not order.dispatched or (order.relay and order.scheduled and order.send_at > now):
        return "waiting"
    return "sent"


@dataclass(frozen=True, slots=True)
class OrderFilter:
    since: int | None = None
    until: int | None = None
    sender: str | None = None
    status: str | None = None

    @property
    def narrowing(self) -> bool:
        """Whether rows are dropped after they are read (the walk is then bounded)."""
        return self.sender is not None or self.status is not None


def _day(name: str, text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return parse_day(text)
    except ValueError:
        raise OrderQueryError(f"{name} is not Y-m-d", name) from None


def order_filter(
    *, start: str = "", end: str = "", sender: str = "", status: str = ""
) -> OrderFilter:
    """The filter from a form's values (empty: no condition); OrderQueryError naming the
    bad one. ``start`` and ``end`` are Istanbul days, both inclusive."""
    since = _day("start", start)
    last = _day("end", end)
    until = None
    if last is not None:
        try:
            until = next_day(last)
        except ValueError:
            raise OrderQueryError("no day after end", "end") from None
    if since is not None and until is not None and until <= since:
        raise OrderQueryError("end is before start", "end")
    sender = sender.strip()
    if len(sender) > MAX_SENDER:
        raise OrderQueryError(f"at most {MAX_SENDER} characters", "sender")
    status = status.strip()
    if status and status not in STATUSES:
        raise OrderQueryError(f"one of {', '.join(STATUSES)}", "status")
    return OrderFilter(since, until, sender or None, status or None)


def parse_cursor(raw: str | None) -> tuple[int, int] | None:
    if raw is None or raw == "":
        return None
    found = _CURSOR.fullmatch(raw)
    if found is None:
        raise OrderQueryError("not a page cursor", "cursor")
    return int(found.group(1)), int(found.group(2))


def cursor_of(order: Order) -> str:
    return f"{order.submit_at}.{order.id}"


@dataclass(frozen=True, slots=True)
class OrderList:
    orders: list[Order]
    #: The cursor of the next page; None when there is none.
    next: str | None
    #: The page ended because ``WALK`` orders were read, not because it was full.
    partial: bool


@dataclass(frozen=True, slots=True)
class OrderReport:
    order: Order
    counts: OrderCounts
    texts: list[tuple[str, int]]
    messages: list[OrderMessage]
    #: The ``after`` of the next page of messages; None on the last page.
    next_after: int | None


class OrderPages:
    def __init__(self, store: Store, *, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock

    async def list(
        self, account_id: int, found: OrderFilter, cursor: str | None = None, size: int = PAGE
    ) -> OrderList:
        start = parse_cursor(cursor)
        read = functools.partial(
            page_store.walk,
            since=found.since,
            until=found.until,
            cursor=start,
            limit=size + 1,
            sender=found.sender,
            status=found.status,
            now=self._clock.now_us(),
            window=WALK if found.narrowing else None,
        )
        rows, stopped = await self._store.read(read, account_id)
        if len(rows) > size:
            return OrderList(rows[:size], cursor_of(rows[size - 1]), False)
        if stopped is not None:
            return OrderList(rows, f"{stopped[0]}.{stopped[1]}", True)
        return OrderList(rows, None, False)

    async def report(
        self, account_id: int, order_id: int, after: int | None = None, size: int = REPORT_PAGE
    ) -> OrderReport | None:
        """One of the account's orders (None when it has no such order)."""
        return await self._store.read(_report, account_id, order_id, after, size)

    async def report_with_relay(
        self, account_id: int, order_id: int, after: int | None = None
    ) -> tuple[OrderReport, OrderRelay] | None:
        """An order's report and what the relay shows of it, read at one moment: a
        batch's outcome and its messages' statuses are written together, and two reads
        could show the one without the other."""

        def read(conn: Connection) -> tuple[OrderReport, OrderRelay] | None:
            found = _report(conn, account_id, order_id, after, REPORT_PAGE)
            return None if found is None else (found, relay_of(conn, account_id, found.order))

        return await self._store.read(read)


def _report(
    conn: Connection, account_id: int, order_id: int, after: int | None, size: int
) -> OrderReport | None:
    order = order_store.find(conn, account_id, order_id)
    if order is None:
        return None
    rows = page_store.order_messages(conn, order_id, after=after, limit=size + 1)
    more = len(rows) > size
    shown = rows[:size]
    return OrderReport(
        order=order,
        counts=order_store.counts(conn, order_id),
        texts=page_store.texts(conn, order_id, TEXTS),
        messages=shown,
        next_after=shown[-1].id if more else None,
    )
