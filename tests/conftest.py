"""Fixtures: every storage-touching test runs on SQLite and, when
``ILETI_TEST_POSTGRES_URL`` is set, on PostgreSQL too (a database of its own per test).

Each test's database is a copy of one migrated once per session
(``tests/support/databases.py``: SQLite files are copied, PostgreSQL databases come
from a pool and are reset after the test); tests of migrating itself take
``empty_database_url``.

Set ``ILETI_TEST_REQUIRE_POSTGRES=1`` (CI does) to make a missing or unreachable
PostgreSQL an error instead of a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ileti.api.runtime import Runtime
from ileti.config import Settings
from ileti.services.accounts import Issued
from tests.support.clock import FakeClock
from tests.support.databases import Postgres, SqliteTemplate, driver_url, memory_backed_dir
from tests.support.panel import CHROMIUM_ARGS, PanelSite, chromium_or_skip
from tests.support.panel import DESKTOP as PANEL_DESKTOP
from tests.support.panel import SERVER_ENV as PANEL_SERVER_ENV
from tests.support.processes import serving as serve_processes
from tests.support.receiver import Receiver, serving
from tests.support.runtime import asgi_client, started
from tests.support.stored import refuse_sqlite_writes

POSTGRES_URL = os.environ.get("ILETI_TEST_POSTGRES_URL", "").strip()
REQUIRE_POSTGRES = os.environ.get("ILETI_TEST_REQUIRE_POSTGRES", "") not in ("", "0")
SKIP_REASON = "PostgreSQL tests skipped: set ILETI_TEST_POSTGRES_URL=postgresql://USER@HOST/DB"


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the SQLite test databases live: memory-backed when the machine has a
    /dev/shm (removed after the session), else the session's temporary directory."""
    with memory_backed_dir() as found:
        yield found or tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session")
def sqlite_template(sqlite_dir: Path) -> SqliteTemplate:
    return SqliteTemplate(sqlite_dir)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """The PostgreSQL server under test (None: not configured or unreachable)."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("ILETI_TEST_REQUIRE_POSTGRES is set but ILETI_TEST_POSTGRES_URL is not")
        yield None
        return
    engine = sa.create_engine(driver_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
        engine.dispose()
        yield None
        return
    databases = Postgres(POSTGRES_URL, engine)
    try:
        yield databases
    finally:
        databases.close()
        engine.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: SqliteTemplate, sqlite_dir: Path) -> Iterator[str]:
    """A migrated SQLite database of the test's own (in a directory of its own, removed
    after the test)."""
    directory = Path(tempfile.mkdtemp(dir=sqlite_dir))
    try:
        yield sqlite_template.copy(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """An SQLite path where no database exists yet."""
    return f"sqlite:///{tmp_path}/empty.db"


@pytest.fixture
def postgres_url(postgres: Postgres | None) -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, dropped afterwards."""
    if postgres is None:
        pytest.skip(SKIP_REASON)
    name, url = postgres.take()
    try:
        yield url
    finally:
        postgres.give_back(name)


@pytest.fixture
def empty_postgres_url(postgres: Postgres | None) -> Iterator[str]:
    """A PostgreSQL database without any table, dropped afterwards."""
    if postgres is None:
        pytest.skip(SKIP_REASON)
    name, url = postgres.take_empty()
    try:
        yield url
    finally:
        postgres.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on SQLite and on PostgreSQL (migrated)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """Like ``database_url``, but nothing is migrated yet."""
    if request.param == "sqlite":
        return request.getfixturevalue("empty_sqlite_url")
    return request.getfixturevalue("empty_postgres_url")


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
def sandbox(database_url: str) -> Iterator[Any]:
    """ileti serving from a thread of this process on the test's database
    (``ileti.testing.server.Sandbox``): for clients that need a real socket."""
    from ileti.testing.server import Sandbox

    with Sandbox(database_url=database_url, auth_refresh_seconds=0.1) as found:
        yield found


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test advances (starting at the real time)."""
    return FakeClock()


@pytest.fixture
async def stepped(settings: Settings, clock: FakeClock) -> AsyncIterator[Runtime]:
    """An instance on ``settings`` reading ``clock``, with no background loop running:
    the test advances the clock and steps the work (``tests.support.runtime.settle``)."""
    async with started(replace(settings, delivery_poll_seconds=0), clock=clock) as rt:
        yield rt


@pytest.fixture
async def stepped_client(stepped: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(stepped) as c:
        yield c


@pytest.fixture
async def account(runtime: Runtime) -> Issued:
    return await runtime.accounts.create("acme", senders=("ILETI",), balance=100)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (``tests/support/receiver.py``)."""
    async with serving() as found:
        yield found


@pytest.fixture
def refusing_writes(
    postgres: Postgres | None,
) -> Callable[[Settings], AbstractAsyncContextManager[Runtime]]:
    """``async with refusing_writes(settings) as rt``: an instance on the test's database
    while that database refuses every write (SQLite: every connection of the instance
    is ``PRAGMA query_only``; PostgreSQL: the database's
    ``default_transaction_read_only``). Writable again afterwards."""

    @asynccontextmanager
    async def refusing(settings: Settings) -> AsyncIterator[Runtime]:
        url = make_url(settings.database_url)
        sqlite = url.get_backend_name() == "sqlite"
        if not sqlite:
            assert postgres is not None and url.database is not None
            if postgres.schemas:
                pytest.skip("a read-only PostgreSQL needs a database of the test's own")
            postgres.set_read_only(url.database, True)
        try:
            rt = Runtime.build(settings)
            if sqlite:
                refuse_sqlite_writes(rt.store)
            await rt.start(migrate=False)  # it is at head: the test's database is a copy
            try:
                yield rt
            finally:
                await rt.stop()
        finally:
            if not sqlite:
                assert postgres is not None and url.database is not None
                postgres.set_read_only(url.database, False)

    return refusing


# -- the panel in a real browser (tests/support/panel.py) ---------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's) under Playwright, for the whole run."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def panel_site(sqlite_dir: Path) -> Iterator[PanelSite]:
    """One ``ileti serve`` process on a SQLite file of its own, for every panel test."""
    directory = Path(tempfile.mkdtemp(prefix="panel-", dir=sqlite_dir))
    url = f"sqlite:///{directory / 'panel.db'}"
    with serve_processes(url, directory, env=PANEL_SERVER_ENV) as (server,):
        site = PanelSite(server, url)
        try:
            yield site
        finally:
            site.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A new browser context (no cookies) at desktop width, Turkish by default."""
    context = chromium.new_context(viewport=PANEL_DESKTOP, locale="tr-TR")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist only ``--dist load`` (what ``-n`` does by default) keeps each
    worker's tests in collection order, which the browser tests need (below)."""
    dist = getattr(config.option, "dist", "no")
    if dist not in ("no", "load"):
        raise pytest.UsageError(f"--dist {dist}: the browser tests need --dist load")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API leaves its event loop set as the running
    one while the session's Chromium is open, which the asyncio tests cannot run under.
    (With pytest-xdist each worker collects this order and is handed its tests in it.)"""
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))
