"""``/_ileti/state`` and ``/_ileti/reset``: seed the sandbox from a state document,
export it, reset an account's activity or everything (docs/sandbox.md, "State").

Seeding and resetting everything need the admin; an account may export and reset only
itself (another account's key is 404)."""

from __future__ import annotations

import msgspec

from ileti.api.control.base import Caller, ControlError, Endpoint
from ileti.api.runtime import Runtime
from ileti.models import Account
from ileti.services.state import (
    ResetReport,
    SeedReport,
    StateDocument,
    StateError,
    StateService,
)


class StateQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    #: Only this account (an account caller: only its own).
    key: str | None = None


class ResetIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to reset: an account's orders, messages, webhooks and outbox (its blacklist
    too with ``blacklist``), keeping the account and its balance; the admin names the
    account with ``key``, or removes every account and all data with ``everything``."""

    blacklist: bool = False
    key: str | None = None
    everything: bool = False


def _service(rt: Runtime) -> StateService:
    return StateService(rt.store, on_change=rt.auth.invalidate)


async def _own(rt: Runtime, caller: Caller, key: str | None) -> Account | None:
    """The account named by ``key`` if the caller may touch it (404 otherwise); an
    account caller's own when ``key`` is None; None for the admin without a key."""
    if key is None:
        return caller.account
    account = await rt.accounts.get(key)
    caller.account_id(account)
    return account


async def seed_state(rt: Runtime, caller: Caller, body: StateDocument) -> SeedReport:
    try:
        return await _service(rt).seed(body)
    except StateError as exc:
        raise ControlError(400, exc.message, exc.field) from exc


async def export_state(rt: Runtime, caller: Caller, query: StateQuery) -> StateDocument:
    account = await _own(rt, caller, query.key)
    return await _service(rt).export(account.key if account is not None else None)


async def reset_state(rt: Runtime, caller: Caller, body: ResetIn) -> ResetReport:
    if body.everything:
        caller.require_admin()
        if body.key is not None:
            raise ControlError(400, "reset one account (key) or everything, not both", "key")
        try:
            return await _service(rt).reset_everything()
        finally:
            rt.faults.invalidate()  # this instance at once; others by the faults version
    account = await _own(rt, caller, body.key)
    if account is None:
        raise ControlError(400, "name the account to reset, or pass everything: true", "key")
    return await _service(rt).reset(account.key, blacklist=body.blacklist)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/state",
        "Seed: create or update the document's accounts (with their chosen credentials) "
        "and add their blacklist entries, in one transaction; a bad value is 400 naming "
        "its path and changes nothing; the same document again changes nothing",
        seed_state,
        body=StateDocument,
        result=SeedReport,
        admin_only=True,
        tags=("state",),
    ),
    Endpoint(
        "GET",
        "/state",
        "Export every account (admin) or the caller's own, with settings and blacklist, "
        "as a state document; without secrets (the server keeps none)",
        export_state,
        query=StateQuery,
        result=StateDocument,
        tags=("state",),
    ),
    Endpoint(
        "POST",
        "/reset",
        "Remove an account's orders, messages, webhooks and outbox (and its blacklist "
        "with blacklist: true), keeping the account and its balance; the admin may name "
        "any account by key, or remove every account and all data (everything: true)",
        reset_state,
        body=ResetIn,
        result=ResetReport,
        tags=("state",),
    ),
)
