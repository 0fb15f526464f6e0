"""``/_ileti/accounts``: create an account with a chosen (or random) key and secret, read,
change and delete it. Creating, listing every account and deleting need the admin; an
account may read and change itself."""

from __future__ import annotations

from typing import Any

import msgspec

from ileti import numbers
from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.models import Account
from ileti.services.accounts import AccountError, Issued
from ileti.store import KeyInUse

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class AccountIn(Body):
    name: str
    key: str | None = None
    secret: str | None = None
    senders: list[str] = []
    balance: int = 0
    api_access: bool = True
    allow_ips: list[str] = []
    unit_price: str | None = None
    brand_code: str | None = None
    test_number: str | None = None
    webhook_url: str | None = None
    strict: bool = False
    rate_limit: int | None = None
    short_code: str | None = None


class AccountPatch(Body):
    """What to change; a field left out is kept, ``null`` clears a nullable one."""

    senders: list[str] | Unset = UNSET
    balance: int | Unset = UNSET
    api_access: bool | Unset = UNSET
    allow_ips: list[str] | Unset = UNSET
    unit_price: str | Unset = UNSET
    brand_code: str | Unset | None = UNSET
    test_number: str | Unset | None = UNSET
    webhook_url: str | Unset | None = UNSET
    strict: bool | Unset = UNSET
    rate_limit: int | Unset | None = UNSET
    short_code: str | Unset | None = UNSET


class AccountOut(msgspec.Struct):
    id: int
    name: str
    key: str
    api_access: bool
    allow_ips: list[str]
    senders: list[str]
    balance: int
    unit_price: str
    amount: float
    brand_code: str | None
    test_number: str | None
    webhook_url: str | None
    strict: bool
    rate_limit: int | None
    short_code: str | None
    blacklist_count: int
    created_at: str
    updated_at: str


class IssuedOut(msgspec.Struct):
    """An account with its secret and hash: shown once, never stored."""

    account: AccountOut
    secret: str
    hash: str


class AccountList(msgspec.Struct):
    accounts: list[AccountOut]


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        key=account.key,
        api_access=account.api_access,
        allow_ips=list(account.allow_ips),
        senders=list(account.senders),
        balance=account.balance,
        unit_price=f"{account.unit_price / 1_000_000:.6f}".rstrip("0").rstrip("."),
        amount=account.amount,
        brand_code=account.brand_code,
        test_number=numbers.e164(account.test_number) if account.test_number else None,
        webhook_url=account.webhook_url,
        strict=account.strict,
        rate_limit=account.rate_limit,
        short_code=account.short_code,
        blacklist_count=account.blacklist_count,
        created_at=format_local(account.created_at),
        updated_at=format_local(account.updated_at),
    )


def _issued(issued: Issued) -> IssuedOut:
    return IssuedOut(account_out(issued.account), issued.secret, issued.hash)


def _refused(exc: AccountError) -> ControlError:
    return ControlError(400, str(exc), exc.field)


async def create_account(rt: Runtime, caller: Caller, body: AccountIn) -> IssuedOut:
    settings: dict[str, Any] = {
        name: getattr(body, name)
        for name in (
            "unit_price",
            "brand_code",
            "test_number",
            "webhook_url",
            "rate_limit",
            "short_code",
        )
        if getattr(body, name) is not None
    }
    try:
        issued = await rt.accounts.create(
            body.name,
            key=body.key,
            secret=body.secret,
            senders=tuple(body.senders),
            balance=body.balance,
            api_access=body.api_access,
            allow_ips=tuple(body.allow_ips),
            strict=body.strict,
            **settings,
        )
    except AccountError as exc:
        raise _refused(exc) from exc
    except KeyInUse as exc:
        raise ControlError(409, "another account has this key", "key") from exc
    return _issued(issued)


async def list_accounts(rt: Runtime, caller: Caller) -> AccountList:
    if caller.admin:
        return AccountList([account_out(a) for a in await rt.accounts.list()])
    assert caller.account is not None
    return AccountList([account_out(caller.account)])


async def _visible(rt: Runtime, caller: Caller, key: str) -> Account:
    account = await rt.accounts.get(key)
    caller.account_id(account)  # 404 for another account's key
    return account


async def get_account(rt: Runtime, caller: Caller, key: str) -> AccountOut:
    return account_out(await _visible(rt, caller, key))


async def change_account(rt: Runtime, caller: Caller, key: str, body: AccountPatch) -> AccountOut:
    await _visible(rt, caller, key)
    given = {f: getattr(body, f) for f in body.__struct_fields__ if getattr(body, f) is not UNSET}
    for name in ("senders", "allow_ips"):
        if name in given:
            given[name] = tuple(given[name])
    try:
        account = await rt.accounts.update(key, **given)
    except AccountError as exc:
        raise _refused(exc) from exc
    return account_out(account)


async def rotate_account(rt: Runtime, caller: Caller, key: str) -> IssuedOut:
    await _visible(rt, caller, key)
    return _issued(await rt.accounts.rotate(key))


async def delete_account(rt: Runtime, caller: Caller, key: str) -> None:
    await rt.accounts.delete(key)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/accounts",
        "Create an account (chosen or random key and secret); the secret and hash are "
        "shown only now",
        create_account,
        body=AccountIn,
        result=IssuedOut,
        status=201,
        admin_only=True,
        tags=("accounts",),
    ),
    Endpoint(
        "GET",
        "/accounts",
        "Every account (admin), or the caller's own",
        list_accounts,
        result=AccountList,
        tags=("accounts",),
    ),
    Endpoint(
        "GET", "/accounts/{key}", "One account", get_account, result=AccountOut, tags=("accounts",)
    ),
    Endpoint(
        "PATCH",
        "/accounts/{key}",
        "Change an account's settings: senders, balance, API access, allow-list, unit "
        "price, brand code, test number, webhook URL, strict mode, rate limit, short code",
        change_account,
        body=AccountPatch,
        result=AccountOut,
        tags=("accounts",),
    ),
    Endpoint(
        "POST",
        "/accounts/{key}/rotate",
        "A new secret and hash; the old hash stops working at once",
        rotate_account,
        result=IssuedOut,
        tags=("accounts",),
    ),
    Endpoint(
        "DELETE",
        "/accounts/{key}",
        "Delete an account and everything it has",
        delete_account,
        admin_only=True,
        tags=("accounts",),
    ),
)
