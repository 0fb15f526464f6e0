"""``/_ileti/relay``: an account's upstream (docs/relay.md, docs/sandbox.md "Relay").
Only the admin sets or removes one (an application must not redirect its own
messages), naming the account with ``account`` (``key`` is the upstream's key); an
account shows and checks its own, lists its batches and releases its captured orders.
The upstream hash (or secret) goes in, never out: no answer holds it."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.models import Account
from ileti.services.relay_settings import RelaySettingError, UpstreamView
from ileti.store import AccountNotFound
from ileti.store.relay import Batch
from ileti.values import MAX_ID

#: ``GET /_ileti/relay/batches`` without ``order``: the account's newest this many.
RECENT = 50

AccountKey = Annotated[
    str | None,
    Meta(description="The local account (admin: required); an account may name only itself"),
]
OrderId = Annotated[int, Meta(ge=1, le=MAX_ID, description="A local order id")]


class RelayIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    account: AccountKey = None
    url: Annotated[
        str | None, Meta(description="The upstream's v1 base URL (default: iletiMerkezi's)")
    ] = None
    key: Annotated[str | None, Meta(description="The upstream account's API key")] = None
    hash: Annotated[
        str | None, Meta(description="The upstream hash (64 hex); never shown again")
    ] = None
    secret: Annotated[
        str | None, Meta(description="Or the upstream secret, the hash made from it")
    ] = None
    mode: Annotated[str | None, Meta(description="sandbox (capture) or relay (forward)")] = None
    blacklist_sync: bool | None = None
    release_numbers: Annotated[
        list[str] | None, Meta(description="The numbers released orders may reach")
    ] = None


class AccountQuery(msgspec.Struct, kw_only=True):
    account: AccountKey = None


class AccountIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    account: AccountKey = None


class ReleaseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    order: OrderId
    account: AccountKey = None


class BatchQuery(msgspec.Struct, kw_only=True):
    account: AccountKey = None
    order: OrderId | None = None


class UpstreamOut(msgspec.Struct):
    url: str
    key: str
    mode: str  # sandbox | relay
    blacklist_sync: bool
    release_numbers: list[str]
    checked_at: str | None
    last_error: str | None
    last_error_at: str | None
    blacklist_synced_at: str | None
    batches: dict[str, int]  # state -> count


class RelayOut(msgspec.Struct):
    account: str
    upstream: UpstreamOut | None  # null: none (the account's orders are simulated)


class BalanceOut(msgspec.Struct):
    amount: float
    sms: int


class RelaySetOut(msgspec.Struct):
    account: str
    upstream: UpstreamOut
    #: The test call's get-balance; null when nothing it checks changed.
    balance: BalanceOut | None


class CheckOut(msgspec.Struct):
    account: str
    balance: BalanceOut


class BatchOut(msgspec.Struct):
    id: int
    order_id: int
    kind: str  # relay | release
    text: int
    recipients: int
    state: str  # pending | sending | sent | done | failed | cancelled
    attempts: int
    upstream_id: str | None
    upstream_status: int | None
    error_code: int | None
    error: str | None
    sent_at: str | None
    delivered: int
    undelivered: int
    created_at: str
    updated_at: str


class BatchList(msgspec.Struct):
    account: str
    batches: list[BatchOut]


def _time(at: int | None) -> str | None:
    return format_local(at) if at is not None else None


def upstream_out(view: UpstreamView) -> UpstreamOut:
    return UpstreamOut(
        url=view.base_url,
        key=view.key,
        mode=view.mode,
        blacklist_sync=view.blacklist_sync,
        release_numbers=list(view.release_numbers),
        checked_at=_time(view.checked_at),
        last_error=view.last_error,
        last_error_at=_time(view.last_error_at),
        blacklist_synced_at=_time(view.blacklist_synced_at),
        batches=dict(sorted(view.batches.items())),
    )


def batch_out(batch: Batch) -> BatchOut:
    return BatchOut(
        id=batch.id,
        order_id=batch.order_id,
        kind=batch.kind,
        text=batch.text_idx,
        recipients=batch.size,
        state=batch.state,
        attempts=batch.attempts,
        upstream_id=batch.upstream_id,
        upstream_status=batch.upstream_status,
        error_code=batch.error_code,
        error=batch.error,
        sent_at=_time(batch.sent_at),
        delivered=batch.delivered,
        undelivered=batch.undelivered,
        created_at=format_local(batch.created_at),
        updated_at=format_local(batch.updated_at),
    )


def _balance(found: tuple[float, int]) -> BalanceOut:
    return BalanceOut(amount=found[0], sms=found[1])


async def _account(rt: Runtime, caller: Caller, key: str | None) -> Account:
    """The account acted on: the caller's own, or the one the admin names (``account``);
    404 naming ``account`` for an unknown one or another account's."""
    if caller.admin and key is None:
        raise ControlError(400, "the admin names the account", "account")
    named: Account | None = None
    if key is not None:
        try:
            named = await rt.accounts.get(key)
        except AccountNotFound:
            raise ControlError(404, "no account with this key", "account") from None
    if caller.admin:
        assert named is not None
        return named
    assert caller.account is not None
    if named is not None and named.id != caller.account.id:
        raise ControlError(404, "no account with this key", "account")
    return caller.account


def _refused(exc: RelaySettingError) -> ControlError:
    return ControlError(422, str(exc), exc.field)


async def get_relay(rt: Runtime, caller: Caller, query: AccountQuery) -> RelayOut:
    account = await _account(rt, caller, query.account)
    view = await rt.relay_settings.show(account.id)
    return RelayOut(account.key, upstream_out(view) if view is not None else None)


async def set_relay(rt: Runtime, caller: Caller, body: RelayIn) -> RelaySetOut:
    account = await _account(rt, caller, body.account)
    try:
        view, balance = await rt.relay_settings.set(
            account.id,
            base_url=body.url,
            key=body.key,
            hash=body.hash,
            secret=body.secret,
            mode=body.mode,
            blacklist_sync=body.blacklist_sync,
            release_numbers=body.release_numbers,
        )
    except RelaySettingError as exc:
        raise _refused(exc) from None
    return RelaySetOut(
        account.key, upstream_out(view), _balance(balance) if balance is not None else None
    )


async def clear_relay(rt: Runtime, caller: Caller, query: AccountQuery) -> None:
    account = await _account(rt, caller, query.account)
    if not await rt.relay_settings.clear(account.id):
        raise ControlError(404, "the account has no upstream", "account")


async def check_relay(rt: Runtime, caller: Caller, body: AccountIn) -> CheckOut:
    account = await _account(rt, caller, body.account)
    try:
        return CheckOut(account.key, _balance(await rt.relay_settings.check(account.id)))
    except RelaySettingError as exc:
        raise _refused(exc) from None


async def release_order(rt: Runtime, caller: Caller, body: ReleaseIn) -> BatchList:
    account = await _account(rt, caller, body.account)
    try:
        made = await rt.relay_settings.release(account.id, body.order)
    except RelaySettingError as exc:
        raise _refused(exc) from None
    return BatchList(account.key, [batch_out(b) for b in made])


async def list_batches(rt: Runtime, caller: Caller, query: BatchQuery) -> BatchList:
    account = await _account(rt, caller, query.account)
    try:
        if query.order is None:
            found = await rt.relay_settings.recent(account.id, RECENT)
        else:
            found = await rt.relay_settings.batches(query.order, account.id)
    except RelaySettingError as exc:
        raise ControlError(404, str(exc), exc.field) from None
    return BatchList(account.key, [batch_out(b) for b in found])


ENDPOINTS = (
    Endpoint(
        "GET",
        "/relay",
        "The account's upstream (never its hash), or null; the admin names the account",
        get_relay,
        query=AccountQuery,
        result=RelayOut,
        tags=("relay",),
    ),
    Endpoint(
        "PUT",
        "/relay",
        "Set or change an account's upstream (admin): a test call (get-balance) first, "
        "nothing stored unless it succeeds",
        set_relay,
        body=RelayIn,
        result=RelaySetOut,
        admin_only=True,
        tags=("relay",),
    ),
    Endpoint(
        "DELETE",
        "/relay",
        "Remove an account's upstream (admin): its orders are simulated again",
        clear_relay,
        query=AccountQuery,
        admin_only=True,
        tags=("relay",),
    ),
    Endpoint(
        "POST",
        "/relay/check",
        "Repeat the test call (get-balance) with the account's stored upstream",
        check_relay,
        body=AccountIn,
        result=CheckOut,
        tags=("relay",),
    ),
    Endpoint(
        "POST",
        "/relay/release",
        "Release a captured sandbox order to the upstream, to the recipients on the "
        "account's release list",
        release_order,
        body=ReleaseIn,
        result=BatchList,
        status=201,
        tags=("relay",),
    ),
    Endpoint(
        "GET",
        "/relay/batches",
        "The account's upstream requests (batches), newest first, or one order's",
        list_batches,
        query=BatchQuery,
        result=BatchList,
        tags=("relay",),
    ),
)
