"""send-sms, get-report and cancel-order as a client calls them (shared by the sending,
report, delivery and webhook tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from ileti.api.runtime import Runtime
from ileti.clock import ISTANBUL
from ileti.services.accounts import Issued
from tests.support.http import auth, call, parse_xml_response
from tests.support.spec import OK, XML_TYPE

A, B, C = "+905330000001", "+905330000002", "+905330000003"
INVALID = "+905999000000"  # not a Turkish mobile by libphonenumber

# The simulated carrier's documented test numbers.
DELIVERED_TO = "+905330000099"
UNDELIVERED_TO = "+905559990001"  # always undelivered
PENDING_TO = "+905559990002"  # always pending


def order_of(
    numbers: list[Any] | str | None = None, text: str | None = "Merhaba", **fields: Any
) -> dict[str, Any]:
    """A one-text order from ILETI, iys 0, to ``numbers`` (default: A)."""
    order: dict[str, Any] = {"sender": "ILETI", "sendDateTime": "", "iys": "0"}
    order["message"] = {"text": text, "receipents": {"number": [A] if numbers is None else numbers}}
    order.update(fields)
    return {k: v for k, v in order.items() if v is not None}


def query_of(issued: Issued, order: dict[str, Any]) -> str:
    """The GET form of a one-text order: ``/v1/send-sms/get/?key=&hash=&text=...``."""
    message = order.get("message") or {}
    assert isinstance(message, dict), "the GET form carries one text"
    number = (message.get("receipents") or {}).get("number") or []
    numbers = [number] if isinstance(number, str) else number
    query = {
        "key": issued.account.key,
        "hash": issued.hash,
        "text": message.get("text"),
        "receipents": ",".join(str(n) for n in numbers),
        "sender": order.get("sender"),
        "iys": order.get("iys"),
        "iysList": order.get("iysList"),
        "sendDateTime": order.get("sendDateTime"),
    }
    return urlencode({k: v for k, v in query.items() if v is not None})


async def send(
    client: httpx.AsyncClient, issued: Issued, order: dict[str, Any], fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    """send-sms in one of the three forms; (HTTP status, the ``response`` object)."""
    if fmt == "get":
        r = await client.get(f"/v1/send-sms/get/?{query_of(issued, order)}")
        assert r.headers["content-type"] == XML_TYPE
        return r.status_code, parse_xml_response(r.content)
    return await call(client, "send-sms", {"authentication": auth(issued), "order": order}, fmt)


async def sent(
    client: httpx.AsyncClient, issued: Issued, order: dict[str, Any], fmt: str = "json"
) -> int:
    """Send and expect 200; the order id."""
    status, body = await send(client, issued, order, fmt)
    assert (status, body["status"]) == (200, OK), body
    order_id = body["order"]["id"]
    assert isinstance(order_id, str) and order_id.isdigit()
    return int(order_id)


async def send_now(
    client: httpx.AsyncClient, issued: Issued, numbers: list[str], text_: str = "Merhaba dünya"
) -> int:
    """An order from ILETI to ``numbers``, sent now; expects 200, the order id."""
    status, body = await call(
        client,
        "send-sms",
        {
            "authentication": auth(issued),
            "order": {
                "sender": "ILETI",
                "sendDateTime": "",
                "iys": "0",
                "message": {"text": text_, "receipents": {"number": numbers}},
            },
        },
    )
    assert status == 200, body
    return int(body["order"]["id"])


async def report(
    client: httpx.AsyncClient, issued: Issued, order_id: Any, fmt: str = "json", **paging: Any
) -> tuple[int, dict[str, Any]]:
    request = {"authentication": auth(issued), "order": {"id": order_id, **paging}}
    return await call(client, "get-report", request, fmt)


async def cancel(
    client: httpx.AsyncClient, issued: Issued, order_id: Any, fmt: str = "json"
) -> tuple[int, dict[str, Any]]:
    request = {"authentication": auth(issued), "order": {"id": order_id}}
    return await call(client, "cancel-order", request, fmt)


async def balance(runtime: Runtime, issued: Issued) -> int:
    """The account's balance as the account service reports it."""
    return (await runtime.accounts.get(issued.account.key)).balance


def istanbul(delta: timedelta, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Now plus ``delta``, Istanbul time, as ``fmt`` (``sendDateTime`` by default)."""
    return (datetime.now(ISTANBUL) + delta).strftime(fmt)
