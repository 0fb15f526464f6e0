"""An index on messages (recipient, id): the outbox's search by recipient (and the
wait for a code sent to a number) walks it backwards, newest first, instead of
scanning every message.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_recipient", "messages", ["recipient", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_recipient", table_name="messages")
