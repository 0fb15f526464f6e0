"""Databases for tests: migrated once per session, then copied or reset for every test.

Running the Alembic migrations for every test was about a third of the suite's time.

* SQLite: one file is migrated (by ileti itself) in a session directory and
  checkpointed, so the whole database is in that one file; each test gets a copy.
  The files are in /dev/shm where there is one (``memory_backed_dir``).
* PostgreSQL: one template *database* is migrated (by ileti itself). A test gets a
  database of its own from a small pool; a new pool member is ``CREATE DATABASE ...
  TEMPLATE`` of the template. After the test, the member is reset to the template's
  content (every row deleted, the template's rows put back, every sequence where the
  template's is) and returned to the pool: a few milliseconds, where creating and
  dropping a database costs a hundred under load. Each hand-out has a URL of its own
  (``fallback_application_name``), so that nothing keyed by the URL (ileti's
  get-blacklist bookmarks) outlives a test. ``test_databases.py`` checks that a reset
  member equals a fresh copy. Should the user lack the right to create databases,
  the same is done with schemas in the given database.

Tests of migrating itself ask for an empty database (``empty_database_url``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ileti.config import Settings
from ileti.store import Store


def migrate(url: str) -> None:
    """Bring the database at ``url`` to head the way ileti does at start."""
    store = Store(Settings(database_url=url))
    try:
        store.migrate()
    finally:
        store.close()


# -- SQLite -----------------------------------------------------------------------------


@contextlib.contextmanager
def memory_backed_dir() -> Iterator[Path | None]:
    """A new directory in /dev/shm (None if there is none), removed afterwards.

    ileti commits SQLite with ``synchronous=FULL``: an fsync per commit, which on a
    disk shared with other work was most of the SQLite tests' own time. On a
    memory-backed file system an fsync costs nothing, and SQLite behaves the same
    otherwise (a killed process loses nothing it committed, as on a disk)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="ileti-tests-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class SqliteTemplate:
    """A migrated SQLite file, copied for each test."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        migrate(f"sqlite:///{self.path}")
        # Everything into the main file, and no WAL left beside it to copy.
        engine = sa.create_engine(f"sqlite:///{self.path}", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def copy(self, directory: Path, name: str = "ileti.db") -> str:
        """A migrated database at ``directory/name``; its URL."""
        target = directory / name
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


# -- PostgreSQL -----------------------------------------------------------------------------


def driver_url(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy takes it (psycopg 3)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _with_query(url: str, name: str, value: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{name}={quote(value)}"


@dataclass(frozen=True)
class Content:
    """Every row of every table, and where every sequence stands."""

    #: table -> (columns, rows); tables children first (the order to delete in)
    tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
    #: sequence -> (last value, called)
    sequences: dict[str, tuple[int, bool]]


def content(conn: sa.Connection) -> Content:
    """What the connection's schema holds (tables ordered children first)."""
    names = list(
        conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1"
        ).scalars()
    )
    parents: dict[str, set[str]] = {name: set() for name in names}
    for child, parent in conn.exec_driver_sql(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = current_schema()"
    ):
        child, parent = child.split(".")[-1].strip('"'), parent.split(".")[-1].strip('"')
        if child in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []  # parents first, then reversed: children first
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        assert ready, f"a cycle of foreign keys among {names}"
        ordered.extend(ready)
    tables: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}
    for name in reversed(ordered):
        result = conn.exec_driver_sql(f'SELECT * FROM "{name}"')
        rows = sorted((tuple(row) for row in result), key=repr)
        tables[name] = (tuple(result.keys()), rows)
    sequences = {}
    for name in conn.exec_driver_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
    ).scalars():
        last, called = conn.exec_driver_sql(f'SELECT last_value, is_called FROM "{name}"').one()
        sequences[name] = (int(last), bool(called))
    return Content(tables, sequences)


class Postgres:
    """Test databases on one PostgreSQL server: a pool of copies of a migrated template
    database (or, without the right to create databases, of migrated schemas)."""

    def __init__(self, url: str, admin: sa.Engine) -> None:
        self.url = url
        self.admin = admin  # AUTOCOMMIT, on the database named in ``url``
        self.prefix = f"ileti_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"
        self.schemas = False
        self._serial = 0
        self._free: list[str] = []
        self._all: set[str] = set()
        try:
            self._execute(f'CREATE DATABASE "{self.template}"')
        except sa.exc.ProgrammingError:  # no CREATEDB: schemas in the given database
            self.schemas = True
            self._execute(f'CREATE SCHEMA "{self.template}"')
        migrate(self._url_of(self.template))
        with self._connect(self.template) as conn:
            self.seed = content(conn)

    # -- plumbing ---------------------------------------------------------------------

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def _url_of(self, name: str) -> str:
        if self.schemas:
            return _with_query(self.url, "options", f"-csearch_path={name}")
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def _connect(self, name: str) -> sa.Connection:
        engine = sa.create_engine(driver_url(self._url_of(name)), poolclass=NullPool)
        return engine.connect()

    def _new_name(self) -> str:
        self._serial += 1
        return f"{self.prefix}_{self._serial}"

    def _handed_out(self, name: str) -> tuple[str, str]:
        # A URL of its own for each test, even on a pool member used before.
        self._serial += 1
        tag = f"ileti-test-{self._serial}"
        return name, _with_query(self._url_of(name), "fallback_application_name", tag)

    # -- the pool ---------------------------------------------------------------------

    def take(self) -> tuple[str, str]:
        """A migrated database of the test's own: (name, URL)."""
        if self._free:
            return self._handed_out(self._free.pop())
        name = self._new_name()
        if self.schemas:
            self._execute(f'CREATE SCHEMA "{name}"')
            migrate(self._url_of(name))
        else:
            self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._all.add(name)
        return self._handed_out(name)

    def give_back(self, name: str) -> None:
        """Reset a database handed out to the template's content, for the next test
        (or drop it, should that fail)."""
        try:
            self.reset(name)
        except Exception as exc:
            warnings.warn(f"test database {name} not reset ({exc!r}): dropped", stacklevel=2)
            self.drop(name)
        else:
            self._free.append(name)

    def reset(self, name: str) -> None:
        if not self.schemas:
            # Nobody may hold it any more (a server a test failed to stop, say).
            with self.admin.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                    {"name": name},
                )
                settings = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d "
                    "ON d.oid = s.setdatabase WHERE d.datname = %(name)s",
                    {"name": name},
                ).scalar_one()
            if settings:
                self._execute(f'ALTER DATABASE "{name}" RESET ALL')
        with self._connect(name) as conn, conn.begin():
            conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            for table in self.seed.tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')
            for table, (columns, rows) in reversed(self.seed.tables.items()):
                if rows:
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join(f"%(c{i})s" for i in range(len(columns)))
                    conn.exec_driver_sql(
                        f'INSERT INTO "{table}" ({names}) OVERRIDING SYSTEM VALUE VALUES ({marks})',
                        [{f"c{i}": v for i, v in enumerate(row)} for row in rows],
                    )
            for sequence, (last, called) in self.seed.sequences.items():
                conn.exec_driver_sql(
                    "SELECT setval(%(s)s::regclass, %(v)s, %(c)s)",
                    {"s": f'"{sequence}"', "v": last, "c": called},
                )

    def drop(self, name: str) -> None:
        self._all.discard(name)
        if self.schemas:
            self._execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        else:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def content_of(self, name: str) -> Content:
        with self._connect(name) as conn:
            return content(conn)

    def take_empty(self) -> tuple[str, str]:
        """A database (or schema) without any table: (name, URL); ``drop`` it after."""
        name = self._new_name()
        self._execute(f'CREATE {"SCHEMA" if self.schemas else "DATABASE"} "{name}"')
        self._all.add(name)
        return self._handed_out(name)

    def set_read_only(self, name: str, read_only: bool) -> None:
        """New connections to the test's database refuse (or again allow) writes."""
        if self.schemas:
            raise NotImplementedError("read-only needs a database of the test's own")
        value = "on" if read_only else "off"
        self._execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')

    def close(self) -> None:
        for name in sorted(self._all):
            self.drop(name)
        if self.schemas:
            self._execute(f'DROP SCHEMA IF EXISTS "{self.template}" CASCADE')
        else:
            self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
