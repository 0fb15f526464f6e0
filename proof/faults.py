"""Faults under load: the database's connections cut, Redis gone, the disk full, and
webhook receivers that hang or answer without end.

1. PostgreSQL: every connection of ileti's database ended with
   ``pg_terminate_backend`` again and again while clients add numbers and send orders.
   Every answer must be 200 or 503 (never 500, never a hang past 30 s); once the cutting
   stops, writes succeed again (time measured); every acknowledged add and order is
   there afterwards (an answer 503 is in doubt: it may or may not have happened).
2. Redis (``ILETI_REDIS_URL``, a redis-server of the run's own) killed while orders are
   sent: the documented fallback is that send-sms never fails because of Redis, the
   limits stay enforced by the database (an account limited to 1 recipient a second
   still gets 429), and a warning is logged; the full run starts Redis again and checks
   it is used again.
3. SQLite on a full disk (a small tmpfs, filled; needs root to mount, else skipped):
   writes answer 503 (never 500), the server stays up, and once space is freed writes
   succeed again without a restart; every acknowledged add is there, and
   ``PRAGMA integrity_check`` says ok. ``/healthz`` and ``/livez`` are polled four
   times a second throughout: ``/healthz`` must answer 503 from ``HEALTH_SETTLE``
   seconds after the disk filled until space returns (at least once, and more often
   than 200: a probe that lands on space SQLite freed commits durably, as some real
   writes do then, and rightly answers 200) and 200 from
   ``HEALTH_SETTLE`` seconds after that on; ``/livez`` 200 every time.
4. Webhooks (full run only, both databases): one account's receiver never answers,
   another's answers with a 400 MiB body, a third's answers at once. The third
   account's reports ("accepted" and "delivered") must all arrive within one webhook
   timeout plus ``WEBHOOK_MARGIN`` seconds (the delivery delay and a loaded machine) of
   each order's send, and the server's peak resident memory (VmHWM) must stay under
   ``RSS_BOUND_MIB``.

    python proof/faults.py [--quick] [--backend all|sqlite|postgresql] [--seed N]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

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
    call,
    counted,
    create_account,
    create_accounts,
    databases,
    free_port,
    integrity,
    listed,
    number,
    order_request,
    orders,
    sqlite_file,
    start_server,
    terminate_backends,
    tracebacks,
)

#: The recipients a second of the rate-limited account while Redis is gone: low, so that
#: the 20 of the burst plus what refills while 40 orders are answered stay under 40 even
#: when a loaded machine takes 10 s to answer them (5/s let all 40 through in 8.6 s).
LIMITED_RATE = 1
#: Seconds after the disk fills (or space returns) for /healthz to say so: its answer is
#: reused for 1 s and a probe waits up to 2 s for the writer's commit.
HEALTH_SETTLE = 4.0
#: Beyond one webhook timeout, how late another account's report may be: the carrier's
#: delivery delay (0.5 s) and a loaded machine.
WEBHOOK_MARGIN = 5.0
#: The server's peak resident memory while a receiver answers 400 MiB: a reply is read
#: to at most 4 KiB, so this is the process's ordinary size (about 100 MiB) with room;
#: before issue 9 it reached 2.5 GB.
RSS_BOUND_MIB = 256


class Load:
    """Clients adding new numbers and sending small orders; every answer kept."""

    def __init__(self, client: httpx.AsyncClient, account: Account, sends: float = 0.3) -> None:
        self.client = client
        self.account = account
        self.sends = sends
        self.stop = False
        self.serial = 0
        self.added: set[str] = set()
        self.orders: dict[int, int] = {}
        self.doubtful_sends = 0
        #: (sent, answered, action, status) of every call
        self.answers: list[tuple[float, float, str, int | str]] = []

    async def client_loop(self) -> None:
        while not self.stop:
            self.serial += 1
            if random.random() < self.sends:
                numbers = sorted({number(42, random.randrange(10_000_000)) for _ in range(2)})
                action = "send-sms"
                request = order_request(self.account, numbers, f"fault {self.serial}")
            else:
                n = number(33, 3_000_000 + self.serial)
                action = "add-blacklist"
                request = {"authentication": self.account.auth, "blacklist": {"number": n}}
            sent = time.monotonic()
            try:
                status, body = await call(self.client, action, request)
            except Unanswered as exc:
                kind = "hang" if "Timeout" in str(exc) else "unanswered"
                self.answers.append((sent, time.monotonic(), action, kind))
                if action == "send-sms":
                    self.doubtful_sends += 1
                await asyncio.sleep(0.05)
                continue
            self.answers.append((sent, time.monotonic(), action, status))
            if status == 200 and body is not None:
                if action == "send-sms":
                    self.orders[int(body["order"]["id"])] = 2
                else:
                    self.added.add(request["blacklist"]["number"])  # type: ignore[index]
            elif status == 503 and action == "send-sms":
                self.doubtful_sends += 1
            else:
                await asyncio.sleep(0.01)

    @contextlib.asynccontextmanager
    async def running(self, clients: int = 16) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self.client_loop()) for _ in range(clients)]
        try:
            yield
        finally:
            self.stop = True
            await asyncio.gather(*tasks)

    async def probe(self) -> int:
        """Ten adds one after the other once the load has stopped: how many got 200."""
        ok = 0
        for _ in range(10):
            self.serial += 1
            n = number(33, 3_000_000 + self.serial)
            request = {"authentication": self.account.auth, "blacklist": {"number": n}}
            with contextlib.suppress(Unanswered):
                status, _ = await call(self.client, "add-blacklist", request)
                if status == 200:
                    ok += 1
                    self.added.add(n)
        return ok

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        """The answers to the calls sent in [since, until)."""
        return Counter(str(s) for t, _, _, s in self.answers if since <= t < until)

    async def check_kept(self, proof: Proof, where: str) -> int:
        """Every acknowledged add listed and order stored; how many were lost."""
        lost = 0
        on = await listed(self.client, self.account)
        for n in self.added - on:
            lost += 1
            proof.anomaly(f"{where} LOST: acknowledged add of {n}")
        found = await orders(self.client, self.account)
        for order_id in set(self.orders) - set(found):
            lost += 1
            proof.anomaly(f"{where} LOST: acknowledged order {order_id}")
        extra = len(set(found) - set(self.orders))
        proof.check(
            extra <= self.doubtful_sends,
            f"{where} {extra} orders nobody sent ({self.doubtful_sends} sends in doubt)",
        )
        return lost


class Run:
    def __init__(self, proof: Proof, db: Database, logdir: Path, quick: bool) -> None:
        self.proof = proof
        self.db = db
        self.logdir = logdir
        self.quick = quick
        self.servers: list[Server] = []
        self.cleanups: list[Callable[[], None]] = []

    def where(self, case: str) -> str:
        return f"[{self.db.backend} {case}]"

    async def serve(self, db: Database | None = None, env: dict[str, str] | None = None) -> Server:
        server = await asyncio.to_thread(start_server, db or self.db, self.logdir, env)
        self.servers.append(server)
        return server

    async def stop(self, server: Server, case: str) -> None:
        code, _ = await asyncio.to_thread(server.terminate)
        self.proof.check(code == 0, f"{self.where(case)} exit status {code}")
        found = tracebacks(server.output())
        self.proof.check(not found, f"{self.where(case)} {found} tracebacks logged")

    async def run(self) -> None:
        if self.db.backend == "postgresql":
            self.proof.line(await self.terminated())
        self.proof.line(await self.redis_gone())
        if self.db.backend == "sqlite":
            self.proof.line(await self.disk_full())
        if not self.quick:  # the full run only
            self.proof.line(await self.webhooks())

    # -- 1. PostgreSQL backends terminated -----------------------------------------------------

    async def terminated(self) -> str:
        case = "terminated"
        account = await asyncio.to_thread(create_account, self.db.url, "cut")
        server = await self.serve()
        seconds = 2.0 if self.quick else 20.0
        cuts = ended = 0
        async with api(server.url) as client:
            load = Load(client, account)
            async with load.running():
                await asyncio.sleep(0.5)
                first = time.monotonic()
                while time.monotonic() - first < seconds:
                    ended += await asyncio.to_thread(terminate_backends, self.db.url)
                    cuts += 1
                    await asyncio.sleep(random.uniform(0.05, 0.4))
                last = time.monotonic()
                await asyncio.sleep(2.0 if self.quick else 5.0)
            during = load.statuses(first, last + 0.5)
            after = load.statuses(last + 1.5)
            recovered = min(
                (t for _, t, _, s in load.answers if t > last and s == 200), default=float("inf")
            )
            everything = load.statuses()
            bad = {k: v for k, v in everything.items() if k not in ("200", "503")}
            self.proof.check(not bad, f"{self.where(case)} answers other than 200/503: {bad}")
            probe = await load.probe()
            self.proof.check(
                set(after) <= {"200"} and probe == 10,
                f"{self.where(case)} after the cuts: {counted(after)}; probe {probe}/10 ok",
            )
            lost = await load.check_kept(self.proof, self.where(case))
        await self.stop(server, case)
        return (
            f"{self.db.backend}: backends terminated {cuts} times ({ended} connections) in "
            f"{seconds:.0f} s under load: answers {counted(during)}; first 200 "
            f"{recovered - last:.2f} s after the last cut, then only 200 ({counted(after)}); "
            f"acknowledged {len(load.added) + len(load.orders)}, lost {lost}"
        )

    # -- 2. Redis gone -------------------------------------------------------------------------

    async def redis_gone(self) -> str:
        case = "redis"
        if shutil.which("redis-server") is None:
            return f"{self.db.backend}: Redis gone: skipped (redis-server is not installed)"
        port = free_port()
        redis = start_redis(port, self.logdir)
        self.cleanups.append(lambda: stop_process(redis))
        account, limited = await asyncio.to_thread(
            create_accounts,
            self.db.url,
            ("fast", BIG_BALANCE, {}),
            ("slow", BIG_BALANCE, {"rate_limit": LIMITED_RATE}),
        )
        env = {
            "ILETI_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "ILETI_RATE_LIMIT": "100000",
            "ILETI_RATE_LIMIT_BURST": "20",
        }
        server = await self.serve(env=env)
        async with api(server.url) as client:
            load = Load(client, account, sends=1.0)
            async with load.running(8):
                await asyncio.sleep(1.0)
                keys_before = redis_keys(port)
                stop_process(redis)
                killed = time.monotonic()
                began = time.monotonic()
                limited_answers = await burst(client, limited, 40)
                allowed = 20 + int(LIMITED_RATE * (time.monotonic() - began)) + 1
                await asyncio.sleep(1.0 if self.quick else 8.0)
                down = load.statuses(killed)
                keys_after = -1
                if not self.quick:
                    redis = start_redis(port, self.logdir)
                    await asyncio.sleep(7.0)  # ileti tries Redis again 5 s after a failure
                    keys_after = redis_keys(port)
                    stop_process(redis)
            slowest = max((b - a for a, b, _, _ in load.answers), default=0.0)
            self.proof.check(keys_before > 0, f"{self.where(case)} Redis was not used at all")
            self.proof.check(
                set(down) <= {"200"}, f"{self.where(case)} with Redis gone: {counted(down)}"
            )
            self.proof.check(
                limited_answers["200"] <= allowed and (limited_answers["429"] > 0 or allowed >= 40),
                f"{self.where(case)} a limited account with Redis gone: "
                f"{counted(limited_answers)} (at most {allowed} may pass)",
            )
            if not self.quick:
                self.proof.check(keys_after > 0, f"{self.where(case)} Redis not used again")
            warned = "redis" in server.output().lower()
            self.proof.check(warned, f"{self.where(case)} no warning about Redis logged")
            lost = await load.check_kept(self.proof, self.where(case))
        await self.stop(server, case)
        again = "" if self.quick else f"; Redis back: used again ({keys_after} keys)"
        return (
            f"{self.db.backend}: Redis killed under send-sms load: answers while gone "
            f"{counted(down)}; an account limited to {LIMITED_RATE}/s sending 40 at once: "
            f"{counted(limited_answers)} (limits kept); longest wait for an answer "
            f"{slowest:.2f} s; warning logged: {'yes' if warned else 'NO'}{again}; lost {lost}"
        )

    # -- 3. SQLite on a full disk --------------------------------------------------------------

    async def disk_full(self) -> str:
        case = "disk full"
        mount = Path(tempfile.mkdtemp(prefix="ileti-full-"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            mount.rmdir()
            return f"{self.db.backend}: disk full: skipped (cannot mount a tmpfs: not root?)"
        self.cleanups.append(lambda: unmount(mount))
        db = Database("sqlite", f"sqlite:///{mount}/full.db")
        account = await asyncio.to_thread(create_account, db.url, "full")
        server = await self.serve(db)
        filler = mount / "filler"
        async with api(server.url) as client:
            load = Load(client, account)
            probes = Probes(client)
            async with probes.running(), load.running():
                await asyncio.sleep(0.5)
                fill(filler)
                full = time.monotonic()
                await asyncio.sleep(HEALTH_SETTLE + (2.0 if self.quick else 6.0))
                filler.unlink()
                freed = time.monotonic()
                await asyncio.sleep(HEALTH_SETTLE + (1.0 if self.quick else 5.0))
            alive = server.proc.poll() is None
            health_full = probes.statuses("/healthz", full + HEALTH_SETTLE, freed)
            health_after = probes.statuses("/healthz", freed + HEALTH_SETTLE)
            livez = probes.statuses("/livez")
            unhealthy = probes.first("/healthz", full, 503) - full
            healthy = probes.first("/healthz", freed, 200) - freed
            during = load.statuses(full + 0.2, freed)
            # A write that fits in space SQLite freed (pages a rolled-back write released,
            # the WAL restarted after a checkpoint) commits durably while the disk is full,
            # as some of the load's do: a probe that lands on such space rightly says 200.
            # So: 503 at least once and most of the time; a 200 only while writes succeed.
            self.proof.check(
                set(health_full) <= {"200", "503"}
                and health_full["503"] > health_full["200"]
                and (health_full["200"] == 0 or during["200"] > 0),
                f"{self.where(case)} /healthz while the disk was full: {counted(health_full)}"
                f" (load {counted(during)})",
            )
            self.proof.check(
                set(health_after) == {"200"},
                f"{self.where(case)} /healthz after space returned: {counted(health_after)}",
            )
            self.proof.check(set(livez) == {"200"}, f"{self.where(case)} /livez: {counted(livez)}")
            recovered = min(
                (t for _, t, _, s in load.answers if t > freed and s == 200), default=float("inf")
            )
            after = load.statuses(freed + 1.5)
            bad = {k: v for k, v in load.statuses().items() if k not in ("200", "503")}
            self.proof.check(alive, f"{self.where(case)} the server died")
            self.proof.check(not bad, f"{self.where(case)} answers other than 200/503: {bad}")
            self.proof.check(during["503"] > 0, f"{self.where(case)} no 503 while full: {during}")
            probe = await load.probe()
            self.proof.check(
                set(after) <= {"200"} and probe == 10,
                f"{self.where(case)} after space returned: {counted(after)}; probe {probe}/10 ok",
            )
            lost = await load.check_kept(self.proof, self.where(case))
        await self.stop(server, case)
        result = await asyncio.to_thread(integrity, sqlite_file(db.url))
        self.proof.check(result == "ok", f"{self.where(case)} integrity_check: {result}")
        return (
            f"{self.db.backend}: disk full (16 MiB tmpfs filled) under load: answers "
            f"{counted(during)}; first 200 {recovered - freed:.2f} s after space returned, "
            f"no restart, then only 200; /healthz 503 {unhealthy:.1f} s after the disk "
            f"filled ({counted(health_full)} from {HEALTH_SETTLE:g} s on), 200 "
            f"{healthy:.1f} s after space returned ({counted(health_after)} from "
            f"{HEALTH_SETTLE:g} s on); /livez {counted(livez)}; "
            f"integrity_check {result}; acknowledged {len(load.added) + len(load.orders)}, "
            f"lost {lost}"
        )

    # -- 4. hanging and huge webhook receivers ------------------------------------------------

    async def webhooks(self) -> str:
        huge_mib = 20 if self.quick else 400
        good = Receiver("good")
        hanging = Receiver("hang")
        huge = Receiver("huge", huge_mib << 20)
        for receiver in (good, hanging, huge):
            await receiver.start()
        names = ("hooked-hang", "hooked-huge", "hooked-good")
        hooks = (hanging, huge, good)
        accounts = await asyncio.to_thread(
            create_accounts,
            self.db.url,
            *(
                (name, BIG_BALANCE, {"webhook_url": hook.url})
                for name, hook in zip(names, hooks, strict=True)
            ),
        )
        timeout = 1.0 if self.quick else 5.0
        server = await self.serve(
            env={"ILETI_DELIVERY_DELAY": "0.5", "ILETI_WEBHOOK_TIMEOUT_SECONDS": str(timeout)}
        )
        per_account = 3 if self.quick else 20
        sent_at: dict[int, float] = {}
        async with api(server.url) as client:
            for account, count in zip(accounts[:2], (per_account, 2), strict=True):
                for i in range(count):
                    request = order_request(account, [number(42, 100 + i)], f"hook {i}")
                    await call(client, "send-sms", request)
            await asyncio.sleep(0.5)
            for i in range(per_account):
                request = order_request(accounts[2], [number(42, 200 + i)], f"good {i}")
                status, body = await call(client, "send-sms", request)
                if status == 200:
                    sent_at[int(body["order"]["id"])] = time.monotonic()
            deadline = time.monotonic() + (60 if self.quick else 120)
            rss = 0
            while time.monotonic() < deadline and len(good.reports("delivered")) < per_account:
                rss = max(rss, server.rss_kib())
                await asyncio.sleep(0.2)
            rss = max(rss, server.rss_kib())
        accepted = good.latest("accepted", sent_at)
        delivered = good.latest("delivered", sent_at)
        await self.stop(server, "webhooks")
        for receiver in (good, hanging, huge):
            await receiver.close()
        bound = timeout + WEBHOOK_MARGIN
        where = self.where("webhooks")
        self.proof.check(len(sent_at) == per_account, f"{where} {len(sent_at)} orders accepted")
        for status, took in (("accepted", accepted), ("delivered", delivered)):
            self.proof.check(
                took is not None and took <= bound,
                f"{where} another account's '{status}' reports: the last "
                f"{'never came' if took is None else f'{took:.1f} s'} after its send "
                f"(bound {bound:g} s)",
            )
        self.proof.check(
            rss / 1024 < RSS_BOUND_MIB,
            f"{where} server peak RSS {rss / 1024:.0f} MiB (bound {RSS_BOUND_MIB} MiB)",
        )
        self.proof.check(len(hanging.bodies) > 0 and len(huge.bodies) > 0, f"{where} not sent")
        return (
            f"{self.db.backend}: webhooks ({timeout:g} s webhook timeout): with one receiver "
            f"hanging ({per_account} orders) and one answering {huge_mib} MiB, another "
            f"account's {per_account} orders got 'accepted' within {shown(accepted)} and "
            f"'delivered' within {shown(delivered)} of sending (bound {bound:g} s); "
            f"the hanging receiver got {len(hanging.bodies)} POSTs, the huge one "
            f"{len(huge.bodies)}; server peak RSS {rss / 1024:.0f} MiB "
            f"(bound {RSS_BOUND_MIB} MiB)"
        )


# -- helpers --------------------------------------------------------------------------------


class Probes:
    """``/healthz`` and ``/livez`` asked four times a second; every answer kept."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        #: (sent, path, status or "hang"/"unanswered")
        self.answers: list[tuple[float, str, str]] = []

    async def loop(self) -> None:
        while True:
            for path in ("/healthz", "/livez"):
                sent = time.monotonic()
                try:
                    r = await self.client.get(path)
                    status = str(r.status_code)
                except httpx.TimeoutException:
                    status = "hang"
                except httpx.HTTPError:
                    status = "unanswered"
                self.answers.append((sent, path, status))
            await asyncio.sleep(0.25)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def statuses(self, path: str, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        return Counter(s for t, p, s in self.answers if p == path and since <= t < until)

    def first(self, path: str, since: float, status: int) -> float:
        """When the first ``status`` answer to ``path`` asked from ``since`` on was sent."""
        return min(
            (t for t, p, s in self.answers if p == path and t >= since and s == str(status)),
            default=float("inf"),
        )


def shown(took: float | None) -> str:
    return "never (for some)" if took is None else f"{took:.1f} s"


async def burst(client: httpx.AsyncClient, account: Account, count: int) -> Counter[str]:
    """``count`` one-recipient orders at once; their answers."""

    async def one(i: int) -> str:
        request = order_request(account, [number(42, 9_000_000 + i)], f"burst {i}")
        try:
            status, _ = await call(client, "send-sms", request)
        except Unanswered:
            return "unanswered"
        return str(status)

    return Counter(await asyncio.gather(*(one(i) for i in range(count))))


def start_redis(port: int, logdir: Path) -> subprocess.Popen[bytes]:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise RuntimeError("redis-server is not installed")
    proc = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(logdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if redis_cli(port, "PING") == "PONG":
            return proc
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def redis_cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def redis_keys(port: int) -> int:
    out = redis_cli(port, "DBSIZE")
    return int(out) if out.isdigit() else -1


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def fill(path: Path) -> None:
    """Write zeros until the file system is full."""
    chunk = b"\0" * (64 << 10)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, chunk) > 0:
                pass
        with contextlib.suppress(OSError):
            os.write(fd, b"\0" * 512)  # the last partial block
    finally:
        os.close(fd)


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
    with contextlib.suppress(OSError):
        path.rmdir()


class Receiver:
    """A webhook endpoint on 127.0.0.1: ``good`` answers 200 at once, ``hang`` never
    answers, ``huge`` answers 200 with ``size`` bytes of body."""

    def __init__(self, kind: str, size: int = 0) -> None:
        self.kind = kind
        self.size = size
        self.bodies: list[tuple[float, bytes]] = []
        self.url = ""
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=256)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = line.decode("latin-1").split(":", 1)
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.bodies.append((time.monotonic(), body))
                if self.kind == "hang":
                    await asyncio.sleep(3600)
                if self.kind == "huge":
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode())
                    chunk = b"x" * (1 << 20)
                    for _ in range(self.size >> 20):
                        writer.write(chunk)
                        await writer.drain()
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self.tasks.discard(task)
            writer.close()

    def reports(self, status: str) -> list[tuple[float, dict[str, Any]]]:
        import json

        out = []
        for at, body in self.bodies:
            with contextlib.suppress(ValueError, KeyError):
                report = json.loads(body)["report"]
                if report["status"] == status:
                    out.append((at, report))
        return out

    def latest(self, status: str, sent_at: dict[int, float]) -> float | None:
        """The longest time from an order's send to its first report ``status`` (None
        if one never came)."""
        took: dict[int, float] = {}
        for at, r in self.reports(status):
            if r["packet_id"] in sent_at:
                took.setdefault(r["packet_id"], at - sent_at[r["packet_id"]])
        if not sent_at or len(took) < len(sent_at):
            return None
        return max(took.values())


def main() -> int:
    args = arguments(__doc__ or "")
    proof = Proof("faults", args.seed)
    with databases(args, "faults") as found, tempfile.TemporaryDirectory() as logs:
        for db in found:
            run = Run(proof, db, Path(logs), args.quick)
            try:
                asyncio.run(run.run())
            except Exception as exc:
                traceback.print_exc()
                proof.anomaly(f"[{db.backend}] the run failed: {exc!r}")
            finally:
                for server in run.servers:
                    if server.proc.poll() is None:
                        server.kill()
                for cleanup in run.cleanups:
                    with contextlib.suppress(Exception):
                        cleanup()
    return proof.finish()


if __name__ == "__main__":
    sys.exit(main())
