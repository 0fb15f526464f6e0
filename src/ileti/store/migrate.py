"""Run Alembic migrations programmatically (``ileti migrate`` and at every start)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
# An arbitrary constant: the PostgreSQL advisory lock that serialises migrations when
# several instances start at once.
_LOCK_ID = 0x1E7E71


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head() -> str:
    """The newest revision (read from the scripts once per process)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision``. A database already at head is left alone without taking
    the lock (every start calls this); a real upgrade runs under the PostgreSQL advisory
    lock, where Alembic reads the revision again, so concurrent starts migrate once."""
    if revision == "head" and current(engine) == head():
        return
    config = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
