"""What is stored, seen from below the API: the one test module that reads the schema
(``ileti.store.schema`` or SQL) or calls ileti's store functions directly.

Test modules observe storage through these functions only, so a change of the schema
is followed here once. Also here: the few ways tests put the database itself in a
state (rows at given times, an order made due, writes refused or failing).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ileti.api.runtime import Runtime
from ileti.clock import format_local, now_us
from ileti.config import Settings
from ileti.services.accounts import Issued
from ileti.store import Store
from ileti.store import accounts as account_store
from ileti.store import blacklist as blacklist_store
from ileti.store import ratelimits as rate_store
from ileti.store import webhooks as webhook_store
from ileti.store.engine import normalize_url
from ileti.store.errors import CommitUnknown, StoreUnavailable
from ileti.store.migrate import current, head
from ileti.store.schema import (
    accounts,
    consent_records,
    consents,
    messages,
    orders,
    rate_limits,
    relay_batches,
    upstreams,
    webhooks,
)

#: A write whose COMMIT answer was lost (the store's own error), for tests to expect.
COMMIT_UNKNOWN = CommitUnknown
#: The store's error for a database that refused or could not be reached.
STORE_UNAVAILABLE = StoreUnavailable

# -- through a running instance's store ---------------------------------------------------


async def rows(rt: Runtime, sql: str, **params: Any) -> list[Any]:
    """The rows of one SQL query, read through the instance's store."""
    return await rt.store.read(lambda conn: conn.execute(sa.text(sql), params).all())


async def snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots, nothing changed."""

    def read(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in sorted(sa.inspect(conn).get_table_names()):
            found = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(row) for row in found), key=repr)
        return out

    return await rt.store.read(read)


async def everything_as_text(rt: Runtime) -> str:
    """Every stored value, lower-cased, as one text (to search for secrets)."""
    tables = await snapshot(rt)
    return "\n".join(repr(row) for found in tables.values() for row in found).lower()


async def account_rows(rt: Runtime) -> list[dict[str, Any]]:
    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        return [dict(row) for row in conn.execute(sa.select(accounts)).mappings()]

    return await rt.store.read(read)


async def stored_balance(rt: Runtime, issued: Issued) -> int:
    """The account's balance as its row holds it."""

    def read(conn: sa.Connection) -> int:
        query = sa.select(accounts.c.balance).where(accounts.c.id == issued.account.id)
        return int(conn.execute(query).scalar_one())

    return await rt.store.read(read)


async def create_account_row(rt: Runtime, *, name: str, key: str, hash_sha256: str) -> None:
    """An account stored as given (a chosen key and hash digest), below the service."""
    create = functools.partial(
        account_store.create,
        name=name,
        key=key,
        hash_sha256=hash_sha256,
        api_access=True,
        allow_ips=(),
        senders=(),
        balance=0,
        now=now_us(),
    )
    await rt.store.transaction(create)
    rt.auth.invalidate()


async def listed_numbers(rt: Runtime, issued: Issued) -> tuple[int, ...]:
    """The account's blacklist as stored, in blocked-at order."""
    account_id = issued.account.id

    def read(conn: sa.Connection) -> tuple[int, ...]:
        return tuple(e.number for e in blacklist_store.entries(conn, account_id))

    return await rt.store.read(read)


def put_blacklisted(
    rt: Runtime, issued: Issued, entries: list[tuple[int, int]], source: str = "api"
) -> None:
    """Store (number, blocked_at) entries directly through the store's batched add."""
    items = [blacklist_store.Add(issued.account.id, n, at, source) for n, at in entries]
    rt.store.write_sync(lambda conn: blacklist_store.add(conn, items))


async def insert_blacklisted(
    rt: Runtime, account_id: int, numbers: list[int], blocked_at: int
) -> None:
    """Insert entries blocked at ``blocked_at`` one by one through the batched writer."""
    entries = [(n, blocked_at, "import") for n in numbers]
    await rt.store.write(
        lambda conn, calls: [blacklist_store._insert(conn, account_id, c) for c in calls], entries
    )


def small_bookmark_steps(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """get-blacklist bookmarks every ``step`` entries (instead of thousands)."""
    monkeypatch.setattr(blacklist_store, "BOOKMARK_STEP", step)
    blacklist_store._bookmarks.clear()


async def stored_orders(rt: Runtime, issued: Issued) -> int:
    """How many orders the account has."""

    def count(conn: sa.Connection) -> int:
        query = sa.select(sa.func.count()).where(orders.c.account_id == issued.account.id)
        return int(conn.execute(query).scalar_one())

    return await rt.store.read(count)


async def stored_messages(rt: Runtime, order_id: int) -> list[tuple[str, int, Any, bool]]:
    """(recipient, status, reason, charged) of an order's messages, as stored."""

    def read(conn: sa.Connection) -> list[tuple[str, int, Any, bool]]:
        query = (
            sa.select(
                messages.c.recipient, messages.c.status, messages.c.reason, messages.c.charged
            )
            .where(messages.c.order_id == order_id)
            .order_by(messages.c.id)
        )
        return [(r.recipient, r.status, r.reason, bool(r.charged)) for r in conn.execute(query)]

    return await rt.store.read(read)


async def message_ids(rt: Runtime, order_id: int) -> dict[str, int]:
    """recipient -> message id of an order."""

    def read(conn: sa.Connection) -> dict[str, int]:
        query = sa.select(messages.c.recipient, messages.c.id).where(
            messages.c.order_id == order_id
        )
        return {recipient: id_ for recipient, id_ in conn.execute(query)}

    return await rt.store.read(read)


async def message_states(rt: Runtime, order_id: int) -> dict[str, tuple[int, str | None, Any]]:
    """recipient -> (status, reason, due_at) of an order's messages."""

    def read(conn: sa.Connection) -> dict[str, tuple[int, str | None, Any]]:
        query = sa.select(
            messages.c.recipient, messages.c.status, messages.c.reason, messages.c.due_at
        ).where(messages.c.order_id == order_id)
        return {r.recipient: (r.status, r.reason, r.due_at) for r in conn.execute(query)}

    return await rt.store.read(read)


async def reports_per_message(rt: Runtime, account_id: int) -> Counter[tuple[int, str]]:
    """(message id, report status) -> how many webhooks were queued."""
    queued = await rt.store.read(webhook_store.of_account, account_id)
    return Counter((w.message_id, json.loads(w.payload)["report"]["status"]) for w in queued)


#: A queued webhook as stored (``stored_webhooks``).
Webhook = webhook_store.Webhook


async def stored_webhooks(rt: Runtime, account_id: int) -> list[Webhook]:
    """Every webhook queued for an account, oldest first."""
    return await rt.store.read(webhook_store.of_account, account_id)


async def webhook_progress(rt: Runtime) -> tuple[int, int]:
    """(webhooks queued, attempts made) over every account: changes whenever a report is
    queued or attempted."""

    def read(conn: sa.Connection) -> tuple[int, int]:
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(webhooks.c.attempts), 0))
        queued, attempts = conn.execute(query).one()
        return int(queued), int(attempts)

    return await rt.store.read(read)


async def order_flags(rt: Runtime, order_id: int) -> tuple[bool, bool]:
    """(dispatched, cancelled) of an order."""

    def read(conn: sa.Connection) -> tuple[bool, bool]:
        query = sa.select(orders.c.dispatched, orders.c.cancelled).where(orders.c.id == order_id)
        dispatched, cancelled = conn.execute(query).one()
        return bool(dispatched), bool(cancelled)

    return await rt.store.read(read)


async def settled_after(rt: Runtime, order_id: int) -> dict[str, int]:
    """recipient -> microseconds from the order's submission to the message's last
    status change."""

    def read(conn: sa.Connection) -> dict[str, int]:
        query = (
            sa.select(messages.c.recipient, messages.c.updated_at - orders.c.submit_at)
            .join(orders, orders.c.id == messages.c.order_id)
            .where(orders.c.id == order_id)
        )
        return {recipient: int(after) for recipient, after in conn.execute(query)}

    return await rt.store.read(read)


async def all_message_ids(rt: Runtime) -> list[int]:
    """The id of every stored message."""

    def read(conn: sa.Connection) -> list[int]:
        return [id_ for (id_,) in conn.execute(sa.select(messages.c.id).order_by(messages.c.id))]

    return await rt.store.read(read)


async def rate_tat(rt: Runtime, account_id: int) -> int | None:
    """The account's stored rate-limit arrival time (None: no row, a full bucket)."""
    return await rt.store.read(rate_store.tat_of, account_id)


# -- by URL, on a fresh connection (what another process sees) ------------------------------


@contextlib.contextmanager
def fresh_connection(url: str) -> Iterator[sa.Connection]:
    """A brand-new connection, not pooled: it sees only what was committed."""
    engine = sa.create_engine(normalize_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def committed_blacklist(url: str, account_id: int) -> tuple[list[int], int]:
    """(every listed number, the kept blacklist count) as committed."""
    with fresh_connection(url) as conn:
        found = conn.execute(
            sa.text("SELECT number FROM blacklist WHERE account_id = :id ORDER BY number"),
            {"id": account_id},
        ).scalars()
        numbers = [int(n) for n in found]
        count = conn.execute(
            sa.text(
                "SELECT COALESCE(SUM(count), 0) FROM blacklist_counters WHERE account_id = :id"
            ),
            {"id": account_id},
        ).scalar_one()
    return numbers, int(count)


def is_committed(url: str, account_id: int, number: int) -> bool:
    """Whether the number is listed for the account, as committed."""
    with fresh_connection(url) as conn:
        row = conn.execute(
            sa.text("SELECT 1 FROM blacklist WHERE account_id = :id AND number = :n"),
            {"id": account_id, "n": number},
        ).first()
    return row is not None


def terminate_backends(url: str, application_name: str) -> int:
    """Drop every PostgreSQL connection named ``application_name`` (the server under
    test's, and only those); how many."""
    with fresh_connection(url) as conn:
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = :name"
            ),
            {"name": application_name},
        ).scalar_one()
        conn.commit()
    return int(killed)


def head_revision() -> str:
    """The newest revision of ileti's migrations."""
    return head()


def revision(url: str) -> str | None:
    """The Alembic revision the database is at."""
    store = Store(Settings(database_url=url))
    try:
        return current(store.writer_engine)
    finally:
        store.close()


@contextlib.contextmanager
def inserts_fail(url: str, number: int) -> Iterator[None]:
    """While open, storing ``number`` in any blacklist fails inside the database (a
    trigger raises), failing the whole transaction that tried."""
    with fresh_connection(url) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER test_inserts_fail BEFORE INSERT ON blacklist "
                f"WHEN NEW.number = {int(number)} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION test_inserts_fail() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER test_inserts_fail BEFORE INSERT ON blacklist FOR EACH ROW "
                f"WHEN (NEW.number = {int(number)}) EXECUTE FUNCTION test_inserts_fail()"
            )
        conn.commit()
    try:
        yield
    finally:
        with fresh_connection(url) as conn:
            conn.exec_driver_sql("DROP TRIGGER test_inserts_fail" + _on_blacklist(conn))
            if conn.dialect.name != "sqlite":
                conn.exec_driver_sql("DROP FUNCTION test_inserts_fail()")
            conn.commit()


def _on_blacklist(conn: sa.Connection) -> str:
    return "" if conn.dialect.name == "sqlite" else " ON blacklist"


# -- what reaches the database -------------------------------------------------------------


@contextlib.contextmanager
def statements(rt: Runtime) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the instance's store sends while the block runs, as (SQL, the
    parameters), in a list filled as they go."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_rest: Any) -> None:
        seen.append((sql, params))

    engines = {rt.store.reader, rt.store.writer_engine}
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)


# -- the database refusing writes ---------------------------------------------------------


def refuse_sqlite_writes(store: Store) -> None:
    """Every connection the store opens from now on is ``PRAGMA query_only``: SQLite
    itself refuses to write (call before the store's first connection)."""
    assert store.dialect == "sqlite"

    def query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    for engine in {store.reader, store.writer_engine}:
        sa.event.listen(engine, "connect", query_only)


# -- a full database (SQLite) ------------------------------------------------------------

#: SQLite's largest max_page_count: as good as no limit.
_NO_PAGE_LIMIT = 4294967294


class FullDatabase:
    """An instance's SQLite database made full and not full again, while it runs.

    Full: the writer's connections get ``PRAGMA max_page_count`` set to the pages the
    file has, so a write that needs one more page fails with ``SQLITE_FULL`` ("database
    or disk is full"), the very error a full disk gives (the pages already free are used
    first, as on a disk). The writer's connection at the moment gets it through the
    writer itself, and every connection it opens later (after an error it reconnects)
    on connecting. Not full: the limit is lifted the same way."""

    def __init__(self, rt: Runtime) -> None:
        assert rt.store.dialect == "sqlite"
        self._store = rt.store
        self.full = False
        sa.event.listen(rt.store.writer_engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        if self.full:
            (pages,) = dbapi_connection.execute("PRAGMA page_count").fetchone()
            dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages)}")

    async def _limit(self) -> int:
        def limit(conn: sa.Connection) -> int:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            wanted = int(pages) if self.full else _NO_PAGE_LIMIT
            return int(conn.exec_driver_sql(f"PRAGMA max_page_count = {wanted}").scalar_one())

        return await self._store.transaction(limit)

    async def fill(self) -> int:
        """Full from now on; the page limit set."""
        self.full = True
        return await self._limit()

    async def make_room(self) -> int:
        """Not full any more; the page limit set."""
        self.full = False
        return await self._limit()


def integrity_check(url: str) -> str:
    """SQLite's ``PRAGMA integrity_check`` of the database at ``url`` ("ok": intact)."""
    with fresh_connection(url) as conn:
        return "\n".join(str(row[0]) for row in conn.exec_driver_sql("PRAGMA integrity_check"))


async def health_probe_rows(rt: Runtime) -> list[tuple[str, int]]:
    """(instance, probed_at) of every stored health probe."""
    from ileti.store.schema import health_probes

    def read(conn: sa.Connection) -> list[tuple[str, int]]:
        query = sa.select(health_probes.c.instance, health_probes.c.probed_at)
        return [(r.instance, r.probed_at) for r in conn.execute(query)]

    return await rt.store.read(read)


# -- orders and background work (issue 7's write path, stepped on a clock) ---------------


async def account_facts(rt: Runtime, account_id: int) -> dict[str, Any]:
    """What is stored for an account: balance, orders, messages, rate-limit state."""

    def read(conn: sa.Connection) -> dict[str, Any]:
        def count(table: sa.Table) -> int:
            query = sa.select(sa.func.count()).where(table.c.account_id == account_id)
            return int(conn.execute(query).scalar_one())

        balance = conn.execute(
            sa.select(accounts.c.balance).where(accounts.c.id == account_id)
        ).scalar_one()
        tat = conn.execute(
            sa.select(rate_limits.c.tat).where(rate_limits.c.account_id == account_id)
        ).scalar()
        return {
            "balance": balance,
            "orders": count(orders),
            "messages": count(messages),
            "tat": tat,
        }

    return await rt.store.read(read)


async def message_rows(rt: Runtime, order_id: int) -> list[tuple[str, int, str | None]]:
    """(recipient, status, reason) of an order's messages, in order."""

    def read(conn: sa.Connection) -> list[tuple[str, int, str | None]]:
        query = (
            sa.select(messages.c.recipient, messages.c.status, messages.c.reason)
            .where(messages.c.order_id == order_id)
            .order_by(messages.c.id)
        )
        return [(r.recipient, r.status, r.reason) for r in conn.execute(query)]

    return await rt.store.read(read)


async def is_dispatched(rt: Runtime, order_id: int) -> bool:
    def read(conn: sa.Connection) -> bool:
        query = sa.select(orders.c.dispatched).where(orders.c.id == order_id)
        return bool(conn.execute(query).scalar_one())

    return await rt.store.read(read)


async def webhook_attempts(rt: Runtime) -> list[tuple[int, str | None]]:
    """(attempts, last error) of every queued webhook, oldest first."""

    def read(conn: sa.Connection) -> list[tuple[int, str | None]]:
        query = sa.select(webhooks.c.attempts, webhooks.c.last_error).order_by(webhooks.c.id)
        return [(r.attempts, r.last_error) for r in conn.execute(query)]

    return await rt.store.read(read)


def through_port(url: str, port: int) -> str:
    """A PostgreSQL URL pointed at 127.0.0.1:``port`` (a proxy), without TLS."""
    parsed = sa.engine.make_url(url).set(host="127.0.0.1", port=port)
    return parsed.update_query_dict({"sslmode": "disable"}).render_as_string(hide_password=False)


def port_of(url: str) -> int:
    return sa.engine.make_url(url).port or 5432


# -- an account's own rows (state: seed, export, reset) -----------------------------------

#: Deep get-blacklist pages start from a bookmark every this many entries.
BOOKMARK_STEP = blacklist_store.BOOKMARK_STEP


async def rows_of_account(rt: Runtime, account_key: str) -> dict[str, list[tuple[Any, ...]]]:
    """The rows an account owns, by table."""
    from ileti.store.schema import metadata

    def read(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
        t = metadata.tables
        (account_id,) = conn.execute(
            sa.select(t["accounts"].c.id).where(t["accounts"].c.key == account_key)
        ).one()
        own_orders = sa.select(t["orders"].c.id).where(t["orders"].c.account_id == account_id)
        queries = {
            name: sa.select(t[name]).where(t[name].c.account_id == account_id)
            for name in ("orders", "messages", "webhooks", "blacklist", "rate_limits")
        }
        queries["order_texts"] = sa.select(t["order_texts"]).where(
            t["order_texts"].c.order_id.in_(own_orders)
        )
        return {
            name: sorted((tuple(r) for r in conn.execute(query)), key=repr)
            for name, query in queries.items()
        }

    return await rt.store.read(read)


async def blacklist_entries(rt: Runtime, account_id: int) -> list[tuple[int, int, str]]:
    """(number, blocked_at, source) of every entry, in get-blacklist order."""
    entries = await rt.store.read(lambda conn: list(blacklist_store.entries(conn, account_id)))
    return [(e.number, e.blocked_at, e.source) for e in entries]


async def message_id_of(rt: Runtime, order_id: int) -> int:
    """The id of an order's only message."""
    found = await rows(rt, "SELECT id FROM messages WHERE order_id = :o", o=order_id)
    (row,) = found
    return int(row.id)


# -- outbox search (the recipient index, a late commit) -----------------------------------


def _new_order(account_id: int, at: int, texts: list[tuple[str, int]], rows: list[Any]) -> Any:
    from ileti.store.orders import NewOrder

    return NewOrder(
        account_id=account_id,
        sender="ILETI",
        iys=False,
        iys_list=None,
        submit_at=at,
        send_at=at,
        scheduled=False,
        price=len(rows),
        fingerprint="0" * 64,
        texts=texts,
        messages=rows,
    )


def store_messages(rt: Runtime, account_id: int, recipients: list[str], text: str, at: int) -> None:
    """One order of waiting messages to ``recipients``, written straight into the store
    (many at once, faster than send-sms), and the planner told about them."""
    from ileti.store import orders as orders_store

    rows = [(0, recipient, 110, None, True) for recipient in recipients]
    order = _new_order(account_id, at, [(text, 1)], rows)
    rt.store.write_sync(lambda conn: orders_store.insert_order(conn, order))
    if rt.store.dialect == "postgresql":
        rt.store.write_sync(lambda conn: conn.exec_driver_sql("ANALYZE"))


@contextlib.contextmanager
def uncommitted_message(
    url: str, *, account_id: int, recipient: str, text: str, at: int
) -> Iterator[Callable[[], None]]:
    """A message written in a transaction held open on a connection of its own (its id
    taken, not yet visible); yields the function that commits it."""
    from ileti.store import orders as orders_store

    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            pending = conn.begin()
            rows = [(0, recipient, 110, None, True)]
            orders_store.insert_order(conn, _new_order(account_id, at, [(text, 1)], rows))
            yield pending.commit
    finally:
        engine.dispose()


async def search_plan(rt: Runtime, filters: Any, limit: int) -> str:
    """The database's plan for the outbox search with these filters."""
    from ileti.store import outbox as outbox_store

    dialect = rt.store.dialect
    query = outbox_store.search_query(dialect, filters, limit)
    sql = str(
        query.compile(dialect=rt.store.reader.dialect, compile_kwargs={"literal_binds": True})
    )
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "

    def plan(conn: sa.Connection) -> str:
        return "\n".join(str(row) for row in conn.exec_driver_sql(explain + sql))

    return await rt.store.read(plan)


async def search_store(rt: Runtime, filters: Any, limit: int) -> list[Any]:
    """The outbox search as the store answers it."""
    from ileti.store import outbox as outbox_store

    return await rt.store.read(outbox_store.search, filters, limit)


@contextlib.contextmanager
def statements_read(rt: Runtime) -> Iterator[list[str]]:
    """Every SQL statement the instance's read connections run while inside."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(rt.store.reader, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(rt.store.reader, "before_cursor_execute", record)


# -- the webhook log and inbound messages --------------------------------------------------


async def webhook_rows(rt: Runtime) -> list[tuple[int, str, int]]:
    def read(conn: sa.Connection) -> list[tuple[int, str, int]]:
        query = sa.select(webhooks.c.id, webhooks.c.url, webhooks.c.attempts)
        return [tuple(row) for row in conn.execute(query.order_by(webhooks.c.id))]  # type: ignore[misc]

    return await rt.store.read(read)


async def inbound_rows(rt: Runtime) -> list[tuple[str, str, str, str | None]]:
    def read(conn: sa.Connection) -> list[tuple[str, str, str, str | None]]:
        from ileti.store.schema import inbound

        query = sa.select(inbound.c.sender, inbound.c.recipient, inbound.c.text, inbound.c.action)
        return [tuple(row) for row in conn.execute(query.order_by(inbound.c.id))]  # type: ignore[misc]

    return await rt.store.read(read)


async def blacklist_rows(rt: Runtime) -> list[tuple[int, int, str]]:
    def read(conn: sa.Connection) -> list[tuple[int, int, str]]:
        from ileti.store.schema import blacklist

        query = sa.select(blacklist.c.account_id, blacklist.c.number, blacklist.c.source)
        return [tuple(row) for row in conn.execute(query.order_by(blacklist.c.number))]  # type: ignore[misc]

    return await rt.store.read(read)


# -- fault rules and delivery control -----------------------------------------------------


async def count_rows(rt: Runtime, table_name: str) -> int:
    """How many rows a table holds (``orders``, ``faults``, ...)."""
    from ileti.store.schema import metadata

    table = metadata.tables[table_name]

    def read(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    return await rt.store.read(read)


async def account_webhooks(rt: Runtime, account_id: int) -> list[Any]:
    """Every webhook queued for an account, oldest first, as the store keeps them."""
    return await rt.store.read(webhook_store.of_account, account_id)


async def order_polls(rt: Runtime, order_id: int) -> int:
    """How many times get-report has counted a poll of the order."""

    def read(conn: sa.Connection) -> int:
        return int(
            conn.execute(sa.select(orders.c.polls).where(orders.c.id == order_id)).scalar_one()
        )

    return await rt.store.read(read)


async def insert_account_row_raw(rt: Runtime, *, key: str, name: str) -> None:
    """An accounts row inserted by plain SQL through the writer (no check of the key
    first): a key in use makes the database itself refuse it."""

    def insert(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(accounts).values(
                name=name,
                key=key,
                hash_sha256="0" * 64,
                api_access=True,
                allow_ips="[]",
                senders="[]",
                balance=0,
                created_at=0,
                updated_at=0,
            )
        )

    await rt.store.transaction(insert)


# -- webhook attempts and their migration (0010) ------------------------------------------


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(normalize_url(url), poolclass=NullPool)


def migrate_to(url: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database at ``url`` to ``revision``."""
    from alembic import command
    from alembic.config import Config

    from ileti.store.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            if down:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
    finally:
        engine.dispose()


def legacy_webhook(url: str, last_error: str | None) -> int:
    """A webhook row as revision 0009 kept it (``last_error``: the JSON history); its id."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                sa.text(
                    "INSERT INTO webhooks (account_id, message_id, url, payload, attempts,"
                    " next_attempt_at, delivered_at, last_error)"
                    " VALUES (1, 1, 'http://h/', '{}', 2, NULL, NULL, :e) RETURNING id"
                ),
                {"e": last_error},
            )
            return int(found.scalar_one())
    finally:
        engine.dispose()


def stored_attempts(url: str) -> list[tuple[Any, ...]]:
    """(webhook id, at, error, HTTP status, reply) of every attempt, in order."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT webhook_id, at, error, http_status, reply FROM webhook_attempts"
                    " ORDER BY id"
                )
            )
            return [tuple(row) for row in found]
    finally:
        engine.dispose()


def last_errors(url: str) -> list[str | None]:
    """``webhooks.last_error`` of every row, oldest first."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT last_error FROM webhooks ORDER BY id"))
            return [row[0] for row in found]
    finally:
        engine.dispose()


def has_table(url: str, name: str) -> bool:
    engine = _engine(url)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


# -- the panel's users and sessions -------------------------------------------------------


async def user_rows(rt: Runtime) -> list[dict[str, Any]]:
    from ileti.store.schema import users

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        return [dict(row) for row in conn.execute(sa.select(users)).mappings()]

    return await rt.store.read(read)


async def session_rows(rt: Runtime) -> list[dict[str, Any]]:
    from ileti.store.schema import panel_sessions

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        return [dict(row) for row in conn.execute(sa.select(panel_sessions)).mappings()]

    return await rt.store.read(read)


# -- İYS consent ---------------------------------------------------------------------------


async def stored_consents(rt: Runtime, account_id: int) -> list[tuple[Any, ...]]:
    """Every consent record of an account, oldest first: (brand code, recipient,
    recipient type, type, status, source, consent date as Istanbul text, origin)."""

    def read(conn: sa.Connection) -> list[tuple[Any, ...]]:
        query = (
            sa.select(
                consent_records.c.brand_code,
                consent_records.c.recipient,
                consent_records.c.recipient_type,
                consent_records.c.type,
                consent_records.c.status,
                consent_records.c.source,
                consent_records.c.consent_date,
                consent_records.c.origin,
            )
            .where(consent_records.c.account_id == account_id)
            .order_by(consent_records.c.id)
        )
        return [(*row[:6], format_local(row[6]), row[7]) for row in conn.execute(query)]

    return await rt.store.read(read)


async def latest_consents(rt: Runtime, account_id: int) -> dict[tuple[str, str, str], str]:
    """(type, recipient type, recipient) -> the latest status, as stored (every brand)."""

    def read(conn: sa.Connection) -> dict[tuple[str, str, str], str]:
        query = sa.select(
            consents.c.type, consents.c.recipient_type, consents.c.recipient, consents.c.status
        ).where(consents.c.account_id == account_id)
        return {(t, rt_, r): s for t, rt_, r, s in conn.execute(query)}

    return await rt.store.read(read)


# -- the relay as the panel left it -----------------------------------------------------------


def upstream_by_key(url: str, account_key: str) -> dict[str, Any] | None:
    """The ``upstreams`` row of the account with this key, as committed (None: none)."""
    with fresh_connection(url) as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT u.* FROM upstreams u JOIN accounts a ON a.id = u.account_id "
                    "WHERE a.key = :key"
                ),
                {"key": account_key},
            )
            .mappings()
            .first()
        )
    return dict(row) if row is not None else None


def batches_by_order(url: str, order_id: int) -> list[dict[str, Any]]:
    """An order's relay batches (kind, state, upstream id, numbers), oldest first."""
    with fresh_connection(url) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT kind, state, upstream_id, numbers FROM relay_batches "
                "WHERE order_id = :id ORDER BY id"
            ),
            {"id": order_id},
        ).mappings()
        return [{**row, "numbers": json.loads(row["numbers"])} for row in rows]


# -- the relay (tests/test_relay.py) ------------------------------------------------------------


async def upstream_rows(rt: Runtime) -> list[dict[str, Any]]:
    """Every ``upstreams`` row as stored (the hash sealed)."""

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        query = sa.select(upstreams).order_by(upstreams.c.account_id)
        return [dict(row) for row in conn.execute(query).mappings()]

    return await rt.store.read(read)


async def relay_batch_rows(rt: Runtime, order_id: int) -> list[dict[str, Any]]:
    """The ``relay_batches`` rows of an order as stored (``numbers`` decoded)."""

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        query = (
            sa.select(relay_batches)
            .where(relay_batches.c.order_id == order_id)
            .order_by(relay_batches.c.id)
        )
        found = [dict(row) for row in conn.execute(query).mappings()]
        for row in found:
            row["numbers"] = json.loads(row["numbers"])
        return found

    return await rt.store.read(read)


async def order_relay(rt: Runtime, order_id: int) -> tuple[bool, str | None, int]:
    """(relay, relay_error, price) of an order as stored."""

    def read(conn: sa.Connection) -> tuple[bool, str | None, int]:
        query = sa.select(orders.c.relay, orders.c.relay_error, orders.c.price).where(
            orders.c.id == order_id
        )
        relay, error, price = conn.execute(query).one()
        return bool(relay), error, int(price)

    return await rt.store.read(read)


# -- blacklist sync --------------------------------------------------------------------------


async def sync_queue(rt: Runtime, account_id: int) -> list[tuple[str, str, int, str | None]]:
    """(number, op, attempts, error) of each blacklist change of the account still to be
    mirrored upstream, oldest first (``relay_blacklist``)."""
    from ileti.numbers import e164
    from ileti.store import relay_blacklist as sync_store

    found = await rt.store.read(sync_store.changes_of, account_id, 1000)
    return [(e164(c.number), c.op, c.attempts, c.error) for c in found]


# -- the relay: batches and what an upstream holds (by URL, as committed) ---------------------


@dataclass(frozen=True)
class RelayedBatch:
    """A relay batch as committed: its state, attempts, the upstream order id it holds,
    and the text and recipients it carries."""

    id: int
    order_id: int
    state: str
    attempts: int
    upstream_id: str | None
    text: str
    numbers: tuple[str, ...]
    submit_at: int
    sent_at: int | None


def relayed_batches(url: str) -> list[RelayedBatch]:
    """Every relay batch of the database at ``url``, in id order."""
    from ileti.store.schema import order_texts, relay_batches

    query = (
        sa.select(
            relay_batches.c.id,
            relay_batches.c.order_id,
            relay_batches.c.state,
            relay_batches.c.attempts,
            relay_batches.c.upstream_id,
            relay_batches.c.numbers,
            relay_batches.c.sent_at,
            order_texts.c.text,
            orders.c.submit_at,
        )
        .join(
            order_texts,
            sa.and_(
                order_texts.c.order_id == relay_batches.c.order_id,
                order_texts.c.idx == relay_batches.c.text_idx,
            ),
        )
        .join(orders, orders.c.id == relay_batches.c.order_id)
        .order_by(relay_batches.c.id)
    )
    with fresh_connection(url) as conn:
        return [
            RelayedBatch(
                id=r.id,
                order_id=r.order_id,
                state=r.state,
                attempts=r.attempts,
                upstream_id=r.upstream_id,
                text=r.text,
                numbers=tuple(sorted(json.loads(r.numbers))),
                submit_at=r.submit_at,
                sent_at=r.sent_at,
            )
            for r in conn.execute(query)
        ]


def relayed_texts(url: str) -> list[str]:
    """The text of every order stored as relayed (``orders.relay``), one per text."""
    from ileti.store.schema import order_texts

    query = (
        sa.select(order_texts.c.text)
        .join(orders, orders.c.id == order_texts.c.order_id)
        .where(orders.c.relay.is_(True))
    )
    with fresh_connection(url) as conn:
        return list(conn.execute(query).scalars())


@dataclass(frozen=True)
class ReceivedText:
    """One text of an order an upstream stored: its order id (as v1 shows it), the text
    and its recipients."""

    order_id: str
    text: str
    numbers: tuple[str, ...]


def received_texts(url: str, account_key: str) -> list[ReceivedText]:
    """Every text of every order the account with ``account_key`` has at ``url`` (an
    upstream's own database), with its recipients, in order id order."""
    from ileti.store.schema import order_texts

    with fresh_connection(url) as conn:
        account_id = conn.execute(
            sa.select(accounts.c.id).where(accounts.c.key == account_key)
        ).scalar_one()
        texts = conn.execute(
            sa.select(order_texts.c.order_id, order_texts.c.idx, order_texts.c.text)
            .join(orders, orders.c.id == order_texts.c.order_id)
            .where(orders.c.account_id == account_id)
            .order_by(order_texts.c.order_id, order_texts.c.idx)
        ).all()
        recipients: dict[tuple[int, int], list[str]] = {}
        for row in conn.execute(
            sa.select(messages.c.order_id, messages.c.text_idx, messages.c.recipient)
            .join(orders, orders.c.id == messages.c.order_id)
            .where(orders.c.account_id == account_id)
        ):
            recipients.setdefault((row.order_id, row.text_idx), []).append(row.recipient)
    return [
        ReceivedText(
            order_id=str(row.order_id),
            text=row.text,
            numbers=tuple(sorted(recipients.get((row.order_id, row.idx), []))),
        )
        for row in texts
    ]
