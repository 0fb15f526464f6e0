"""SQL for the panel's order pages: an account's orders newest first and one order's
messages, both paged by keyset (never OFFSET), each read bounded.

The orders walk ``ix_orders_account_submit`` (account_id, submit_at) backwards from a
cursor (submit_at, id); one order's messages walk ``ix_messages_order_id`` (order_id,
id) from a message id; the order's counters come from ``ix_messages_order_status``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, not_, or_, select

from ileti.models import Order
from ileti.store.orders import _ORDER_COLUMNS, _order
from ileti.store.schema import messages, order_texts, orders


@dataclass(frozen=True, slots=True)
class OrderMessage:
    id: int
    recipient: str
    status: int
    reason: str | None
    charged: bool
    parts: int


def _range(
    account_id: int,
    since: int | None,
    until: int | None,
    cursor: tuple[int, int] | None,
) -> list[ColumnElement[bool]]:
    """Where the walk goes: the account's orders in [since, until), below ``cursor``."""
    where = [orders.c.account_id == account_id]
    if since is not None:
        where.append(orders.c.submit_at >= since)
    if until is not None:
        where.append(orders.c.submit_at < until)
    if cursor is not None:
        at, oid = cursor
        where.append(orders.c.submit_at <= at)
        where.append(
            or_(orders.c.submit_at < at, and_(orders.c.submit_at == at, orders.c.id < oid))
        )
    return where


def _status(status: str, now: int) -> ColumnElement[bool]:
    held = and_(orders.c.relay.is_(True), orders.c.scheduled.is_(True), orders.c.send_at > now)
    if status == "cancelled":
        return orders.c.cancelled.is_(True)
    gone = or_(orders.c.dispatched.is_(False), held)
    return and_(orders.c.cancelled.is_(False), gone if status == "waiting" else not_(gone))


def walk(
    conn: Connection,
    account_id: int,
    *,
    since: int | None,
    until: int | None,
    cursor: tuple[int, int] | None,
    limit: int,
    sender: str | None = None,
    status: str | None = None,
    now: int = 0,
    window: int | None = None,
) -> tuple[list[Order], tuple[int, int] | None]:
    """Up to ``limit`` of the account's orders submitted in [since, until), newest first
    (submit time, then id), below ``cursor`` (submit_at, id) when given, that have
    ``sender`` and the ``status`` asked for at ``now`` (None: any): cancelled; waiting
    (not cancelled, and not dispatched or a relayed scheduled order not yet due: the
    upstream holds it); sent (the rest).

    With ``window``, only that many orders are looked at (newest first): the second
    value is then the (submit_at, id) of the last one looked at when the window was
    used up without ``limit`` matches (None otherwise), where the next walk goes on."""
    order_by = (orders.c.submit_at.desc(), orders.c.id.desc())
    where = _range(account_id, since, until, cursor)
    query = select(*_ORDER_COLUMNS)
    looked = None
    if window is not None:
        # The window: the next ``window`` orders' keys, read from the index alone.
        keys = select(orders.c.id, orders.c.submit_at).where(*where)
        looked = keys.order_by(*order_by).limit(window).subquery()
        query = query.where(orders.c.id.in_(select(looked.c.id)))
    else:
        query = query.where(*where)
    if sender is not None:
        query = query.where(orders.c.sender == sender)
    if status is not None:
        query = query.where(_status(status, now))
    found = [_order(row) for row in conn.execute(query.order_by(*order_by).limit(limit))]
    if looked is None or len(found) == limit:
        return found, None
    walked = conn.execute(select(func.count()).select_from(looked)).scalar_one()
    if walked < (window or 0):
        return found, None
    last = conn.execute(
        select(looked.c.submit_at, looked.c.id)
        .order_by(looked.c.submit_at.asc(), looked.c.id.asc())
        .limit(1)
    ).one()
    return found, (last.submit_at, last.id)


def order_messages(
    conn: Connection, order_id: int, *, after: int | None, limit: int
) -> list[OrderMessage]:
    """Up to ``limit`` of the order's messages with an id above ``after``, in id order."""
    query = (
        select(
            messages.c.id,
            messages.c.recipient,
            messages.c.status,
            messages.c.reason,
            messages.c.charged,
            order_texts.c.parts,
        )
        .select_from(messages)
        .join(
            order_texts,
            and_(
                order_texts.c.order_id == messages.c.order_id,
                order_texts.c.idx == messages.c.text_idx,
            ),
        )
        .where(messages.c.order_id == order_id)
    )
    if after is not None:
        query = query.where(messages.c.id > after)
    query = query.order_by(messages.c.id).limit(limit)
    return [
        OrderMessage(r.id, r.recipient, r.status, r.reason, bool(r.charged), r.parts)
        for r in conn.execute(query)
    ]


def texts(conn: Connection, order_id: int, limit: int) -> list[tuple[str, int]]:
    """The order's first ``limit`` texts (text, parts), by index."""
    rows = conn.execute(
        select(order_texts.c.text, order_texts.c.parts)
        .where(order_texts.c.order_id == order_id)
        .order_by(order_texts.c.idx)
        .limit(limit)
    )
    return [(r.text, r.parts) for r in rows]
