"""Reading the delivery reports the service POSTs to an account's webhook URL:
``{"report": {"id": <message id>, "packet_id": <order id>, "status": "accepted" |
"delivered" | "undelivered", "to": "+905...", "body": "<text>"}}`` (spec §7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from ileti.client.errors import InvalidWebhook
from ileti.client.models import WebhookReport, WebhookStatus

STATUSES = ("accepted", "delivered", "undelivered")


def _whole(report: Mapping[str, Any], name: str) -> int:
    value = report.get(name)
    if isinstance(value, bool):
        raise InvalidWebhook(f"report.{name} must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise InvalidWebhook(f"report.{name} must be a number, got {value!r}")


def _text(report: Mapping[str, Any], name: str) -> str:
    value = report.get(name)
    if not isinstance(value, str):
        raise InvalidWebhook(f"report.{name} must be a string, got {value!r}")
    return value


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookReport:
    """A delivery report from the request body (bytes or text) or its decoded JSON;
    InvalidWebhook (a ValueError) for anything else, never KeyError or TypeError."""
    if isinstance(body, bytes | str):
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidWebhook(f"the body is not JSON: {exc}") from None
    else:
        document = body
    report = document.get("report") if isinstance(document, Mapping) else None
    if not isinstance(report, Mapping):
        raise InvalidWebhook('the body is not {"report": {...}}')
    status = report.get("status")
    if status not in STATUSES:
        raise InvalidWebhook(f"report.status must be one of {', '.join(STATUSES)}, got {status!r}")
    return WebhookReport(
        id=_whole(report, "id"),
        packet_id=_whole(report, "packet_id"),
        status=cast(WebhookStatus, status),
        to=_text(report, "to"),
        body=_text(report, "body"),
        raw=dict(report),
    )
