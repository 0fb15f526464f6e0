"""SQL of blacklist sync (``ileti.services.relay_blacklist``): the changes of a syncing
account's list still to be mirrored upstream (``relay_blacklist``), and the lease on an
account's ``upstreams`` row that lets one instance at a time push its changes and
import its upstream's list.

The changes are queued by the blacklist's own writes (``ileti.store.blacklist``,
``ileti.store.blacklist_panel``) in the statement or transaction of the change itself,
for the accounts whose upstream has ``blacklist_sync``: ``queue_sql`` is the one place
that says which. Primitives only; what is sent, retried or kept is decided by the
service.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, true, update
from sqlalchemy.orm import aliased

from ileti.store.relay import UpstreamRow, _upstream
from ileti.store.schema import relay_blacklist, upstreams

#: The operations mirrored.
ADD, DELETE = "add", "delete"

#: Queue the numbers of a statement's result (a CTE or subquery named by the caller,
#: with ``number`` and ``account_id`` columns) for the accounts that sync: a change is
#: due at once (``due_at`` 0).
_QUEUE_SELECT = (
    "INSERT INTO relay_blacklist (account_id, number, op, attempts, due_at, created_at) "
    "SELECT {rows}.account_id, {rows}.number, '{op}', 0, 0, {now} FROM {rows} "
    "JOIN upstreams ON upstreams.account_id = {rows}.account_id "
    "AND upstreams.blacklist_sync"
)


def queue_sql(rows: str, op: str, now: str) -> str:
    """SQL that queues ``op`` for every row of ``rows`` (a CTE or table name with
    ``account_id`` and ``number``) whose account's upstream syncs its blacklist;
    ``now`` is the SQL of the change's time (a parameter or a column of ``rows``)."""
    assert op in (ADD, DELETE)
    return _QUEUE_SELECT.format(rows=rows, op=op, now=now)


# On the driver's cursor: add-blacklist's hot path on SQLite asks this once per batch.
_SYNCING_SQL = {
    "sqlite": (
        "SELECT account_id FROM upstreams WHERE blacklist_sync "
        "AND account_id IN (SELECT value FROM json_each(?))"
    ),
    "postgresql": (
        "SELECT account_id FROM upstreams WHERE blacklist_sync AND account_id = ANY(%s::int[])"
    ),
}


def syncing(conn: Connection, account_ids: Iterable[int]) -> set[int]:
    """Which of these accounts mirror their blacklist upstream (one query)."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return set()
    dialect = conn.dialect.name
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        packed: Any = wanted if dialect == "postgresql" else json.dumps(wanted)
        cursor.execute(_SYNCING_SQL[dialect], (packed,))
        return {int(row[0]) for row in cursor.fetchall()}
    finally:
        cursor.close()


_RECORD_SQL = {
    "sqlite": (
        "INSERT INTO relay_blacklist (account_id, number, op, attempts, due_at, created_at) "
        "SELECT ?, value, ?, 0, 0, ? FROM json_each(?) WHERE true"
    ),
    "postgresql": (
        "INSERT INTO relay_blacklist (account_id, number, op, attempts, due_at, created_at) "
        "SELECT %s, n, %s, 0, 0, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(n, i) "
        "ORDER BY i"
    ),
}


def record(conn: Connection, account_id: int, numbers: Sequence[int], op: str, now: int) -> None:
    """Queue ``op`` of these numbers (in this order) for the account, which syncs
    (the caller asked ``syncing``)."""
    if not numbers:
        return
    assert op in (ADD, DELETE)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql(_RECORD_SQL[dialect], (account_id, op, now, list(numbers)))
    else:
        conn.exec_driver_sql(_RECORD_SQL[dialect], (account_id, op, now, json.dumps(numbers)))


# -- the loop: claiming an account ----------------------------------------------------------


def _lease_free(now: int) -> Any:
    return or_(
        upstreams.c.blacklist_lease_until.is_(None), upstreams.c.blacklist_lease_until <= now
    )


def _change_due(now: int) -> Any:
    return exists().where(
        relay_blacklist.c.account_id == upstreams.c.account_id, relay_blacklist.c.due_at <= now
    )


def _import_due(pull_before: int) -> Any:
    return or_(
        upstreams.c.blacklist_synced_at.is_(None), upstreams.c.blacklist_synced_at <= pull_before
    )


def _claimable(now: int, pull_before: int) -> Any:
    return and_(
        upstreams.c.blacklist_sync == true(),
        _lease_free(now),
        or_(_change_due(now), _import_due(pull_before)),
    )


def work_due(conn: Connection, now: int, pull_before: int) -> bool:
    """Whether a syncing account, not held by an instance, has a change due or its
    import due (last begun at ``pull_before`` or earlier)."""
    return bool(conn.execute(select(exists().where(_claimable(now, pull_before)))).scalar())


def claim_accounts(
    conn: Connection, now: int, *, pull_before: int, lease_until: int, limit: int
) -> list[UpstreamRow]:
    """Up to ``limit`` such accounts, leased to this instance until ``lease_until``
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: another instance's claim is passed
    over, not waited for)."""
    query = (
        select(upstreams)
        .where(_claimable(now, pull_before))
        .order_by(upstreams.c.account_id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=upstreams)
    rows = [_upstream(row) for row in conn.execute(query)]
    if rows:
        conn.execute(
            update(upstreams)
            .where(upstreams.c.account_id.in_([row.account_id for row in rows]))
            .values(blacklist_lease_until=lease_until)
        )
    return rows


def release(
    conn: Connection, account_id: int, *, until: int | None, imported_at: int | None = None
) -> None:
    """The account's lease given back (``until``: not before then, after a failure);
    ``imported_at``: an import that began then has read every page."""
    values: dict[str, Any] = {"blacklist_lease_until": until}
    if imported_at is not None:
        values["blacklist_synced_at"] = imported_at
    conn.execute(update(upstreams).where(upstreams.c.account_id == account_id).values(**values))


# -- the changes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    account_id: int
    number: int
    op: str
    attempts: int
    error: str | None


def _change(row: Any) -> Change:
    return Change(
        id=row.id,
        account_id=row.account_id,
        number=row.number,
        op=row.op,
        attempts=row.attempts,
        error=row.error,
    )


_earlier = aliased(relay_blacklist)


def due_changes(conn: Connection, account_id: int, now: int, limit: int) -> list[Change]:
    """Up to ``limit`` of the account's changes that are due and first in line for
    their number (no earlier change of the number waits), oldest first."""
    query = (
        select(relay_blacklist)
        .where(
            relay_blacklist.c.account_id == account_id,
            relay_blacklist.c.due_at <= now,
            ~exists().where(
                _earlier.c.account_id == relay_blacklist.c.account_id,
                _earlier.c.number == relay_blacklist.c.number,
                _earlier.c.id < relay_blacklist.c.id,
            ),
        )
        .order_by(relay_blacklist.c.id)
        .limit(limit)
    )
    return [_change(row) for row in conn.execute(query)]


def changes_of(conn: Connection, account_id: int, limit: int = 100) -> list[Change]:
    """The account's changes still to mirror, oldest first (what is shown)."""
    rows = conn.execute(
        select(relay_blacklist)
        .where(relay_blacklist.c.account_id == account_id)
        .order_by(relay_blacklist.c.id)
        .limit(limit)
    )
    return [_change(row) for row in rows]


def waiting(conn: Connection, account_id: int) -> int:
    """How many of the account's changes wait to be mirrored."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(relay_blacklist)
            .where(relay_blacklist.c.account_id == account_id)
        ).scalar_one()
    )


def done(conn: Connection, ids: Sequence[int]) -> None:
    """The upstream took these changes."""
    for start in range(0, len(ids), 1000):
        conn.execute(
            delete(relay_blacklist).where(relay_blacklist.c.id.in_(ids[start : start + 1000]))
        )


def postpone(conn: Connection, change_id: int, *, due_at: int, error: str) -> None:
    """A change the upstream did not take: tried again at ``due_at``."""
    conn.execute(
        update(relay_blacklist)
        .where(relay_blacklist.c.id == change_id)
        .values(attempts=relay_blacklist.c.attempts + 1, due_at=due_at, error=error)
    )
