"""Alembic environment: ileti runs migrations itself (``ileti migrate`` and at start),
handing Alembic an open connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from ileti.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached through the alembic CLI
    raise RuntimeError("run migrations with `ileti migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
