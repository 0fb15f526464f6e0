"""Request structs, one per action, for ``msgspec`` to decode into.

Decoding is lenient about scalar types (``strict=False``: ``"2"`` is a fine page) and
strict about shape: an object where a scalar belongs, or an array where one value
belongs, fails decoding and is answered 400. Credentials are typed loosely here and
judged by authentication, so that a wrong-typed key is a 401 like any wrong key.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class Authentication(msgspec.Struct):
    key: Any = None
    hash: Any = None


class Envelope(msgspec.Struct, Generic[T]):
    request: T


class BlacklistNumber(msgspec.Struct):
    number: str | int | None = None


class NumberRequest(msgspec.Struct):
    """add-blacklist and delete-blacklist."""

    authentication: Authentication | None = None
    blacklist: BlacklistNumber | None = None


class BlacklistFilter(msgspec.Struct):
    start: str | None = None
    end: str | None = None


class BlacklistQuery(msgspec.Struct):
    # Some clients send an empty array for "no filter" (PHP's empty array).
    filter: BlacklistFilter | list[Any] | None = None
    # A number or a string, judged by ``ileti.values`` after authentication ("" means
    # "not given", as in the documented request template and an empty XML element).
    page: int | str | None = None
    rowCount: int | str | None = None


class BlacklistQueryRequest(msgspec.Struct):
    """get-blacklist."""

    authentication: Authentication | None = None
    blacklist: BlacklistQuery | list[Any] | None = None


class AuthOnlyRequest(msgspec.Struct):
    """Actions whose request carries nothing but credentials (get-balance, get-sender)."""

    authentication: Authentication | None = None
