"""SQL for the simulated carrier: due orders and messages, and applying the outcomes
the carrier service decides (``ileti.services.carrier``).

Everything runs in the durable writer's transaction. On PostgreSQL due work is claimed
with ``FOR UPDATE SKIP LOCKED``, so several instances share it and none takes a row
another is holding; on SQLite the writer's ``BEGIN IMMEDIATE`` already lets one process
at a time in. All state is in the database: an order is dispatched when ``dispatched``
flips (once, in the transaction that claims it), a message is due when its ``due_at``
has passed, and a restarted instance simply carries on from there.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, exists, false, select, update

from ileti.errors import Code
from ileti.store.schema import messages, orders

SENDING = int(Code.SENDING)


def _skip_locked(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _due_orders(now: int) -> tuple[ColumnElement[bool], ...]:
    return (
        orders.c.dispatched == false(),
        orders.c.cancelled == false(),
        orders.c.send_at <= now,
    )


def _due_messages(now: int) -> tuple[ColumnElement[bool], ...]:
    return (
        messages.c.status == SENDING,
        messages.c.due_at.is_not(None),
        messages.c.due_at <= now,
    )


# -- reads: is there anything to do? ------------------------------------------------------


def pending_work(conn: Connection, now: int) -> bool:
    """Whether an order is due for dispatch or a message for its final status (two index
    probes, on a read connection: an idle instance takes no write lock)."""
    order_due = conn.execute(select(exists().where(*_due_orders(now)))).scalar()
    if order_due:
        return True
    return bool(conn.execute(select(exists().where(*_due_messages(now)))).scalar())


# -- writes ---------------------------------------------------------------------------------


def claim_due_orders(conn: Connection, now: int, *, limit: int) -> list[int]:
    """Ids of up to ``limit`` orders due for dispatch, oldest first, locked (skipping
    rows another instance holds)."""
    query = (
        select(orders.c.id)
        .where(*_due_orders(now))
        .order_by(orders.c.send_at, orders.c.id)
        .limit(limit)
    )
    if _skip_locked(conn):
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).scalars())


def mark_dispatched(conn: Connection, order_ids: Sequence[int], *, now: int, due_at: int) -> None:
    """The orders dispatched; their waiting messages due for a final status at ``due_at``."""
    conn.execute(update(orders).where(orders.c.id.in_(order_ids)).values(dispatched=True))
    conn.execute(
        update(messages)
        .where(messages.c.order_id.in_(order_ids), messages.c.status == SENDING)
        .values(due_at=due_at, updated_at=now)
    )


def claim_due_messages(conn: Connection, now: int, *, limit: int) -> list[tuple[int, str, int]]:
    """(message id, recipient, account id) of up to ``limit`` messages due for their
    final status, locked (skipping rows another instance holds)."""
    query = (
        select(messages.c.id, messages.c.recipient, messages.c.account_id)
        .where(*_due_messages(now))
        .order_by(messages.c.due_at, messages.c.id)
        .limit(limit)
    )
    if _skip_locked(conn):
        query = query.with_for_update(skip_locked=True)
    return [(row.id, row.recipient, row.account_id) for row in conn.execute(query)]


def set_status(
    conn: Connection, message_ids: Sequence[int], status: int, reason: str | None, now: int
) -> None:
    """A final status (and its reason) for these messages; nothing more is due."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids))
            .values(status=status, reason=reason, due_at=None, updated_at=now)
        )


def keep_waiting(conn: Connection, message_ids: Sequence[int], now: int) -> None:
    """These messages stay 110 with nothing due (the carrier never reports on them)."""
    if message_ids:
        conn.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids))
            .values(due_at=None, updated_at=now)
        )
