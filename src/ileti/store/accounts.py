"""SQL for accounts, and the change versions that announce account changes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy import delete as sa_delete

from ileti.models import Account
from ileti.store.errors import AccountNotFound, KeyInUse
from ileti.store.schema import AUTH_TOPIC, accounts, blacklist_counters, changes, messages, webhooks

_COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.key,
    accounts.c.hash_sha256,
    accounts.c.api_access,
    accounts.c.allow_ips,
    accounts.c.senders,
    accounts.c.balance,
    select(func.coalesce(func.sum(blacklist_counters.c.count), 0))
    .where(blacklist_counters.c.account_id == accounts.c.id)
    .scalar_subquery()
    .label("blacklist_count"),
    accounts.c.created_at,
    accounts.c.updated_at,
    accounts.c.unit_price,
    accounts.c.brand_code,
    accounts.c.test_number,
    accounts.c.webhook_url,
    accounts.c.strict,
    accounts.c.rate_limit,
    accounts.c.short_code,
    accounts.c.delivery,
    accounts.c.delivery_after,
)


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        key=row.key,
        hash_sha256=row.hash_sha256,
        api_access=bool(row.api_access),
        allow_ips=tuple(json.loads(row.allow_ips)),
        senders=tuple(json.loads(row.senders)),
        balance=row.balance,
        blacklist_count=int(row.blacklist_count),  # PostgreSQL's SUM is numeric
        created_at=row.created_at,
        updated_at=row.updated_at,
        unit_price=row.unit_price,
        brand_code=row.brand_code,
        test_number=row.test_number,
        webhook_url=row.webhook_url,
        strict=bool(row.strict),
        rate_limit=row.rate_limit,
        short_code=row.short_code,
        delivery=row.delivery,
        delivery_after=row.delivery_after,
    )


def bump_version(conn: Connection, topic: str = AUTH_TOPIC) -> None:
    conn.execute(
        update(changes).where(changes.c.topic == topic).values(version=changes.c.version + 1)
    )


def version(conn: Connection, topic: str = AUTH_TOPIC) -> int:
    value = conn.execute(select(changes.c.version).where(changes.c.topic == topic)).scalar()
    return int(value or 0)


def create(
    conn: Connection,
    *,
    name: str,
    key: str,
    hash_sha256: str,
    api_access: bool,
    allow_ips: tuple[str, ...],
    senders: tuple[str, ...],
    balance: int,
    now: int,
    **settings: Any,
) -> Account:
    """Insert an account; ``settings`` are further columns (unit_price, strict, ...).
    KeyInUse when another account has the key."""
    if by_key(conn, key) is not None:
        raise KeyInUse(key)
    conn.execute(
        insert(accounts).values(
            **settings,
            name=name,
            key=key,
            hash_sha256=hash_sha256,
            api_access=api_access,
            allow_ips=json.dumps(list(allow_ips)),
            senders=json.dumps(list(senders)),
            balance=balance,
            created_at=now,
            updated_at=now,
        )
    )
    bump_version(conn)
    account = by_key(conn, key)
    assert account is not None
    return account


def by_key(conn: Connection, key: str) -> Account | None:
    row = conn.execute(select(*_COLUMNS).where(accounts.c.key == key)).first()
    return _account(row) if row is not None else None


def by_id(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(*_COLUMNS).where(accounts.c.id == account_id)).first()
    return _account(row) if row is not None else None


def first_account(conn: Connection) -> Account | None:
    row = conn.execute(select(*_COLUMNS).order_by(accounts.c.id).limit(1)).first()
    return _account(row) if row is not None else None


def delete(conn: Connection, key: str) -> None:
    """Delete an account and all it owns (the foreign keys cascade to its blacklist,
    counters, rate limit, orders, texts and messages; webhooks are removed here)."""
    account = by_key(conn, key)
    if account is None:
        raise AccountNotFound(key)
    conn.execute(sa_delete(webhooks).where(webhooks.c.account_id == account.id))
    conn.execute(sa_delete(messages).where(messages.c.account_id == account.id))
    conn.execute(sa_delete(accounts).where(accounts.c.id == account.id))
    bump_version(conn)


def all_accounts(conn: Connection) -> list[Account]:
    return [_account(row) for row in conn.execute(select(*_COLUMNS).order_by(accounts.c.id))]


def change(conn: Connection, key: str, *, now: int, **values: Any) -> Account:
    """Update the named columns of one account and announce the change."""
    for name in ("allow_ips", "senders"):
        if name in values:
            values[name] = json.dumps(list(values[name]))
    result = conn.execute(
        update(accounts).where(accounts.c.key == key).values(updated_at=now, **values)
    )
    if result.rowcount == 0:
        raise AccountNotFound(key)
    bump_version(conn)
    account = by_key(conn, key)
    assert account is not None
    return account


def add_balance(conn: Connection, key: str, delta: int, *, ceiling: int, now: int) -> Account:
    """Add (or, negative, take) credits atomically; never below zero nor above
    ``ceiling`` (compared without an overflowing sum: ``balance <= ceiling - delta``)."""
    fits = accounts.c.balance <= ceiling - delta if delta >= 0 else accounts.c.balance >= -delta
    result = conn.execute(
        update(accounts)
        .where(accounts.c.key == key, fits)
        .values(balance=accounts.c.balance + delta, updated_at=now)
    )
    if result.rowcount == 0:
        if by_key(conn, key) is None:
            raise AccountNotFound(key)
        if delta >= 0:
            raise ValueError(f"the balance would go over {ceiling}")
        raise ValueError("the balance would go below zero")
    account = by_key(conn, key)
    assert account is not None
    return account


def balance_for_update(conn: Connection, account_id: int) -> int:
    """The account's credits, its row locked until the transaction ends (PostgreSQL;
    SQLite's writer holds the whole database)."""
    query = select(accounts.c.balance).where(accounts.c.id == account_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int(conn.execute(query).scalar_one())


def charge(conn: Connection, account_id: int, credits: int) -> bool:
    """Take ``credits`` if the balance covers them (one atomic statement)."""
    if credits <= 0:
        return True
    result = conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.balance >= credits)
        .values(balance=accounts.c.balance - credits)
    )
    return result.rowcount == 1


def refund(conn: Connection, account_id: int, credits: int) -> None:
    if credits > 0:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(balance=accounts.c.balance + credits)
        )
