"""The relay: each account's upstream (``upstreams``), the upstream requests of relayed
and released orders (``relay_batches``), the blacklist changes still to mirror upstream
(``relay_blacklist``), and two columns of ``orders``: ``relay`` (forwarded instead of
simulated) and ``relay_error`` (why the upstream refused it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("relay", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("relay_error", sa.Text(), nullable=True))
    op.create_table(
        "upstreams",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("hash_sealed", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("blacklist_sync", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("release_numbers", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("checked_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.BigInteger(), nullable=True),
        sa.Column("blacklist_synced_at", sa.BigInteger(), nullable=True),
        sa.Column("blacklist_lease_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_upstreams"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_upstreams_account_id_accounts",
        ),
    )
    op.create_table(
        "relay_batches",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("text_idx", sa.Integer(), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("intent_at", sa.BigInteger(), nullable=True),
        sa.Column("uncertain", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("deadline_at", sa.BigInteger(), nullable=False),
        sa.Column("upstream_id", sa.String(32), nullable=True),
        sa.Column("upstream_status", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("delivered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("undelivered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relay_batches"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], ondelete="CASCADE", name="fk_relay_batches_order_id_orders"
        ),
    )
    op.create_index("ix_relay_batches_state_due", "relay_batches", ["state", "due_at"])
    op.create_index("ix_relay_batches_order", "relay_batches", ["order_id", "id"])
    op.create_index("ix_relay_batches_upstream", "relay_batches", ["upstream_id"])
    op.create_table(
        "relay_blacklist",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_relay_blacklist"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_relay_blacklist_account_id_accounts",
        ),
    )
    op.create_index("ix_relay_blacklist_account", "relay_blacklist", ["account_id", "id"])
    op.create_index("ix_relay_blacklist_number", "relay_blacklist", ["account_id", "number", "id"])


def downgrade() -> None:
    op.drop_index("ix_relay_blacklist_number", table_name="relay_blacklist")
    op.drop_index("ix_relay_blacklist_account", table_name="relay_blacklist")
    op.drop_table("relay_blacklist")
    op.drop_index("ix_relay_batches_upstream", table_name="relay_batches")
    op.drop_index("ix_relay_batches_order", table_name="relay_batches")
    op.drop_index("ix_relay_batches_state_due", table_name="relay_batches")
    op.drop_table("relay_batches")
    op.drop_table("upstreams")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("relay_error")
        batch.drop_column("relay")
