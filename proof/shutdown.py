"""Graceful shutdown: SIGTERM to ``ileti serve`` under load.

Clients add new numbers (each one once) and send orders (some of a few thousand
recipients, so that requests are inside the server when the signal comes) without
pause; at a random moment the server gets SIGTERM. Every request is timed on the
client. Checked, on SQLite and PostgreSQL:

- the server exits 0, within a bound (measured; uvicorn's graceful timeout is 10 s),
  and logs no traceback;
- every request still open at the signal is either answered (200) or closed unread:
  none is answered with an error, and none that went unanswered took effect (an add
  cut off is not listed, an order cut off does not exist) — so the server finished
  what it had started;
- after a restart, every acknowledged add is listed and every acknowledged order is in
  get-reports with its recipients (the writer's last batch was committed);
- full run only: with 20 connections stalled mid-request (half a body, then nothing),
  the exit still comes within the bound, no traceback is logged, and exactly one line
  says how many requests were cut off at shutdown (at least the 20 stalled ones;
  uvicorn used to log a traceback for each).

    python proof/shutdown.py [--quick] [--backend all|sqlite|postgresql] [--seed N]
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _common import (
    Account,
    Database,
    Proof,
    Server,
    Unanswered,
    api,
    arguments,
    call,
    counted,
    create_account,
    databases,
    listed,
    number,
    order_request,
    orders,
    start_server,
    tracebacks,
)

#: Longest acceptable time from SIGTERM to exit.
EXIT_BOUND = 30.0
#: The one line ``ileti serve`` logs for the requests it cut off at shutdown.
CUT_LINE = re.compile(r"(\d+) request\(s\) cut off at shutdown")


@dataclass
class Request:
    kind: str  # "add" or "send"
    value: str  # the number added, or the order's text
    recipients: int
    start: float
    end: float | None = None
    status: int | None = None
    order_id: int | None = None


@dataclass
class Round:
    requests: list[Request] = field(default_factory=list)


class Run:
    def __init__(self, proof: Proof, db: Database, logdir: Path, quick: bool) -> None:
        self.proof = proof
        self.db = db
        self.logdir = logdir
        self.quick = quick
        self.server: Server | None = None
        self.serial = 0
        self.lost = 0

    def lose(self, text: str) -> None:
        self.lost += 1
        self.proof.anomaly(f"{self.where()} LOST: {text}")

    def where(self) -> str:
        return f"[{self.db.backend}]"

    async def load(self, client: httpx.AsyncClient, account: Account, c: int, r: Round) -> None:
        big = c < 2  # two clients send large orders
        while True:
            self.serial += 1
            if big or random.random() < 0.2:
                size = random.randint(500, 3000) if big else random.randint(1, 4)
                numbers = sorted({number(42, random.randrange(10_000_000)) for _ in range(size)})
                text = f"shutdown {c}-{self.serial}"
                req = Request("send", text, len(numbers), time.monotonic())
                action, body = "send-sms", order_request(account, numbers, text)
            else:
                n = number(33, 5_000_000 + self.serial)
                req = Request("add", n, 0, time.monotonic())
                action = "add-blacklist"
                body = {"authentication": account.auth, "blacklist": {"number": n}}
            r.requests.append(req)
            try:
                status, answer = await call(client, action, body)
            except Unanswered:
                return  # the server has stopped: no answer, no promise
            req.end, req.status = time.monotonic(), status
            if status == 200 and answer is not None and action == "send-sms":
                req.order_id = int(answer["order"]["id"])
            if status != 200:
                return

    async def round(self, account: Account, stalled: int) -> tuple[Round, float, float, list[int]]:
        """Load, SIGTERM, wait for the exit: the round, the signal's time, the seconds
        to exit, and the counts of the "cut off at shutdown" lines logged."""
        server = self.server = await asyncio.to_thread(start_server, self.db, self.logdir)
        r = Round()
        socks = [stall(server.port) for _ in range(stalled)]
        async with api(server.url) as client:
            tasks = [asyncio.create_task(self.load(client, account, c, r)) for c in range(16)]
            await asyncio.sleep(
                random.uniform(0.5, 1.0) if self.quick else random.uniform(1.0, 3.0)
            )
            signalled = time.monotonic()
            exit_task = asyncio.create_task(asyncio.to_thread(server.terminate, EXIT_BOUND * 2))
            await asyncio.gather(*tasks)
            code, took = await exit_task
        for sock in socks:
            sock.close()
        self.proof.check(code == 0, f"{self.where()} exit status {code} after SIGTERM")
        self.proof.check(took < EXIT_BOUND, f"{self.where()} exit took {took:.1f} s")
        output = server.output()
        found = tracebacks(output)
        self.proof.check(not found, f"{self.where()} {found} tracebacks logged at shutdown")
        cut_lines = [int(m.group(1)) for m in CUT_LINE.finditer(output)]
        if stalled:
            self.proof.check(
                len(cut_lines) == 1 and cut_lines[0] >= stalled,
                f"{self.where()} with {stalled} stalled connections: {len(cut_lines)} "
                f"'cut off at shutdown' lines {cut_lines}, expected one counting at least "
                f"{stalled}",
            )
        else:
            self.proof.check(
                len(cut_lines) <= 1, f"{self.where()} {len(cut_lines)} 'cut off' lines logged"
            )
        return r, signalled, took, cut_lines

    async def run(self) -> list[str]:
        account = await asyncio.to_thread(create_account, self.db.url, "shutdown")
        rounds = 1 if self.quick else 5
        lines = []
        exits: list[float] = []
        acknowledged = 0
        answered_open = cut = cut_stored = 0
        everything = Round()
        for i in range(rounds + (0 if self.quick else 1)):
            stalled = 20 if i == rounds else 0
            r, signalled, took, cut_lines = await self.round(account, stalled)
            everything.requests.extend(r.requests)
            for q in r.requests:
                if q.start < signalled and (q.end is None or q.end > signalled):
                    if q.status is not None:
                        answered_open += 1
                        self.proof.check(
                            q.status == 200, f"{self.where()} an open request got {q.status}"
                        )
                    else:
                        cut += 1
            if stalled:
                lines.append(
                    f"{self.db.backend}: SIGTERM with {stalled} stalled connections: exit 0 in "
                    f"{took:.1f} s; one summary line ({cut_lines[0] if cut_lines else 0} "
                    f"requests cut off at shutdown), no traceback"
                )
            else:
                exits.append(took)

        server = self.server = await asyncio.to_thread(start_server, self.db, self.logdir)
        async with api(server.url) as client:
            on = await listed(client, account)
            found = await orders(client, account)
        texts_by_total: Counter[int] = Counter(int(s["total"]) for s in found.values())
        for q in everything.requests:
            if q.status == 200:
                acknowledged += 1
                if q.kind == "add" and q.value not in on:
                    self.lose(f"acknowledged add of {q.value}")
                if q.kind == "send":
                    summary = found.get(q.order_id or -1)
                    ok = summary is not None and int(summary["total"]) == q.recipients
                    if not ok:
                        self.lose(f"acknowledged order {q.order_id}")
            elif q.status is None and q.kind == "add" and q.value in on:
                cut_stored += 1
                self.proof.anomaly(f"{self.where()} {q.value} was cut off unanswered but stored")
        sent = sum(1 for q in everything.requests if q.kind == "send" and q.status == 200)
        if len(found) != sent:
            cut_stored += len(found) - sent
            self.proof.anomaly(
                f"{self.where()} {len(found)} orders stored, {sent} acknowledged "
                f"(totals {counted(texts_by_total)})"
            )
        await asyncio.to_thread(server.terminate)
        statuses = Counter(q.status for q in everything.requests)
        lines.insert(
            0,
            f"{self.db.backend}: {len(exits)} SIGTERMs under load: exit 0 in "
            f"{min(exits):.1f}-{max(exits):.1f} s; requests open at the signal: "
            f"{answered_open} answered, {cut} closed unread (stored anyway: {cut_stored}); "
            f"answers {counted(Counter({str(k): v for k, v in statuses.items()}))}; "
            f"acknowledged {acknowledged}, lost {self.lost}",
        )
        return lines


def stall(port: int) -> socket.socket:
    """A connection that sends half a request and then nothing."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/add-blacklist/json HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
    )
    return sock


def main() -> int:
    args = arguments(__doc__ or "")
    proof = Proof("shutdown", args.seed)
    with databases(args, "shutdown") as found, tempfile.TemporaryDirectory() as logs:
        for db in found:
            run = Run(proof, db, Path(logs), args.quick)
            try:
                for line in asyncio.run(run.run()):
                    proof.line(line)
            except Exception as exc:
                traceback.print_exc()
                proof.anomaly(f"[{db.backend}] the run failed: {exc!r}")
            finally:
                if run.server is not None and run.server.proc.poll() is None:
                    run.server.kill()
    return proof.finish()


if __name__ == "__main__":
    sys.exit(main())
