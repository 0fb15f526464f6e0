"""Request structs for sending and reports: send-sms, get-report, get-reports,
cancel-order (spec §7). Shapes follow the official SDKs: ``message`` one object or an
array, ``receipents.number`` an array or one value, ``sendDateTime`` a string, empty,
``[]`` or a one-element array, ``iys`` ``"1"``/``1``/``"0"``/``0``."""

from __future__ import annotations

from typing import Any

import msgspec

from ileti.models import OutgoingText, SendCommand
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


def _text(value: Scalar | None) -> str | None:
    return None if value is None else str(value).strip()


def _schedule(value: list[str | None] | str | None) -> str | None:
    """``""``, ``[]``, ``[x]`` or ``x`` -> one value; several values are kept side by
    side, which no schedule format matches (457 in its turn of the checks)."""
    if isinstance(value, list):
        if len(value) > 1:
            return ", ".join(v or "" for v in value)
        return value[0] if value else None
    return value


def _recipients(message: MessageIn) -> tuple[str, ...]:
    """``receipents.number`` as one list of non-empty strings (a JSON integer is taken
    as its digits; nulls and values of other types are not recipients)."""
    found = message.receipents
    if found is None or isinstance(found, list):
        raw: list[Any] = list(found or [])
    elif found.number is None:
        raw = []
    else:
        raw = found.number if isinstance(found.number, list) else [found.number]
    out = []
    for value in raw:
        if value is None or isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()
        if text:
            out.append(text)
    return tuple(out)


def send_command(order: OrderIn | None) -> SendCommand:
    """A send-sms request's ``order`` in plain terms (the provider's spellings undone)."""
    order = order or OrderIn()
    if order.message is None:
        messages: list[MessageIn] = []
    else:
        messages = order.message if isinstance(order.message, list) else [order.message]
    return SendCommand(
        sender=order.sender,
        schedule=_schedule(order.sendDateTime),
        iys=_text(order.iys),
        iys_list=_text(order.iysList),
        texts=tuple(OutgoingText(m.text, _recipients(m)) for m in messages),
    )


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
