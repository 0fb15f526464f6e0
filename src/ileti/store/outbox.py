"""SQL for the sandbox outbox: every message with its order, text and account, newest
first, paged by message id (a keyset cursor, so deep pages cost what the first does).

Each filter walks an index backwards: one order ``ix_messages_order_id`` (order_id,
id), one account ``ix_messages_account`` (account_id, id), none the primary key;
orders, texts and accounts are primary-key lookups per row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

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


def page(
    conn: Connection,
    *,
    account_id: int | None,
    order_id: int | None,
    before: int | None,
    limit: int,
) -> list[OutboxMessage]:
    """Up to ``limit`` messages with an id below ``before``, newest first."""
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
    if order_id is not None:
        # One order: walk (order_id, id); the account is checked on the order's row, so
        # the planner is not tempted to scan all of the account's messages instead.
        query = query.where(messages.c.order_id == order_id)
        if account_id is not None:
            query = query.where(orders.c.account_id == account_id)
    elif account_id is not None:
        query = query.where(messages.c.account_id == account_id)
    if before is not None:
        query = query.where(messages.c.id < before)
    rows = conn.execute(query.order_by(messages.c.id.desc()).limit(limit))
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
