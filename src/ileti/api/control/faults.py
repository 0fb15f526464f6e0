"""``/_ileti/faults``: fault rules (docs/sandbox.md, "Faults"). An account adds, lists
and removes its own rules (and sees the global ones); the admin adds them for any
account (``key``) or for every account (no ``key``), and removes any."""

from __future__ import annotations

import msgspec

from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.services.faults import FaultError, FaultForbidden, FaultNotFound, FaultSpec
from ileti.store.faults import Fault


class FaultIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: str
    key: str | None = None
    action: str | None = None
    code: int | None = None
    pattern: str | None = None
    remaining: int | None = None
    probability: float | None = None
    latency_ms: int | None = None
    timeout: bool = False
    ttl_seconds: float | None = None


class FaultQuery(msgspec.Struct, kw_only=True):
    key: str | None = None


class FaultOut(msgspec.Struct):
    id: int
    key: str | None  # None: every account
    kind: str
    action: str | None
    code: int | None
    pattern: str | None
    remaining: int | None
    probability: float | None
    latency_ms: int | None
    timeout: bool
    expires_at: str | None
    created_at: str


class FaultList(msgspec.Struct):
    faults: list[FaultOut]


def fault_out(rule: Fault) -> FaultOut:
    return FaultOut(
        id=rule.id,
        key=rule.account_key,
        kind=rule.kind,
        action=rule.action,
        code=rule.code,
        pattern=rule.pattern,
        remaining=rule.remaining,
        probability=rule.probability,
        latency_ms=rule.latency_ms,
        timeout=rule.timeout,
        expires_at=format_local(rule.expires_at) if rule.expires_at is not None else None,
        created_at=format_local(rule.created_at),
    )


async def _owner(rt: Runtime, caller: Caller, key: str | None) -> int | None:
    """The account a call is about: the caller's own; an admin's choice (None: global)."""
    requested = await rt.accounts.get(key) if key is not None else None
    return caller.account_id(requested)


async def add_fault(rt: Runtime, caller: Caller, body: FaultIn) -> FaultOut:
    owner = await _owner(rt, caller, body.key)
    spec = FaultSpec(
        kind=body.kind,
        action=body.action,
        code=body.code,
        pattern=body.pattern,
        remaining=body.remaining,
        probability=body.probability,
        latency_ms=body.latency_ms,
        timeout=body.timeout,
        ttl_seconds=body.ttl_seconds,
    )
    try:
        return fault_out(await rt.faults.add(spec, owner))
    except FaultError as exc:
        raise ControlError(400, str(exc), exc.field) from exc


async def list_faults(rt: Runtime, caller: Caller, query: FaultQuery) -> FaultList:
    owner = await _owner(rt, caller, query.key)
    return FaultList([fault_out(rule) for rule in await rt.faults.list(owner)])


async def remove_fault(rt: Runtime, caller: Caller, id: str) -> None:
    try:
        fault_id = int(id)
    except ValueError as exc:
        raise ControlError(404, "no fault rule with this id", "id") from exc
    try:
        await rt.faults.remove(fault_id, caller.account_id())
    except FaultNotFound as exc:
        raise ControlError(404, "no fault rule with this id", "id") from exc
    except FaultForbidden as exc:
        raise ControlError(403, "a global rule: only the admin removes it", "id") from exc


ENDPOINTS = (
    Endpoint(
        "POST",
        "/faults",
        "Add a fault rule (api, recipient, webhook) for the caller, for an account (admin, "
        "key), or for every account (admin, no key)",
        add_fault,
        body=FaultIn,
        result=FaultOut,
        status=201,
        tags=("faults",),
    ),
    Endpoint(
        "GET",
        "/faults",
        "The caller's fault rules and the global ones (admin: every rule, or an account's)",
        list_faults,
        query=FaultQuery,
        result=FaultList,
        tags=("faults",),
    ),
    Endpoint(
        "DELETE",
        "/faults/{id}",
        "Remove a fault rule (an account: its own; the admin: any)",
        remove_fault,
        tags=("faults",),
    ),
)
