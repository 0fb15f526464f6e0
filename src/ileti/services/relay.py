"""The relay: orders of an account in mode "relay" forwarded to its upstream, and the
upstream's reports mirrored back (docs/relay.md).

send-sms stores a relayed order as it stores any order (durable before the 200), with
its **batches**: per text, the recipients that survived the local checks (blacklist,
İYS consent, validity), at most ``ILETI_RELAY_BATCH_SIZE`` to a batch. Each instance
runs one loop that, each round:

1. **claims** due batches (``FOR UPDATE SKIP LOCKED``) and records the intent (state
   "sending", a lease, ``intent_at``) in a committed transaction *before* calling;
2. **sends** each as one upstream send-sms, or, when a call for it may already have
   reached the upstream (the lease of a "sending" batch ran out: its instance died; or
   an earlier call got no answer), sends it again while the upstream's 10-minute
   duplicate protection covers the first call (``RESEND_WITHIN``): a second order
   cannot be made, and a 451 says the first one is there; later, first **reconciles**.
   Reconciling (also after that 451, or another refusal of a resend) looks for an
   upstream order of the same sender and size submitted since the intent
   (get-reports), not held by another batch, whose recipients are the batch's
   (get-report); found: adopted (one at a time), not sent again;
3. **records** the outcome: sent (the upstream order id kept, "accepted" webhooks
   queued); refused (401, 402, 450, 452, 470, …: the batch fails, its messages become
   112 with reason ``upstream`` and are refunded, the order answers 115 and carries the
   upstream's code and message); 429, 503, no connection or no answer: retried with
   backoff until ``ILETI_RELAY_DEADLINE_SECONDS`` after the order, then failed;
4. **polls** sent batches' upstream get-report (each at most every
   ``ILETI_RELAY_REPORT_SECONDS``), sets the local messages' statuses from it and queues
   "delivered" / "undelivered" webhooks for each change, until the upstream order is
   finished.

cancel-order of a scheduled relayed order asks the upstream to cancel first; only when
it has does the local order become cancelled and refunded.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection

from ileti.clock import (
    DUPLICATE_WINDOW,
    ISTANBUL,
    MINUTE,
    SECOND,
    SYSTEM,
    Clock,
    from_us,
    parse_local,
)
from ileti.config import Settings
from ileti.errors import Code, OrderNotFound, Unavailable
from ileti.services.poller import Poller
from ileti.services.upstream import Credentials, Upstream, UpstreamError
from ileti.store import Store
from ileti.store import accounts as account_store
from ileti.store import orders as order_store
from ileti.store import relay as relay_store
from ileti.store import webhooks as webhook_store
from ileti.store.relay import Claimed
from ileti.vault import Vault, VaultError

log = logging.getLogger("ileti.relay")

#: Batches sent, and reports polled, per round of one instance.
SEND_BATCH = 32
POLL_BATCH = 32
#: Calls in flight per instance.
CONCURRENCY = 16
#: Retries wait this long, doubled each time, at most MAX_BACKOFF (seconds).
BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: An upstream order found by reconciling was submitted at most this long before the
#: intent was recorded (clocks differ).
CLOCK_SLACK = 10 * 60 * SECOND
#: An upstream order still unfinished is polled every ILETI_RELAY_REPORT_SECONDS for its
#: first POLLS_PER_STEP polls, then half as often every POLLS_PER_STEP polls, down to
#: one poll every MAX_POLL_STRETCH intervals (the mirror's rate stays bounded however
#: long a message stays pending upstream).
POLLS_PER_STEP = 30
MAX_POLL_STRETCH = 32
#: get-reports pages read while reconciling, at most.
RECONCILE_PAGES = 200
#: An uncertain batch whose intent is younger than this is sent again rather than looked
#: for first: the upstream refuses the same text to the same recipients within its
#: 10-minute window (451), so a resend cannot make a second order, and a 451 says that
#: the first call did reach it. Its reports cannot tell two orders of the same sender
#: and recipients apart (they carry no text), so looking first could adopt another
#: batch's order. The window is counted on the upstream's clock between two of its own
#: timestamps; two minutes spare cover the calls' own time.
RESEND_WITHIN = DUPLICATE_WINDOW - 2 * MINUTE
SEND_FORMAT = "%d/%m/%Y %H:%M"


def send_time(send_at: int, now: int) -> str:
    """``sendDateTime`` for the upstream: "" (now) unless the order is for a later minute."""
    if send_at <= now:
        return ""
    return from_us(send_at).astimezone(ISTANBUL).strftime(SEND_FORMAT)


def poll_stretch(polls: int) -> int:
    """How many report intervals until the next poll of an upstream order polled
    ``polls`` times: 1, then 2, 4, … every POLLS_PER_STEP polls, at most MAX_POLL_STRETCH."""
    return int(min(2 ** (max(polls - 1, 0) // POLLS_PER_STEP), MAX_POLL_STRETCH))


def credentials(vault: Vault | None, row: relay_store.UpstreamRow) -> Credentials:
    """The upstream's credentials, its hash opened; VaultError when it cannot be."""
    if vault is None:
        raise VaultError("ILETI_SECRET_KEY is not set: the upstream credentials cannot be opened")
    return Credentials(row.base_url, row.key, vault.open(row.hash_sealed))


class Relay:
    """The relay loop of one instance, and cancel-order of relayed orders."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        vault: Vault | None,
        upstream: Upstream,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._vault = vault
        self._upstream = upstream
        self._clock = clock
        self._lease = int((2 * settings.relay_timeout_seconds + 10) * SECOND)
        self._report_every = int(settings.relay_report_seconds * SECOND)
        self._timeout = settings.relay_timeout_seconds
        self._slots = asyncio.Semaphore(CONCURRENCY)
        #: One adoption of an upstream order at a time in this instance (two batches
        #: must not take one order; the record re-checks it across instances).
        self._adopting = asyncio.Lock()
        #: Called with (order id, batch id) just before a send-sms goes upstream and
        #: just after its answer is recorded (tests use it to kill at chosen points).
        self.on_call: Callable[[str, int], None] | None = None
        self._poller = Poller(
            "ileti-relay",
            self.step,
            interval=settings.relay_poll_seconds,
            grace=settings.relay_timeout_seconds + 5,
        )

    # -- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    def wake(self) -> None:
        """Run a round now (a send-sms of this instance stored a relayed order)."""
        self._poller.wake()

    async def step(self) -> bool:
        """One round: send due batches, poll due reports. True when more may wait."""
        now = self._clock.now_us()
        if not await self._store.read(relay_store.pending_work, now):
            return False
        sends = await self._store.transaction(
            functools.partial(
                relay_store.claim_sends, now=now, lease_until=now + self._lease, limit=SEND_BATCH
            )
        )
        polls = await self._store.transaction(
            functools.partial(
                relay_store.claim_polls,
                now=now,
                next_at=now + self._report_every,
                limit=POLL_BATCH,
            )
        )
        await asyncio.gather(
            *(self._bounded(self._forward(b)) for b in sends),
            *(self._bounded(self._poll(b)) for b in polls),
        )
        return len(sends) >= SEND_BATCH or len(polls) >= POLL_BATCH

    async def _bounded(self, work: object) -> None:
        async with self._slots:
            try:
                await work  # type: ignore[misc]
            except Exception:  # one batch's trouble must not stop the others
                log.exception("relay: unexpected failure")

    # -- forwarding --------------------------------------------------------------------------

    async def _forward(self, batch: Claimed) -> None:
        now = self._clock.now_us()
        if batch.cancelled:
            await self._store.transaction(
                lambda conn: relay_store.mark_cancelled(conn, batch.order_id, now)
            )
            return
        if batch.upstream is None:
            await self._fail(batch, None, "the account has no upstream")
            return
        try:
            creds = credentials(self._vault, batch.upstream)
        except VaultError as exc:
            await self._fail(batch, None, str(exc))
            return
        if batch.reconcile and not (
            now < batch.deadline_at and now - batch.intent_at < RESEND_WITHIN
        ):
            try:
                if await self._adopt(creds, batch):
                    return
            except UpstreamError as exc:
                await self._retry(batch, exc, uncertain=True, reconciling=True)
                return
            if now >= batch.deadline_at:
                if batch.error is not None:  # the upstream's last answer, kept visible
                    await self._fail(
                        batch,
                        batch.error_code,
                        f"{batch.error} (gave up at the deadline; the order is not in "
                        "the upstream's reports)",
                    )
                    return
                await self._fail(
                    batch,
                    None,
                    "no answer from the upstream before the deadline, and the "
                    "order is not in its reports",
                )
                return
        if self.on_call is not None:
            self.on_call("before", batch.id)
        try:
            upstream_id = await self._upstream.send(
                creds,
                sender=batch.sender,
                text=batch.text,
                numbers=batch.numbers,
                send_at=send_time(batch.send_at, now) if batch.scheduled else "",
                iys=batch.iys,
                iys_list=batch.iys_list,
            )
        except UpstreamError as exc:
            await self._refused(creds, batch, exc)
            return
        await self._sent(batch, upstream_id, reconciled=False)
        if self.on_call is not None:
            self.on_call("after", batch.id)

    async def _refused(self, creds: Credentials, batch: Claimed, exc: UpstreamError) -> None:
        if exc.kind == "refused" and (batch.reconcile or exc.code == int(Code.DUPLICATE_ORDER)):
            # 451: the upstream already has these texts to these recipients: ours, from a
            # call whose answer was lost, or another application's within its 10 minutes.
            # Another refusal of a resend (402, …) may come before its 451 check.
            try:
                if await self._adopt(creds, batch):
                    return
            except UpstreamError as again:
                await self._retry(batch, again, uncertain=True, reconciling=True)
                return
            await self._fail(batch, exc.code, exc.message)
            return
        if exc.kind == "refused":
            await self._fail(batch, exc.code, exc.message)
            return
        await self._retry(batch, exc, uncertain=exc.kind == "uncertain")

    async def _retry(
        self, batch: Claimed, exc: UpstreamError, *, uncertain: bool, reconciling: bool = False
    ) -> None:
        """Again later; at the deadline, failed. A call that may have reached the
        upstream is reconciled once more first, unless the upstream could not be asked
        for its reports (``reconciling``): retrying that after the deadline would never
        end, so the batch fails saying the upstream may have the order."""
        now = self._clock.now_us()
        if now >= batch.deadline_at and not uncertain:
            await self._fail(batch, exc.code, f"{exc.message} (gave up at the deadline)")
            return
        if now >= batch.deadline_at and reconciling:
            await self._fail(
                batch,
                exc.code,
                f"{exc.message} (gave up at the deadline; the upstream's reports could "
                "not be read, so it may have the order)",
            )
            return
        wait = min(BACKOFF * 2 ** (batch.attempts - 1), MAX_BACKOFF)
        if exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, MAX_BACKOFF))
        due = min(now + int(wait * SECOND), max(batch.deadline_at, now))
        log.warning(
            "relay: order %d batch %d: %s; attempt %d, again in %.1f s",
            batch.order_id,
            batch.id,
            exc,
            batch.attempts,
            (due - now) / SECOND,
        )

        def record(conn: Connection) -> None:
            relay_store.mark_retry(
                conn,
                batch.id,
                attempts=batch.attempts,
                due_at=due,
                uncertain=uncertain,
                code=exc.code,
                error=exc.message,
                now=now,
            )
            relay_store.note_error(conn, batch.account_id, str(exc), now)

        await self._store.transaction(record)

    async def _adopt(self, creds: Credentials, batch: Claimed) -> bool:
        """Look for the upstream order an earlier call for the batch made and record the
        batch sent with it; whether one was found. UpstreamError when the upstream
        cannot be asked."""
        async with self._adopting:
            for _ in range(3):
                found = await self._find(creds, batch)
                if found is None:
                    return False
                try:
                    await self._sent(batch, found, reconciled=True, key=creds.key)
                except relay_store.UpstreamIdTaken:
                    continue  # another instance's batch took it meanwhile: look again
                return True
        return False

    async def _sent(
        self, batch: Claimed, upstream_id: str, *, reconciled: bool, key: str | None = None
    ) -> None:
        now = self._clock.now_us()
        poll_at = now + self._report_every
        if batch.scheduled and batch.send_at > now:
            poll_at = max(poll_at, batch.send_at)
        if reconciled:
            log.info(
                "relay: order %d batch %d found upstream as order %s (not sent again)",
                batch.order_id,
                batch.id,
                upstream_id,
            )

        def record(conn: Connection) -> None:
            if key is not None:
                relay_store.take_upstream_id(conn, key, upstream_id)
            if not relay_store.mark_sent(
                conn,
                batch.id,
                batch.order_id,
                upstream_id,
                now=now,
                poll_at=poll_at,
                attempts=batch.attempts,
            ):
                return  # its lease ran out and another claim has it now
            if batch.kind == "relay":
                webhook_store.queue_accepted_messages(
                    conn, relay_store.message_ids(conn, batch), now
                )

        await self._store.transaction(record)

    async def _fail(self, batch: Claimed, code: int | None, message: str) -> None:
        now = self._clock.now_us()
        shown = f"{code} {message}" if code is not None else message
        log.warning("relay: order %d batch %d failed: %s", batch.order_id, batch.id, shown)

        def record(conn: Connection) -> None:
            outcome = relay_store.mark_failed(conn, batch, code=code, error=message, now=now)
            if outcome is None:
                return  # its lease ran out and another claim has it now
            changed, refund = outcome
            account_store.refund(conn, batch.account_id, refund)
            webhook_store.queue_final(conn, changed, now)
            relay_store.note_error(conn, batch.account_id, f"order {batch.order_id}: {shown}", now)

        await self._store.transaction(record)

    async def _find(self, creds: Credentials, batch: Claimed) -> str | None:
        """The upstream order this batch's earlier call made, if there is one (see the
        module docstring); UpstreamError when the upstream cannot be asked."""
        since = batch.intent_at - CLOCK_SLACK
        now = self._clock.now_us()
        start = from_us(since).astimezone(ISTANBUL).date()
        end = from_us(now).astimezone(ISTANBUL).date()
        if (end - start).days > 10:
            start = end - timedelta(days=10)
        candidates: list[str] = []
        for page in range(1, RECONCILE_PAGES + 1):
            count, rows = await self._upstream.reports(
                creds, start.isoformat(), end.isoformat(), page
            )
            older = 0
            newest_first = all(a.submit_at >= b.submit_at for a, b in itertools.pairwise(rows))
            for row in rows:
                try:
                    submitted = parse_local(row.submit_at)
                except ValueError:
                    continue
                if submitted < since:
                    older += 1
                    continue
                if row.sender == batch.sender and row.total == len(batch.numbers):
                    candidates.append(row.id)
            if not rows or page * len(rows) >= count or (newest_first and older == len(rows)):
                break
        if not candidates:
            return None
        key = creds.key
        taken = await self._store.read(relay_store.upstream_ids_taken, key, candidates)
        wanted = set(batch.numbers)
        for candidate in candidates:
            if candidate in taken:
                continue
            report = await self._upstream.report(creds, candidate, 1)
            numbers = [number for number, _status in report.messages]
            if len(numbers) == min(len(batch.numbers), 1000) and set(numbers) <= wanted:
                return candidate
        return None

    # -- mirroring reports --------------------------------------------------------------------

    async def _poll(self, batch: Claimed) -> None:
        if batch.upstream is None or batch.upstream_id is None:
            return
        now = self._clock.now_us()
        try:
            creds = credentials(self._vault, batch.upstream)
            statuses: dict[str, int] = {}
            first = await self._upstream.report(creds, batch.upstream_id, 1)
            for number, status in first.messages:
                statuses[number] = status
            pages = max(1, math.ceil(first.total / 1000))
            for page in range(2, pages + 1):
                for number, status in (
                    await self._upstream.report(creds, batch.upstream_id, page)
                ).messages:
                    statuses[number] = status
        except VaultError as exc:
            await self._note_poll_error(batch.id, None, str(exc), now)
            return
        except UpstreamError as exc:
            if exc.code == int(Code.ORDER_NOT_DUE):
                await self._store.transaction(
                    lambda conn: relay_store.delay_poll(
                        conn, batch.id, max(batch.send_at, now + self._report_every)
                    )
                )
                return
            log.warning(
                "relay: report of order %d (upstream %s): %s",
                batch.order_id,
                batch.upstream_id,
                exc,
            )
            await self._note_poll_error(batch.id, exc.code, exc.message, now)
            return
        final = first.status in (int(Code.ORDER_COMPLETED), int(Code.ORDER_FAILED))
        delivered = sum(1 for s in statuses.values() if s == int(Code.DELIVERED))
        undelivered = sum(1 for s in statuses.values() if s == int(Code.UNDELIVERED))

        def record(conn: Connection) -> None:
            if batch.kind == "relay":
                changed = relay_store.mirror(conn, batch, statuses, final=final, now=now)
                webhook_store.queue_final(conn, changed, now)
                if first.status == int(Code.ORDER_FAILED):
                    # Failed or cancelled at the upstream (not through ileti): so is ours.
                    relay_store.set_order_error(
                        conn,
                        batch.order_id,
                        f"{int(Code.ORDER_FAILED)} the upstream reports order "
                        f"{batch.upstream_id} failed or cancelled",
                    )
            relay_store.note_report(
                conn,
                batch.id,
                status=first.status,
                delivered=delivered,
                undelivered=undelivered,
                done=final,
                now=now,
                next_at=now + self._report_every * poll_stretch(batch.polls),
            )

        await self._store.transaction(record)

    async def _note_poll_error(self, batch_id: int, code: int | None, error: str, now: int) -> None:
        await self._store.transaction(
            lambda conn: relay_store.note_poll_error(conn, batch_id, code, error, now)
        )

    # -- cancel-order -----------------------------------------------------------------------------

    async def cancel(self, account_id: int, order_id: int) -> None:
        """Cancel a scheduled relayed order: the upstream's orders first, then the local
        one (refunded, its messages 112 ``cancelled``). 455 when it cannot be; 503 when
        the upstream cannot be asked now (nothing changed)."""
        now = self._clock.now_us()
        hold_until = now + self._lease

        def prepare(conn: Connection) -> tuple[list[str], relay_store.UpstreamRow | None]:
            if relay_store.cancellable(conn, account_id, order_id, now) is None:
                raise OrderNotFound(f"order {order_id} cannot be cancelled")
            if relay_store.in_flight(conn, order_id):
                raise Unavailable(f"order {order_id} is being forwarded; try again")
            relay_store.hold(conn, order_id, hold_until)
            return relay_store.sent_upstream_ids(conn, order_id), relay_store.upstream(
                conn, account_id
            )

        upstream_ids, row = await self._store.transaction(prepare)
        if upstream_ids:
            try:
                if row is None:
                    raise VaultError("the account has no upstream")
                creds = credentials(self._vault, row)
                for upstream_id in upstream_ids:
                    await self._upstream.cancel(creds, upstream_id)
            except (UpstreamError, VaultError) as exc:
                await self._store.transaction(lambda conn: relay_store.hold(conn, order_id, now))
                log.warning("relay: cancel of order %d upstream: %s", order_id, exc)
                if isinstance(exc, UpstreamError) and exc.kind == "refused":
                    raise OrderNotFound(f"the upstream refused the cancel: {exc}") from None
                raise Unavailable(f"the upstream could not be asked to cancel: {exc}") from None

        def finish(conn: Connection) -> None:
            price = relay_store.cancellable(conn, account_id, order_id, now)
            if price is None:
                raise OrderNotFound(f"order {order_id} cannot be cancelled")
            order_store.mark_cancelled(conn, order_id, now)
            account_store.refund(conn, account_id, price)
            webhook_store.queue_cancelled(conn, order_id, now)
            relay_store.mark_cancelled(conn, order_id, now)

        await self._store.transaction(finish)
