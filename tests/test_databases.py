"""The test databases themselves (``tests/support/databases.py``): each test's database
is at head and as fresh as a newly migrated one, however the previous test left its
pool member."""

from __future__ import annotations

from pathlib import Path

import pytest

from ileti.config import Settings
from tests.support.databases import Postgres, SqliteTemplate
from tests.support.http import auth, call
from tests.support.runtime import running
from tests.support.sms import order_of, sent
from tests.support.stored import head_revision, revision


def test_a_sqlite_copy_is_at_head_and_the_tests_own(
    sqlite_template: SqliteTemplate, sqlite_url: str
) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert path.is_file() and path != sqlite_template.path
    assert [p.name for p in path.parent.iterdir()] == ["ileti.db"]  # alone in its directory
    assert not Path(f"{sqlite_template.path}-wal").exists()
    assert revision(sqlite_url) == head_revision()


def test_an_empty_database_has_no_revision(empty_database_url: str) -> None:
    assert revision(empty_database_url) is None


async def use(url: str) -> None:
    """What tests do to a database: accounts, a blacklist, orders (rows and sequences)."""
    async with running(Settings(database_url=url, delivery_poll_seconds=0)) as (rt, client):
        for name in ("a", "b"):
            issued = await rt.accounts.create(name, senders=("ILETI",), balance=100)
            request = {"authentication": auth(issued), "blacklist": {"number": "05330000099"}}
            assert (await call(client, "add-blacklist", request))[0] == 200
            await sent(client, issued, order_of(["+905330000001", "+905330000002"]))


async def test_a_postgres_database_given_back_is_reset_to_the_template(
    postgres: Postgres | None,
) -> None:
    if postgres is None:
        pytest.skip("PostgreSQL tests skipped: set ILETI_TEST_POSTGRES_URL")
    name, url = postgres.take()
    try:
        assert revision(url) == head_revision()
        assert postgres.content_of(name) == postgres.seed
        await use(url)
        used = postgres.content_of(name)
        assert used.tables != postgres.seed.tables
        assert used.sequences != postgres.seed.sequences
        postgres.reset(name)  # raises if it cannot
        assert postgres.content_of(name) == postgres.seed
    finally:
        postgres.give_back(name)

    # The next test may get the same database, never the same URL.
    again, url_again = postgres.take()
    try:
        assert url_again != url
        assert postgres.content_of(again) == postgres.seed
        await use(url_again)  # the same ids again: nothing of the first use is left
    finally:
        postgres.give_back(again)
