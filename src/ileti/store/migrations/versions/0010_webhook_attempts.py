"""webhook_attempts: one row per attempt to POST a webhook, written as it completes (was:
the last attempts kept as a JSON array in webhooks.last_error, rewritten whole on each
attempt). ``webhooks.last_error`` holds the last failed attempt's error as plain text.

Each row's JSON history is moved into the new table (an older, plain-text last_error
becomes one failed attempt of unknown time, ``at`` 0).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: Webhook rows converted per statement.
CHUNK = 1000


def _history(stored: str) -> list[tuple[int, str | None]]:
    try:
        items = json.loads(stored)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return [(0, stored)]
    found = []
    for item in items:
        at, error = item.get("at"), item.get("error")
        found.append((at if isinstance(at, int) else 0, error if isinstance(error, str) else None))
    return found


def upgrade() -> None:
    attempts = op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "webhook_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey(
                "webhooks.id", ondelete="CASCADE", name="fk_webhook_attempts_webhook_id_webhooks"
            ),
            nullable=False,
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_webhook", "webhook_attempts", ["webhook_id", "id"])
    webhooks = sa.table(
        "webhooks", sa.column("id", sa.BigInteger()), sa.column("last_error", sa.Text())
    )
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.select(webhooks.c.id, webhooks.c.last_error)
            .where(webhooks.c.id > after, webhooks.c.last_error.is_not(None))
            .order_by(webhooks.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        after = rows[-1].id
        made: list[dict[str, Any]] = []
        last: list[dict[str, Any]] = []
        for row in rows:
            history = _history(row.last_error)
            made += [{"webhook_id": row.id, "at": at, "error": error} for at, error in history]
            error = next((e for _, e in reversed(history) if e is not None), None)
            last.append({"b_id": row.id, "b_error": error})
        if made:
            conn.execute(sa.insert(attempts), made)
        conn.execute(
            sa.update(webhooks)
            .where(webhooks.c.id == sa.bindparam("b_id"))
            .values(last_error=sa.bindparam("b_error")),
            last,
        )


def downgrade() -> None:
    # The attempts are dropped; each row keeps its last error as plain text (0009's code
    # reads it as one failed attempt of unknown time).
    op.drop_index("ix_webhook_attempts_webhook", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
