"""SQL for the sandbox outbox: every message with its order, text and account, newest
first, paged by message id (a keyset cursor, so deep pages cost what the first does).

Which index a search walks backwards: one recipient ``ix_messages_recipient``
(recipient, id); else one order ``ix_messages_order_id`` (order_id, id); else one
account ``ix_messages_account`` (account_id, id); else the primary key. The other
filters (sender, text, status, submit time) are checked on the rows walked; orders,
texts and accounts are primary-key lookups per row. Where a narrower index drives, the
account is compared on the order's row, so the planner is not tempted to walk all of
the account's messages instead.

The watcher's probes are index probes too: the newest message id (the primary key's
last entry) and a count over a short range of ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from ileti.store.schema import accounts, messages, order_texts, orders


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    order_id: int
    account_key: str
    account_name: str
    sender: str
    recipient: str  # E.164, or the recipient as given when invalid
    text: str
    parts: int
    status: int  # 110, 111, 112
    reason: str | None  # blacklisted, invalid, not_test_number, cancelled, undelivered
    charged: bool
    iys: bool
    submit_at: int  # microseconds, UTC
    send_at: int
    scheduled: bool
    dispatched: bool
    updated_at: int


_COLUMNS = (
    messages.c.id,
    messages.c.order_id,
    accounts.c.key.label("account_key"),
    accounts.c.name.label("account_name"),
    orders.c.sender,
    messages.c.recipient,
    order_texts.c.text,
    order_texts.c.parts,
    messages.c.status,
    messages.c.reason,
    messages.c.charged,
    orders.c.iys,
    orders.c.submit_at,
    orders.c.send_at,
    orders.c.scheduled,
    orders.c.dispatched,
    messages.c.updated_at,
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search keeps; None: no condition. Values are already parsed."""

    account_id: int | None = None
    order_id: int | None = None
    #: Exactly as stored: E.164 for a valid number, as written for an invalid one.
    recipient: str | None = None
    sender: str | None = None
    #: A substring of the text, case-sensitive, no wildcards.
    text: str | None = None
    status: int | None = None
    #: Submit time bounds in microseconds (UTC), both inclusive.
    since: int | None = None
    until: int | None = None
    #: Message id bounds, both exclusive.
    after: int | None = None
    before: int | None = None


def _contains(dialect: str, column: ColumnElement[str], part: str) -> ColumnElement[bool]:
    """A case-sensitive substring test with no wildcards (SQLite's LIKE ignores ASCII
    case, and ``%`` or ``_`` in ``part`` must stay plain characters)."""
    position = func.strpos if dialect == "postgresql" else func.instr
    return position(column, part) > 0


def search_query(dialect: str, filters: Filters, limit: int) -> Select[Any]:
    """The SELECT of ``search`` (``dialect``: sqlite or postgresql), for EXPLAIN too."""
    f = filters
    query = (
        select(*_COLUMNS)
        .select_from(messages)
        .join(orders, orders.c.id == messages.c.order_id)
        .join(
            order_texts,
            and_(
                order_texts.c.order_id == messages.c.order_id,
                order_texts.c.idx == messages.c.text_idx,
            ),
        )
        .join(accounts, accounts.c.id == messages.c.account_id)
    )
    if f.recipient is not None:
        # One recipient: walk (recipient, id); the order and account on the order's row.
        query = query.where(messages.c.recipient == f.recipient)
        if f.order_id is not None:
            query = query.where(orders.c.id == f.order_id)
        if f.account_id is not None:
            query = query.where(orders.c.account_id == f.account_id)
    elif f.order_id is not None:
        # One order: walk (order_id, id); the account on the order's row.
        query = query.where(messages.c.order_id == f.order_id)
        if f.account_id is not None:
            query = query.where(orders.c.account_id == f.account_id)
    elif f.account_id is not None:
        query = query.where(messages.c.account_id == f.account_id)
    if f.sender is not None:
        query = query.where(orders.c.sender == f.sender)
    if f.text is not None:
        query = query.where(_contains(dialect, order_texts.c.text, f.text))
    if f.status is not None:
        query = query.where(messages.c.status == f.status)
    if f.since is not None:
        query = query.where(orders.c.submit_at >= f.since)
    if f.until is not None:
        query = query.where(orders.c.submit_at <= f.until)
    if f.after is not None:
        query = query.where(messages.c.id > f.after)
    if f.before is not None:
        query = query.where(messages.c.id < f.before)
    return query.order_by(messages.c.id.desc()).limit(limit)


def search(conn: Connection, filters: Filters, limit: int) -> list[OutboxMessage]:
    """Up to ``limit`` messages that pass ``filters``, newest first."""
    rows = conn.execute(search_query(conn.dialect.name, filters, limit))
    return [
        OutboxMessage(
            id=row.id,
            order_id=row.order_id,
            account_key=row.account_key,
            account_name=row.account_name,
            sender=row.sender,
            recipient=row.recipient,
            text=row.text,
            parts=row.parts,
            status=row.status,
            reason=row.reason,
            charged=bool(row.charged),
            iys=bool(row.iys),
            submit_at=row.submit_at,
            send_at=row.send_at,
            scheduled=bool(row.scheduled),
            dispatched=bool(row.dispatched),
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def page(
    conn: Connection,
    *,
    account_id: int | None,
    order_id: int | None,
    before: int | None,
    limit: int,
) -> list[OutboxMessage]:
    """Up to ``limit`` messages with an id below ``before``, newest first."""
    return search(conn, Filters(account_id=account_id, order_id=order_id, before=before), limit)


def newest_id(conn: Connection) -> int:
    """The highest message id (0 when there is none): the primary key's last entry."""
    found = conn.execute(select(func.max(messages.c.id))).scalar_one()
    return int(found) if found is not None else 0


def count_between(conn: Connection, low: int, high: int) -> int:
    """How many messages have an id in (low, high]."""
    query = select(func.count()).where(messages.c.id > low, messages.c.id <= high)
    return int(conn.execute(query.select_from(messages)).scalar_one())
