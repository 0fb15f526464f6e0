"""Blacklist counts and versions move from one accounts row to striped counter rows
(one per account and writer stripe), so that writers in several processes do not wait
for each other on the account's row. An account's count and version are the sums of
its stripes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blacklist_counters",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stripe", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_blacklist_counters_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "stripe", name="pk_blacklist_counters"),
    )
    op.execute(
        "INSERT INTO blacklist_counters (account_id, stripe, count, version) "
        "SELECT id, 0, blacklist_count, blacklist_version FROM accounts"
    )
    # Plain ALTER TABLE ... DROP COLUMN: PostgreSQL, and SQLite since 3.35.
    op.execute("ALTER TABLE accounts DROP COLUMN blacklist_count")
    op.execute("ALTER TABLE accounts DROP COLUMN blacklist_version")


def downgrade() -> None:
    op.execute("ALTER TABLE accounts ADD COLUMN blacklist_count BIGINT NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE accounts ADD COLUMN blacklist_version BIGINT NOT NULL DEFAULT 0")
    op.execute(
        "UPDATE accounts SET blacklist_count = COALESCE((SELECT sum(count) FROM "
        "blacklist_counters c WHERE c.account_id = accounts.id), 0), blacklist_version = "
        "COALESCE((SELECT sum(version) FROM blacklist_counters c "
        "WHERE c.account_id = accounts.id), 0)"
    )
    op.drop_table("blacklist_counters")
