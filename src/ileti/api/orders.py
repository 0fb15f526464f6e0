"""Handlers for the order actions (spec §7): send-sms (JSON, XML and the GET form),
get-report, get-reports (alias get-report-summary) and cancel-order."""

from __future__ import annotations

from typing import Any

from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.errors import BadRequest
from ileti.services.auth import Credential
from ileti.services.orders import REPORTS_PAGE, Summary, day_range
from ileti.values import order_id, page_of
from ileti.wire.orders import (
    OrderRequest,
    ReportsFilter,
    ReportsRequest,
    SendSmsRequest,
    send_command,
)


async def send(rt: Runtime, who: Credential, req: SendSmsRequest) -> dict[str, Any]:
    account = await rt.accounts.get(who.key)
    new_id = await rt.orders.send(account, send_command(req.order))
    return {"order": {"id": str(new_id)}}


def _summary(found: Summary) -> dict[str, Any]:
    """The fields get-report and get-reports share (the id's type differs: the SDKs
    read get-report's as a string and get-reports' as a number)."""
    order, counts = found.order, found.counts
    return {
        "id": order.id,
        "status": int(found.status),
        "total": order.total,
        "delivered": counts.delivered,
        "undelivered": counts.undelivered,
        "waiting": counts.waiting,
        "submitAt": format_local(order.submit_at),
        "sendAt": format_local(order.send_at),
        "sender": order.sender,
    }


async def report(rt: Runtime, who: Credential, req: OrderRequest) -> dict[str, Any]:
    ref = req.order
    found = await rt.orders.report(
        who.account_id,
        order_id(ref.id if ref else None),
        page_of(ref.page if ref else None, ref.rowCount if ref else None),
    )
    summary = _summary(Summary(found.order, found.counts, found.status))
    summary["id"] = str(found.order.id)
    summary["price"] = found.order.price
    summary["message"] = [
        {"number": recipient, "status": status} for _id, recipient, status in found.messages
    ]
    return {"order": summary}


async def reports(rt: Runtime, who: Credential, req: ReportsRequest) -> dict[str, Any]:
    flt = req.filter
    if isinstance(flt, list):
        if flt:
            raise BadRequest("filter must be an object")
        flt = None
    flt = flt or ReportsFilter()
    total, found = await rt.orders.reports(
        who.account_id,
        day_range(flt.start, flt.end),
        page_of(flt.page if flt.page is not None else req.page, rows_max=REPORTS_PAGE),
    )
    return {"count": total, "orders": [_summary(summary) for summary in found]}


async def cancel(rt: Runtime, who: Credential, req: OrderRequest) -> None:
    await rt.orders.cancel(who.account_id, order_id(req.order.id if req.order else None))
