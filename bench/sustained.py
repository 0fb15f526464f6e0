"""Sustained sending: 1,000,000 messages accepted from many accounts, all finalised by
the simulated carrier and their webhooks delivered, while add-blacklist is measured.

    .venv/bin/python bench/sustained.py [--database URL] [--messages 1000000]
        [--accounts 100] [--per-order 5000] [--quick]

One real ``ileti serve`` (one worker, ``ILETI_DELIVERY_DELAY=0``) on a fresh database
(a new SQLite file, or a new schema on the PostgreSQL server of ``--database``), its
accounts loaded by ``ILETI_SEED``: ``--accounts`` senders, each with a webhook URL on
a local receiver (``bench/fast_receiver.py``) and no send-sms rate limit to speak of,
and one more account for add-blacklist. Then, at once:

- four threads send ``--messages`` recipients in orders of ``--per-order`` (distinct
  numbers, a different text per order, accounts in turn), each answer checked;
- wrk runs add-blacklist on the other account (two connections) until every webhook
  has arrived, and reports its p99 latency.

Every message yields two webhooks ("accepted" at dispatch, then "delivered"); the
clock runs from the first send-sms until the receiver has counted all of them.

Target (issue 9): all finalised and delivered within 120 s, add-blacklist p99 <= 50 ms
meanwhile, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from hashlib import sha256
from pathlib import Path
from typing import Any

import harness

TARGET_S = 120.0
TARGET_P99_MS = 50.0


def credentials(name: str) -> dict[str, str]:
    key = f"{name}-key"
    secret = f"{name}-secret"
    return {
        "key": key,
        "secret": secret,
        "hash": hmac.new(secret.encode(), key.encode(), sha256).hexdigest(),
    }


def seed_document(accounts: list[str], per_account: int, hook: str) -> dict[str, Any]:
    entries = [
        {
            "name": name,
            "key": credentials(name)["key"],
            "secret": credentials(name)["secret"],
            "senders": ["ILETI"],
            "balance": per_account,
            "webhook_url": hook,
            "rate_limit": 1_000_000,  # the largest allowed: the bench measures delivery
        }
        for name in accounts
    ]
    listing = credentials("listing")
    entries.append({"name": "listing", "key": listing["key"], "secret": listing["secret"]})
    return {"version": 1, "accounts": entries}


def receiver_counts(port: int) -> dict[str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/count")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


class Sender:
    """One keep-alive connection per thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def send(self, account: str, numbers: list[str], text: str) -> float:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        auth = credentials(account)
        body = json.dumps(
            {
                "request": {
                    "authentication": {"key": auth["key"], "hash": auth["hash"]},
                    "order": {
                        "sender": "ILETI",
                        "sendDateTime": "",
                        "iys": "0",
                        "message": {"text": text, "receipents": {"number": numbers}},
                    },
                }
            }
        ).encode()
        started = time.perf_counter()
        conn.request(
            "POST", "/v1/send-sms/json", body=body, headers={"Content-Type": "application/json"}
        )
        answer = conn.getresponse()
        data = json.loads(answer.read())["response"]
        if answer.status != 200 or data["status"]["code"] != 200:
            raise SystemExit(f"send-sms answered HTTP {answer.status}: {data['status']}")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--per-order", type=int, default=5_000)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (s)")
    parser.add_argument("--quick", action="store_true", help="50,000 messages, 20 accounts")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.accounts, args.per_order = 50_000, 20, 2_500
    with harness.database(args.database) as database:
        run(args, database)


def run(args: argparse.Namespace, database: str) -> None:
    backend = harness.backend(database)
    orders = -(-args.messages // args.per_order)
    names = [f"s{i}" for i in range(args.accounts)]
    per_account = -(-orders // args.accounts) * args.per_order
    hook_port, port = harness.free_port(), harness.free_port()
    numbers = ["+90" + n for n in harness.mobile_numbers(args.messages, seed=7)]
    wrk_env = {"KEY": credentials("listing")["key"], "HASH": credentials("listing")["hash"]}
    harness.require_wrk()

    with tempfile.TemporaryDirectory(prefix="ileti-sustained-") as tmp:
        seed = Path(tmp) / "seed.json"
        seed.write_text(
            json.dumps(seed_document(names, per_account, f"http://127.0.0.1:{hook_port}/hook"))
        )
        receiver = subprocess.Popen(
            [sys.executable, str(harness.BENCH / "fast_receiver.py"), str(hook_port)],
            stderr=subprocess.DEVNULL,
        )
        try:
            harness.wait_ready(f"http://127.0.0.1:{hook_port}/count")
            env = {"ILETI_SEED": str(seed), "ILETI_DELIVERY_DELAY": "0"}
            with harness.server(
                [
                    str(harness.VENV_BIN / "ileti"),
                    "--database",
                    database,
                    "serve",
                    "--port",
                    str(port),
                ],
                port,
                env=env,
                ready_path="/healthz",
            ):
                measure(args, backend, port, hook_port, names, numbers, orders, wrk_env)
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)


def measure(
    args: argparse.Namespace,
    backend: str,
    port: int,
    hook_port: int,
    names: list[str],
    numbers: list[str],
    orders: int,
    wrk_env: dict[str, str],
) -> None:
    expected = 2 * args.messages
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c2",
            f"-d{int(args.timeout)}s",
            "--latency",
            "-s",
            str(harness.BENCH / "add-blacklist.lua"),
            f"http://127.0.0.1:{port}/v1/add-blacklist/json",
        ],
        env={**os.environ, **wrk_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # wrk connected and running before the load starts
    sender = Sender(port)
    started = time.perf_counter()
    accept_times: list[float] = []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        jobs = [
            pool.submit(
                sender.send,
                names[i % len(names)],
                numbers[i * args.per_order : (i + 1) * args.per_order],
                f"Sipariş {i}: kargonuz yola çıktı.",
            )
            for i in range(orders)
        ]
        for job in concurrent.futures.as_completed(jobs):
            accept_times.append(job.result())
    accepted_in = time.perf_counter() - started
    print(
        f"{args.messages:,} messages accepted in {accepted_in:.1f} s "
        f"({orders} orders, median {harness.median(accept_times) * 1000:.0f} ms each)",
        flush=True,
    )

    counts: dict[str, int] = {}
    last_report = 0.0
    while True:
        counts = receiver_counts(hook_port)
        got = sum(counts.values())
        elapsed = time.perf_counter() - started
        if got >= expected or elapsed > args.timeout:
            break
        if elapsed - last_report >= 10:
            print(f"  {elapsed:5.0f} s: {got:,} of {expected:,} webhooks", flush=True)
            last_report = elapsed
        time.sleep(0.25)
    done_in = time.perf_counter() - started
    wrk.send_signal(signal.SIGINT)
    out, _ = wrk.communicate(timeout=30)
    stats = harness.parse_wrk(out)

    finished = sum(counts.values()) >= expected
    print(
        f"\nsustained sending ({backend}, one worker, {args.accounts} accounts, "
        f"{harness.machine()})"
    )
    print(f"  webhooks received: {dict(counts)} of {expected:,} expected")
    verdict = "met" if finished and done_in <= TARGET_S else "MISSED"
    print(
        f"  all finalised and delivered in {done_in:.1f} s "
        f"({args.messages / done_in:,.0f} messages/s; target <= {TARGET_S:.0f} s: {verdict})"
    )
    p99_verdict = "met" if stats["p99_ms"] <= TARGET_P99_MS else "MISSED"
    print(
        f"  add-blacklist meanwhile: {stats['rps']:,.0f} req/s, p99 {stats['p99_ms']:.1f} ms "
        f"(target <= {TARGET_P99_MS:.0f} ms: {p99_verdict}), non-2xx {stats['non2xx']:.0f}"
    )
    if not finished:
        raise SystemExit(f"gave up after {args.timeout:.0f} s")


if __name__ == "__main__":
    main()
