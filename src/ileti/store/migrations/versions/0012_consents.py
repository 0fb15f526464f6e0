"""İYS consent: every consent record of an account (``consent_records``, the history)
and the latest one of each (brand, type, recipient type, recipient) (``consents``, what
consent/show and send-sms with iys=1 read).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("brand_code", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(265), nullable=False),
        sa.Column("recipient_type", sa.String(8), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("consent_date", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_records"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_consent_records_account_id_accounts",
        ),
    )
    op.create_index(
        "ix_consent_records_account_recipient",
        "consent_records",
        ["account_id", "recipient", "id"],
    )
    op.create_table(
        "consents",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("brand_code", sa.String(64), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("recipient_type", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(265), nullable=False),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("consent_date", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "account_id", "brand_code", "type", "recipient_type", "recipient", name="pk_consents"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_consents_account_id_accounts",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_consents_number",
        "consents",
        ["account_id", "number", "brand_code", "type", "recipient_type", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_consents_number", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_consent_records_account_recipient", table_name="consent_records")
    op.drop_table("consent_records")
