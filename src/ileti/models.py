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


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    number: int  # 905XXXXXXXXX
    blocked_at: int  # microseconds since the epoch, UTC
    source: str


@dataclass(frozen=True, slots=True)
class BlacklistPage:
    count: int
    numbers: list[int]
