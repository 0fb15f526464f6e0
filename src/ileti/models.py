"""Plain records passed between the store, the services, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    key: str
    hash_sha256: str
    api_access: bool
    allow_ips: tuple[str, ...]
    senders: tuple[str, ...]
    balance: int
    blacklist_count: int
    created_at: int  # microseconds since the epoch, UTC
    updated_at: int
    unit_price: int = 0  # micro-TRY per credit
    brand_code: str | None = None
    test_number: int | None = None  # 905XXXXXXXXX
    webhook_url: str | None = None
    strict: bool = False
    rate_limit: int | None = None  # recipients per second; None: the server's default
    short_code: str | None = None  # where inbound opt-outs are sent (e.g. "7889")
    #: How messages progress: delay | polls | manual; None: ILETI_DELIVERY_DELAY.
    delivery: str | None = None
    delivery_after: float | None = None  # seconds (delay) or get-report polls (polls)

    @property
    def amount(self) -> float:
        """The balance in TRY (credits × unit price), as get-balance shows it."""
        return round(self.balance * self.unit_price / 1_000_000, 3)


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in to the panel: an admin sees every account, a user only
    ``account_id``'s."""

    id: int
    email: str
    password_hash: str  # argon2id, encoded
    account_id: int | None
    account_key: str | None
    admin: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    number: int  # 905XXXXXXXXX
    blocked_at: int  # microseconds since the epoch, UTC
    source: str


@dataclass(frozen=True, slots=True)
class BlacklistPage:
    count: int
    numbers: list[int]


@dataclass(frozen=True, slots=True)
class OutgoingText:
    """One text of a send-sms request and its recipients as written (validated later)."""

    text: str | None
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendCommand:
    """A send-sms request in plain terms, whatever encoding it came in. Values are as
    sent (stripped text); the order service checks them in the documented order."""

    sender: str | None
    #: ``sendDateTime``: None or "" for now, else ``dd/MM/yyyy HH:mm``.
    schedule: str | None
    #: ``iys`` as text ("0", "1"), None when not given.
    iys: str | None
    iys_list: str | None
    texts: tuple[OutgoingText, ...]


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    account_id: int
    sender: str
    iys: bool
    iys_list: str | None
    submit_at: int
    send_at: int
    scheduled: bool
    dispatched: bool
    cancelled: bool
    total: int
    #: Credits charged: 0 once the order is cancelled and refunded.
    price: int
    #: Forwarded to the account's upstream (the relay) instead of the simulated carrier.
    relay: bool = False
    #: Why the upstream refused it ("<code> <message>"): the order answers 115.
    relay_error: str | None = None


@dataclass(frozen=True, slots=True)
class OrderCounts:
    waiting: int = 0  # 110
    delivered: int = 0  # 111
    undelivered: int = 0  # 112

    @property
    def total(self) -> int:
        return self.waiting + self.delivered + self.undelivered


@dataclass(frozen=True, slots=True)
class Consent:
    """One İYS consent record (spec §10), checked: the recipient normalised (E.164 for
    MESAJ and ARAMA, the e-mail address as normalised), the date in microseconds (UTC)."""

    recipient: str
    recipient_type: str  # BIREYSEL | TACIR
    type: str  # MESAJ | ARAMA | EPOSTA
    status: str  # ONAY | RET
    source: str | None  # HS_*, IYS_KISAMESAJ; None: a TACIR record without one
    consent_date: int

    @property
    def key(self) -> tuple[str, str, str]:
        """What the registry keeps one history of (beside the brand)."""
        return (self.type, self.recipient_type, self.recipient)


@dataclass(frozen=True, slots=True)
class StoredConsent:
    """A consent record as stored: the record, its brand, when and how it came."""

    id: int
    account_id: int
    brand_code: str
    consent: Consent
    recorded_at: int  # microseconds, UTC
    origin: str  # api | cli | import | inbound | panel
