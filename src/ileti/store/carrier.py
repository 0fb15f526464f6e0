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

from sqlalchemy import ColumnElement, Connection, exists, false, select, true, update

from ileti.errors import Code
from ileti.store.schema import accounts, messages, orders

SENDING = int(Code.SENDING)
#: ``due_at`` of a message held by its account's delivery mode (``polls``: until its
#: order was polled enough; ``manual``: until advanced): never due on the clock.
HELD = 2**62


def _skip_locked(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _due_orders(now: int) -> tuple[ColumnElement[bool], ...]:
    # A relayed order goes to the upstream (store/relay.py), never to the simulated carrier.
    return (
        orders.c.dispatched == false(),
        orders.c.cancelled == false(),
        orders.c.send_at <= now,
        orders.c.relay == false(),
    )


def _due_messages(now: int) -> tuple[ColumnElement[bool], ...]:
    return (
        messages.c.status == SENDING,
        messages.c.due_at.is_not(None),
        messages.c.due_at <= now,
    )


# -- reads: is there anything to do? ------------------------------------------------------


def _polled_enough() -> tuple[ColumnElement[bool], ...]:
    """A held message whose order was polled as often as its account's mode asks."""
    return (
        messages.c.due_at == HELD,
        messages.c.status == SENDING,
        orders.c.id == messages.c.order_id,
        accounts.c.id == messages.c.account_id,
        accounts.c.delivery == "polls",
        orders.c.polls >= accounts.c.delivery_after,
    )


def pending_work(conn: Connection, now: int) -> bool:
    """Whether an order is due for dispatch or a message for its final status (index
    probes, on a read connection: an idle instance takes no write lock)."""
    order_due = conn.execute(select(exists().where(*_due_orders(now)))).scalar()
    if order_due:
        return True
    if conn.execute(select(exists().where(*_due_messages(now)))).scalar():
        return True
    return bool(conn.execute(select(exists().where(*_polled_enough()))).scalar())


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


def claim_polled_messages(conn: Connection, *, limit: int) -> list[tuple[int, str, int]]:
    """(message id, recipient, account id) of up to ``limit`` held messages whose order
    was polled enough (delivery mode ``polls``), locked."""
    query = (
        select(messages.c.id, messages.c.recipient, messages.c.account_id)
        .where(*_polled_enough())
        .order_by(messages.c.id)
        .limit(limit)
    )
    if _skip_locked(conn):
        query = query.with_for_update(skip_locked=True, of=messages)
    return [(row.id, row.recipient, row.account_id) for row in conn.execute(query)]


# -- delivery modes and advancing -------------------------------------------------------------


def deliveries(
    conn: Connection, order_ids: Sequence[int]
) -> dict[int, tuple[str | None, float | None]]:
    """Each order's account delivery mode and its ``after``."""
    rows = conn.execute(
        select(orders.c.id, accounts.c.delivery, accounts.c.delivery_after)
        .join(accounts, accounts.c.id == orders.c.account_id)
        .where(orders.c.id.in_(list(order_ids)))
    )
    return {row.id: (row.delivery, row.delivery_after) for row in rows}


def set_delivery(
    conn: Connection, account_id: int, mode: str | None, after: float | None, now: int
) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(delivery=mode, delivery_after=after, updated_at=now)
    )


def order_account(conn: Connection, order_id: int) -> int | None:
    """The account an order belongs to, if it exists."""
    return conn.execute(select(orders.c.account_id).where(orders.c.id == order_id)).scalar()


def claim_orders_of(conn: Connection, account_id: int, order_id: int | None) -> list[int]:
    """The account's orders not yet dispatched nor cancelled, whatever their time (or
    the one order), locked."""
    query = (
        select(orders.c.id)
        .where(
            orders.c.account_id == account_id,
            orders.c.dispatched == false(),
            orders.c.cancelled == false(),
            orders.c.relay == false(),
        )
        .order_by(orders.c.id)
    )
    if order_id is not None:
        query = query.where(orders.c.id == order_id)
    if _skip_locked(conn):
        query = query.with_for_update()
    return list(conn.execute(query).scalars())


def waiting_messages(
    conn: Connection, account_id: int, order_id: int | None
) -> list[tuple[int, str, int]]:
    """(message id, recipient, account id) of the account's waiting (110) messages in
    dispatched orders (or in the one order), locked."""
    query = (
        select(messages.c.id, messages.c.recipient, messages.c.account_id)
        .join(orders, orders.c.id == messages.c.order_id)
        .where(
            messages.c.account_id == account_id,
            messages.c.status == SENDING,
            orders.c.dispatched == true(),
            orders.c.cancelled == false(),
            orders.c.relay == false(),
        )
        .order_by(messages.c.id)
    )
    if order_id is not None:
        query = query.where(messages.c.order_id == order_id)
    if _skip_locked(conn):
        query = query.with_for_update(of=messages)
    return [(row.id, row.recipient, row.account_id) for row in conn.execute(query)]
