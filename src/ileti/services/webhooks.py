"""Delivery reports by webhook (spec §7): POSTing queued reports to account URLs.

The carrier queues a report in the same transaction as each status change; this
background task of every instance sends them, never on a request path:

- claims due reports (held by a lease so no other instance sends them meanwhile);
- POSTs each body, ``{"report":{...}}``, with ``Content-Type: application/json`` and a
  short timeout (``ILETI_WEBHOOK_TIMEOUT_SECONDS``);
- a 2xx answer: delivered. An error, a timeout or any other status: the attempt and
  its error are recorded and the report is retried after
  ``ILETI_WEBHOOK_BACKOFF_SECONDS`` × 2^(attempts − 1), until
  ``ILETI_WEBHOOK_ATTEMPTS`` attempts have been made; then it is given up.

A message's reports arrive in order ("accepted" before "delivered"): a later one waits
while an earlier one is still being retried.

Every failed attempt is logged as a warning (logger ``ileti.webhooks``): the account,
the message, the URL without its ``user:password@``, query or fragment, the attempt
out of the maximum, the error, and when the next attempt is due or that the report was
given up. A delivery is logged at debug. httpx's own INFO line per request is dropped:
it would repeat each attempt with the whole URL, password and query included.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import httpx

from ileti import __version__
from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import Settings
from ileti.logs import printable, quiet_httpx, safe_url
from ileti.services.faults import FaultService
from ileti.services.poller import Poller
from ileti.store import Store
from ileti.store import webhooks as webhook_store
from ileti.store.webhooks import Attempt, Due

#: Reports claimed per round, and POSTs in flight at once.
CLAIM_BATCH = 100
CONCURRENCY = 16
#: Longest wait between two attempts.
MAX_BACKOFF_SECONDS = 24 * 3600.0
#: How long claimed reports are held beyond the timeout of their POST.
LEASE_MARGIN_SECONDS = 10.0

_HEADERS = {"Content-Type": "application/json", "User-Agent": f"ileti/{__version__}"}

log = logging.getLogger("ileti.webhooks")


def backoff(attempts: int, base: float) -> float:
    """Seconds to wait after ``attempts`` failed attempts (1, 2, ...)."""
    return min(base * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)


def _utc(at_us: int) -> str:
    return datetime.fromtimestamp(at_us / SECOND, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _log_failure(report: Due, made: int, limit: int, error: str, then: str) -> None:
    """The operator's line for a failed attempt; ``then``: what happens next."""
    log.warning(
        "webhook for account %d, message %d to %s failed (attempt %d of %d): %s; %s",
        report.account_id,
        report.message_id,
        safe_url(report.url),
        made,
        limit,
        printable(error, 500),
        then,
    )


class FaultStatus(Exception):
    """The HTTP status a webhook fault rule makes the receiver "answer"."""

    def __init__(self, status: int, rule_id: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.rule_id = rule_id


class WebhookSender:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock = SYSTEM,
        faults: FaultService | None = None,
    ) -> None:
        self._store = store
        self._faults = faults
        self._clock = clock
        self._timeout = settings.webhook_timeout_seconds
        self._attempts = settings.webhook_attempts
        self._base = settings.webhook_backoff_seconds
        self._lease = int((self._timeout + LEASE_MARGIN_SECONDS) * SECOND)
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        quiet_httpx()
        self._poller = Poller(
            "ileti-webhooks",
            self.step,
            interval=settings.delivery_poll_seconds,
            grace=self._timeout + 1.0,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout), follow_redirects=False
            )
        return self._client

    async def step(self) -> bool:
        """One round: claim due reports, POST them, record the outcomes. True when the
        claim was full (more may be waiting)."""
        now = self._clock.now_us()
        if not await self._store.read(webhook_store.pending_work, now):
            return False
        due = await self._store.write(
            webhook_store.claim,
            webhook_store.Claim(now=now, lease=self._lease, limit=CLAIM_BATCH),
        )
        if not due:
            return False
        attempts = await asyncio.gather(*(self._post(report) for report in due))
        await self._store.write(webhook_store.record, list(attempts))
        return len(due) >= CLAIM_BATCH

    async def _post(self, report: Due) -> Attempt:
        if self._slots is None:
            self._slots = asyncio.Semaphore(CONCURRENCY)
        async with self._slots:
            faked = await self._faked(report)
            try:
                if faked is not None:
                    raise faked
                response = await asyncio.wait_for(
                    self._http().post(
                        report.url, content=report.payload.encode(), headers=_HEADERS
                    ),
                    self._timeout,
                )
            except FaultStatus as exc:
                error = f"HTTP {exc.status} (fault rule {exc.rule_id})"
            except (TimeoutError, httpx.TimeoutException) as exc:
                error = f"timeout after {self._timeout:g} s"
                if faked is exc:
                    error += f" ({exc})"
            except Exception as exc:  # refused, reset, a bad URL: an attempt that failed
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if 200 <= response.status_code < 300:
                    if log.isEnabledFor(logging.DEBUG):
                        log.debug(
                            "webhook for account %d, message %d delivered to %s (attempt %d of %d)",
                            report.account_id,
                            report.message_id,
                            safe_url(report.url),
                            report.attempts + 1,
                            self._attempts,
                        )
                    return Attempt(id=report.id, at=self._clock.now_us(), delivered=True)
                error = f"HTTP {response.status_code}"
        at = self._clock.now_us()
        made = report.attempts + 1
        error = error[:500]
        retry_at, then = None, "given up"
        if made < self._attempts:
            delay = backoff(made, self._base)
            retry_at = at + int(delay * SECOND)
            then = f"next attempt in {delay:g} s, at {_utc(retry_at)}"
        _log_failure(report, made, self._attempts, error, then)
        return Attempt(id=report.id, at=at, delivered=False, error=error, retry_at=retry_at)

    async def _faked(self, report: Due) -> Exception | None:
        """A webhook fault rule's failure for this POST (services/faults.py), raised in
        place of sending it so it is recorded, retried and given up like a real one."""
        if self._faults is None:
            return None
        rule = await self._faults.webhook(report.account_id)
        if rule is None:
            return None
        if rule.timeout:
            return TimeoutError(f"fault rule {rule.id}")
        return FaultStatus(rule.code or 500, rule.id)

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
