"""Accounts, the blacklist, and change versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("hash_sha256", sa.String(64), nullable=False),
        sa.Column("api_access", sa.Boolean(), nullable=False),
        sa.Column("allow_ips", sa.Text(), nullable=False),
        sa.Column("senders", sa.Text(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("blacklist_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("key", name="uq_accounts_key"),
    )
    op.create_table(
        "blacklist",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("blocked_at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_blacklist_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "number", name="pk_blacklist"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_blacklist_account_blocked", "blacklist", ["account_id", "blocked_at", "number"]
    )
    op.create_table(
        "changes",
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", name="pk_changes"),
    )
    op.bulk_insert(
        sa.table("changes", sa.column("topic", sa.String), sa.column("version", sa.BigInteger)),
        [{"topic": "auth", "version": 0}],
    )


def downgrade() -> None:
    op.drop_table("changes")
    op.drop_index("ix_blacklist_account_blocked", table_name="blacklist")
    op.drop_table("blacklist")
    op.drop_table("accounts")
