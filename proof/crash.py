"""Crash safety: ``ileti serve`` SIGKILLed at random moments under concurrent
add-blacklist, delete-blacklist, send-sms and cancel-order calls, then restarted.

Every answer is recorded. An operation answered 200 (or, for delete-blacklist, 474:
"not listed") is *acknowledged*; one without an answer (the server died under it) or
answered 503 is *in doubt*: it may or may not have happened. After every restart the
server must hold exactly what the acknowledged operations say, in-doubt ones either
way (then settled by what is found):

- blacklist: each number belongs to one client, whose calls on it are one after the
  other, so its state is that of its last acknowledged call (or either, after one in
  doubt); get-blacklist must list exactly the numbers that are on;
- orders: every acknowledged send-sms is in get-reports with its recipients, cancelled
  (status 115) exactly when its cancel was acknowledged; any other order found must be
  one of the sends in doubt; get-report answers it with its charge (price), or 456 for
  a scheduled one not cancelled;
- balance: get-balance = initial - the charges of every order found (cancelled: none);
- SQLite: ``PRAGMA integrity_check`` says ok (checked while the server is dead, on the
  file exactly as the kill left it).

At the end every order is dispatched (``/_ileti/advance``) and get-report must show the
charge of each, and the balance must add up to them.

    python proof/crash.py [--quick] [--backend all|sqlite|postgresql] [--seed N]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    BIG_BALANCE,
    Account,
    Database,
    Proof,
    Server,
    Unanswered,
    advance,
    arguments,
    balance,
    call,
    client_of,
    counted,
    create_account,
    create_accounts,
    databases,
    gather_limited,
    integrity,
    listed,
    number,
    order_request,
    orders,
    report,
    sqlite_file,
    start_server,
)

ADD, DELETE, SEND, CANCEL = "add", "delete", "send", "cancel"
WEIGHTS = {ADD: 5, DELETE: 3, SEND: 3, CANCEL: 1}


@dataclass
class Order:
    account: int
    recipients: int
    scheduled: bool
    cancel: str = "none"  # "none", "doubt" (asked, no answer), "done"


@dataclass
class Model:
    accounts: list[Account]
    #: (account index, number) -> the states it may be in
    numbers: dict[tuple[int, str], set[bool]] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    #: account index -> sends in doubt since the last check
    doubtful_sends: Counter[int] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    doubtful: Counter[str] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)


class Run:
    def __init__(self, proof: Proof, db: Database, logdir: Path, quick: bool) -> None:
        self.proof = proof
        self.db = db
        self.logdir = logdir
        self.quick = quick
        self.kills = 3 if quick else 12
        self.workers = 12 if quick else 32
        self.up = asyncio.Event()
        self.parked = 0
        self.stopping = False
        self.lost = 0
        self.server: Server | None = None
        self.client: httpx.AsyncClient | None = None

    # -- the clients ---------------------------------------------------------------------

    async def worker(self, w: int, model: Model) -> None:
        index = w % len(model.accounts)
        account = model.accounts[index]
        owned = [number(33, w * 1000 + i) for i in range(20)]
        for n in owned:
            model.numbers[(index, n)] = {False}
        mine: list[int] = []  # acknowledged scheduled orders this client may cancel
        sent = 0
        while True:
            if not self.up.is_set():
                self.parked += 1
                await self.up.wait()
                self.parked -= 1
            if self.stopping:
                return
            assert self.client is not None
            kind = random.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
            if kind == CANCEL and not mine:
                kind = SEND
            try:
                if kind in (ADD, DELETE):
                    await self.blacklist(model, index, account, kind, random.choice(owned))
                elif kind == SEND:
                    sent += 1
                    await self.send(model, index, account, w, sent, mine)
                else:
                    await self.cancel(model, account, mine.pop(random.randrange(len(mine))))
            except Unanswered:
                model.doubtful[kind] += 1
                await asyncio.sleep(0.01)

    async def blacklist(
        self, model: Model, index: int, account: Account, kind: str, n: str
    ) -> None:
        key = (index, n)
        action = "add-blacklist" if kind == ADD else "delete-blacklist"
        request = {"authentication": account.auth, "blacklist": {"number": n}}
        try:
            status, body = await call(self.client, action, request)  # type: ignore[arg-type]
        except Unanswered:
            model.numbers[key].add(kind == ADD)
            raise
        model.answers[status] += 1
        before = model.numbers[key]
        if status == 200 and body is not None:
            model.acknowledged[kind] += 1
            if kind == DELETE and before == {False}:
                self.lose(f"{n} deleted (200) but it was not listed: a delete came undone")
            model.numbers[key] = {kind == ADD}
        elif kind == DELETE and status == 474:
            model.acknowledged[kind] += 1
            if before == {True}:
                self.lose(f"{n} acknowledged as added, but delete-blacklist says 474")
            model.numbers[key] = {False}
        elif status == 503:
            model.doubtful[kind] += 1
            before.add(kind == ADD)
        else:
            self.proof.anomaly(f"{action} {n} answered {status}: {body}")

    async def send(
        self, model: Model, index: int, account: Account, w: int, seq: int, mine: list[int]
    ) -> None:
        count = random.randint(1, 4)
        numbers = [number(42, random.randrange(10_000_000)) for _ in range(count)]
        numbers = sorted(set(numbers))
        scheduled = random.random() < 0.5
        text = f"proof {w}-{seq}-{random.randrange(1 << 30)}"
        request = order_request(account, numbers, text, scheduled)
        try:
            status, body = await call(self.client, "send-sms", request)  # type: ignore[arg-type]
        except Unanswered:
            model.doubtful_sends[index] += 1
            raise
        model.answers[status] += 1
        if status == 200 and body is not None:
            model.acknowledged[SEND] += 1
            order_id = int(body["order"]["id"])
            model.orders[order_id] = Order(index, len(numbers), scheduled)
            if scheduled:
                mine.append(order_id)
        elif status == 503:
            model.doubtful[SEND] += 1
            model.doubtful_sends[index] += 1
        else:
            self.proof.anomaly(f"send-sms answered {status}: {body}")

    async def cancel(self, model: Model, account: Account, order_id: int) -> None:
        order = model.orders[order_id]
        request = {"authentication": account.auth, "order": {"id": order_id}}
        try:
            status, body = await call(self.client, "cancel-order", request)  # type: ignore[arg-type]
        except Unanswered:
            order.cancel = "doubt"
            raise
        model.answers[status] += 1
        if status == 200 and body is not None:
            model.acknowledged[CANCEL] += 1
            order.cancel = "done"
        elif status == 455:
            model.acknowledged[CANCEL] += 1
            if order.cancel != "doubt":
                self.lose(f"order {order_id} (acknowledged, scheduled) not cancellable: 455")
            order.cancel = "done"  # the cancel in doubt had happened
        elif status == 503:
            model.doubtful[CANCEL] += 1
            order.cancel = "doubt"
        else:
            self.proof.anomaly(f"cancel-order {order_id} answered {status}: {body}")

    def lose(self, text: str) -> None:
        self.lost += 1
        self.proof.anomaly(f"[{self.db.backend}] LOST: {text}")

    # -- the server's life ------------------------------------------------------------------

    async def start(self) -> None:
        self.server = await asyncio.to_thread(
            start_server, self.db, self.logdir, {"ILETI_DELIVERY_DELAY": "0.5"}
        )
        self.client = client_of(self.server.url)

    async def kill(self) -> None:
        assert self.server is not None and self.client is not None
        self.up.clear()
        await asyncio.to_thread(self.server.kill)
        deadline = time.monotonic() + 60
        while self.parked < self.workers and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.parked < self.workers:
            self.proof.anomaly("clients did not stop within 60 s of the kill")
        await self.client.aclose()
        self.client = None

    async def run(self) -> str:
        # One with `ileti account create`, the others in one `ileti state import`.
        first = await asyncio.to_thread(create_account, self.db.url, "crash0")
        more = [(f"crash{i}", BIG_BALANCE, {}) for i in range(1, 2 if self.quick else 4)]
        others = await asyncio.to_thread(create_accounts, self.db.url, *more)
        model = Model([first, *others])
        await self.start()
        workers = [asyncio.create_task(self.worker(w, model)) for w in range(self.workers)]
        self.up.set()
        started = time.monotonic()
        for _ in range(self.kills):
            await asyncio.sleep(random.uniform(0.3, 0.9 if self.quick else 3.0))
            await self.kill()
            if self.db.backend == "sqlite":
                result = await asyncio.to_thread(integrity, sqlite_file(self.db.url))
                self.proof.check(result == "ok", f"integrity_check after a kill: {result}")
            await self.start()
            await self.verify(model)
            self.up.set()
        await asyncio.sleep(random.uniform(0.3, 0.6 if self.quick else 1.5))
        self.stopping = True
        self.up.clear()
        while self.parked < self.workers:
            await asyncio.sleep(0.01)
        self.up.set()
        await asyncio.gather(*workers)
        await self.verify(model)
        await self.final(model)
        assert self.server is not None and self.client is not None
        await self.client.aclose()
        code, _ = await asyncio.to_thread(self.server.terminate)
        self.proof.check(code == 0, f"the last server exited {code}")
        if self.db.backend == "sqlite":
            result = await asyncio.to_thread(integrity, sqlite_file(self.db.url))
            self.proof.check(result == "ok", f"integrity_check at the end: {result}")
        acknowledged = sum(model.acknowledged.values())
        doubtful = sum(model.doubtful.values())
        return (
            f"{self.db.backend}: {self.kills} SIGKILLs in {time.monotonic() - started:.0f} s, "
            f"{acknowledged} acknowledged ops ({counted(model.acknowledged)}), "
            f"{doubtful} in doubt, answers {counted(model.answers)}, "
            f"{len(model.orders)} orders, lost {self.lost}"
        )

    # -- what must have survived ----------------------------------------------------------------

    async def verify(self, model: Model) -> None:
        client = self.client
        assert client is not None
        backend = self.db.backend
        for index, account in enumerate(model.accounts):
            on = await listed(client, account)
            for (owner, n), possible in model.numbers.items():
                if owner != index:
                    continue
                found = n in on
                if found not in possible:
                    if possible == {True}:
                        self.lose(f"acknowledged add of {n} missing after a kill")
                    else:
                        self.lose(f"acknowledged delete of {n} undone after a kill")
                model.numbers[(owner, n)] = {found}
                on.discard(n)
            self.proof.check(not on, f"[{backend}] numbers nobody added: {sorted(on)[:5]}")

            server = await orders(client, account)
            mine = {i: o for i, o in model.orders.items() if o.account == index}
            for order_id, order in mine.items():
                summary = server.get(order_id)
                if summary is None:
                    self.lose(f"acknowledged order {order_id} missing after a kill")
                    continue
                self.proof.check(
                    int(summary["total"]) == order.recipients,
                    f"[{backend}] order {order_id}: total {summary['total']}, "
                    f"sent to {order.recipients}",
                )
                cancelled = int(summary["status"]) == 115
                if order.cancel == "done" and not cancelled:
                    self.lose(f"acknowledged cancel of order {order_id} undone")
                elif order.cancel == "none" and cancelled:
                    self.proof.anomaly(f"[{backend}] order {order_id} cancelled by nobody")
                elif order.cancel == "doubt":
                    order.cancel = "done" if cancelled else "none"
            extra = {i: s for i, s in server.items() if i not in mine}
            self.proof.check(
                len(extra) <= model.doubtful_sends[index],
                f"[{backend}] {len(extra)} orders nobody sent "
                f"({model.doubtful_sends[index]} sends in doubt)",
            )
            model.doubtful_sends[index] = 0
            for order_id, summary in extra.items():  # sends in doubt that happened
                status, _ = await report(client, account, order_id)
                model.orders[order_id] = Order(index, int(summary["total"]), status == 456)
                if int(summary["status"]) == 115:
                    model.orders[order_id].cancel = "done"

            charged = sum(
                0 if int(s["status"]) == 115 else int(s["total"]) for s in server.values()
            )
            have = await balance(client, account)
            self.proof.check(
                have == account.balance - charged,
                f"[{backend}] balance {have}, expected {account.balance} - {charged}",
            )
            await gather_limited(
                16,
                [
                    self.check_report(client, account, i, o)
                    for i, o in model.orders.items()
                    if o.account == index
                ],
            )

    async def check_report(
        self, client: httpx.AsyncClient, account: Account, order_id: int, order: Order
    ) -> None:
        status, body = await report(client, account, order_id)
        where = f"[{self.db.backend}] get-report {order_id}"
        if order.scheduled and order.cancel == "none":
            self.proof.check(status == 456, f"{where}: {status}, expected 456 (scheduled)")
            return
        if not self.proof.check(status == 200 and body is not None, f"{where}: {status} {body}"):
            return
        expected = 0 if order.cancel == "done" else order.recipients
        found = body["order"]
        self.proof.check(
            int(found["price"]) == expected and int(found["total"]) == order.recipients,
            f"{where}: price {found['price']} total {found['total']}, expected {expected}",
        )
        self.proof.check(len(found["message"]) == order.recipients, f"{where}: messages")

    async def final(self, model: Model) -> None:
        """Dispatch everything; every order's charge in get-report; balances add up."""
        client = self.client
        assert client is not None
        for index, account in enumerate(model.accounts):
            await advance(client, account)
            mine = [(i, o) for i, o in model.orders.items() if o.account == index]
            for _, order in mine:
                order.scheduled = False
            await gather_limited(16, [self.check_report(client, account, i, o) for i, o in mine])
            charged = sum(0 if o.cancel == "done" else o.recipients for _, o in mine)
            have = await balance(client, account)
            self.proof.check(
                have == account.balance - charged,
                f"[{self.db.backend}] final balance {have}, expected {account.balance} - {charged}",
            )
            self.proof.check(account.balance == BIG_BALANCE, "initial balance")


def main() -> int:
    args = arguments(__doc__ or "")
    proof = Proof("crash", args.seed)
    with databases(args, "crash") as found, tempfile.TemporaryDirectory() as logs:
        for db in found:
            run = Run(proof, db, Path(logs), args.quick)
            try:
                summary = asyncio.run(run.run())
            except Exception as exc:
                traceback.print_exc()
                proof.anomaly(f"[{db.backend}] the run failed: {exc!r}")
                continue
            finally:
                if run.server is not None and run.server.proc.poll() is None:
                    run.server.kill()
            proof.line(summary)
    return proof.finish()


if __name__ == "__main__":
    sys.exit(main())
