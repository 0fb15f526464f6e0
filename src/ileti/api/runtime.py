"""What one running instance holds: settings, the store, the services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ileti.clock import SYSTEM, Clock
from ileti.config import Settings
from ileti.services.accounts import AccountService
from ileti.services.auth import Authenticator
from ileti.services.auth_throttle import AuthThrottle
from ileti.services.blacklist import BlacklistService
from ileti.services.carrier import Carrier
from ileti.services.consent import ConsentService
from ileti.services.faults import FaultService
from ileti.services.health import HealthCheck
from ileti.services.orders import OrderService, Relaying
from ileti.services.ratelimit import RateLimiter
from ileti.services.refusals import Refusals
from ileti.services.relay import Relay
from ileti.services.relay_blacklist import BlacklistSync
from ileti.services.relay_settings import RelaySettings, check_sealed
from ileti.services.state import seed_at_start
from ileti.services.upstream import Upstream
from ileti.services.users import UserService
from ileti.services.watch import OutboxWatcher
from ileti.services.webhooks import WebhookSender
from ileti.store import Store
from ileti.vault import vault_of


@dataclass
class Runtime:
    settings: Settings
    store: Store
    auth: Authenticator
    accounts: AccountService
    blacklist: BlacklistService
    orders: OrderService
    ratelimit: RateLimiter
    carrier: Carrier
    webhooks: WebhookSender
    #: The sandbox's fault rules (cached for the v1 hot path).
    faults: FaultService
    #: What every time-driven part reads (tests give one they can advance).
    clock: Clock
    #: Wakes the outbox waits when a message is stored (polls only while one waits).
    outbox_watcher: OutboxWatcher
    #: Answers 429 to an address after too many authentication failures (v1, control
    #: API, admin views).
    auth_throttle: AuthThrottle
    #: Readiness: can the store be read and durably written (``/healthz``).
    health: HealthCheck
    #: The panel's users and sessions.
    users: UserService
    #: The v1 refusals (4xx) of each account lately, for its panel's dashboard.
    refusals: Refusals
    #: İYS consent (consent/create, consent/show, the history and the refusals).
    consent: ConsentService
    #: Forwarding relayed orders upstream and mirroring their reports (docs/relay.md).
    relay: Relay
    #: Each account's upstream, and releasing sandbox orders to it.
    relay_settings: RelaySettings
    #: The HTTP client of every upstream call.
    upstream: Upstream
    #: Blacklist sync: local changes mirrored upstream, the upstream's list imported.
    relay_blacklist: BlacklistSync

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock = SYSTEM) -> Runtime:
        store = Store(settings)
        auth_throttle = AuthThrottle(settings, clock=clock)
        auth = Authenticator(
            store, refresh_seconds=settings.auth_refresh_seconds, throttle=auth_throttle
        )
        ratelimit = RateLimiter(settings)
        faults = FaultService(store, clock=clock, refresh_seconds=settings.auth_refresh_seconds)
        vault = vault_of(settings.secret_key)
        upstream = Upstream(timeout=settings.relay_timeout_seconds)
        relay = Relay(store, settings, vault=vault, upstream=upstream, clock=clock)
        relaying = Relaying(
            relay=relay,
            batch_size=settings.relay_batch_size,
            deadline=int(settings.relay_deadline_seconds * 1_000_000),
        )
        return cls(
            settings=settings,
            store=store,
            auth=auth,
            accounts=AccountService(store, on_change=auth.invalidate),
            blacklist=BlacklistService(store),
            orders=OrderService(store, limiter=ratelimit, clock=clock, relaying=relaying),
            ratelimit=ratelimit,
            carrier=Carrier(store, settings, clock=clock),
            webhooks=WebhookSender(store, settings, clock=clock, faults=faults),
            faults=faults,
            clock=clock,
            outbox_watcher=OutboxWatcher(store),
            auth_throttle=auth_throttle,
            health=HealthCheck(store, clock=clock),
            users=UserService(store, settings, clock=clock),
            refusals=Refusals(clock),
            consent=ConsentService(store, clock=clock),
            relay=relay,
            relay_settings=RelaySettings(
                store, settings, vault=vault, upstream=upstream, relay=relay, clock=clock
            ),
            upstream=upstream,
            relay_blacklist=BlacklistSync(
                store, settings, vault=vault, upstream=upstream, clock=clock
            ),
        )

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            self.store.migrate()
        if self.settings.seed is not None:
            seed_at_start(self.store, Path(self.settings.seed))  # ConfigError: nothing started
        # Upstream credentials this ILETI_SECRET_KEY cannot open: ConfigError, nothing started.
        check_sealed(self.store, vault_of(self.settings.secret_key))
        self.store.start()
        await self.auth.start()
        await self.auth_throttle.start()
        await self.users.start()
        await self.faults.start()
        self.carrier.start()
        self.webhooks.start()
        self.relay.start()
        self.relay_blacklist.start()
        self.outbox_watcher.start()

    async def stop(self) -> None:
        # The outbox waits end first (503), while the store still answers.
        await self.outbox_watcher.stop()
        await self.relay_blacklist.stop()
        await self.relay.stop()
        await self.webhooks.stop()
        await self.carrier.stop()
        await self.faults.stop()
        await self.auth.stop()
        await self.auth_throttle.stop()
        await self.users.stop()
        await self.ratelimit.close()
        await self.upstream.close()
        self.store.close()
