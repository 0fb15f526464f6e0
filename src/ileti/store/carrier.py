"""SQL for the simulated carrier: dispatching due orders and finalising due messages.

Both run in the durable writer's transaction. On PostgreSQL the work is claimed with
``FOR UPDATE SKIP LOCKED``, so several instances share it and none takes a row another
is holding; on SQLite the writer's ``BEGIN IMMEDIATE`` already lets one process at a
time in. All state is in the database: an order is dispatched when ``dispatched``
flips (once, in the transaction that claims it), a message is due when its ``due_at``
has passed, and a restarted instance simply carries on from there.

Each status change queues a webhook row (``ileti.store.webhooks``) in the same
transaction, for accounts with a webhook URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, exists, false, select, update

from ileti.store import webhooks as webhook_store
from ileti.store.orders import DELIVERED, SENDING, UNDELIVERED
from ileti.store.schema import messages, orders


@dataclass(frozen=True, slots=True)
class Dispatch:
    now: int  # microseconds, UTC
    delay: int  # microseconds until the carrier's final status
    limit: int  # orders per transaction


@dataclass(frozen=True, slots=True)
class Finalise:
    now: int
    limit: int  # messages per transaction
    undelivered: tuple[str, ...]  # E.164 recipients that end 112
    pending: tuple[str, ...]  # E.164 recipients that stay 110


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


def dispatch(conn: Connection, calls: list[Dispatch]) -> list[int]:
    """Hand due orders to the carrier: mark them dispatched, give their waiting messages
    a due time, queue an "accepted" webhook per message. The number of orders each."""
    results = []
    for call in calls:
        query = (
            select(orders.c.id)
            .where(*_due_orders(call.now))
            .order_by(orders.c.send_at, orders.c.id)
            .limit(call.limit)
        )
        if _skip_locked(conn):
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if not ids:
            results.append(0)
            continue
        conn.execute(update(orders).where(orders.c.id.in_(ids)).values(dispatched=True))
        conn.execute(
            update(messages)
            .where(messages.c.order_id.in_(ids), messages.c.status == SENDING)
            .values(due_at=call.now + call.delay, updated_at=call.now)
        )
        webhook_store.queue_accepted(conn, ids, call.now)
        results.append(len(ids))
    return results


def finalise(conn: Connection, calls: list[Finalise]) -> list[int]:
    """Give due messages their final status: 111, or 112 (reason ``undelivered``) for
    the always-undelivered test numbers; the always-pending ones stay 110 with no due
    time. Queues a "delivered"/"undelivered" webhook each. The number of messages each."""
    results = []
    for call in calls:
        query = (
            select(messages.c.id, messages.c.recipient)
            .where(*_due_messages(call.now))
            .order_by(messages.c.due_at, messages.c.id)
            .limit(call.limit)
        )
        if _skip_locked(conn):
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if not rows:
            results.append(0)
            continue
        undelivered_to = set(call.undelivered)
        pending_to = set(call.pending)
        delivered: list[int] = []
        undelivered: list[int] = []
        pending: list[int] = []
        for message_id, recipient in rows:
            if recipient in undelivered_to:
                undelivered.append(message_id)
            elif recipient in pending_to:
                pending.append(message_id)
            else:
                delivered.append(message_id)
        for ids, values in (
            (delivered, {"status": DELIVERED, "reason": None}),
            (undelivered, {"status": UNDELIVERED, "reason": "undelivered"}),
            (pending, {}),
        ):
            if ids:
                conn.execute(
                    update(messages)
                    .where(messages.c.id.in_(ids))
                    .values(due_at=None, updated_at=call.now, **values)
                )
        webhook_store.queue_final(conn, delivered + undelivered, call.now)
        results.append(len(rows))
    return results
