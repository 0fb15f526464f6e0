"""SQL for resetting the sandbox: an account's activity (orders, their texts and
messages, webhooks, inbound messages, its rate-limit row), or every account with everything it has.
Each function runs in the caller's transaction and says how many rows it removed."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, Table, delete, func, select

from ileti.store import faults as fault_store
from ileti.store.accounts import bump_version
from ileti.store.schema import (
    accounts,
    blacklist,
    blacklist_counters,
    consent_records,
    consents,
    faults,
    inbound,
    messages,
    order_texts,
    orders,
    rate_limits,
    webhooks,
)


class Removed(NamedTuple):
    accounts: int = 0
    orders: int = 0
    messages: int = 0
    webhooks: int = 0
    blacklist: int = 0


def clear_activity(conn: Connection, account_id: int) -> Removed:
    """Remove an account's orders (with their texts), messages, webhooks, inbound
    messages and rate-limit row; the account, its balance, its blacklist and its fault
    rules stay."""
    conn.execute(delete(inbound).where(inbound.c.account_id == account_id))
    removed_webhooks = conn.execute(
        delete(webhooks).where(webhooks.c.account_id == account_id)
    ).rowcount
    removed_messages = conn.execute(
        delete(messages).where(messages.c.account_id == account_id)
    ).rowcount
    own_orders = select(orders.c.id).where(orders.c.account_id == account_id)
    conn.execute(delete(order_texts).where(order_texts.c.order_id.in_(own_orders)))
    removed_orders = conn.execute(delete(orders).where(orders.c.account_id == account_id)).rowcount
    conn.execute(delete(rate_limits).where(rate_limits.c.account_id == account_id))
    return Removed(orders=removed_orders, messages=removed_messages, webhooks=removed_webhooks)


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def clear_everything(conn: Connection) -> Removed:
    """Remove every account and everything stored for any of them; announce the change
    (credentials stop working on every instance)."""
    removed = Removed(
        accounts=_count(conn, accounts),
        orders=_count(conn, orders),
        messages=_count(conn, messages),
        webhooks=_count(conn, webhooks),
        blacklist=_count(conn, blacklist),
    )
    for table in (
        consents,
        consent_records,
        faults,
        inbound,
        webhooks,
        messages,
        order_texts,
        orders,
        rate_limits,
        blacklist,
        blacklist_counters,
        accounts,
    ):
        conn.execute(delete(table))
    bump_version(conn)
    fault_store.bump_version(conn)  # every instance drops its cached fault rules
    return removed
