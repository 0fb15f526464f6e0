"""SQL for orders, their texts and messages: the primitives the order service composes
into one transaction (blacklist lookup, balance, duplicates, inserts, cancellation),
and the reads of get-report and get-reports. No rule lives here: what is sendable,
what it costs and what is refused is decided by ``ileti.services.orders``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from ileti.errors import Code
from ileti.models import Order, OrderCounts
from ileti.store.schema import accounts, messages, order_texts, orders

SENDING, DELIVERED, UNDELIVERED = int(Code.SENDING), int(Code.DELIVERED), int(Code.UNDELIVERED)


@dataclass(frozen=True, slots=True)
class NewOrder:
    account_id: int
    sender: str
    iys: bool
    iys_list: str | None
    submit_at: int
    send_at: int
    scheduled: bool
    price: int
    fingerprint: str
    texts: Sequence[tuple[str, int]]  # (text, parts), by index
    #: (text index, recipient as shown, status, reason, charged), in request order.
    messages: Sequence[tuple[int, str, int, str | None, bool]]
    #: Forwarded to the account's upstream (services/relay.py), not simulated.
    relay: bool = False


_ORDER_COLUMNS = (
    orders.c.id,
    orders.c.account_id,
    orders.c.sender,
    orders.c.iys,
    orders.c.iys_list,
    orders.c.submit_at,
    orders.c.send_at,
    orders.c.scheduled,
    orders.c.dispatched,
    orders.c.cancelled,
    orders.c.total,
    orders.c.price,
    orders.c.relay,
    orders.c.relay_error,
)


def _order(row: Row[Any]) -> Order:
    return Order(
        id=row.id,
        account_id=row.account_id,
        sender=row.sender,
        iys=bool(row.iys),
        iys_list=row.iys_list,
        submit_at=row.submit_at,
        send_at=row.send_at,
        scheduled=bool(row.scheduled),
        dispatched=bool(row.dispatched),
        cancelled=bool(row.cancelled),
        total=row.total,
        price=row.price,
        relay=bool(row.relay),
        relay_error=row.relay_error,
    )


# -- the blacklist, looked up in bulk --------------------------------------------------

_LISTED_SQL = {
    "sqlite": (
        "SELECT number FROM blacklist WHERE account_id = ? "
        "AND number IN (SELECT value FROM json_each(?))"
    ),
    "postgresql": "SELECT number FROM blacklist WHERE account_id = %s AND number = ANY(%s)",
}


def listed(conn: Connection, account_id: int, numbers: list[int]) -> set[int]:
    """Which of ``numbers`` the account has blacklisted (one query, any count)."""
    if not numbers:
        return set()
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        argument: Any = json.dumps(numbers) if dialect == "sqlite" else numbers
        cursor.execute(_LISTED_SQL[dialect], (account_id, argument))
        return {row[0] for row in cursor.fetchall()}
    finally:
        cursor.close()


# -- creating an order -----------------------------------------------------------------

_MESSAGES_SQL = {
    "sqlite": (
        "INSERT INTO messages (order_id, account_id, text_idx, recipient, status, reason, "
        "charged, due_at, updated_at) "
        "SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, NULL, ? "
        "FROM json_each(?) ORDER BY key"
    ),
    "postgresql": (
        "INSERT INTO messages (order_id, account_id, text_idx, recipient, status, reason, "
        "charged, due_at, updated_at) "
        "SELECT %s, %s, t, r, s, w, c, NULL, %s "
        "FROM unnest(%s::int[], %s::text[], %s::int[], %s::text[], %s::boolean[]) "
        "WITH ORDINALITY AS m(t, r, s, w, c, n) ORDER BY n"
    ),
}


def _insert_messages(
    conn: Connection,
    order_id: int,
    account_id: int,
    now: int,
    rows: Sequence[tuple[int, str, int, str | None, bool]],
) -> None:
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "sqlite":
            payload = json.dumps([[t, r, s, w, 1 if c else 0] for t, r, s, w, c in rows])
            cursor.execute(_MESSAGES_SQL[dialect], (order_id, account_id, now, payload))
        else:
            cursor.execute(
                _MESSAGES_SQL[dialect],
                (
                    order_id,
                    account_id,
                    now,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                    [r[3] for r in rows],
                    [r[4] for r in rows],
                ),
            )
    finally:
        cursor.close()


def has_recent(conn: Connection, account_id: int, fingerprint: str, since: int) -> bool:
    """Whether the account has a live (not cancelled) order with this fingerprint
    submitted at or after ``since``."""
    row = conn.execute(
        select(orders.c.id)
        .where(
            orders.c.account_id == account_id,
            orders.c.fingerprint == fingerprint,
            orders.c.submit_at >= since,
            orders.c.cancelled.is_(False),
        )
        .limit(1)
    ).first()
    return row is not None


def insert_order(conn: Connection, new: NewOrder) -> int:
    """Store an order, its texts and its messages; its id."""
    order_id = int(
        conn.execute(
            insert(orders)
            .values(
                account_id=new.account_id,
                sender=new.sender,
                iys=new.iys,
                iys_list=new.iys_list,
                submit_at=new.submit_at,
                send_at=new.send_at,
                scheduled=new.scheduled,
                dispatched=False,
                cancelled=False,
                total=len(new.messages),
                price=new.price,
                fingerprint=new.fingerprint,
                relay=new.relay,
            )
            .returning(orders.c.id)
        ).scalar_one()
    )
    conn.execute(
        insert(order_texts),
        [
            {"order_id": order_id, "idx": idx, "text": text, "parts": parts}
            for idx, (text, parts) in enumerate(new.texts)
        ],
    )
    _insert_messages(conn, order_id, new.account_id, new.submit_at, new.messages)
    return order_id


# -- reading orders ----------------------------------------------------------------------


def find(conn: Connection, account_id: int, order_id: int) -> Order | None:
    row = conn.execute(
        select(*_ORDER_COLUMNS).where(orders.c.id == order_id, orders.c.account_id == account_id)
    ).first()
    return _order(row) if row is not None else None


def counts(conn: Connection, order_id: int) -> OrderCounts:
    found = dict(
        conn.execute(
            select(messages.c.status, func.count())
            .where(messages.c.order_id == order_id)
            .group_by(messages.c.status)
        ).all()
    )
    return OrderCounts(
        waiting=found.get(SENDING, 0),
        delivered=found.get(DELIVERED, 0),
        undelivered=found.get(UNDELIVERED, 0),
    )


def message_page(
    conn: Connection, order_id: int, *, offset: int, limit: int
) -> list[tuple[int, str, int]]:
    """(message id, recipient, status) in the order's own order."""
    rows = conn.execute(
        select(messages.c.id, messages.c.recipient, messages.c.status)
        .where(messages.c.order_id == order_id)
        .order_by(messages.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [(row.id, row.recipient, row.status) for row in rows]


def in_range(
    conn: Connection, account_id: int, *, start: int, end: int, offset: int, limit: int
) -> tuple[int, list[tuple[Order, OrderCounts]]]:
    """Orders submitted in [start, end), newest first, with their counters."""
    where = and_(
        orders.c.account_id == account_id, orders.c.submit_at >= start, orders.c.submit_at < end
    )
    total = int(conn.execute(select(func.count()).select_from(orders).where(where)).scalar_one())
    page = [
        _order(row)
        for row in conn.execute(
            select(*_ORDER_COLUMNS)
            .where(where)
            .order_by(orders.c.submit_at.desc(), orders.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ]
    return total, [(order, counts(conn, order.id)) for order in page]


# -- cancelling -----------------------------------------------------------------------------


def cancellable_price(conn: Connection, account_id: int, order_id: int, now: int) -> int | None:
    """The charge of the account's order if it is scheduled, not dispatched, not
    cancelled and not yet due (its row locked on PostgreSQL); None otherwise."""
    query = select(orders.c.price).where(
        orders.c.id == order_id,
        orders.c.account_id == account_id,
        orders.c.scheduled.is_(True),
        orders.c.dispatched.is_(False),
        orders.c.cancelled.is_(False),
        orders.c.send_at > now,
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    price = conn.execute(query).scalar()
    return None if price is None else int(price)


def mark_cancelled(conn: Connection, order_id: int, now: int) -> None:
    """The order cancelled and charged nothing; its waiting messages undelivered
    (reason ``cancelled``) and no longer charged."""
    conn.execute(update(orders).where(orders.c.id == order_id).values(cancelled=True, price=0))
    conn.execute(
        update(messages)
        .where(messages.c.order_id == order_id, messages.c.status == SENDING)
        .values(status=UNDELIVERED, reason="cancelled", charged=False, due_at=None, updated_at=now)
    )


# -- get-report polls (delivery mode "polls") ----------------------------------------------


def delivery_mode(conn: Connection, account_id: int) -> str | None:
    """The account's delivery mode (None: the server's delay)."""
    return conn.execute(select(accounts.c.delivery).where(accounts.c.id == account_id)).scalar()


def count_poll(conn: Connection, order_id: int) -> None:
    """One more get-report poll of the order."""
    conn.execute(update(orders).where(orders.c.id == order_id).values(polls=orders.c.polls + 1))
