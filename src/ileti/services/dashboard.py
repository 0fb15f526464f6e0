"""What the panel's dashboard shows of one account."""

from __future__ import annotations

from dataclasses import dataclass

from ileti.clock import Clock, format_local, parse_day
from ileti.logs import safe_url
from ileti.models import Account
from ileti.services.refusals import Refusal, Refusals
from ileti.store import Store
from ileti.store import dashboard as dashboard_store

SHOWN = 10


@dataclass(frozen=True)
class FailedWebhook:
    id: int
    url: str  # without credentials
    error: str


@dataclass(frozen=True)
class Summary:
    account: Account
    orders_today: int
    messages_today: int
    failed_webhooks: list[FailedWebhook]
    refusals: list[Refusal]


class DashboardService:
    def __init__(self, store: Store, refusals: Refusals, *, clock: Clock) -> None:
        self._store = store
        self._refusals = refusals
        self._clock = clock

    async def summary(self, account: Account) -> Summary:
        since = parse_day(format_local(self._clock.now_us()))  # midnight, Istanbul
        orders, messages = await self._store.read(dashboard_store.today, account.id, since)
        failed = await self._store.read(dashboard_store.failed_webhooks, account.id, SHOWN)
        return Summary(
            account=account,
            orders_today=orders,
            messages_today=messages,
            failed_webhooks=[FailedWebhook(i, safe_url(url), error) for i, url, error in failed],
            refusals=self._refusals.recent(account.id)[:SHOWN],
        )
