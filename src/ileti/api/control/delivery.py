"""``/_ileti/delivery`` and ``/_ileti/advance``: how an account's messages progress
(docs/sandbox.md, "Delivery control"), and moving its orders on now. An account acts
on itself; the admin names the account with ``key``."""

from __future__ import annotations

import msgspec

from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.models import Account
from ileti.services.carrier import Advanced, DeliveryError


class DeliveryIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    mode: str
    after: float | None = None
    key: str | None = None


class DeliveryQuery(msgspec.Struct, kw_only=True):
    key: str | None = None


class DeliveryOut(msgspec.Struct):
    key: str
    mode: str  # delay | polls | manual | default
    #: Seconds (delay; default: the server's ILETI_DELIVERY_DELAY) or polls; null: manual.
    after: float | None


class AdvanceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    order: int | None = None
    status: int | None = None
    key: str | None = None


class AdvancedOut(msgspec.Struct):
    orders: int
    messages: int
    delivered: int
    undelivered: int
    waiting: int


async def _account(rt: Runtime, caller: Caller, key: str | None) -> Account:
    """The account acted on: the caller's own, or the one the admin names."""
    if caller.admin:
        if key is None:
            raise ControlError(400, "the admin names the account", "key")
        return await rt.accounts.get(key)
    assert caller.account is not None
    if key is not None:
        caller.account_id(await rt.accounts.get(key))  # 404 for another account's key
    return caller.account


def _delivery_out(rt: Runtime, account: Account) -> DeliveryOut:
    if account.delivery is None:
        return DeliveryOut(account.key, "default", rt.settings.delivery_delay_seconds)
    return DeliveryOut(account.key, account.delivery, account.delivery_after)


async def get_delivery(rt: Runtime, caller: Caller, query: DeliveryQuery) -> DeliveryOut:
    return _delivery_out(rt, await _account(rt, caller, query.key))


async def set_delivery(rt: Runtime, caller: Caller, body: DeliveryIn) -> DeliveryOut:
    account = await _account(rt, caller, body.key)
    try:
        await rt.carrier.set_delivery(account.id, body.mode, body.after)
    except DeliveryError as exc:
        raise ControlError(400, str(exc), exc.field) from exc
    return _delivery_out(rt, await rt.accounts.get(account.key))


async def advance(rt: Runtime, caller: Caller, body: AdvanceIn) -> AdvancedOut:
    account = await _account(rt, caller, body.key)
    try:
        moved: Advanced = await rt.carrier.advance(account.id, body.order, body.status)
    except DeliveryError as exc:
        status = 404 if exc.field == "order" else 400
        raise ControlError(status, str(exc), exc.field) from exc
    return AdvancedOut(
        moved.orders, moved.messages, moved.delivered, moved.undelivered, moved.waiting
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/delivery",
        "How the account's messages progress: delay (seconds), polls (get-report polls), "
        "manual, or default (ILETI_DELIVERY_DELAY)",
        get_delivery,
        query=DeliveryQuery,
        result=DeliveryOut,
        tags=("delivery",),
    ),
    Endpoint(
        "PUT",
        "/delivery",
        "Set how the account's messages progress (for orders dispatched from now on)",
        set_delivery,
        body=DeliveryIn,
        result=DeliveryOut,
        tags=("delivery",),
    ),
    Endpoint(
        "POST",
        "/advance",
        "Dispatch the account's orders now (or one) and finalise their waiting messages "
        "now: with status 111 or 112, or by the carrier's policy",
        advance,
        body=AdvanceIn,
        result=AdvancedOut,
        tags=("delivery",),
    ),
)
