"""A client of the iletiMerkezi SMS API v1 (the real service, or ileti: only
``base_url`` differs). Needs httpx alone: nothing of the server is imported.

    from ileti.client import Client

    with Client(KEY, secret=SECRET, base_url="http://127.0.0.1:8080/v1/") as sms:
        order = sms.send_sms("+905330000009", "Kodunuz: 482913", sender="ILETI")
        print(sms.get_report(order.id).status)

``AsyncClient`` has the same methods, awaited. Errors: ``ileti.client.errors`` (one
class per code under ``ApiError``). Webhooks: ``parse_webhook``. docs/client.md.
"""

from __future__ import annotations

from ileti.client._async import AsyncClient
from ileti.client._core import DEFAULT_BASE_URL, Call, Retries, hash_of
from ileti.client._sync import Client
from ileti.client.errors import (
    ApiError,
    IletiError,
    InvalidRequest,
    InvalidWebhook,
    TransportError,
    UnexpectedResponse,
)
from ileti.client.models import (
    Balance,
    BlacklistPage,
    Consent,
    ConsentRecord,
    Message,
    MessageStatus,
    OrderSummary,
    Report,
    ReportsPage,
    SentOrder,
    WebhookReport,
)
from ileti.client.webhooks import parse_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiError",
    "AsyncClient",
    "Balance",
    "BlacklistPage",
    "Call",
    "Client",
    "Consent",
    "ConsentRecord",
    "IletiError",
    "InvalidRequest",
    "InvalidWebhook",
    "Message",
    "MessageStatus",
    "OrderSummary",
    "Report",
    "ReportsPage",
    "Retries",
    "SentOrder",
    "TransportError",
    "UnexpectedResponse",
    "WebhookReport",
    "hash_of",
    "parse_webhook",
]
