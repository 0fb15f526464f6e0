"""An index on webhooks (account_id, id): one account's webhook log, newest first,
walks it instead of every account's webhooks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_webhooks_account", "webhooks", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhooks_account", table_name="webhooks")
