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

:class:`WebhookLog` is the sandbox's view of the same rows: the log (newest first,
each row with its attempt history), a replay (the same body queued again, to the
account's current URL) and a test webhook (a sample report). Both queue a row the
sender then POSTs like any other, with the same retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ileti import __version__, numbers
from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import Settings
from ileti.logs import printable, quiet_httpx, safe_url
from ileti.models import Account
from ileti.services.faults import FaultService
from ileti.services.poller import Poller
from ileti.store import Store
from ileti.store import webhooks as webhook_store
from ileti.store.webhooks import Attempt, Due, LogQuery, NewWebhook, Webhook

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


# -- the log, replays and test webhooks ------------------------------------------------

#: Rows per page of the log: the default and the most.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STATUSES = tuple(webhook_store.STATUSES)
#: What a test webhook's report may say.
REPORT_STATUSES = ("accepted", "delivered", "undelivered")
TEST_BODY = "ileti test webhook"
#: The "to" of a test webhook when the account has no test number.
SAMPLE_NUMBER = "+905330000000"


class WebhookNotFound(LookupError):
    """No webhook with this id (or not one of the caller's account)."""


class NoWebhookUrl(Exception):
    """The account has no webhook URL to send to."""


class WebhookQueryError(ValueError):
    """A filter or paging value the log cannot use; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LogPage:
    webhooks: list[Webhook]
    next_before: int | None  # the cursor of the following page; None: this is the last


def test_payload(status: str, to: str) -> str:
    """A sample report, in the exact form of a real one (compact JSON)."""
    report = {"id": 0, "packet_id": 0, "status": status, "to": to, "body": TEST_BODY}
    return json.dumps({"report": report}, ensure_ascii=False, separators=(",", ":"))


def _in_scope(found: Webhook | None, account_id: int | None) -> Webhook:
    if found is None or (account_id is not None and found.account_id != account_id):
        raise WebhookNotFound("no webhook with this id")
    return found


class WebhookLog:
    """The webhook log of one account (or of all), replays and test webhooks."""

    def __init__(self, store: Store, *, clock: Clock = SYSTEM) -> None:
        self._store = store
        self._clock = clock

    async def page(
        self,
        account_id: int | None,
        *,
        limit: int = DEFAULT_LIMIT,
        before: int | None = None,
        message_id: int | None = None,
        order_id: int | None = None,
        status: str | None = None,
    ) -> LogPage:
        """Newest first; ``account_id`` None: every account's."""
        if not 1 <= limit <= MAX_LIMIT:
            raise WebhookQueryError(f"limit: 1 to {MAX_LIMIT}", "limit")
        if status is not None and status not in STATUSES:
            raise WebhookQueryError(f"status: one of {', '.join(STATUSES)}", "status")
        query = LogQuery(account_id, limit + 1, before, message_id, order_id, status)
        rows = await self._store.read(webhook_store.page, query)
        more = len(rows) > limit
        rows = rows[:limit]
        return LogPage(rows, rows[-1].id if more else None)

    async def get(self, webhook_id: int, account_id: int | None = None) -> Webhook:
        return _in_scope(await self._store.read(webhook_store.one, webhook_id), account_id)

    async def replay(self, webhook_id: int, account_id: int | None = None) -> Webhook:
        """The same body queued again, due now, to the account's current URL: the new
        row. WebhookNotFound; NoWebhookUrl when the account has none now."""
        now = self._clock.now_us()

        def run(conn: Any) -> Webhook:
            found = _in_scope(webhook_store.one(conn, webhook_id), account_id)
            url = webhook_store.current_url(conn, found.account_id)
            if not url:
                raise NoWebhookUrl("the account has no webhook URL")
            new = NewWebhook(found.account_id, found.message_id, url, found.payload, now)
            made = webhook_store.one(conn, webhook_store.insert_one(conn, new))
            assert made is not None
            return made

        return await self._store.transaction(run)

    async def test(self, account: Account, status: str = "delivered") -> Webhook:
        """A sample report to the account's URL (its test number as ``to``, else a
        sample number), due now: the new row. NoWebhookUrl when it has none."""
        if status not in REPORT_STATUSES:
            raise WebhookQueryError(f"status: one of {', '.join(REPORT_STATUSES)}", "status")
        to = numbers.e164(account.test_number) if account.test_number else SAMPLE_NUMBER
        payload = test_payload(status, to)
        now = self._clock.now_us()

        def run(conn: Any) -> Webhook:
            url = webhook_store.current_url(conn, account.id)
            if not url:
                raise NoWebhookUrl("the account has no webhook URL")
            new = NewWebhook(account.id, webhook_store.TEST_MESSAGE_ID, url, payload, now)
            made = webhook_store.one(conn, webhook_store.insert_one(conn, new))
            assert made is not None
            return made

        return await self._store.transaction(run)
