"""What one running instance holds: settings, the store, the services."""

from __future__ import annotations

from dataclasses import dataclass

from ileti.config import Settings
from ileti.services.accounts import AccountService
from ileti.services.auth import Authenticator
from ileti.services.blacklist import BlacklistService
from ileti.services.delivery import Carrier
from ileti.services.ratelimit import RateLimiter
from ileti.services.reports import ReportService
from ileti.services.sending import SendingService
from ileti.services.webhooks import WebhookSender
from ileti.store import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    auth: Authenticator
    accounts: AccountService
    blacklist: BlacklistService
    sending: SendingService
    ratelimit: RateLimiter
    reports: ReportService
    carrier: Carrier
    webhooks: WebhookSender

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        store = Store(settings)
        auth = Authenticator(store, refresh_seconds=settings.auth_refresh_seconds)
        ratelimit = RateLimiter(settings, store)
        return cls(
            settings=settings,
            store=store,
            auth=auth,
            accounts=AccountService(store, on_change=auth.invalidate),
            blacklist=BlacklistService(store),
            sending=SendingService(store, limiter=ratelimit),
            ratelimit=ratelimit,
            reports=ReportService(store),
            carrier=Carrier(store, settings),
            webhooks=WebhookSender(store, settings),
        )

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            self.store.migrate()
        self.store.start()
        await self.auth.start()
        self.carrier.start()
        self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()
        await self.carrier.stop()
        await self.auth.stop()
        await self.ratelimit.close()
        self.store.close()
