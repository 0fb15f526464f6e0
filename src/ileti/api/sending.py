"""Handler for send-sms (spec §7), in JSON, XML and the GET form."""

from __future__ import annotations

from typing import Any

from ileti.api.runtime import Runtime
from ileti.services.auth import Credential
from ileti.wire.orders import SendSmsRequest


async def send(rt: Runtime, who: Credential, req: SendSmsRequest) -> dict[str, Any]:
    account = await rt.accounts.get(who.key)
    order_id = await rt.sending.send(account, req.order)
    return {"order": {"id": str(order_id)}}
