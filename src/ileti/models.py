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

    @property
    def amount(self) -> float:
        """The balance in TRY (credits × unit price), as get-balance shows it."""
        return round(self.balance * self.unit_price / 1_000_000, 3)


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    number: int  # 905XXXXXXXXX
    blocked_at: int  # microseconds since the epoch, UTC
    source: str


@dataclass(frozen=True, slots=True)
class BlacklistPage:
    count: int
    numbers: list[int]
