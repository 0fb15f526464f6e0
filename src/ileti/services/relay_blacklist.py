"""Blacklist sync (docs/relay.md): for each account whose upstream has
``blacklist_sync``, the local blacklist's changes are mirrored upstream, and the
upstream's list is imported now and then.

**Push.** Every change that actually alters the local list of such an account (an add
of a number not listed, a delete of a listed one), whatever made it (v1, the panel, the
CLI, an import, a seed or reset, an inbound opt-out), is queued in ``relay_blacklist``
by the change's own statement or transaction (``ileti.store.blacklist``). This loop
sends each as one upstream add-blacklist or delete-blacklist, in the order they were
made for each number (a number's next change waits until the one before it was taken),
and deletes it once the upstream took it: a 200, or for a delete the upstream's 474
("not listed": it is not listed there either). Both calls are idempotent, so a change
sent again after a crash changes nothing. 429, 503, no connection or no answer: tried
again with backoff, without limit (the change stays until the upstream takes it). A
refusal (401, 466, …) stays visible: the change keeps the upstream's code and message,
the account's upstream shows it as its last error, a warning is logged, and it is tried
again later (at most every ``REFUSED_BACKOFF`` seconds) while the changes of other
numbers go on, unless the refusal was 401 (the credentials: nothing else can work).

**Pull.** Every ``ILETI_RELAY_BLACKLIST_SECONDS``, the upstream's get-blacklist of the
numbers blocked since the last import began (less ``MARGIN`` for the clocks), all its
pages, is added to the local list with source ``upstream`` (opt-outs the provider
received by its short-code RET keyword). What is imported is not queued back, and a
number with a change still waiting to be mirrored is passed over (a local delete not yet
made upstream is not undone). The first import reads the whole list. Deletions made on
the upstream are not imported: a number leaves the local list only by a local delete.

One instance at a time works on an account: it claims the account's ``upstreams`` row
with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), pushes its due changes, then
imports if an import is due, and gives the lease back. A loop of its own rather than a
part of ``Relay.step``: its work is per account rather than per order, an import of a
long list is many pages, and neither should hold up forwarding orders.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass

from sqlalchemy import Connection

from ileti import numbers
from ileti.clock import ISTANBUL, SECOND, SYSTEM, Clock, from_us
from ileti.config import Settings
from ileti.errors import Code
from ileti.services.blacklist import UPSTREAM
from ileti.services.poller import Poller
from ileti.services.relay import credentials
from ileti.services.upstream import Credentials, Upstream, UpstreamError
from ileti.store import Store
from ileti.store import blacklist as blacklist_store
from ileti.store import relay as relay_store
from ileti.store import relay_blacklist as sync_store
from ileti.store.relay import UpstreamRow
from ileti.store.relay_blacklist import ADD, Change
from ileti.vault import Vault, VaultError

log = logging.getLogger("ileti.relay.blacklist")

#: Accounts claimed per round of one instance.
ACCOUNTS = 8
#: Changes of one account sent per round, and calls of one account in flight.
CHANGES = 256
CONCURRENCY = 8
#: Retries wait this long, doubled each time, at most MAX_BACKOFF (seconds); after a
#: refusal, at most REFUSED_BACKOFF.
BACKOFF = 0.5
MAX_BACKOFF = 30.0
REFUSED_BACKOFF = 600.0
#: An import after a failed one waits at least this long (seconds).
IMPORT_RETRY = 30.0
#: An import reads what the upstream blocked since the last one began, less this (the
#: two clocks may differ).
MARGIN = 10 * 60 * SECOND
#: Pages of 1000 numbers one import reads, at most.
IMPORT_PAGES = 10_000
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"
#: delete-blacklist of a number the upstream does not list.
NOT_LISTED = int(Code.NOT_BLACKLISTED)


@dataclass(frozen=True)
class Pushed:
    """What a round of an account's changes did."""

    taken: int
    failed: int
    #: The upstream could not be reached or refused the credentials: stop for now.
    stopped: bool


class BlacklistSync:
    """The blacklist sync loop of one instance."""

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
        #: Calls are started for this long in a round, so that the round ends within
        #: the lease (each call takes at most the timeout).
        self._budget = settings.relay_timeout_seconds
        self._every = int(settings.relay_blacklist_seconds * SECOND)
        self._import_retry = int(min(IMPORT_RETRY, settings.relay_blacklist_seconds) * SECOND)
        self._poller = Poller(
            "ileti-relay-blacklist",
            self.step,
            interval=settings.relay_poll_seconds,
            grace=settings.relay_timeout_seconds + 5,
        )

    def start(self) -> None:
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    def wake(self) -> None:
        self._poller.wake()

    async def waiting(self, account_id: int, limit: int = 100) -> list[Change]:
        """The account's changes not yet taken by the upstream, oldest first."""
        return await self._store.read(sync_store.changes_of, account_id, limit)

    # -- the loop ---------------------------------------------------------------------------

    async def step(self) -> bool:
        """One round: claim the accounts with work due, push their changes, import
        their upstream lists when due. True when more may wait."""
        now = self._clock.now_us()
        pull_before = now - self._every
        if not await self._store.read(sync_store.work_due, now, pull_before):
            return False
        claimed = await self._store.transaction(
            functools.partial(
                sync_store.claim_accounts,
                now=now,
                pull_before=pull_before,
                lease_until=now + self._lease,
                limit=ACCOUNTS,
            )
        )
        more = await asyncio.gather(*(self._account(row, now, pull_before) for row in claimed))
        return any(more) or len(claimed) >= ACCOUNTS

    async def _account(self, row: UpstreamRow, now: int, pull_before: int) -> bool:
        """Push the account's due changes, then import if due; the lease given back.
        True when more changes may be due."""
        account_id = row.account_id
        until: int | None = None
        imported_at: int | None = None
        more = False
        try:
            try:
                creds = credentials(self._vault, row)
            except VaultError as exc:
                await self._note(account_id, f"blacklist sync: {exc}")
                log.warning("relay: blacklist sync of account %d: %s", account_id, exc)
                until = now + int(MAX_BACKOFF * SECOND)
                return False
            pushed = await self._push(creds, account_id)
            more = pushed.taken > 0
            if pushed.stopped:
                until = now + int(BACKOFF * SECOND)
            elif row.blacklist_synced_at is None or row.blacklist_synced_at <= pull_before:
                if await self._pull(creds, row, now):
                    imported_at = now
                else:
                    until = now + self._import_retry
        except Exception:  # one account's trouble must not stop the others
            log.exception("relay: blacklist sync of account %d failed", account_id)
            until = now + int(MAX_BACKOFF * SECOND)
        finally:
            await self._store.transaction(
                functools.partial(
                    sync_store.release, account_id=account_id, until=until, imported_at=imported_at
                )
            )
        return more

    async def _note(self, account_id: int, error: str) -> None:
        now = self._clock.now_us()
        await self._store.transaction(
            lambda conn: relay_store.note_error(conn, account_id, error, now)
        )

    # -- push ---------------------------------------------------------------------------------

    async def _push(self, creds: Credentials, account_id: int) -> Pushed:
        now = self._clock.now_us()
        changes = await self._store.read(sync_store.due_changes, account_id, now, CHANGES)
        if not changes:
            return Pushed(0, 0, stopped=False)
        taken: list[int] = []
        failed: list[tuple[Change, UpstreamError]] = []
        stop = False
        slots = asyncio.Semaphore(CONCURRENCY)
        ends = time.monotonic() + self._budget

        async def send(change: Change) -> None:
            nonlocal stop
            async with slots:
                if stop or time.monotonic() > ends:
                    return
                number = numbers.e164(change.number)
                try:
                    if change.op == ADD:
                        await self._upstream.add_blacklist(creds, number)
                    else:
                        await self._upstream.delete_blacklist(creds, number)
                except UpstreamError as exc:
                    if change.op != ADD and exc.kind == "refused" and exc.code == NOT_LISTED:
                        taken.append(change.id)
                        return
                    failed.append((change, exc))
                    if exc.kind != "refused" or exc.code == int(Code.UNAUTHORIZED):
                        stop = True
                    return
                taken.append(change.id)

        await asyncio.gather(*(send(change) for change in changes))
        await self._record(account_id, taken, failed)
        return Pushed(len(taken), len(failed), stopped=stop)

    async def _record(
        self, account_id: int, taken: list[int], failed: list[tuple[Change, UpstreamError]]
    ) -> None:
        now = self._clock.now_us()
        retries: list[tuple[int, int, str]] = []
        last_error = None
        for change, exc in failed:
            wait = BACKOFF * 2 ** min(change.attempts, 20)
            if exc.kind == "refused":
                wait = min(wait, REFUSED_BACKOFF)
            else:
                wait = min(wait, MAX_BACKOFF)
                if exc.retry_after is not None:
                    wait = max(wait, min(exc.retry_after, MAX_BACKOFF))
            shown = f"blacklist {change.op} {numbers.e164(change.number)}: {exc}"
            log.warning(
                "relay: account %d: %s; attempt %d, again in %.1f s",
                account_id,
                shown,
                change.attempts + 1,
                wait,
            )
            retries.append((change.id, now + int(wait * SECOND), str(exc)))
            last_error = shown

        def record(conn: Connection) -> None:
            sync_store.done(conn, taken)
            for change_id, due_at, error in retries:
                sync_store.postpone(conn, change_id, due_at=due_at, error=error)
            if last_error is not None:
                relay_store.note_error(conn, account_id, last_error, now)

        if taken or retries:
            await self._store.transaction(record)

    # -- pull ---------------------------------------------------------------------------------

    async def _pull(self, creds: Credentials, row: UpstreamRow, now: int) -> bool:
        """Import the upstream's list blocked since the last import (all pages); False
        when the upstream could not be read to the end (what was read is kept)."""
        account_id = row.account_id
        start = None
        if row.blacklist_synced_at is not None:
            since = from_us(row.blacklist_synced_at - MARGIN).astimezone(ISTANBUL)
            start = since.strftime(FILTER_FORMAT)
        read = added = 0
        for page in range(1, IMPORT_PAGES + 1):
            try:
                count, found = await self._upstream.blacklist(creds, start=start, page=page)
            except UpstreamError as exc:
                shown = f"blacklist import, page {page}: {exc}"
                log.warning("relay: account %d: %s", account_id, shown)
                await self._note(account_id, shown)
                return False
            read += len(found)
            parsed = [n for n in (numbers.parse(text) for text in found) if n is not None]
            if parsed:
                blocked_at = self._clock.now_us()
                added += await self._store.transaction(
                    functools.partial(
                        _add_pulled, account_id=account_id, found=parsed, blocked_at=blocked_at
                    )
                )
            if not found or read >= count:
                break
        if added:
            log.info(
                "relay: account %d: %d number(s) added from the upstream blacklist",
                account_id,
                added,
            )
        return True


def _add_pulled(conn: Connection, *, account_id: int, found: list[int], blocked_at: int) -> int:
    return blacklist_store.add_pulled(
        conn, account_id, found, blocked_at=blocked_at, source=UPSTREAM
    )
