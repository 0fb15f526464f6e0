"""Sending: account settings, orders, their texts and messages, webhook deliveries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("unit_price", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("brand_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("test_number", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("strict", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("rate_limit", sa.Integer(), nullable=True))

    op.create_table(
        "orders",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("iys", sa.Boolean(), nullable=False),
        sa.Column("iys_list", sa.String(16), nullable=True),
        sa.Column("submit_at", sa.BigInteger(), nullable=False),
        sa.Column("send_at", sa.BigInteger(), nullable=False),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("dispatched", sa.Boolean(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_orders_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_account_submit", "orders", ["account_id", "submit_at"])
    op.create_index(
        "ix_orders_account_fingerprint", "orders", ["account_id", "fingerprint", "submit_at"]
    )
    op.create_index("ix_orders_due", "orders", ["dispatched", "cancelled", "send_at"])

    op.create_table(
        "order_texts",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_texts_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "idx", name="pk_order_texts"),
    )

    op.create_table(
        "messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text_idx", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=True),
        sa.Column("charged", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_messages_order_id_orders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_order_status", "messages", ["order_id", "status"])
    op.create_index("ix_messages_order_id", "messages", ["order_id", "id"])
    op.create_index("ix_messages_due", "messages", ["due_at"])
    op.create_index("ix_messages_account", "messages", ["account_id", "id"])

    op.create_table(
        "webhooks",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_index("ix_webhooks_next", "webhooks", ["next_attempt_at"])
    op.create_index("ix_webhooks_message", "webhooks", ["message_id"])


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_table("messages")
    op.drop_table("order_texts")
    op.drop_table("orders")
    with op.batch_alter_table("accounts") as batch:
        for name in (
            "rate_limit",
            "strict",
            "webhook_url",
            "test_number",
            "brand_code",
            "unit_price",
        ):
            batch.drop_column(name)
