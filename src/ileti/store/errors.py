"""The store's own errors: callers never see a driver's exception.

StoreError
├── StoreUnavailable   the database could not be reached or answered with an error
│   └── CommitUnknown  the connection broke while a COMMIT was under way: the writes
│                      may or may not be on disk, so they are neither confirmed nor retried
├── AccountNotFound    no account with that key
└── KeyInUse           another account has that key
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    pass


class CommitUnknown(StoreUnavailable):
    pass


class AccountNotFound(StoreError):
    pass


class KeyInUse(StoreError):
    pass


def is_driver_error(exc: BaseException) -> bool:
    """An error of SQLAlchemy or of a database driver (psycopg, sqlite3)."""
    return isinstance(exc, DBAPIError | SQLAlchemyError) or type(exc).__module__.startswith(
        ("psycopg", "sqlite3")
    )


def translate(exc: BaseException) -> BaseException:
    """A driver's error -> StoreUnavailable with its first line; anything else as is."""
    if isinstance(exc, StoreError) or not is_driver_error(exc):
        return exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    return StoreUnavailable(f"database error: {type(exc).__name__}: {first}")
