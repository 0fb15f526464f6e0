"""Concurrency: many clients through TWO ``ileti serve`` instances on one database.

1. Blacklist: 64 clients add and delete numbers of one small shared pool, each call
   through either instance at random. Each call's answer is kept with the times it was
   sent and answered (client side). The server is correct if the calls on each number
   can be put in one sequence that (a) respects real time: a call answered before
   another was sent comes first, and (b) explains every answer from a register that
   starts off: add-blacklist always 200 and turns it on; delete-blacklist 200 only when
   it was on (turning it off), 474 only when it was off. That is linearizability of each
   number; the check searches every such order (the calls that overlap in time are the
   only freedom) and collects the states they end in. get-blacklist at the end must
   show, for every number, one of those states, and no history may be unexplainable.
2. Sending: 64 clients send orders through both instances to one account until the
   balance runs out (after a 402 a client sends single-recipient orders; a 402 for one
   recipient stops it, so the balance must end at exactly 0). Every answer is 200 or
   402; the charges of the acknowledged orders add up to the initial balance; every
   order get-reports lists was acknowledged, with its charge in get-report.
3. Cancelling: orders scheduled for tomorrow, each cancelled by 16 concurrent calls
   (half through each instance): exactly one 200 per order, the others 455; the balance
   is back where it started (one refund each); get-report shows 115 and price 0.

    python proof/concurrency.py [--quick] [--backend all|sqlite|postgresql] [--seed N]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import (
    BIG_BALANCE,
    Account,
    Database,
    Proof,
    Server,
    Unanswered,
    api,
    arguments,
    balance,
    call,
    counted,
    create_accounts,
    databases,
    gather_limited,
    listed,
    number,
    order_request,
    orders,
    report,
    start_server,
    tracebacks,
)

CLIENTS = 64


@dataclass(frozen=True)
class Call:
    start: float
    end: float
    add: bool
    status: int


def final_states(calls: list[Call]) -> set[bool]:
    """The states a register that starts off can end in, over every order of ``calls``
    that respects real time and explains every answer (empty: none does)."""
    ops = sorted(calls, key=lambda c: c.start)
    n = len(ops)
    full = (1 << n) - 1
    ends: set[bool] = set()
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:
        mask, state = stack.pop()
        if (mask, state) in seen:
            continue
        seen.add((mask, state))
        if mask == full:
            ends.add(state)
            continue
        pending = [i for i in range(n) if not mask >> i & 1]
        first_end = min(ops[i].end for i in pending)
        for i in pending:
            op = ops[i]
            if op.start > first_end:
                break
            if op.add:
                after: bool | None = True
            elif op.status == 200:
                after = False if state else None
            else:  # 474
                after = False if not state else None
            if after is not None:
                stack.append((mask | 1 << i, after))
    return ends


class Run:
    def __init__(self, proof: Proof, db: Database, logdir: Path, quick: bool) -> None:
        self.proof = proof
        self.db = db
        self.logdir = logdir
        self.quick = quick
        self.servers: list[Server] = []
        self.accounts: list[Account] = []

    def where(self) -> str:
        return f"[{self.db.backend}]"

    async def run(self) -> list[str]:
        url = self.db.url
        self.accounts = await asyncio.to_thread(
            create_accounts,
            url,
            ("overlap", BIG_BALANCE, {}),
            ("spender", 200 if self.quick else 4000, {}),
            ("canceller", BIG_BALANCE, {}),
        )
        self.servers = list(
            await asyncio.gather(
                *(
                    asyncio.to_thread(start_server, self.db, self.logdir, None, f"c{i}")
                    for i in range(2)
                )
            )
        )
        lines = []
        async with api(self.servers[0].url) as one, api(self.servers[1].url) as two:
            clients = [one, two]
            lines.append(await self.blacklist(clients))
            lines.append(await self.sending(clients))
            lines.append(await self.cancelling(clients))
        for server in self.servers:
            code, _ = await asyncio.to_thread(server.terminate)
            self.proof.check(code == 0, f"{self.where()} an instance exited {code}")
            found = tracebacks(server.output())
            self.proof.check(not found, f"{self.where()} {found} tracebacks logged")
        return lines

    # -- 1. add and delete ----------------------------------------------------------------

    async def blacklist(self, clients: list[httpx.AsyncClient]) -> str:
        account = self.accounts[0]
        pool = [number(33, 7_000_000 + i) for i in range(16 if self.quick else 32)]
        per_client = 6 if self.quick else 50
        history: dict[str, list[Call]] = defaultdict(list)
        answers: Counter[str] = Counter()

        async def client(c: int) -> None:
            for _ in range(per_client):
                n = random.choice(pool)
                add = random.random() < 0.5
                action = "add-blacklist" if add else "delete-blacklist"
                request = {"authentication": account.auth, "blacklist": {"number": n}}
                start = time.monotonic()
                try:
                    status, body = await call(random.choice(clients), action, request)
                except Unanswered as exc:
                    self.proof.anomaly(f"{self.where()} {action} unanswered: {exc}")
                    continue
                end = time.monotonic()
                answers[f"{action.split('-')[0]} {status}"] += 1
                good = status == 200 or (not add and status == 474)
                if self.proof.check(good and body is not None, f"{action}: {status} {body}"):
                    history[n].append(Call(start, end, add, status))

        started = time.monotonic()
        await asyncio.gather(*(client(c) for c in range(CLIENTS)))
        took = time.monotonic() - started
        on = await listed(clients[0], account)
        self.proof.check(on == await listed(clients[1], account), "the instances disagree")
        unexplained = wrong = 0
        for n in pool:
            ends = final_states(history[n])
            if not ends:
                unexplained += 1
                self.proof.anomaly(f"{self.where()} {n}: no order explains the answers")
            elif (n in on) not in ends:
                wrong += 1
                self.proof.anomaly(f"{self.where()} {n}: listed={n in on}, model says {ends}")
        self.proof.check(on <= set(pool), f"{self.where()} numbers nobody added")
        calls = sum(len(h) for h in history.values())
        return (
            f"{self.db.backend}: blacklist: {CLIENTS} clients, 2 instances, {len(pool)} shared "
            f"numbers, {calls} calls in {took:.1f} s ({counted(answers)}); histories not "
            f"linearizable: {unexplained}; final state outside the model: {wrong}"
        )

    # -- 2. sending until the balance runs out ------------------------------------------------

    async def sending(self, clients: list[httpx.AsyncClient]) -> str:
        account = self.accounts[1]
        initial = account.balance
        acknowledged: dict[int, int] = {}
        answers: Counter[int] = Counter()

        async def client(c: int) -> None:
            size = random.randint(1, 5)
            seq = 0
            while True:
                seq += 1
                numbers = sorted({number(42, random.randrange(10_000_000)) for _ in range(size)})
                request = order_request(account, numbers, f"spend {c}-{seq}")
                try:
                    status, body = await call(clients[seq % 2], "send-sms", request)
                except Unanswered as exc:
                    self.proof.anomaly(f"{self.where()} send-sms unanswered: {exc}")
                    return
                answers[status] += 1
                if status == 200 and body is not None:
                    acknowledged[int(body["order"]["id"])] = len(numbers)
                elif status == 402:
                    if size == 1:
                        return
                    size = 1
                else:
                    self.proof.anomaly(f"{self.where()} send-sms answered {status}: {body}")
                    return

        started = time.monotonic()
        await asyncio.gather(*(client(c) for c in range(CLIENTS)))
        took = time.monotonic() - started
        left = [await balance(c, account) for c in clients]
        charged = sum(acknowledged.values())
        self.proof.check(
            left == [0, 0], f"{self.where()} balance at the end {left}, expected 0 (both)"
        )
        self.proof.check(
            charged == initial - left[0],
            f"{self.where()} acknowledged charges {charged} != {initial} - {left[0]}",
        )
        found = await orders(clients[0], account)
        self.proof.check(
            set(found) == set(acknowledged),
            f"{self.where()} orders found {len(found)} != acknowledged {len(acknowledged)}",
        )

        async def price(order_id: int, recipients: int) -> None:
            status, body = await report(clients[order_id % 2], account, order_id)
            ok = status == 200 and int(body["order"]["price"]) == recipients
            self.proof.check(ok, f"{self.where()} get-report {order_id}: {status} {body}")

        await gather_limited(16, [price(i, r) for i, r in acknowledged.items()])
        return (
            f"{self.db.backend}: sending: {CLIENTS} clients, 2 instances, balance {initial}, "
            f"{len(acknowledged)} orders in {took:.1f} s ({counted(answers)}), charged "
            f"{charged}, balance left {left[0]} (overdrawn: {'no' if left[0] >= 0 else 'YES'})"
        )

    # -- 3. cancelling one order many times at once ----------------------------------------------

    async def cancelling(self, clients: list[httpx.AsyncClient]) -> str:
        account = self.accounts[2]
        initial = await balance(clients[0], account)
        count = 6 if self.quick else 60
        ids: dict[int, int] = {}
        for i in range(count):
            numbers = sorted({number(42, random.randrange(10_000_000)) for _ in range(3)})
            request = order_request(account, numbers, f"cancel me {i}", scheduled=True)
            status, body = await call(clients[i % 2], "send-sms", request)
            if not self.proof.check(status == 200, f"send-sms: {status} {body}"):
                return f"{self.db.backend}: cancelling: could not send"
            ids[int(body["order"]["id"])] = len(numbers)
        self.proof.check(
            await balance(clients[0], account) == initial - sum(ids.values()), "charged"
        )
        answers: Counter[tuple[int, int]] = Counter()

        async def cancel(order_id: int, k: int) -> None:
            request = {"authentication": account.auth, "order": {"id": order_id}}
            try:
                status, _ = await call(clients[k % 2], "cancel-order", request)
            except Unanswered as exc:
                self.proof.anomaly(f"{self.where()} cancel-order unanswered: {exc}")
                return
            answers[(order_id, status)] += 1

        calls = [cancel(order_id, k) for order_id in ids for k in range(16)]
        random.shuffle(calls)
        await asyncio.gather(*calls)
        twice = 0
        for order_id in ids:
            ok, refused = answers[(order_id, 200)], answers[(order_id, 455)]
            # A 503 changed nothing (in doubt, settled by the refund and balance checks
            # below); every other cancel of the order is 455 after the one 200.
            if ok != 1 or refused + answers[(order_id, 503)] != 15:
                twice += ok > 1
                self.proof.anomaly(
                    f"{self.where()} order {order_id}: {ok} cancels answered 200, "
                    f"{refused} answered 455"
                )
            status, body = await report(clients[0], account, order_id)
            good = status == 200 and body["order"]["status"] == 115 and body["order"]["price"] == 0
            self.proof.check(good, f"{self.where()} get-report {order_id}: {status} {body}")
        after = await balance(clients[1], account)
        self.proof.check(after == initial, f"{self.where()} balance {after}, expected {initial}")
        codes = Counter(status for (_, status), n in answers.items() for _ in range(n))
        return (
            f"{self.db.backend}: cancelling: {count} orders x 16 concurrent cancels "
            f"({counted(codes)}); refunded twice: {twice}; balance back to the start: "
            f"{'yes' if after == initial else 'NO'}"
        )


def main() -> int:
    args = arguments(__doc__ or "")
    proof = Proof("concurrency", args.seed)
    with databases(args, "concurrency") as found, tempfile.TemporaryDirectory() as logs:
        for db in found:
            run = Run(proof, db, Path(logs), args.quick)
            try:
                for line in asyncio.run(run.run()):
                    proof.line(line)
            except Exception as exc:
                traceback.print_exc()
                proof.anomaly(f"[{db.backend}] the run failed: {exc!r}")
            finally:
                for server in run.servers:
                    if server.proc.poll() is None:
                        server.kill()
    return proof.finish()


if __name__ == "__main__":
    sys.exit(main())
