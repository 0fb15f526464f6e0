"""What a v1 success carries beside ``status``, one struct per action (spec §5–7), for
the OpenAPI document (``/openapi.json``). The handlers build the same members as plain
dicts (the hot path renders dicts); ``tests/test_openapi.py`` decodes every action's real
answer into these structs, unknown members refused, so the two cannot drift apart."""

from __future__ import annotations

import msgspec


class Result(msgspec.Struct, forbid_unknown_fields=True):
    """A success's members beside ``status``."""


class BlacklistPage(Result):
    count: int
    number: list[str]


class BlacklistResult(Result):
    blacklist: BlacklistPage


class Balance(Result):
    #: Turkish lira (credits × unit price), three decimals.
    amount: float
    #: Credits.
    sms: int


class BalanceResult(Result):
    balance: Balance


class Senders(Result):
    sender: list[str]


class SendersResult(Result):
    senders: Senders


class NewOrder(Result):
    #: The order's id, a string of digits.
    id: str


class SendResult(Result):
    order: NewOrder


class MessageReport(Result):
    number: str
    #: 110 with the carrier, 111 delivered, 112 not delivered.
    status: int


class OrderSummary(Result):
    #: A number here (a string in get-report), as the official SDKs read them.
    id: int
    #: 113 in progress, 114 completed, 115 failed or cancelled.
    status: int
    total: int
    delivered: int
    undelivered: int
    waiting: int
    #: ``Y-m-d H:i:s``, Europe/Istanbul.
    submitAt: str
    sendAt: str
    sender: str


class OrderReport(Result):
    id: str
    status: int
    total: int
    delivered: int
    undelivered: int
    waiting: int
    submitAt: str
    sendAt: str
    sender: str
    #: Credits charged for the order.
    price: int
    message: list[MessageReport]


class ReportResult(Result):
    order: OrderReport


class ReportsResult(Result):
    count: int
    orders: list[OrderSummary]


class ConsentShown(Result):
    #: An integer when the brand code is one (as the provider echoes it).
    brandCode: int | str
    #: E.164 for MESAJ and ARAMA; the e-mail address as normalised for EPOSTA.
    recipient: str
    recipientType: str
    type: str
    #: ONAY | RET
    status: str
    #: HS_* as uploaded, IYS_KISAMESAJ for a RET texted to 3338; null for a TACIR
    #: record uploaded without one.
    source: str | None
    #: ``Y-m-d H:i:s``, Europe/Istanbul.
    consentDate: str


class ConsentShowResult(Result):
    consent: ConsentShown
