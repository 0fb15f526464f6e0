"""The action table: one row per v1 action (spec §1.1). A new endpoint adds its
handler, one row here, and its tests. The table also says what each action answers
(its success's members and its own refusal codes): ``ileti.api.openapi`` makes
``/openapi.json`` from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ileti.api import account, blacklist, consent, orders
from ileti.errors import Code
from ileti.wire.consent import ConsentCreateRequest, ConsentShowRequest
from ileti.wire.orders import OrderRequest, ReportsRequest, SendSmsRequest
from ileti.wire.responses import (
    BalanceResult,
    BlacklistResult,
    ConsentShowResult,
    ReportResult,
    ReportsResult,
    SendersResult,
    SendResult,
)
from ileti.wire.structs import AuthOnlyRequest, BlacklistQueryRequest, NumberRequest

Handler = Callable[..., Awaitable[dict[str, Any] | None]]

#: What any action may answer: 200, an unparseable body, failed authentication, a rate
#: limit, the store unavailable.
COMMON_CODES = frozenset(
    (Code.OK, Code.BAD_REQUEST, Code.UNAUTHORIZED, Code.RATE_LIMITED, Code.UNAVAILABLE)
)
_PAGED = frozenset((Code.UNPROCESSABLE, Code.PAGE_OUT_OF_RANGE))
#: send-sms's checks (spec §7), and 422 for a NUL in a text or too many recipients.
_SENDING = frozenset(
    (
        Code.INSUFFICIENT_BALANCE,
        Code.UNPROCESSABLE,
        Code.SENDER_NOT_ALLOWED,
        Code.DUPLICATE_ORDER,
        Code.INVALID_RECIPIENTS,
        Code.ORDER_TOO_LARGE,
        Code.EMPTY_TEXT,
        Code.BAD_SEND_DATE,
        Code.EMPTY_SENDER,
        Code.BAD_SENDER,
        Code.IYS_MISSING,
        Code.IYS_LIST_INVALID,
        Code.IYS_CODE_MISSING,
    )
)


@dataclass(frozen=True)
class Action:
    name: str
    request_type: type[Any]
    handler: Handler
    #: Also served as ``GET /v1/<name>/get/?...`` with the request in the query (XML out).
    get_form: bool = False
    #: Bodies up to ILETI_MAX_SEND_BODY_BYTES (50,000 recipients in XML exceed 1 MiB).
    large_body: bool = False
    #: Served as ``POST /v1/<name>/json`` only (İYS consent: the provider publishes no
    #: XML form); the bare path is 404.
    json_only: bool = False
    #: A success's members beside ``status`` (None: status only).
    result: type[Any] | None = None
    #: The action's own refusals (spec §5–7), beside COMMON_CODES.
    refusals: frozenset[Code] = frozenset()
    summary: str = ""

    @property
    def codes(self) -> frozenset[Code]:
        """Every code the action answers with (HTTP status = code)."""
        return COMMON_CODES | self.refusals


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "add-blacklist",
            NumberRequest,
            blacklist.add,
            refusals=frozenset({Code.INVALID_NUMBER}),
            summary="Block a number for the account (idempotent).",
        ),
        Action(
            "delete-blacklist",
            NumberRequest,
            blacklist.delete,
            refusals=frozenset({Code.INVALID_NUMBER, Code.NOT_BLACKLISTED}),
            summary="Unblock a number.",
        ),
        Action(
            "get-blacklist",
            BlacklistQueryRequest,
            blacklist.get,
            result=BlacklistResult,
            refusals=_PAGED | {Code.BAD_DATE_RANGE},
            summary="A page of the account's blocked numbers.",
        ),
        Action(
            "get-balance",
            AuthOnlyRequest,
            account.balance,
            result=BalanceResult,
            summary="The account's balance in TRY and in credits.",
        ),
        Action(
            "get-sender",
            AuthOnlyRequest,
            account.senders,
            result=SendersResult,
            summary="The account's approved senders.",
        ),
        Action(
            "send-sms",
            SendSmsRequest,
            orders.send,
            get_form=True,
            large_body=True,
            result=SendResult,
            refusals=_SENDING,
            summary="Send one or more texts to up to 50,000 recipients (one order).",
        ),
        Action(
            "get-report",
            OrderRequest,
            orders.report,
            result=ReportResult,
            refusals=_PAGED | {Code.ORDER_NOT_FOUND, Code.ORDER_NOT_DUE},
            summary="One order and a page of its messages.",
        ),
        Action(
            "get-reports",
            ReportsRequest,
            orders.reports,
            result=ReportsResult,
            refusals=_PAGED | {Code.BAD_DATE_RANGE},
            summary="The orders of a range of days (at most 10), 30 per page.",
        ),
        Action(
            "get-report-summary",
            ReportsRequest,
            orders.reports,
            result=ReportsResult,
            refusals=_PAGED | {Code.BAD_DATE_RANGE},
            summary="get-reports under the name the Go SDK uses.",
        ),
        Action(
            "cancel-order",
            OrderRequest,
            orders.cancel,
            refusals=frozenset({Code.ORDER_NOT_FOUND}),
            summary="Cancel an order scheduled for the future (its charge refunded).",
        ),
        Action(
            "consent/create",
            ConsentCreateRequest,
            consent.create,
            large_body=True,  # 5,000 records of long e-mail addresses exceed 1 MiB
            json_only=True,
            refusals=frozenset({Code.NO_SUBSCRIPTION, Code.UNPROCESSABLE}),
            summary="Record İYS consent: 1 to 5,000 records, stored whole or refused whole.",
        ),
        Action(
            "consent/show",
            ConsentShowRequest,
            consent.show,
            json_only=True,
            result=ConsentShowResult,
            refusals=frozenset({Code.NO_SUBSCRIPTION, Code.UNPROCESSABLE}),
            summary="The latest İYS consent record of one recipient.",
        ),
    )
}
