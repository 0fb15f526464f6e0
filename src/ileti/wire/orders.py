"""Request structs for sending and reports: send-sms, get-report, get-reports,
cancel-order (spec §7). Shapes follow the official SDKs: ``message`` one object or an
array, ``receipents.number`` an array or one value, ``sendDateTime`` a string, empty,
``[]`` or a one-element array, ``iys`` ``"1"``/``1``/``"0"``/``0``."""

from __future__ import annotations

from typing import Any

import msgspec

from ileti.wire.structs import Authentication

Scalar = str | int


class Recipients(msgspec.Struct):
    number: list[Scalar | None] | Scalar | None = None


class MessageIn(msgspec.Struct):
    text: str | None = None
    receipents: Recipients | list[Any] | None = None


class OrderIn(msgspec.Struct):
    sender: str | None = None
    sendDateTime: list[str | None] | str | None = None
    iys: Scalar | None = None
    iysList: str | None = None
    message: list[MessageIn] | MessageIn | None = None


class SendSmsRequest(msgspec.Struct):
    authentication: Authentication | None = None
    order: OrderIn | None = None


class OrderRef(msgspec.Struct):
    id: Scalar | None = None
    page: Scalar | None = None
    rowCount: Scalar | None = None


class OrderRequest(msgspec.Struct):
    """get-report and cancel-order."""

    authentication: Authentication | None = None
    order: OrderRef | None = None


class ReportsFilter(msgspec.Struct):
    start: str | None = None
    end: str | None = None
    page: Scalar | None = None


class ReportsRequest(msgspec.Struct):
    """get-reports (and its alias get-report-summary)."""

    authentication: Authentication | None = None
    filter: ReportsFilter | list[Any] | None = None
    page: Scalar | None = None


def get_form(query: dict[str, str]) -> dict[str, Any]:
    """The GET form of send-sms (``/v1/send-sms/get/?key=&hash=&text=&receipents=...``)
    as the tree the XML and JSON forms give."""
    numbers = [n for n in query.get("receipents", "").split(",") if n.strip()]
    order: dict[str, Any] = {
        "sender": query.get("sender"),
        "iys": query.get("iys") or None,
        "iysList": query.get("iysList") or None,
        "message": {"text": query.get("text"), "receipents": {"number": numbers}},
    }
    if query.get("sendDateTime"):
        order["sendDateTime"] = query["sendDateTime"]
    return {
        "request": {
            "authentication": {"key": query.get("key"), "hash": query.get("hash")},
            "order": order,
        }
    }
