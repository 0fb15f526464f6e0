"""SQL for the panel's users and their sessions (``services/users.py`` holds the rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from ileti.models import User
from ileti.store.errors import StoreError
from ileti.store.schema import accounts, panel_sessions, users


class UserNotFound(StoreError):
    pass


class EmailInUse(StoreError):
    pass


_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.password_hash,
    users.c.account_id,
    accounts.c.key.label("account_key"),
    users.c.admin,
    users.c.created_at,
)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        account_id=row.account_id,
        account_key=row.account_key,
        admin=bool(row.admin),
        created_at=row.created_at,
    )


def _select() -> Any:
    return select(*_COLUMNS).select_from(
        users.outerjoin(accounts, accounts.c.id == users.c.account_id)
    )


def create(
    conn: Connection, email: str, password_hash: str, account_id: int | None, admin: bool, now: int
) -> User:
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        raise EmailInUse(email)
    conn.execute(
        insert(users).values(
            email=email,
            password_hash=password_hash,
            account_id=account_id,
            admin=admin,
            created_at=now,
            updated_at=now,
        )
    )
    return by_email(conn, email)


def by_email(conn: Connection, email: str) -> User:
    row = conn.execute(_select().where(users.c.email == email)).first()
    if row is None:
        raise UserNotFound(email)
    return _user(row)


def find(conn: Connection, email: str) -> User | None:
    row = conn.execute(_select().where(users.c.email == email)).first()
    return None if row is None else _user(row)


def all_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(_select().order_by(users.c.email))]


def delete_user(conn: Connection, email: str) -> None:
    user = by_email(conn, email)
    conn.execute(delete(panel_sessions).where(panel_sessions.c.user_id == user.id))
    conn.execute(delete(users).where(users.c.id == user.id))


def set_password(conn: Connection, email: str, password_hash: str, now: int) -> None:
    """A new password, and the end of every session of the user."""
    user = by_email(conn, email)
    conn.execute(
        update(users)
        .where(users.c.id == user.id)
        .values(password_hash=password_hash, updated_at=now)
    )
    conn.execute(delete(panel_sessions).where(panel_sessions.c.user_id == user.id))


# -- sessions ---------------------------------------------------------------------------


def open_session(
    conn: Connection,
    token_sha256: bytes,
    user_id: int,
    account_id: int | None,
    now: int,
    expires: int,
) -> None:
    conn.execute(delete(panel_sessions).where(panel_sessions.c.expires_at <= now))
    conn.execute(
        insert(panel_sessions).values(
            token_sha256=token_sha256,
            user_id=user_id,
            account_id=account_id,
            created_at=now,
            expires_at=expires,
        )
    )


def session_user(conn: Connection, token_sha256: bytes, now: int) -> tuple[User, int | None] | None:
    """The user of a live session and the account it looks at, or None."""
    row = conn.execute(
        select(*_COLUMNS, panel_sessions.c.account_id.label("viewing"))
        .select_from(
            panel_sessions.join(users, users.c.id == panel_sessions.c.user_id).outerjoin(
                accounts, accounts.c.id == users.c.account_id
            )
        )
        .where(panel_sessions.c.token_sha256 == token_sha256, panel_sessions.c.expires_at > now)
    ).first()
    if row is None:
        return None
    return _user(row), row.viewing


def view_account(conn: Connection, token_sha256: bytes, account_id: int) -> None:
    conn.execute(
        update(panel_sessions)
        .where(panel_sessions.c.token_sha256 == token_sha256)
        .values(account_id=account_id)
    )


def close_session(conn: Connection, token_sha256: bytes) -> None:
    conn.execute(delete(panel_sessions).where(panel_sessions.c.token_sha256 == token_sha256))
