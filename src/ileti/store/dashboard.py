"""SQL for the panel's dashboard: today's orders and messages, recent webhook failures."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from ileti.store.schema import orders, webhooks

#: Newest webhooks looked through for failures (bounded, whatever the log's size).
RECENT_WEBHOOKS = 1000


def today(conn: Connection, account_id: int, since: int) -> tuple[int, int]:
    """Orders submitted since ``since`` and their recipients."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(orders.c.total), 0)).where(
            orders.c.account_id == account_id, orders.c.submit_at >= since
        )
    ).one()
    return int(row[0]), int(row[1])


def failed_webhooks(conn: Connection, account_id: int, limit: int) -> list[tuple[int, str, str]]:
    """(id, url, last error) of the newest webhooks whose last attempt failed, among the
    account's newest ``RECENT_WEBHOOKS``."""
    recent = (
        select(webhooks.c.id, webhooks.c.url, webhooks.c.last_error, webhooks.c.delivered_at)
        .where(webhooks.c.account_id == account_id)
        .order_by(webhooks.c.id.desc())
        .limit(RECENT_WEBHOOKS)
        .subquery()
    )
    rows = conn.execute(
        select(recent.c.id, recent.c.url, recent.c.last_error)
        .where(recent.c.last_error.is_not(None), recent.c.delivered_at.is_(None))
        .order_by(recent.c.id.desc())
        .limit(limit)
    ).all()
    return [(r.id, r.url, r.last_error) for r in rows]
