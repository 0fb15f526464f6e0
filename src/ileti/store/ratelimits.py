"""SQL for the send-sms rate limits kept in the database (when Redis is not configured).

Each account has one row holding GCRA's theoretical arrival time (``tat``, microseconds):
a token bucket of ``burst`` recipients refilled at ``rate`` per second, kept as one
number. Taking ``cost`` recipients is one conditional UPDATE inside the order's own
transaction (so a refused order gives it back with everything else), and concurrent
instances share the limit: on PostgreSQL the UPDATE waits for the row lock and
re-checks its condition on the row as committed; on SQLite every write goes through
one writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, literal, select, update

from ileti.clock import SECOND
from ileti.store.schema import rate_limits


@dataclass(frozen=True, slots=True)
class Take:
    account_id: int
    #: Recipients this request sends (at most ``burst``).
    cost: int
    #: Recipients per second.
    rate: int
    #: Recipients an idle account may send at once.
    burst: int


def _insert_missing(conn: Connection, account_id: int) -> None:
    """The account's row, if it has none yet (``tat`` 0: a full bucket)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(
        insert(rate_limits)
        .values(account_id=account_id, tat=0)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )


def take(conn: Connection, take: Take, now: int) -> int:
    """0 if the recipients were taken, else the microseconds until they could be
    (nothing is taken then). In the caller's transaction."""
    interval = SECOND / take.rate
    cost_us = round(take.cost * interval)
    burst_us = round(take.burst * interval)
    start = case((rate_limits.c.tat > now, rate_limits.c.tat), else_=literal(now))
    statement = (
        update(rate_limits)
        .where(rate_limits.c.account_id == take.account_id)
        .where(start + cost_us - burst_us <= now)
        .values(tat=start + cost_us)
    )
    if conn.execute(statement).rowcount == 1:
        return 0
    # No row yet, or (PostgreSQL, READ COMMITTED) one that another instance committed
    # after this statement's snapshot: make sure it exists, then try once more on the
    # row as now committed.
    _insert_missing(conn, take.account_id)
    if conn.execute(statement).rowcount == 1:
        return 0
    tat = conn.execute(
        select(rate_limits.c.tat).where(rate_limits.c.account_id == take.account_id)
    ).scalar_one()
    return max(1, max(tat, now) + cost_us - burst_us - now)


def tat_of(conn: Connection, account_id: int) -> int | None:
    """The account's stored arrival time (for tests and inspection)."""
    return conn.execute(
        select(rate_limits.c.tat).where(rate_limits.c.account_id == account_id)
    ).scalar_one_or_none()
