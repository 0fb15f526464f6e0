"""SQL for the blacklist. ``blacklist_counters`` (the count and version of each
account's list, striped per writer process) is kept in step by every write here, so the
unfiltered count of get-blacklist is a sum over a few rows, not a scan.

Every write here also queues, in the same statement or transaction, the numbers it
actually added or removed for an account whose upstream mirrors its blacklist
(``ileti.store.relay_blacklist``); only ``add_pulled`` (what the upstream's list had)
queues nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, delete, func, select, text, tuple_
from sqlalchemy.exc import DBAPIError

from ileti.models import BlacklistEntry, BlacklistPage
from ileti.store import relay_blacklist as sync
from ileti.store.schema import accounts, blacklist, blacklist_counters


class Add(NamedTuple):
    account_id: int
    number: int
    blocked_at: int
    source: str


class Remove(NamedTuple):
    account_id: int
    number: int
    removed_at: int = 0


# The hot path (add-blacklist) runs one statement per account per batch, on the driver
# connection: a JSON array for SQLite, arrays for PostgreSQL. On PostgreSQL the same
# statement queues the new numbers of an account that syncs (a join with its upstream);
# SQLite asks first (one primary-key probe on the same cursor) and, for such an
# account, has the new numbers returned and queues them.
_ADD_SQL = {
    "sqlite": (
        "INSERT INTO blacklist (account_id, number, blocked_at, source) "
        "SELECT ?, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true "
        "ON CONFLICT DO NOTHING"
    ),
    "postgresql": (
        "WITH ins AS ("
        " INSERT INTO blacklist (account_id, number, blocked_at, source)"
        " SELECT %s, n, b, s FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS t(n, b, s)"
        " ON CONFLICT DO NOTHING RETURNING account_id, number, blocked_at),"
        f" q AS ({sync.queue_sql('ins', sync.ADD, 'ins.blocked_at')})"
        " SELECT count(*) FROM ins"
    ),
}
_ADD_RETURNING_SQLITE = _ADD_SQL["sqlite"] + " RETURNING number"
_SYNCS_SQLITE = "SELECT 1 FROM upstreams WHERE account_id = ? AND blacklist_sync"
#: This process's counter stripe: writers in different processes add to different rows.
STRIPES = 16
STRIPE = os.getpid() % STRIPES

_COUNT_SQL = {
    "sqlite": (
        "INSERT INTO blacklist_counters (account_id, stripe, count, version) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (account_id, stripe) DO UPDATE SET count = count + excluded.count, "
        "version = version + 1"
    ),
    "postgresql": (
        "INSERT INTO blacklist_counters (account_id, stripe, count, version) "
        "VALUES (%s, %s, %s, 1) ON CONFLICT (account_id, stripe) DO UPDATE SET "
        "count = blacklist_counters.count + excluded.count, "
        "version = blacklist_counters.version + 1"
    ),
}


def _insert(conn: Connection, account_id: int, rows: list[tuple[int, int, str]]) -> int:
    """Insert what is not listed yet (one statement), queueing it for the upstream when
    the account syncs; how many rows were new."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            cursor.execute(
                _ADD_SQL[dialect],
                (
                    account_id,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                ),
            )
            added = int(cursor.fetchone()[0])
        else:
            cursor.execute(_SYNCS_SQLITE, (account_id,))
            if cursor.fetchone() is None:
                cursor.execute(_ADD_SQL[dialect], (account_id, json.dumps(rows)))
                added = cursor.rowcount
            else:
                cursor.execute(_ADD_RETURNING_SQLITE, (account_id, json.dumps(rows)))
                new = [int(row[0]) for row in cursor.fetchall()]
                added = len(new)
                sync.record(conn, account_id, new, sync.ADD, rows[0][1])
        if added:
            cursor.execute(_COUNT_SQL[dialect], (account_id, STRIPE, added))
        return added
    finally:
        cursor.close()


def _adjust_count(conn: Connection, account_id: int, delta: int) -> None:
    if delta:
        conn.exec_driver_sql(_COUNT_SQL[conn.dialect.name], (account_id, STRIPE, delta))


def add(conn: Connection, items: list[Add]) -> list[None]:
    """Batched add-blacklist: idempotent, keeps the first blocked-at time."""
    by_account: dict[int, list[tuple[int, int, str]]] = {}
    for item in items:
        by_account.setdefault(item.account_id, []).append(
            (item.number, item.blocked_at, item.source)
        )
    for account_id, rows in by_account.items():
        _insert(conn, account_id, rows)
    return [None] * len(items)


# PostgreSQL: a batch of add-blacklist calls (any accounts) as ONE statement, which the
# writer runs autocommitted: one round trip, one commit.
_ADD_ALL_PG = (
    "WITH ins AS ("
    " INSERT INTO blacklist (account_id, number, blocked_at, source)"
    " SELECT a, n, b, s FROM unnest(%s::int[], %s::bigint[], %s::bigint[], %s::text[])"
    " AS t(a, n, b, s) ON CONFLICT DO NOTHING RETURNING account_id, number, blocked_at),"
    f" q AS ({sync.queue_sql('ins', sync.ADD, 'ins.blocked_at')}),"
    " c AS (SELECT account_id, count(*) AS n FROM ins GROUP BY account_id)"
    " INSERT INTO blacklist_counters (account_id, stripe, count, version)"
    " SELECT account_id, %s, n, 1 FROM c"
    " ON CONFLICT (account_id, stripe) DO UPDATE SET"
    " count = blacklist_counters.count + excluded.count,"
    " version = blacklist_counters.version + 1"
)


def _add_single_statement(raw: Any, items: list[Add]) -> list[None]:
    with raw.cursor() as cursor:
        cursor.execute(
            _ADD_ALL_PG,
            (
                [i.account_id for i in items],
                [i.number for i in items],
                [i.blocked_at for i in items],
                [i.source for i in items],
                STRIPE,
            ),
        )
    return [None] * len(items)


add.single_statement = _add_single_statement  # type: ignore[attr-defined]


# Imports on PostgreSQL: COPY a chunk into a transaction-local table, then one sorted
# INSERT ... SELECT (a third faster than array parameters for 1,000,000 numbers).
_IMPORT_STAGE_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS blacklist_import (number bigint NOT NULL) ON COMMIT DROP"
)
_IMPORT_COPY_SQL = "COPY blacklist_import (number) FROM STDIN"
_IMPORT_INSERT_SQL = (
    "INSERT INTO blacklist (account_id, number, blocked_at, source) "
    "SELECT %s, number, %s, %s FROM blacklist_import ORDER BY number "
    "ON CONFLICT DO NOTHING"
)
# The same for an account that syncs: the new numbers queued too.
_IMPORT_INSERT_QUEUED_SQL = (
    f"WITH ins AS ({_IMPORT_INSERT_SQL} RETURNING account_id, number, blocked_at),"
    f" q AS ({sync.queue_sql('ins', sync.ADD, 'ins.blocked_at')})"
    " SELECT count(*) FROM ins"
)


def add_many(
    conn: Connection, account_id: int, numbers: Iterable[int], *, blocked_at: int, source: str
) -> int:
    """Bulk add (imports) in the caller's transaction; returns how many were new."""
    if conn.dialect.name != "postgresql":
        return _insert(conn, account_id, [(n, blocked_at, source) for n in numbers])
    syncs = bool(sync.syncing(conn, [account_id]))
    lines = "".join(f"{n}\n" for n in numbers)
    if not lines:
        return 0
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_IMPORT_STAGE_SQL)
        with cursor.copy(_IMPORT_COPY_SQL) as copy:
            copy.write(lines)
        if syncs:
            cursor.execute(_IMPORT_INSERT_QUEUED_SQL, (account_id, blocked_at, source))
            added = int(cursor.fetchone()[0])
        else:
            cursor.execute(_IMPORT_INSERT_SQL, (account_id, blocked_at, source))
            added = cursor.rowcount
        cursor.execute("TRUNCATE blacklist_import")
        if added:
            cursor.execute(_COUNT_SQL["postgresql"], (account_id, STRIPE, added))
        return added
    finally:
        cursor.close()


def bulk_add_marker(conn: Connection) -> str | None:
    """Inside an import's transaction: what ``after_bulk_add`` needs (PostgreSQL: its id)."""
    if conn.dialect.name != "postgresql":
        return None
    return str(conn.exec_driver_sql("SELECT pg_current_xact_id()").scalar_one())


# Sessions of this database whose snapshot may not see the import yet: while one lasts,
# VACUUM cannot mark the import's pages all-visible.
_OLDER_SNAPSHOTS_SQL = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND (age(backend_xmin) >= age(xid(CAST(:x AS xid8))) "
    "OR age(backend_xid) >= age(xid(CAST(:x AS xid8))))"
)


def after_bulk_add(engine: Engine, marker: str | None, *, wait: float = 5.0) -> None:
    """After a committed import, on PostgreSQL: VACUUM (ANALYZE) the blacklist.

    ANALYZE lets the planner see the new rows (without it a deep get-blacklist page
    sorts the whole account); VACUUM marks their pages all-visible, so that pages are
    read by an index-only scan of ``ix_blacklist_account_blocked`` (without it, one
    heap fetch per skipped row). It first waits, up to ``wait`` seconds, for sessions
    whose snapshots predate the import. Autovacuum would do both eventually, if it is
    on; a failure here leaves the import intact.
    """
    if engine.dialect.name != "postgresql" or marker is None:
        return
    with contextlib.suppress(DBAPIError), engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + wait
        while conn.execute(_OLDER_SNAPSHOTS_SQL, {"x": marker}).scalar_one():
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        conn.exec_driver_sql("VACUUM (ANALYZE) blacklist")


# PostgreSQL: one delete-blacklist, and its queueing when the account syncs, in one
# statement (no round trip more for an account that does not).
_REMOVE_PG = (
    "WITH d AS (DELETE FROM blacklist WHERE account_id = %s AND number = %s"
    " RETURNING account_id, number),"
    f" q AS ({sync.queue_sql('d', sync.DELETE, '%s')})"
    " SELECT count(*) FROM d"
)


def remove(conn: Connection, items: list[Remove]) -> list[bool]:
    """Batched delete-blacklist: True where the number was listed and is now gone."""
    results: list[bool] = []
    postgresql = conn.dialect.name == "postgresql"
    syncing = set() if postgresql else sync.syncing(conn, (item.account_id for item in items))
    for item in items:
        if postgresql:
            removed = int(
                conn.exec_driver_sql(
                    _REMOVE_PG, (item.account_id, item.number, item.removed_at)
                ).scalar_one()
            )
        else:
            removed = conn.execute(
                delete(blacklist).where(
                    blacklist.c.account_id == item.account_id, blacklist.c.number == item.number
                )
            ).rowcount
            if removed and item.account_id in syncing:
                sync.record(conn, item.account_id, [item.number], sync.DELETE, item.removed_at)
        _adjust_count(conn, item.account_id, -removed)
        results.append(removed > 0)
    return results


#: Deep pages of an unfiltered get-blacklist start from a bookmark: the key of every
#: BOOKMARK_STEP-th entry, found once per blacklist version (one walk of the index) and
#: kept per process, so no page skips more than BOOKMARK_STEP index entries once the
#: way is known.
BOOKMARK_STEP = 10_000
_BOOKMARKS_KEPT = 64
_bookmarks: dict[tuple[str, int, int | None], tuple[int, list[tuple[int, int]]]] = {}

_ORDER = (blacklist.c.blocked_at, blacklist.c.number)
_entry_key = tuple_(blacklist.c.blocked_at, blacklist.c.number)


def _next_key(
    conn: Connection, account_id: int, after: tuple[int, int] | None, skip: int
) -> tuple[int, int] | None:
    query = select(*_ORDER).where(blacklist.c.account_id == account_id)
    if after is not None:
        query = query.where(_entry_key > tuple_(*after))
    row = conn.execute(query.order_by(*_ORDER).offset(skip).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def _bookmark(conn: Connection, account_id: int, version: int, mark: int) -> tuple[int, int]:
    """The key of entry ``mark * BOOKMARK_STEP`` (or of the last bookmark before the
    end), walking the index only as far as needed and remembering the way."""
    # The account's creation time tells a deleted account from a new one that got its
    # id (SQLite reuses the highest id) and whose list version starts again at 1.
    created = conn.execute(
        select(accounts.c.created_at).where(accounts.c.id == account_id)
    ).scalar()
    url = conn.engine.url.render_as_string(hide_password=True)
    cache_key = (url, account_id, created)
    cached = _bookmarks.get(cache_key)
    if cached is None or cached[0] != version:
        if len(_bookmarks) >= _BOOKMARKS_KEPT:
            _bookmarks.clear()
        cached = (version, [])
        _bookmarks[cache_key] = cached
    keys = cached[1]
    while len(keys) <= mark:
        found = _next_key(
            conn, account_id, keys[-1] if keys else None, BOOKMARK_STEP - 1 if keys else 0
        )
        if found is None:
            break
        keys.append(found)
    return keys[min(mark, len(keys) - 1)]


def page(
    conn: Connection,
    account_id: int,
    *,
    start: int | None,
    end: int | None,
    offset: int,
    limit: int,
) -> BlacklistPage:
    """One page in (blocked_at, number) order, and the count of all that match.

    Unfiltered: the count is the account's kept count, and a deep page starts from the
    nearest bookmark. Filtered: pages past the middle are read from the other end of
    the index, so the deepest page costs no more than the middle one.
    """
    conditions = [blacklist.c.account_id == account_id]
    if start is not None:
        conditions.append(blacklist.c.blocked_at >= start)
    if end is not None:
        conditions.append(blacklist.c.blocked_at < end)
    where = and_(*conditions)
    version = None
    if start is None and end is None:
        total, version = conn.execute(
            select(
                func.coalesce(func.sum(blacklist_counters.c.count), 0),
                func.coalesce(func.sum(blacklist_counters.c.version), 0),
            ).where(blacklist_counters.c.account_id == account_id)
        ).one()
        total, version = int(total), int(version)  # PostgreSQL's SUM is numeric
    else:
        total = conn.execute(select(func.count()).select_from(blacklist).where(where)).scalar_one()
    if offset >= total or limit <= 0:
        return BlacklistPage(count=total, numbers=[])
    size = min(limit, total - offset)
    query = select(blacklist.c.number).where(where)
    if version is not None and offset >= BOOKMARK_STEP:
        mark = offset // BOOKMARK_STEP
        key = _bookmark(conn, account_id, version, mark)
        query = query.where(_entry_key >= tuple_(*key)).order_by(*_ORDER)
        query = query.offset(offset - mark * BOOKMARK_STEP).limit(size)
        numbers = list(conn.execute(query).scalars())
    elif offset + size / 2 <= total / 2:
        query = query.order_by(*_ORDER).offset(offset)
        numbers = list(conn.execute(query.limit(size)).scalars())
    else:
        from_end = total - offset - size
        query = query.order_by(blacklist.c.blocked_at.desc(), blacklist.c.number.desc())
        numbers = list(conn.execute(query.offset(from_end).limit(size)).scalars())
        numbers.reverse()
    return BlacklistPage(count=total, numbers=numbers)


def entries(conn: Connection, account_id: int, *, chunk: int = 10_000) -> Iterator[BlacklistEntry]:
    """Every entry of an account in (blocked_at, number) order, streamed."""
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(
        select(blacklist.c.number, blacklist.c.blocked_at, blacklist.c.source)
        .where(blacklist.c.account_id == account_id)
        .order_by(blacklist.c.blocked_at, blacklist.c.number)
    )
    for row in result:
        yield BlacklistEntry(number=row.number, blocked_at=row.blocked_at, source=row.source)


def add_entries(conn: Connection, account_id: int, entries: Iterable[BlacklistEntry]) -> int:
    """Add entries, each with its own blocked-at time and source (a seed, an opt-out
    keyword), in the caller's transaction; how many were new (a listed number keeps its
    own)."""
    rows = [(e.number, e.blocked_at, e.source) for e in entries]
    return _insert(conn, account_id, rows)


def clear(conn: Connection, account_id: int) -> int:
    """Remove every entry of an account (a sandbox reset); how many. Its count drops to 0
    and its version moves on, like any other change to its list. Not mirrored upstream
    by blacklist sync: a reset must not undo opt-outs at the provider."""
    where = blacklist.c.account_id == account_id
    removed = conn.execute(delete(blacklist).where(where)).rowcount
    _adjust_count(conn, account_id, -removed)
    return removed


# What the upstream's list had (blacklist sync's import): added with its own source,
# never queued back, and not while a change of the number waits to be mirrored (a local
# delete not yet made upstream must not be undone by the upstream's stale entry).
_PULLED_SQL = {
    "sqlite": (
        "INSERT INTO blacklist (account_id, number, blocked_at, source) "
        "SELECT ?, value, ?, ? FROM json_each(?) WHERE NOT EXISTS ("
        "SELECT 1 FROM relay_blacklist r WHERE r.account_id = ? AND r.number = value) "
        "ON CONFLICT DO NOTHING"
    ),
    "postgresql": (
        "INSERT INTO blacklist (account_id, number, blocked_at, source) "
        "SELECT %s, n, %s, %s FROM unnest(%s::bigint[]) AS t(n) WHERE NOT EXISTS ("
        "SELECT 1 FROM relay_blacklist r WHERE r.account_id = %s AND r.number = n) "
        "ON CONFLICT DO NOTHING"
    ),
}


def add_pulled(
    conn: Connection, account_id: int, numbers: Iterable[int], *, blocked_at: int, source: str
) -> int:
    """Add numbers read from the account's upstream list (see ``_PULLED_SQL``) in the
    caller's transaction; how many were new."""
    ordered = sorted(set(numbers))
    if not ordered:
        return 0
    dialect = conn.dialect.name
    packed: Any = ordered if dialect == "postgresql" else json.dumps(ordered)
    added = conn.exec_driver_sql(
        _PULLED_SQL[dialect], (account_id, blocked_at, source, packed, account_id)
    ).rowcount
    _adjust_count(conn, account_id, added)
    return added


def forget_bookmarks() -> None:
    """Drop this process's page bookmarks: after accounts are removed wholesale, SQLite
    may give a new account a removed one's id, whose list version starts again at 1."""
    _bookmarks.clear()
