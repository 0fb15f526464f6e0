"""Fixtures: every storage-touching test runs on SQLite and, when
``ILETI_TEST_POSTGRES_URL`` is set, on PostgreSQL too (a fresh schema per test).

Set ``ILETI_TEST_REQUIRE_POSTGRES=1`` (CI does) to make a missing or unreachable
PostgreSQL an error instead of a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.receiver import Receiver, serving
from tests.support.runtime import asgi_client, started

POSTGRES_URL = os.environ.get("ILETI_TEST_POSTGRES_URL", "").strip()
REQUIRE_POSTGRES = os.environ.get("ILETI_TEST_REQUIRE_POSTGRES", "") not in ("", "0")
SKIP_REASON = "PostgreSQL tests skipped: set ILETI_TEST_POSTGRES_URL=postgresql://USER@HOST/DB"


def _pg_admin_url() -> str:
    url = POSTGRES_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine | None]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("ILETI_TEST_REQUIRE_POSTGRES is set but ILETI_TEST_POSTGRES_URL is not")
        yield None
        return
    engine = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
        engine.dispose()
        yield None
        return
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/ileti.db"


@pytest.fixture
def postgres_url(pg_engine: sa.Engine | None) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped afterwards."""
    if pg_engine is None:
        pytest.skip(SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with pg_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with pg_engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, auth_refresh_seconds=0.1)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with started(settings) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime) as c:
        yield c


@pytest.fixture
async def account(runtime: Runtime) -> Issued:
    return await runtime.accounts.create("acme", senders=("ILETI",), balance=100)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (``tests/support/receiver.py``)."""
    async with serving() as found:
        yield found
