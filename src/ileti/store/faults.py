"""SQL for fault rules (the ``faults`` table, migration 0007) and their change version.

Primitives only: which rule fires is decided in ``ileti.services.faults``. Every change
to the rules bumps the ``faults`` topic of ``changes`` in the same transaction, so each
instance notices (by polling one row) that its cached rules are stale. ``take`` counts
one use of a rule with ``remaining`` atomically, so "the next N" means N across every
instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, insert, or_, select, update
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ileti.store.schema import accounts, changes, faults

#: The ``changes`` topic every rule change bumps (its row is created on first use).
TOPIC = "faults"


@dataclass(frozen=True, slots=True)
class Fault:
    id: int
    account_id: int | None  # None: every account
    account_key: str | None
    kind: str  # api | recipient | webhook
    action: str | None
    code: int | None
    pattern: str | None
    remaining: int | None
    probability: float | None
    latency_ms: int | None
    timeout: bool
    expires_at: int | None
    created_at: int

    def live(self, now: int) -> bool:
        """Not expired and not used up."""
        unexpired = self.expires_at is None or self.expires_at > now
        return unexpired and (self.remaining is None or self.remaining > 0)


_COLUMNS = (
    faults.c.id,
    faults.c.account_id,
    accounts.c.key.label("account_key"),
    faults.c.kind,
    faults.c.action,
    faults.c.code,
    faults.c.pattern,
    faults.c.remaining,
    faults.c.probability,
    faults.c.latency_ms,
    faults.c.timeout,
    faults.c.expires_at,
    faults.c.created_at,
)
_FROM = faults.outerjoin(accounts, accounts.c.id == faults.c.account_id)


def _fault(row: Row[Any]) -> Fault:
    values = row._asdict()
    values["timeout"] = bool(values["timeout"])
    return Fault(**values)


# -- the change version -----------------------------------------------------------------


def bump_version(conn: Connection) -> None:
    insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert_(changes).values(topic=TOPIC, version=1)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[changes.c.topic], set_={"version": changes.c.version + 1}
        )
    )


def version(conn: Connection) -> int:
    value = conn.execute(select(changes.c.version).where(changes.c.topic == TOPIC)).scalar()
    return int(value or 0)


# -- writes -------------------------------------------------------------------------------


def add(conn: Connection, **values: Any) -> Fault:
    """Insert a rule (the columns of ``faults``) and announce it."""
    new_id = conn.execute(insert(faults).values(**values).returning(faults.c.id)).scalar_one()
    bump_version(conn)
    found = by_id(conn, int(new_id))
    assert found is not None
    return found


def remove(conn: Connection, fault_id: int) -> bool:
    """Delete a rule and announce it; False when there was none."""
    result = conn.execute(sa_delete(faults).where(faults.c.id == fault_id))
    if result.rowcount == 0:
        return False
    bump_version(conn)
    return True


def take(conn: Connection, fault_id: int) -> bool:
    """Count one use of a rule with ``remaining`` (one atomic statement); False when it
    was already used up (or removed)."""
    result = conn.execute(
        update(faults)
        .where(faults.c.id == fault_id, faults.c.remaining > 0)
        .values(remaining=faults.c.remaining - 1)
    )
    return result.rowcount == 1


# -- reads ------------------------------------------------------------------------------


def by_id(conn: Connection, fault_id: int) -> Fault | None:
    row = conn.execute(select(*_COLUMNS).select_from(_FROM).where(faults.c.id == fault_id)).first()
    return _fault(row) if row is not None else None


def listed(conn: Connection, account_id: int | None, *, with_global: bool) -> list[Fault]:
    """Rules, oldest first: an account's (and the global ones with ``with_global``), or
    every rule when ``account_id`` is None."""
    query = select(*_COLUMNS).select_from(_FROM).order_by(faults.c.id)
    if account_id is not None:
        mine = faults.c.account_id == account_id
        query = query.where(or_(mine, faults.c.account_id.is_(None)) if with_global else mine)
    return [_fault(row) for row in conn.execute(query)]


def count_of(conn: Connection, account_id: int | None) -> int:
    """How many rules an account has (None: how many global rules there are)."""
    where = (
        faults.c.account_id.is_(None) if account_id is None else faults.c.account_id == account_id
    )
    return int(conn.execute(select(func.count()).select_from(faults).where(where)).scalar_one())


def active(
    conn: Connection, now: int, *, kind: str | None = None, account_ids: Sequence[int] | None = None
) -> list[Fault]:
    """Rules in effect at ``now`` (not expired, not used up), oldest first: of one kind
    or all, of these accounts and the global ones, or of every account."""
    query = (
        select(*_COLUMNS)
        .select_from(_FROM)
        .where(
            or_(faults.c.expires_at.is_(None), faults.c.expires_at > now),
            or_(faults.c.remaining.is_(None), faults.c.remaining > 0),
        )
        .order_by(faults.c.id)
    )
    if kind is not None:
        query = query.where(faults.c.kind == kind)
    if account_ids is not None:
        query = query.where(
            or_(faults.c.account_id.in_(list(account_ids)), faults.c.account_id.is_(None))
        )
    return [_fault(row) for row in conn.execute(query)]
