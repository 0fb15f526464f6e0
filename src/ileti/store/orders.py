"""SQL for orders, their texts and messages: creating an order (blacklist, balance and
duplicate checks in one transaction), reports, cancellation."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from ileti.models import Order, OrderCounts, OrderDraft, OrderOutcome
from ileti.store.schema import accounts, messages, order_texts, orders

SENDING, DELIVERED, UNDELIVERED = 110, 111, 112

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
    rows: list[tuple[int, str, int, str | None, bool]],
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


def _balance_for_update(conn: Connection, account_id: int) -> int:
    query = select(accounts.c.balance).where(accounts.c.id == account_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int(conn.execute(query).scalar_one())


def _is_duplicate(conn: Connection, draft: OrderDraft) -> bool:
    row = conn.execute(
        select(orders.c.id)
        .where(
            orders.c.account_id == draft.account_id,
            orders.c.fingerprint == draft.fingerprint,
            orders.c.submit_at >= draft.duplicate_since,
            orders.c.cancelled.is_(False),
        )
        .limit(1)
    ).first()
    return row is not None


def _create_one(conn: Connection, draft: OrderDraft) -> OrderOutcome:
    valid = list({n for _, _, n in draft.recipients if n is not None})
    blocked = listed(conn, draft.account_id, valid)
    rows: list[tuple[int, str, int, str | None, bool]] = []
    cost = 0
    sendable = 0
    for idx, shown, number in draft.recipients:
        if number is None:
            rows.append((idx, shown, UNDELIVERED, "invalid", False))
        elif number in blocked:
            rows.append((idx, shown, UNDELIVERED, "blacklisted", False))
        elif draft.only_number is not None and number != draft.only_number:
            rows.append((idx, shown, UNDELIVERED, "not_test_number", False))
        else:
            rows.append((idx, shown, SENDING, None, not draft.free))
            sendable += 1
            if not draft.free:
                cost += draft.texts[idx][1]
    if sendable == 0:
        return OrderOutcome(452)
    if _balance_for_update(conn, draft.account_id) < cost:
        return OrderOutcome(402)
    if _is_duplicate(conn, draft):
        return OrderOutcome(451)
    if cost:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == draft.account_id)
            .values(balance=accounts.c.balance - cost)
        )
    order_id = conn.execute(
        insert(orders)
        .values(
            account_id=draft.account_id,
            sender=draft.sender,
            iys=draft.iys,
            iys_list=draft.iys_list,
            submit_at=draft.submit_at,
            send_at=draft.send_at,
            scheduled=draft.scheduled,
            dispatched=False,
            cancelled=False,
            total=len(rows),
            price=cost,
            fingerprint=draft.fingerprint,
        )
        .returning(orders.c.id)
    ).scalar_one()
    conn.execute(
        insert(order_texts),
        [
            {"order_id": order_id, "idx": idx, "text": text, "parts": parts}
            for idx, (text, parts) in enumerate(draft.texts)
        ],
    )
    _insert_messages(conn, order_id, draft.account_id, draft.submit_at, rows)
    return OrderOutcome(200, order_id)


def create(conn: Connection, drafts: list[OrderDraft]) -> list[OrderOutcome]:
    """Batched send-sms: each draft checked against the blacklist, the balance and
    recent orders, then charged and stored, in the writer's transaction."""
    return [_create_one(conn, draft) for draft in drafts]


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


def texts(conn: Connection, order_id: int) -> list[str]:
    rows = conn.execute(
        select(order_texts.c.text)
        .where(order_texts.c.order_id == order_id)
        .order_by(order_texts.c.idx)
    )
    return [row.text for row in rows]


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


def cancel(conn: Connection, items: list[tuple[int, int, int]]) -> list[bool]:
    """(account id, order id, now): cancel an order not yet dispatched, refund its
    charge, mark its waiting messages undelivered. False when it cannot be cancelled."""
    results = []
    for account_id, order_id, now in items:
        changed = conn.execute(
            update(orders)
            .where(
                orders.c.id == order_id,
                orders.c.account_id == account_id,
                orders.c.scheduled.is_(True),
                orders.c.dispatched.is_(False),
                orders.c.cancelled.is_(False),
                orders.c.send_at > now,
            )
            .values(cancelled=True)
            .returning(orders.c.price)
        ).first()
        if changed is None:
            results.append(False)
            continue
        if changed.price:
            conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(balance=accounts.c.balance + changed.price)
            )
        conn.execute(
            update(messages)
            .where(messages.c.order_id == order_id, messages.c.status == SENDING)
            .values(status=UNDELIVERED, reason="cancelled", due_at=None, updated_at=now)
        )
        from ileti.store import webhooks  # imports this module: a late import

        webhooks.queue_cancelled(conn, order_id, now)
        results.append(True)
    return results
