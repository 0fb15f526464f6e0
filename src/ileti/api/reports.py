"""Handlers for get-report, get-reports (alias get-report-summary) and cancel-order."""

from __future__ import annotations

from typing import Any

from ileti.api.runtime import Runtime
from ileti.clock import format_local
from ileti.errors import BadRequest, Code
from ileti.models import Order, OrderCounts
from ileti.services.auth import Credential
from ileti.wire.orders import OrderRequest, ReportsFilter, ReportsRequest


def _summary(order: Order, counts: OrderCounts, status: Code) -> dict[str, Any]:
    """The fields get-report and get-reports share (the id's type differs: the SDKs
    read get-report's as a string and get-reports' as a number)."""
    return {
        "id": order.id,
        "status": int(status),
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
    found = await rt.reports.report(
        who.account_id,
        ref.id if ref else None,
        ref.page if ref else None,
        ref.rowCount if ref else None,
    )
    summary = _summary(found.order, found.counts, found.status)
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
    page = flt.page if flt.page is not None else req.page
    total, found = await rt.reports.reports(who.account_id, flt.start, flt.end, page)
    return {
        "count": total,
        "orders": [_summary(order, counts, status) for order, counts, status in found],
    }


async def cancel(rt: Runtime, who: Credential, req: OrderRequest) -> None:
    await rt.reports.cancel(who.account_id, req.order.id if req.order else None)
