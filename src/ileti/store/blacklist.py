"""SQL for the blacklist. ``accounts.blacklist_count`` is kept in step by every write
here, so the unfiltered count of get-blacklist is one row read, not a scan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sqlalchemy import Connection, and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ileti.models import BlacklistEntry, BlacklistPage
from ileti.store.schema import accounts, blacklist


class Add(NamedTuple):
    account_id: int
    number: int
    blocked_at: int
    source: str


class Remove(NamedTuple):
    account_id: int
    number: int


def _insert_ignore(conn: Connection):  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(blacklist).on_conflict_do_nothing()
    return sqlite.insert(blacklist).on_conflict_do_nothing()


def _adjust_count(conn: Connection, account_id: int, delta: int) -> None:
    if delta:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(blacklist_count=accounts.c.blacklist_count + delta)
        )


def _insert_rows(conn: Connection, rows: list[dict[str, object]]) -> int:
    """Insert what is not listed yet; the number of rows actually inserted."""
    if not rows:
        return 0
    return conn.execute(_insert_ignore(conn), rows).rowcount


def add(conn: Connection, items: list[Add]) -> list[None]:
    """Batched add-blacklist: idempotent, keeps the first blocked-at time."""
    by_account: dict[int, list[dict[str, object]]] = {}
    for item in items:
        by_account.setdefault(item.account_id, []).append(item._asdict())
    for account_id, rows in by_account.items():
        _adjust_count(conn, account_id, _insert_rows(conn, rows))
    return [None] * len(items)


def add_many(
    conn: Connection, account_id: int, numbers: Iterable[int], *, blocked_at: int, source: str
) -> int:
    """Bulk add (imports) in the caller's transaction; returns how many were new."""
    rows = [
        {"account_id": account_id, "number": n, "blocked_at": blocked_at, "source": source}
        for n in numbers
    ]
    added = _insert_rows(conn, rows)
    _adjust_count(conn, account_id, added)
    return added


def remove(conn: Connection, items: list[Remove]) -> list[bool]:
    """Batched delete-blacklist: True where the number was listed and is now gone."""
    results: list[bool] = []
    for item in items:
        removed = conn.execute(
            delete(blacklist).where(
                blacklist.c.account_id == item.account_id, blacklist.c.number == item.number
            )
        ).rowcount
        _adjust_count(conn, item.account_id, -removed)
        results.append(removed > 0)
    return results


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

    Pages past the middle are read from the other end of the index, so the deepest
    page costs no more than the middle one.
    """
    conditions = [blacklist.c.account_id == account_id]
    if start is not None:
        conditions.append(blacklist.c.blocked_at >= start)
    if end is not None:
        conditions.append(blacklist.c.blocked_at < end)
    where = and_(*conditions)
    if start is None and end is None:
        total = conn.execute(
            select(accounts.c.blacklist_count).where(accounts.c.id == account_id)
        ).scalar_one()
    else:
        total = conn.execute(select(func.count()).select_from(blacklist).where(where)).scalar_one()
    if offset >= total or limit <= 0:
        return BlacklistPage(count=total, numbers=[])
    size = min(limit, total - offset)
    query = select(blacklist.c.number).where(where)
    if offset + size / 2 <= total / 2:
        query = query.order_by(blacklist.c.blocked_at, blacklist.c.number).offset(offset)
        numbers = list(conn.execute(query.limit(size)).scalars())
    else:
        from_end = total - offset - size
        query = query.order_by(blacklist.c.blocked_at.desc(), blacklist.c.number.desc())
        numbers = list(conn.execute(query.offset(from_end).limit(size)).scalars())
        numbers.reverse()
    return BlacklistPage(count=total, numbers=numbers)


def is_listed(conn: Connection, account_id: int, number: int) -> bool:
    row = conn.execute(
        select(blacklist.c.number).where(
            blacklist.c.account_id == account_id, blacklist.c.number == number
        )
    ).first()
    return row is not None


def entries(conn: Connection, account_id: int, *, chunk: int = 10_000) -> Iterator[BlacklistEntry]:
    """Every entry of an account in (blocked_at, number) order, streamed."""
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(
        select(blacklist.c.number, blacklist.c.blocked_at, blacklist.c.source)
        .where(blacklist.c.account_id == account_id)
        .order_by(blacklist.c.blocked_at, blacklist.c.number)
    )
    for row in result:
        yield BlacklistEntry(number=row.number, blocked_at=row.blocked_at, source=row.source)
