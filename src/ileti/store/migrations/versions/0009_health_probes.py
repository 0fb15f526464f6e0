"""The readiness check's write probe: ``health_probes``, one row per instance, replaced
by each probe (``GET /healthz``, at most once a second per instance).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_probes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("instance", sa.String(32), nullable=False),
        sa.Column("probed_at", sa.BigInteger(), nullable=False),
        sa.Column("padding", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health_probes")
