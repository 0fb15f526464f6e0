"""Handlers for get-balance and get-sender (spec §6)."""

from __future__ import annotations

from typing import Any

from ileti.api.runtime import Runtime
from ileti.services.auth import Credential
from ileti.wire.structs import AuthOnlyRequest


async def balance(rt: Runtime, who: Credential, _req: AuthOnlyRequest) -> dict[str, Any]:
    account = await rt.accounts.get(who.key)
    return {"balance": {"amount": account.amount, "sms": account.balance}}


async def senders(rt: Runtime, who: Credential, _req: AuthOnlyRequest) -> dict[str, Any]:
    account = await rt.accounts.get(who.key)
    return {"senders": {"sender": list(account.senders)}}
