"""The sandbox's steering: fault rules, how an account's messages progress, the short
code that receives inbound opt-outs, and the inbound messages themselves.

- ``faults``: rules that make ileti misbehave on purpose, per account (or global when
  ``account_id`` is NULL): ``kind`` ``api`` (answer ``code`` to ``action``, or to every
  action when NULL, and/or add ``latency_ms``), ``recipient`` (messages to recipients
  matching ``pattern`` end with status ``code``: 112, or stay 110), ``webhook`` (POSTs
  answer ``code`` as if the receiver had, or time out). Each applies to the next
  ``remaining`` matches (NULL: all), with ``probability`` (NULL: always), until
  ``expires_at`` (NULL: never).
- ``accounts.delivery`` / ``delivery_after``: ``delay`` (final status ``delivery_after``
  seconds after dispatch), ``polls`` (after that many get-report polls of the order),
  ``manual`` (only when advanced through the control API); NULL: the server's
  ``ILETI_DELIVERY_DELAY``. ``orders.polls`` counts get-report polls.
- ``accounts.short_code``: the number inbound opt-outs are sent to (e.g. ``7889``).
- ``inbound``: every inbound message, and what it did (``blacklisted`` or nothing).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: no table is rebuilt (on SQLite, rebuilding
    # orders would cascade-delete its messages).
    op.add_column("accounts", sa.Column("short_code", sa.String(16), nullable=True))
    op.add_column("accounts", sa.Column("delivery", sa.String(16), nullable=True))
    op.add_column("accounts", sa.Column("delivery_after", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("polls", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "faults",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE", name="fk_faults_account_id_accounts"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=True),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("pattern", sa.String(64), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("timeout", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_faults"),
    )
    op.create_index("ix_faults_account_id", "faults", ["account_id"])
    op.create_table(
        "inbound",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE", name="fk_inbound_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound"),
    )
    op.create_index("ix_inbound_account_id", "inbound", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_account_id", table_name="inbound")
    op.drop_table("inbound")
    op.drop_index("ix_faults_account_id", table_name="faults")
    op.drop_table("faults")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("polls")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("delivery_after")
        batch.drop_column("delivery")
        batch.drop_column("short_code")
