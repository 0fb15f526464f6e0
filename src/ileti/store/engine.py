"""Engines for SQLite (WAL, fsync on commit) and PostgreSQL (psycopg 3, pooled).

SQLite gets two engines on one file: a writer whose transactions start with
``BEGIN IMMEDIATE`` (so a second process waits for the lock instead of failing halfway)
and a pool of readers with deferred transactions (WAL snapshots, never blocked by the
writer). PostgreSQL gets one pooled engine for both.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from ileti.config import ConfigError


def normalize_url(url: str) -> URL:
    """Accept ``postgresql://`` / ``postgres://`` (driver psycopg 3) and ``sqlite:///``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            parsed = parsed.set(drivername="sqlite")
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("SQLite needs a file: use sqlite:///path/to/ileti.db")
        return parsed
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def sqlite_directory(url: str) -> Path | None:
    """The directory of an SQLite database's file; None for PostgreSQL."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    assert parsed.database is not None
    return Path(parsed.database).parent


def _check_directory(directory: Path) -> None:
    """An SQLite file goes into an existing directory: a typo in the path must not
    start an empty service somewhere new (``ileti migrate --create-dirs`` makes it)."""
    if directory.is_dir():
        return
    problem = "is not a directory" if directory.exists() else "does not exist"
    raise ConfigError(
        f"SQLite database directory {str(directory.absolute())!r} {problem} "
        "(create it, or run: ileti migrate --create-dirs)"
    )


def _sqlite_engine(url: URL, *, immediate: bool, pool_size: int) -> Engine:
    assert url.database is not None
    _check_directory(Path(url.database).parent)
    engine = create_engine(
        url,
        # Error messages never carry a statement's parameters (numbers, texts, URLs).
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=0 if immediate else pool_size,
        pool_timeout=30,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own implicit
        # BEGIN is deferred and would not cover reads).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsync'd at every commit, so a commit is on disk.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Straight to the driver: this runs once per write batch, on the hot path.
        conn.connection.driver_connection.execute(begin)

    return engine


def create_engines(url: str, *, read_pool_size: int = 4) -> tuple[Engine, Engine]:
    """(reader, writer) engines for a database URL."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        writer = _sqlite_engine(parsed, immediate=True, pool_size=2)
        reader = _sqlite_engine(parsed, immediate=False, pool_size=read_pool_size)
        return reader, writer
    engine = create_engine(
        parsed,
        hide_parameters=True,
        pool_size=read_pool_size + 2,
        max_overflow=4,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
    return engine, engine
