"""Handlers for İYS consent (spec §10): consent/create and consent/show (JSON only)."""

from __future__ import annotations

from typing import Any

from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.services.auth import Credential
from ileti.services.consent_rules import brand_shown
from ileti.wire.consent import (
    ConsentCreateRequest,
    ConsentListIn,
    ConsentQueryIn,
    ConsentShowRequest,
)


async def create(rt: Runtime, who: Credential, req: ConsentCreateRequest) -> None:
    account = await rt.accounts.get(who.key)
    given = req.consent or ConsentListIn()
    await rt.consent.create(account, given.brandCode, given.list)


async def show(rt: Runtime, who: Credential, req: ConsentShowRequest) -> dict[str, Any]:
    account = await rt.accounts.get(who.key)
    query = req.consent or ConsentQueryIn()
    found = await rt.consent.show(
        account, query.brandCode, query.recipient, query.recipientType, query.type
    )
    consent = found.consent
    return {
        "consent": {
            "brandCode": brand_shown(found.brand_code),
            "recipient": consent.recipient,
            "recipientType": consent.recipient_type,
            "type": consent.type,
            "status": consent.status,
            "source": consent.source,
            "consentDate": format_local(consent.consent_date),
        }
    }
