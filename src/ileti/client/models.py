"""What the client returns: frozen dataclasses, one per kind of answer (stdlib only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

RecipientType = Literal["BIREYSEL", "TACIR"]
ConsentType = Literal["MESAJ", "ARAMA", "EPOSTA"]
ConsentStatus = Literal["ONAY", "RET"]
WebhookStatus = Literal["accepted", "delivered", "undelivered"]

#: Message statuses (get-report, webhooks) and order statuses.
SENDING, DELIVERED, UNDELIVERED = 110, 111, 112
ORDER_IN_PROGRESS, ORDER_COMPLETED, ORDER_FAILED = 113, 114, 115


@dataclass(frozen=True)
class Balance:
    #: Turkish lira.
    amount: float
    #: Credits (SMS).
    sms: int


@dataclass(frozen=True)
class SentOrder:
    """send-sms's answer: the new order's id (a string of digits)."""

    id: str


@dataclass(frozen=True)
class Message:
    """One text to some recipients, for :meth:`Client.send_messages` (several texts in
    one order)."""

    text: str
    to: Sequence[str]


@dataclass(frozen=True)
class MessageStatus:
    #: E.164, ``+905XXXXXXXXX`` (or as written, for an invalid number).
    number: str
    #: 110 with the carrier, 111 delivered, 112 not delivered.
    status: int

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED

    @property
    def final(self) -> bool:
        return self.status in (DELIVERED, UNDELIVERED)


@dataclass(frozen=True)
class Report:
    """get-report: one order (its counters cover the whole order) and one page of its
    messages."""

    id: str
    #: 113 in progress, 114 completed, 115 failed or cancelled.
    status: int
    total: int
    delivered: int
    undelivered: int
    waiting: int
    #: ``Y-m-d H:i:s``, Europe/Istanbul.
    submit_at: str
    send_at: str
    sender: str
    #: Credits charged.
    price: int
    messages: tuple[MessageStatus, ...]
    page: int = 1
    row_count: int = 1000

    @property
    def done(self) -> bool:
        """Every message is final (order status 114 or 115)."""
        return self.status in (ORDER_COMPLETED, ORDER_FAILED)


@dataclass(frozen=True)
class OrderSummary:
    """One order of get-reports."""

    id: int
    status: int
    total: int
    delivered: int
    undelivered: int
    waiting: int
    submit_at: str
    send_at: str
    sender: str


@dataclass(frozen=True)
class ReportsPage:
    #: Orders in the range (all pages).
    count: int
    orders: tuple[OrderSummary, ...]
    page: int = 1


@dataclass(frozen=True)
class BlacklistPage:
    #: Numbers matching (all pages).
    count: int
    numbers: tuple[str, ...]
    page: int = 1
    row_count: int = 1000


@dataclass(frozen=True)
class ConsentRecord:
    """One record for consent/create (İYS)."""

    recipient: str
    status: ConsentStatus
    recipient_type: RecipientType = "BIREYSEL"
    type: ConsentType = "MESAJ"
    #: One of the HS_* sources (may be left out for TACIR).
    source: str | None = None
    #: ``YYYY-MM-DD HH:MM:SS``, Europe/Istanbul (may be left out for TACIR).
    consent_date: str | None = None

    def wire(self) -> dict[str, str]:
        out = {
            "recipient": self.recipient,
            "recipientType": self.recipient_type,
            "type": self.type,
            "status": self.status,
        }
        if self.source is not None:
            out["source"] = self.source
        if self.consent_date is not None:
            out["consentDate"] = self.consent_date
        return out


@dataclass(frozen=True)
class Consent:
    """consent/show: the latest record of one recipient."""

    brand_code: str
    recipient: str
    recipient_type: str
    type: str
    status: str
    source: str | None
    consent_date: str | None


@dataclass(frozen=True)
class WebhookReport:
    """A delivery report POSTed to the account's webhook URL."""

    #: The message's id.
    id: int
    #: The order's id.
    packet_id: int
    status: WebhookStatus
    to: str
    body: str
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def code(self) -> int:
        """The status as get-report shows it: 110, 111 or 112."""
        return {"accepted": SENDING, "delivered": DELIVERED, "undelivered": UNDELIVERED}[
            self.status
        ]

    @property
    def order_id(self) -> str:
        """The order's id as send-sms answered it (a string)."""
        return str(self.packet_id)
