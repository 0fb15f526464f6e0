"""Delivery reports by webhook (spec §7): POSTing queued reports to account URLs.

The carrier queues a report in the same transaction as each status change; this
background task of every instance sends them, never on a request path:

- claims due reports (held by a lease so no other instance sends them meanwhile), as
  many as there is room for: at most ``CONCURRENCY`` POSTs in flight, ``PER_ACCOUNT``
  of one account. There are no rounds: each POST is recorded as soon as it completes,
  its slot is claimed again at once, so a receiver that hangs holds only its own
  account's slots, each for at most the timeout;
- POSTs each body, ``{"report":{...}}``, with ``Content-Type: application/json`` and a
  short timeout (``ILETI_WEBHOOK_TIMEOUT_SECONDS``) over kept-alive connections
  (``services/hookclient.py``); the reply is read to at most ``MAX_REPLY_BYTES`` (then
  the connection is closed);
- a 2xx answer: delivered. An error, a timeout or any other status: the attempt and
  its error are recorded (with the start of a non-2xx reply) and the report is retried
  after ``ILETI_WEBHOOK_BACKOFF_SECONDS`` × 2^(attempts − 1), until
  ``ILETI_WEBHOOK_ATTEMPTS`` attempts have been made; then it is given up.

A message's reports arrive in order ("accepted" before "delivered"): a later one waits
while an earlier one is still being retried.

Delivery is at least once: a POST answered but not yet recorded when the instance dies
is sent again once its lease runs out. A stop waits for the POSTs in flight (each up
to the timeout) and records them, so an orderly restart sends nothing twice.

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

from ileti import __version__, numbers
from ileti.clock import SECOND, SYSTEM, Clock
from ileti.config import Settings
from ileti.logs import printable, safe_url
from ileti.models import Account
from ileti.services.faults import FaultService
from ileti.services.hookclient import HookClient, HookError
from ileti.store import Store
from ileti.store import webhooks as webhook_store
from ileti.store.webhooks import Attempt, Due, LogQuery, NewWebhook, Webhook

#: POSTs in flight at once (one instance), and at once for one account: a receiver that
#: hangs holds at most PER_ACCOUNT of them, each for at most the timeout.
CONCURRENCY = 128
PER_ACCOUNT = 8
#: Reports claimed at most at once.
CLAIM_BATCH = 128
#: Refill at once when this many slots are free; with fewer, wait ``GATHER_SECONDS``
#: for more POSTs to complete first (a claim per completion was the sender's ceiling).
CLAIM_AT_ROOM = CONCURRENCY // 4
GATHER_SECONDS = 0.005
#: A receiver's reply is read to at most this many bytes (then the connection is closed).
MAX_REPLY_BYTES = 4096
#: Longest wait between two attempts.
MAX_BACKOFF_SECONDS = 24 * 3600.0
#: How long claimed reports are held beyond the timeout of their POST (and its record).
LEASE_MARGIN_SECONDS = 10.0

_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": f"ileti/{__version__}",
    "Accept-Encoding": "identity",
}

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


def _reply_excerpt(read: bytes, cut: bool) -> str:
    """The start of a reply as text (non-printable characters escaped); `` ...`` after
    it when there was more."""
    text = printable(read[:MAX_REPLY_BYTES].decode("utf-8", "replace"), MAX_REPLY_BYTES)
    return text + " ..." if cut or len(read) > MAX_REPLY_BYTES else text


class WebhookSender:
    """POSTs due reports without rounds: a claim takes what room there is (at most
    ``CONCURRENCY`` POSTs in flight, ``PER_ACCOUNT`` of one account), each POST is
    recorded as soon as it completes, and its slot is claimed again at once; a receiver
    that hangs holds only its own account's slots."""

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
        self._interval = settings.delivery_poll_seconds
        self._lease = int((self._timeout + LEASE_MARGIN_SECONDS) * SECOND)
        self._client: HookClient | None = None
        self._busy: dict[int, int] = {}  # account id -> its POSTs in flight
        self._posts: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()  # a POST completed: room again
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _http(self) -> HookClient:
        if self._client is None:
            self._client = HookClient(read_limit=MAX_REPLY_BYTES)
        return self._client

    def _room(self) -> int:
        return CONCURRENCY - sum(self._busy.values())

    async def _claim(self) -> tuple[list[Due], bool]:
        """Due reports, as many as there is room for, counted in flight; and whether
        more may be waiting."""
        room = min(self._room(), CLAIM_BATCH)
        if room <= 0:
            return [], True
        now = self._clock.now_us()
        if not await self._store.read(webhook_store.pending_work, now):
            return [], False
        claimed = await self._store.write(
            webhook_store.claim,
            webhook_store.Claim(
                now=now,
                lease=self._lease,
                limit=room,
                per_account=PER_ACCOUNT,
                room={account: PER_ACCOUNT - n for account, n in self._busy.items()},
            ),
        )
        for report in claimed.due:
            self._busy[report.account_id] = self._busy.get(report.account_id, 0) + 1
        return claimed.due, claimed.held or len(claimed.due) >= room

    async def _deliver(self, report: Due) -> None:
        """POST one report and record the attempt (durable before its slot is freed)."""
        try:
            attempt = await self._post(report)
            await self._store.write(webhook_store.record, attempt)
        except Exception as exc:  # the database may be down: the lease runs out, resent
            log.warning(
                "webhook %d for account %d: the attempt could not be recorded: %s",
                report.id,
                report.account_id,
                printable(str(exc), 500),
            )
        finally:
            left = self._busy.get(report.account_id, 1) - 1
            if left > 0:
                self._busy[report.account_id] = left
            else:
                self._busy.pop(report.account_id, None)
            self._wake.set()

    async def step(self) -> bool:
        """One round, for an instance whose loop does not run (tests step it): claim due
        reports, POST them, each recorded as it completes. True when more may be
        waiting."""
        due, more = await self._claim()
        if due:
            await asyncio.gather(*(self._deliver(report) for report in due))
        return more

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                due, more = await self._claim()
            except Exception as exc:  # the database may be down for a moment
                log.warning("ileti-webhooks: %s", exc)
                due, more = [], False
            for report in due:
                task = asyncio.create_task(self._deliver(report))
                self._posts.add(task)
                task.add_done_callback(self._posts.discard)
            if more and due and self._room() > 0:
                continue
            # Until a POST completes (room again, or an account's) or the interval.
            stopping = asyncio.ensure_future(self._stopping.wait())
            woken = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait(
                (stopping, woken), timeout=self._interval, return_when="FIRST_COMPLETED"
            )
            stopping.cancel()
            woken.cancel()
            if self._posts and self._room() < CLAIM_AT_ROOM and not self._stopping.is_set():
                # Let completions gather, so that one claim (a transaction) refills many
                # slots rather than one per completed POST.
                await asyncio.sleep(GATHER_SECONDS)

    async def _post(self, report: Due) -> Attempt:
        faked = await self._faked(report)
        status: int | None = None
        reply: str | None = None
        try:
            if faked is not None:
                raise faked
            status, reply = await self._exchange(report)
        except FaultStatus as exc:
            error = f"HTTP {exc.status} (fault rule {exc.rule_id})"
        except TimeoutError as exc:
            error = f"timeout after {self._timeout:g} s"
            if faked is exc:
                error += f" ({exc})"
        except HookError as exc:  # refused, reset, a bad URL: an attempt that failed
            error = str(exc)
        except Exception as exc:  # anything else: failed all the same
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if 200 <= status < 300:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "webhook for account %d, message %d delivered to %s (attempt %d of %d)",
                        report.account_id,
                        report.message_id,
                        safe_url(report.url),
                        report.attempts + 1,
                        self._attempts,
                    )
                return Attempt(
                    id=report.id, at=self._clock.now_us(), delivered=True, http_status=status
                )
            error = f"HTTP {status}"
        at = self._clock.now_us()
        made = report.attempts + 1
        error = error[:500]
        retry_at, then = None, "given up"
        if made < self._attempts:
            delay = backoff(made, self._base)
            retry_at = at + int(delay * SECOND)
            then = f"next attempt in {delay:g} s, at {_utc(retry_at)}"
        _log_failure(report, made, self._attempts, error, then)
        return Attempt(
            id=report.id,
            at=at,
            delivered=False,
            error=error,
            retry_at=retry_at,
            http_status=status,
            reply=reply,
        )

    async def _exchange(self, report: Due) -> tuple[int, str | None]:
        """POST the report: the receiver's status, and the start of its reply when the
        status is not 2xx. The reply is read to at most ``MAX_REPLY_BYTES`` (a 2xx one
        only to reuse the connection) within what is left of the timeout; past that,
        or when it is longer, the connection is closed. The status decides, whatever
        becomes of the reply."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        reply = await self._http().post(
            report.url, report.payload.encode(), _HEADERS, deadline=deadline
        )
        if 200 <= reply.status < 300:
            return reply.status, None
        return reply.status, _reply_excerpt(reply.body, reply.cut)

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
        if self._task is None and self._interval > 0:
            self._stopping = asyncio.Event()
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="ileti-webhooks")

    async def stop(self) -> None:
        """No new claim; the POSTs in flight are awaited (each bounded by the timeout)
        and recorded, so a report delivered is not sent again after a restart; one
        still unrecorded after the timeout is cancelled (its lease runs out and it is
        sent again: delivery is at least once)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        if self._posts:
            _, late = await asyncio.wait(set(self._posts), timeout=self._timeout + 1.0)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
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
