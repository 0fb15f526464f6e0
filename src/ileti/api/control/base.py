"""What every control-API endpoint shares: the endpoint record, callers and their
scope, request parsing into msgspec structs, JSON results and errors.

Errors are JSON ``{"error": {"status": 400, "field": "limit", "message": "..."}}``:
``field`` names the offending input (a query parameter, a path parameter or a body
field as a dotted path), or is null. Nothing under ``/_ileti/`` answers 500: an
unexpected error is logged and answered 503.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ileti.models import Account
from ileti.services.accounts import AccountService

PREFIX = "/_ileti"
NO_STORE = {"Cache-Control": "no-store"}
_json = msgspec.json.Encoder()
_FIELD = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


class ControlError(Exception):
    """A refusal of the control API: an HTTP status, the field at fault, a message."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers


class Problem(msgspec.Struct):
    status: int
    message: str
    field: str | None = None


class ErrorBody(msgspec.Struct):
    error: Problem


@dataclass(frozen=True)
class Caller:
    """Who is calling: the admin (every account) or one account (only its own data)."""

    admin: bool
    account: Account | None = None

    def account_id(self, requested: Account | None = None) -> int | None:
        """The account the call may touch: the caller's own; an admin's choice (None:
        every account). 404 when an account caller names another account."""
        if self.admin:
            return requested.id if requested is not None else None
        assert self.account is not None
        if requested is not None and requested.id != self.account.id:
            raise ControlError(404, "no account with this key", "key")
        return self.account.id

    async def scope(self, accounts: AccountService, key: str | None) -> int | None:
        """The account a call with ``key`` (optional) may touch: ``account_id`` of the
        account named, looked up (404 when there is none)."""
        return self.account_id(await accounts.get(key) if key else None)

    async def one_account(self, accounts: AccountService, key: str | None) -> Account:
        """The one account a call acts on: the one the admin names (``key`` is then
        required), or the caller's own (404 when it names another)."""
        named = await accounts.get(key) if key else None
        if self.admin and named is None:
            raise ControlError(400, "the admin names the account: key", "key")
        self.account_id(named)  # 404 for another account's key
        account = named if named is not None else self.account
        assert account is not None
        return account

    def require_admin(self) -> None:
        if not self.admin:
            raise ControlError(403, "this needs the admin token (ILETI_ADMIN_TOKEN)")


Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One operation: its method and path (Starlette syntax), what it takes and gives
    (msgspec structs, for parsing and for the OpenAPI document), who may call it."""

    method: str
    path: str
    summary: str
    handler: Handler
    query: type[Any] | None = None
    body: type[Any] | None = None
    result: type[Any] | None = None
    status: int = 200
    admin_only: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    #: A long-poll: cancelled as soon as its client goes away (its wait slot freed).
    long_poll: bool = False


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def bearer_matches(header: str | None, digest: bytes) -> bool:
    """Whether an Authorization header carries the token (constant time in its value)."""
    scheme, _, given = (header or "").strip().partition(" ")
    same = hmac.compare_digest(token_digest(given.strip()), digest)
    return same and scheme.lower() == "bearer"


def _field_of(exc: msgspec.ValidationError) -> str | None:
    """The dotted path of the offending field (``senders[0]``, ``bogus``), if known."""
    text = str(exc)
    at = _FIELD.search(text)
    unknown = _UNKNOWN.search(text)
    path = at.group(1) if at else ""
    if unknown is not None:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return path or None


def _message_of(exc: msgspec.ValidationError) -> str:
    return _FIELD.sub("", str(exc)).strip().rstrip("-").strip()


def parse_query(request: Request, struct: type[Any]) -> Any:
    """Query parameters (the last of each name) -> ``struct``; 400 naming the field."""
    params = {name: value for name, value in request.query_params.items()}
    known = set(struct.__struct_fields__)
    for name in params:
        if name not in known:
            raise ControlError(400, f"unknown query parameter (known: {sorted(known)})", name)
    try:
        return msgspec.convert(params, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise ControlError(400, _message_of(exc), _field_of(exc)) from exc


def parse_body(body: bytes, struct: type[Any]) -> Any:
    """A JSON body -> ``struct``; 400 naming the field (unknown fields refused)."""
    if not body.strip():
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=struct)
    except msgspec.ValidationError as exc:
        raise ControlError(400, _message_of(exc), _field_of(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ControlError(400, f"the body is not JSON: {exc}") from exc


def next_url(path: str, query: Any, before: int | None) -> str | None:
    """The URL of the page after this one: the same query (a msgspec struct) with the
    cursor ``before``; None on the last page."""
    if before is None:
        return None
    given = [
        (name, str(getattr(query, name)))
        for name in query.__struct_fields__
        if name != "before" and getattr(query, name) is not None
    ]
    return f"{PREFIX}{path}?{urlencode([*given, ('before', str(before))])}"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(
        _json.encode(value),
        status_code=status,
        media_type="application/json",
        headers=NO_STORE,
    )


def error_response(error: ControlError, headers: dict[str, str] | None = None) -> Response:
    body = ErrorBody(Problem(error.status, error.message, error.field))
    response = json_response(body, error.status)
    if headers:
        response.headers.update(headers)
    return response
