"""SQL for the panel's blacklist page: one entry by number, keyset pages in
(blocked_at, number) order, the kept count, and adds that tell which numbers were new
(and queue them for the upstream when the account syncs, ``ileti.store.relay_blacklist``).

Every query here is bounded: the primary key (account_id, number) finds one entry or a
chunk of them; ``ix_blacklist_account_blocked`` (account_id, blocked_at, number) serves
the pages, a range scan from the cursor of at most ``limit + 1`` rows, whatever the
list's size. Nothing counts rows: the count is the sum of ``blacklist_counters``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, func, select, tuple_

from ileti.models import BlacklistEntry
from ileti.store import relay_blacklist as sync
from ileti.store.blacklist import _adjust_count
from ileti.store.schema import blacklist, blacklist_counters

#: (blocked_at, number): where a page starts or ends.
Cursor = tuple[int, int]

_entry_key = tuple_(blacklist.c.blocked_at, blacklist.c.number)
_MAX_NUMBER = 2**63 - 1
_COLUMNS = (blacklist.c.number, blacklist.c.blocked_at, blacklist.c.source)


def count(conn: Connection, account_id: int) -> int:
    """The account's kept count (a sum over its counter stripes)."""
    total = conn.execute(
        select(func.coalesce(func.sum(blacklist_counters.c.count), 0)).where(
            blacklist_counters.c.account_id == account_id
        )
    ).scalar_one()
    return int(total)


def find(conn: Connection, account_id: int, number: int) -> BlacklistEntry | None:
    row = conn.execute(
        select(*_COLUMNS).where(blacklist.c.account_id == account_id, blacklist.c.number == number)
    ).first()
    return BlacklistEntry(row.number, row.blocked_at, row.source) if row is not None else None


def listed(conn: Connection, account_id: int, numbers: Iterable[int]) -> dict[int, BlacklistEntry]:
    """The entries of ``numbers`` (a chunk: a few thousand at most) that are listed."""
    wanted = list(numbers)
    if not wanted:
        return {}
    rows = conn.execute(
        select(*_COLUMNS).where(
            blacklist.c.account_id == account_id, blacklist.c.number.in_(wanted)
        )
    )
    return {r.number: BlacklistEntry(r.number, r.blocked_at, r.source) for r in rows}


_INSERT_RETURNING = {
    "sqlite": (
        "INSERT INTO blacklist (account_id, number, blocked_at, source) "
        "SELECT ?, value, ?, ? FROM json_each(?) WHERE true "
        "ON CONFLICT DO NOTHING RETURNING number"
    ),
    "postgresql": (
        "INSERT INTO blacklist (account_id, number, blocked_at, source) "
        "SELECT %s, n, %s, %s FROM unnest(%s::bigint[]) AS t(n) "
        "ON CONFLICT DO NOTHING RETURNING number"
    ),
}


def insert_new(
    conn: Connection, account_id: int, numbers: Iterable[int], *, blocked_at: int, source: str
) -> set[int]:
    """Add ``numbers`` (a chunk) in the caller's transaction, keeping the count in step;
    the numbers that were not listed before (a listed one keeps its entry)."""
    ordered = sorted(set(numbers))
    if not ordered:
        return set()
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            cursor.execute(_INSERT_RETURNING[dialect], (account_id, blocked_at, source, ordered))
        else:
            cursor.execute(
                _INSERT_RETURNING[dialect], (account_id, blocked_at, source, json.dumps(ordered))
            )
        added = {int(row[0]) for row in cursor.fetchall()}
    finally:
        cursor.close()
    _adjust_count(conn, account_id, len(added))
    if added and sync.syncing(conn, [account_id]):
        sync.record(conn, account_id, sorted(added), sync.ADD, blocked_at)
    return added


def keyset(
    conn: Connection,
    account_id: int,
    *,
    since: int | None,
    until: int | None,
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    limit: int,
) -> list[BlacklistEntry]:
    """Up to ``limit`` entries, newest first, blocked from ``since`` (inclusive) to
    ``until`` (exclusive): those just older than ``older_than`` (the next page) or, with
    ``newer_than``, those just newer (the previous page), still newest first."""
    # A cursor and the range's bound on the same side are folded into one row-value
    # bound, so that the index range starts at the cursor (SQLite would otherwise start
    # at the date and filter its way to the cursor).
    if older_than is not None and until is not None:
        older_than, until = min(older_than, (until, 0)), None
    if newer_than is not None and since is not None:
        newer_than, since = max(newer_than, (since - 1, _MAX_NUMBER)), None
    conditions = [blacklist.c.account_id == account_id]
    if since is not None:
        conditions.append(blacklist.c.blocked_at >= since)
    if until is not None:
        conditions.append(blacklist.c.blocked_at < until)
    query = select(*_COLUMNS)
    if newer_than is not None:
        conditions.append(_entry_key > tuple_(*newer_than))
        query = query.where(*conditions).order_by(blacklist.c.blocked_at, blacklist.c.number)
    else:
        if older_than is not None:
            conditions.append(_entry_key < tuple_(*older_than))
        query = query.where(*conditions).order_by(
            blacklist.c.blocked_at.desc(), blacklist.c.number.desc()
        )
    rows = [
        BlacklistEntry(r.number, r.blocked_at, r.source) for r in conn.execute(query.limit(limit))
    ]
    if newer_than is not None:
        rows.reverse()
    return rows
