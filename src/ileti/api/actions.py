"""The action table: one row per v1 action (spec §1.1). A new endpoint adds its
handler, one row here, and its tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ileti.api import account, blacklist, orders
from ileti.wire.orders import OrderRequest, ReportsRequest, SendSmsRequest
from ileti.wire.structs import AuthOnlyRequest, BlacklistQueryRequest, NumberRequest

Handler = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Action:
    name: str
    request_type: type[Any]
    handler: Handler
    #: Also served as ``GET /v1/<name>/get/?...`` with the request in the query (XML out).
    get_form: bool = False
    #: Bodies up to ILETI_MAX_SEND_BODY_BYTES (50,000 recipients in XML exceed 1 MiB).
    large_body: bool = False


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("add-blacklist", NumberRequest, blacklist.add),
        Action("delete-blacklist", NumberRequest, blacklist.delete),
        Action("get-blacklist", BlacklistQueryRequest, blacklist.get),
        Action("get-balance", AuthOnlyRequest, account.balance),
        Action("get-sender", AuthOnlyRequest, account.senders),
        Action("send-sms", SendSmsRequest, orders.send, get_form=True, large_body=True),
        Action("get-report", OrderRequest, orders.report),
        Action("get-reports", ReportsRequest, orders.reports),
        Action("get-report-summary", ReportsRequest, orders.reports),
        Action("cancel-order", OrderRequest, orders.cancel),
    )
}
