"""The relay (issue 13): its overhead, and 10,000 orders relayed while an instance is
SIGKILLed, counted against the upstream's own data.

    .venv/bin/python bench/relay.py [--database URL] [--rounds 20] [--recipients 1000]
        [--orders 10000] [--kills 4]

The upstream is another ``ileti serve`` with a database of its own; the local database
is a fresh one of the same kind (new SQLite files, or new schemas on the PostgreSQL
server of ``--database``). One local account relays to one upstream account (its
upstream set through the relay settings, its hash sealed with ``ILETI_SECRET_KEY``).

a. **Overhead**: ``--rounds`` send-sms of ``--recipients`` numbers each (after one
   warm-up) to one local instance; for each, the time from the order's acceptance (its
   ``submit_at``) to the upstream having stored it (its batch's ``sent_at``, recorded
   once the upstream answered 200), both local microseconds. Beside it, the baseline:
   the same order sent straight to the upstream, timed from sending the request to the
   last byte of the answer, alternating with the relayed rounds. Each relayed order is
   checked at the upstream: its get-report total is ``--recipients``.
b. **Crashes**: ``--orders`` send-sms (a text of its own each, one or two recipients
   from a pool of 50) spread over two local instances sharing the local database, 16 at
   a time; instance 0 is SIGKILLed ``--kills`` times at random points and started again
   on the same database. An order whose answer a kill lost is sent again to the other
   instance (200, or 451: the first try was stored). At the end, once every batch is
   settled: each accepted order's text is looked up in the upstream's database: lost
   (not there), sent twice (there more than once); the batches failed; the time from
   the first send-sms to the last batch settled, and orders/s.

Targets: overhead <= 200 ms; 0 lost, 0 sent twice (PostgreSQL; without ``--database``
part b runs on SQLite, which serialises the two instances' writes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness
import httpx
import sqlalchemy as sa
from send_sms import Api

from ileti.store.engine import normalize_url

TARGET_MS = 200.0
SECRET = "bench-relay-" + uuid.uuid4().hex
SETTLED = ("sent", "done")
POOL = ["+90" + n for n in harness.mobile_numbers(50, seed=7)]


class Instance:
    """One ``ileti serve`` process on a database, in a process group of its own."""

    def __init__(self, database: str, env: dict[str, str], log: Path) -> None:
        self.database, self.env, self.log = database, env, log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = harness.free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(harness.VENV_BIN / "ileti"),
                    *("--database", self.database, "serve", "--port", str(self.port)),
                ],
                # No rate limit: what is measured is the relay, not the limiter.
                env={**clean, "ILETI_LOG_LEVEL": "warning", "ILETI_RATE_LIMIT": "0", **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"ileti serve exited; see {self.log}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1),
            ):
                return
            time.sleep(0.05)
        raise SystemExit(f"ileti serve did not come up; see {self.log}")

    def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def running(instance: Instance) -> Iterator[Instance]:
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def create_account(database: str, name: str, credits: int) -> dict[str, Any]:
    return json.loads(
        harness.ileti_cli(
            database,
            *("account", "create", name, "--sender", "ILETI", "--balance", str(credits)),
            "--json",
        ).stdout
    )


def set_upstream(database: str, account_id: int, base_url: str, up: dict[str, Any]) -> None:
    """The local account in relay mode to ``up`` (the relay settings' own checks and test
    call), from an instance in this process whose loops do not run."""
    from ileti.api.runtime import Runtime
    from ileti.config import Settings

    async def run() -> None:
        settings = Settings(
            database_url=database,
            secret_key=(SECRET,),
            relay_poll_seconds=0,
            delivery_poll_seconds=0,
        )
        rt = Runtime.build(settings)
        await rt.start()
        try:
            await rt.relay_settings.set(
                account_id, base_url=base_url, key=up["key"], hash=up["hash"], mode="relay"
            )
        finally:
            await rt.stop()

    asyncio.run(run())


def order(text: str, numbers: list[str]) -> dict[str, Any]:
    return {
        "order": {
            "sender": "ILETI",
            "sendDateTime": "",
            "iys": "0",
            "message": {"text": text, "receipents": {"number": numbers}},
        }
    }


# -- what the databases hold ----------------------------------------------------------------


class Reader:
    """Plain reads of a database (what is committed)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(normalize_url(url))

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def close(self) -> None:
        self.engine.dispose()


def relay_timing(local: Reader, order_id: int) -> tuple[str, int] | None:
    """(upstream order id, sent_at - submit_at in µs) once the order's batch is sent."""
    found = local.rows(
        "SELECT b.state, b.upstream_id, b.sent_at, o.submit_at FROM relay_batches b "
        "JOIN orders o ON o.id = b.order_id WHERE b.order_id = :id",
        id=order_id,
    )
    if len(found) != 1 or found[0].state not in SETTLED:
        if found and found[0].state == "failed":
            raise SystemExit(f"order {order_id}: its batch failed")
        return None
    row = found[0]
    return row.upstream_id, int(row.sent_at - row.submit_at)


def batch_states(local: Reader) -> Counter[str]:
    return Counter(
        {
            r.state: int(r.n)
            for r in local.rows("SELECT state, COUNT(*) AS n FROM relay_batches GROUP BY state")
        }
    )


def failures(local: Reader) -> Counter[str]:
    """Why batches failed: each error, how many."""
    return Counter(
        f"{r.error_code} {r.error}"
        for r in local.rows("SELECT error_code, error FROM relay_batches WHERE state = 'failed'")
    )


def upstream_texts(upstream: Reader, account_id: int) -> Counter[str]:
    """How many upstream orders carry each text."""
    return Counter(
        r.text
        for r in upstream.rows(
            "SELECT t.text FROM order_texts t JOIN orders o ON o.id = t.order_id "
            "WHERE o.account_id = :a",
            a=account_id,
        )
    )


# -- a. overhead ---------------------------------------------------------------------------


def overhead(args: argparse.Namespace, up_port: int, local_port: int, accounts: Any) -> None:
    up_account, local_account, local_db = accounts
    direct, relayed = Api(up_port, up_account), Api(local_port, local_account)
    reader = Reader(local_db)
    baseline: list[float] = []
    through: list[float] = []
    try:
        for round_no in range(args.rounds + 1):
            numbers = ["+90" + n for n in harness.mobile_numbers(args.recipients, seed=round_no)]
            seconds, answer = direct.call("send-sms", order(f"direct {round_no}", numbers))
            if answer["status"]["code"] != 200:
                raise SystemExit(f"upstream send-sms answered {answer['status']}")
            _, answer = relayed.call("send-sms", order(f"relayed {round_no}", numbers))
            if answer["status"]["code"] != 200:
                raise SystemExit(f"local send-sms answered {answer['status']}")
            order_id = int(answer["order"]["id"])
            deadline = time.monotonic() + 60
            while (found := relay_timing(reader, order_id)) is None:
                if time.monotonic() > deadline:
                    raise SystemExit(f"order {order_id} not relayed within 60 s")
                time.sleep(0.005)
            upstream_id, after_us = found
            _, got = direct.call("get-report", {"order": {"id": upstream_id, "rowCount": 1}})
            if got["order"]["total"] != args.recipients:
                raise SystemExit(f"upstream order {upstream_id}: {got['order']}")
            if round_no:
                baseline.append(seconds * 1000)
                through.append(after_us / 1000)
            time.sleep(0.2)  # the upstream's carrier takes the order on
    finally:
        direct.close()
        relayed.close()
        reader.close()
    median, p95 = harness.median(through), harness.percentile(through, 0.95)
    base = harness.median(baseline)
    print(f"\na. relay overhead ({args.recipients:,} recipients, {args.rounds} rounds)")
    print(
        f"  accepted -> stored upstream: median {median:.0f} ms  p95 {p95:.0f} ms  "
        f"worst {max(through):.0f} ms  (target <= {TARGET_MS:.0f} ms: "
        f"{'met' if p95 <= TARGET_MS else 'MISSED'})"
    )
    print(
        f"  baseline, send-sms straight to the upstream: median {base:.0f} ms  "
        f"p95 {harness.percentile(baseline, 0.95):.0f} ms  (relay / baseline: "
        f"{median / base:.2f})"
    )


# -- b. crashes ------------------------------------------------------------------------------


async def send_orders(
    instances: list[Instance],
    texts: list[tuple[str, list[str]]],
    auth: dict[str, str],
    settled: dict[str, int],
) -> None:
    """Every order sent until answered 200 (or 451 after a lost answer), to the instances
    in turn, the next one after a failure; ``settled``: text -> the status that settled
    it, filled as they go."""
    queue = list(reversed(texts))
    turn = iter(range(10**9))

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while queue:
                text, numbers = queue.pop()
                while True:
                    instance = instances[next(turn) % len(instances)]
                    body = {"request": {"authentication": auth, **order(text, numbers)}}
                    try:
                        reply = await http.post(f"{instance.url}/v1/send-sms/json", json=body)
                    except httpx.HTTPError:
                        await asyncio.sleep(0.02)
                        continue
                    code = reply.json()["response"]["status"]["code"]
                    if code in (200, 451):
                        settled[text] = code
                        break
                    if code != 503:
                        raise SystemExit(f"send-sms answered {code}: {reply.text[:200]}")
                    await asyncio.sleep(0.05)

    await asyncio.gather(*(worker() for _ in range(16)))


async def killing(
    instance: Instance, kills: int, texts: int, done: dict[str, int], local: Reader
) -> list[int]:
    """SIGKILL ``instance`` ``kills`` times while the orders go out, each at a random
    share of them, and start it again; the batches unsettled (pending or being sent)
    at each kill."""
    marks = sorted(random.uniform(0.1, 0.9) * texts for _ in range(kills))
    unsettled: list[int] = []
    for mark in marks:
        while len(done) < mark:
            await asyncio.sleep(0.01)
        await asyncio.sleep(random.uniform(0, 0.3))
        instance.kill()
        states = await asyncio.to_thread(batch_states, local)
        unsettled.append(states["pending"] + states["sending"])
        await asyncio.to_thread(instance.start)
    return unsettled


def crashes(args: argparse.Namespace, local_db: str, up_db: str, accounts: Any, logs: Path) -> None:
    up_account, local_account = accounts
    env = {
        "ILETI_SECRET_KEY": SECRET,
        "ILETI_RELAY_TIMEOUT_SECONDS": "2",
        "ILETI_RELAY_POLL_SECONDS": "0.1",
        "ILETI_RELAY_REPORT_SECONDS": "60",
    }
    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    texts = [
        (f"relay bench {run} #{i}", rng.sample(POOL, rng.randint(1, 2))) for i in range(args.orders)
    ]
    auth = {"key": local_account["key"], "hash": local_account["hash"]}
    first = Instance(local_db, env, logs / "local-0.log")
    second = Instance(local_db, env, logs / "local-1.log")
    local, upstream = Reader(local_db), Reader(up_db)
    try:
        with running(first), running(second):
            started = time.monotonic()

            settled: dict[str, int] = {}

            async def both() -> list[int]:
                sending = send_orders([first, second], texts, auth, settled)
                _, kills = await asyncio.gather(
                    sending, killing(first, args.kills, len(texts), settled, local)
                )
                return kills

            kills = asyncio.run(both())
            accepted_in = time.monotonic() - started
            deadline = time.monotonic() + 900
            while (states := batch_states(local))["pending"] + states["sending"]:
                if time.monotonic() > deadline:
                    raise SystemExit(f"batches not settled within 900 s: {dict(states)}")
                time.sleep(0.2)
            took = time.monotonic() - started
        received = upstream_texts(upstream, up_account["id"])
        mine = {text for text, _ in texts}
        lost = sum(1 for text in mine if received[text] == 0)
        twice = sum(1 for text in mine if received[text] > 1)
        failed = states["failed"]
        why = failures(local)
    finally:
        local.close()
        upstream.close()
    backend = harness.backend(local_db)
    print(
        f"\nb. {args.orders:,} orders through two instances on one {backend} database, "
        f"one SIGKILLed {len(kills)} times (batches unsettled at each kill: "
        f"{', '.join(map(str, kills))})"
    )
    if backend == "sqlite":
        print("  (no --database given: SQLite; give a PostgreSQL URL for the target's setup)")
    print(
        f"  lost: {lost}  sent twice: {twice}  batches failed: {failed}  "
        f"answered 451 after a lost answer: {sum(1 for c in settled.values() if c == 451)}  "
        f"(target: 0 lost, 0 sent twice: {'met' if lost == twice == 0 else 'MISSED'})"
    )
    for error, count in why.most_common(5):
        print(f"  failed ({count}): {error}")
    print(
        f"  accepted in {accepted_in:.1f} s; every batch settled {took:.1f} s after the first "
        f"send-sms: {args.orders / took:.0f} orders/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (default: fresh SQLite files)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=4)
    args = parser.parse_args()
    with (
        harness.database(args.database) as up_db,
        harness.database(args.database) as local_db,
        tempfile_dir() as logs,
    ):
        credits = (args.rounds + 1) * args.recipients * 2 + args.orders * 2 + 1
        up_account = create_account(up_db, "provider", credits)
        local_account = create_account(local_db, "app", credits)
        upstream = Instance(up_db, {}, logs / "upstream.log")
        with running(upstream):
            set_upstream(local_db, local_account["id"], f"{upstream.url}/v1/", up_account)
            local = Instance(local_db, {"ILETI_SECRET_KEY": SECRET}, logs / "local.log")
            with running(local):
                overhead(args, upstream.port, local.port, (up_account, local_account, local_db))
            crashes(args, local_db, up_db, (up_account, local_account), logs)
    print(f"  machine: {harness.machine()}")


@contextlib.contextmanager
def tempfile_dir() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ileti-bench-relay-") as found:
        yield Path(found)


if __name__ == "__main__":
    main()
