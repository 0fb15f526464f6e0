"""The outbox: search by recipient among 1,000,000 messages, and how soon a wait on
one instance answers a message sent through another.

    .venv/bin/python bench/outbox.py [--database URL] [--messages 1000000]
        [--searches 100] [--rounds 50]

(a) Search. In a fresh database (a new SQLite file, or a new schema on the PostgreSQL
server of ``--database``) one account gets ``--messages`` messages, stored directly
through the store's order insert in orders of 50,000 (not over HTTP): 100,000
recipients with about 9 messages each, and one busy number that gets every tenth
message. PostgreSQL is then VACUUM ANALYZEd (as autovacuum would). The plan of the
recipient search is printed (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
Against the real server (``ileti serve``, one worker) ``--searches`` requests
``GET /_ileti/outbox?recipient=...`` (as the account, a different ordinary number each,
written as 05XX...) are timed over one keep-alive connection, from sending to the last
byte, each checked (200, every message to that number); then as many for the busy
number (a full page of 100). The same searches in process, through the store, with the
recipient index and then without it (dropped for the comparison), give the ratio the
index buys.

(b) Wait latency. Two servers (``ileti serve``, one worker each) on the same database:
A and B. Each of ``--rounds`` rounds starts ``GET /_ileti/outbox/wait`` on A (a new
number each round), lets it settle 100 ms, then sends one message to that number
through B's send-sms. The figure is the time from B's 200 (its last byte) to A's
answer (its last byte); A's answer is checked to be B's order.

Targets: a search by recipient <= 50 ms; a wait answers within 50 ms of the message
being stored.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import harness

TARGET_MS = 50.0
PER_ORDER = 50_000
RECIPIENTS = 100_000
BUSY_EVERY = 10
WARMUP = 3
WITHOUT_INDEX = 5  # searches timed without the index (each one scans the table)


def busy_number() -> str:
    return "+905559998877"


def populate(database_url: str, account_id: int, count: int) -> list[str]:
    """``count`` messages in orders of ``PER_ORDER`` through the store; the ordinary
    recipients (E.164)."""
    from ileti import clock
    from ileti.config import Settings
    from ileti.store import Store
    from ileti.store import orders as orders_store
    from ileti.store.orders import NewOrder

    numbers = ["+90" + n for n in harness.mobile_numbers(RECIPIENTS, seed=5)]
    busy = busy_number()
    store = Store(Settings(database_url=database_url))
    now = clock.now_us()
    ordinary = 0
    try:
        for first in range(0, count, PER_ORDER):
            rows = []
            for i in range(first, min(count, first + PER_ORDER)):
                if i % BUSY_EVERY == 0:
                    rows.append((0, busy, 111, None, True))
                else:
                    rows.append((0, numbers[ordinary % RECIPIENTS], 111, None, True))
                    ordinary += 1
            order = NewOrder(
                account_id=account_id,
                sender="ILETI",
                iys=False,
                iys_list=None,
                submit_at=now - (count - first),
                send_at=now - (count - first),
                scheduled=False,
                price=len(rows),
                fingerprint=f"{first:064d}",
                texts=[(f"Doğrulama kodunuz: {first % 1_000_000:06d}", 1)],
                messages=rows,
            )
            store.write_sync(lambda conn, order=order: orders_store.insert_order(conn, order))
    finally:
        store.close()
    if harness.backend(database_url) == "postgresql":
        with admin(database_url) as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return numbers


@contextlib.contextmanager
def admin(database_url: str) -> Iterator[Any]:
    """A connection outside any transaction (VACUUM, DROP INDEX)."""
    import sqlalchemy as sa

    from ileti.store.engine import normalize_url

    engine = sa.create_engine(normalize_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def plan(database_url: str, account_id: int, recipient: str) -> list[str]:
    from ileti.services.outbox import filters
    from ileti.store import outbox as outbox_store

    dialect = harness.backend(database_url)
    with admin(database_url) as conn:
        query = outbox_store.search_query(
            dialect, filters(account_id=account_id, recipient=recipient), 101
        )
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        return [str(row[-1]) for row in conn.exec_driver_sql(explain + sql)]


def in_process(database_url: str, account_id: int, recipients: list[str]) -> list[float]:
    """Milliseconds per search through the store, no HTTP."""
    from ileti.config import Settings
    from ileti.services.outbox import filters
    from ileti.store import Store
    from ileti.store import outbox as outbox_store

    store = Store(Settings(database_url=database_url))
    try:
        times = []
        for recipient in recipients:
            found = filters(account_id=account_id, recipient=recipient)
            started = time.perf_counter()
            store.read_sync(outbox_store.search, found, 101)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        store.close()


class Control:
    """One keep-alive connection to the control API, as the account."""

    def __init__(self, port: int, account: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"X-Ileti-Key": account["key"], "X-Ileti-Hash": account["hash"]}

    def get(self, path: str, **query: str) -> tuple[float, float, int, dict[str, Any]]:
        """(sent at, last byte at, HTTP status, JSON body)."""
        started = time.perf_counter()
        self.conn.request("GET", f"/_ileti/{path}?{urlencode(query)}", headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        return started, time.perf_counter(), response.status, json.loads(data)

    def close(self) -> None:
        self.conn.close()


def search(client: Control, recipient: str, expected: int) -> float:
    """One timed search (ms), checked."""
    started, done, status, body = client.get("outbox", recipient=recipient)
    if status != 200:
        raise SystemExit(f"search {recipient}: HTTP {status} {body}")
    shown = "+90" + recipient[1:] if recipient.startswith("0") else recipient
    if len(body["messages"]) != expected or {m["recipient"] for m in body["messages"]} != {shown}:
        raise SystemExit(f"search {recipient}: {len(body['messages'])} messages, {expected} due")
    return (done - started) * 1000


def expected_count(messages: int, index: int) -> int:
    """How many messages populate gave ordinary recipient number ``index`` (at most a
    page of 100)."""
    ordinary = messages - -(-messages // BUSY_EVERY)
    return min(100, ordinary // RECIPIENTS + (1 if index < ordinary % RECIPIENTS else 0))


def figures(times: list[float]) -> str:
    p50, p99 = harness.median(times), harness.percentile(times, 0.99)
    flag = "" if p99 <= TARGET_MS else "  > target"
    return f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  (max {max(times):7.2f}){flag}"


def bench_search(args: argparse.Namespace, url: str, account: dict[str, str]) -> dict[str, Any]:
    account_id = int(account["id"])
    started = time.perf_counter()
    numbers = populate(url, account_id, args.messages)
    print(
        f"stored {args.messages:,} messages ({harness.backend(url)}) "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rng = random.Random(7)
    picks = rng.sample(range(min(RECIPIENTS, args.messages)), args.searches + WARMUP)
    print("\nplan of a search by recipient (as the account):")
    for line in plan(url, account_id, numbers[picks[0]]):
        print(f"  {line}")
    port = harness.free_port()
    with harness.ileti_serve(port, url):
        client = Control(port, account)
        ordinary = []
        for n, index in enumerate(picks):
            written = "0" + numbers[index][3:]
            elapsed = search(client, written, expected_count(args.messages, index))
            if n >= WARMUP:
                ordinary.append(elapsed)
        busy = [search(client, busy_number(), 100) for _ in range(args.searches + WARMUP)]
        client.close()
    busy = busy[WARMUP:]
    print(f"\nsearch by recipient over HTTP, {args.searches} searches each")
    print(f"  an ordinary number (~9 messages) : {figures(ordinary)}")
    print(f"  the busy number (page of 100)    : {figures(busy)}")
    sample = [numbers[i] for i in picks[WARMUP : WARMUP + WITHOUT_INDEX]]
    with_index = in_process(url, account_id, sample)
    with admin(url) as conn:
        conn.exec_driver_sql("DROP INDEX ix_messages_recipient")
    without = in_process(url, account_id, sample)
    ratio = harness.median(without) / harness.median(with_index)
    print(
        f"\nin process, {WITHOUT_INDEX} searches: with the recipient index p50 "
        f"{harness.median(with_index):.2f} ms, without it p50 {harness.median(without):.1f} ms "
        f"(x{ratio:,.0f})"
    )
    with admin(url) as conn:
        conn.exec_driver_sql("CREATE INDEX ix_messages_recipient ON messages (recipient, id)")
    return {"ordinary": ordinary, "busy": busy, "ratio": ratio}


def send(port: int, account: dict[str, str], number: str, text: str) -> tuple[float, int]:
    """send-sms through a server; (when its answer's last byte came, the order id)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    request = {
        "request": {
            "authentication": {"key": account["key"], "hash": account["hash"]},
            "order": {
                "sender": "ILETI",
                "sendDateTime": "",
                "iys": "0",
                "message": {"text": text, "receipents": {"number": [number]}},
            },
        }
    }
    try:
        conn.request("POST", "/v1/send-sms/json", json.dumps(request).encode())
        response = conn.getresponse()
        body = json.loads(response.read())["response"]
        done = time.perf_counter()
    finally:
        conn.close()
    if response.status != 200:
        raise SystemExit(f"send-sms: HTTP {response.status} {body}")
    return done, int(body["order"]["id"])


def bench_wait(args: argparse.Namespace, url: str, account: dict[str, str]) -> list[float]:
    port_a, port_b = harness.free_port(), harness.free_port()
    latencies = []
    numbers = ["+90" + n for n in harness.mobile_numbers(args.rounds + 1, seed=11)]
    with harness.ileti_serve(port_a, url), harness.ileti_serve(port_b, url):
        waiter = Control(port_a, account)
        for n in range(args.rounds + 1):
            answer: dict[str, Any] = {}

            def wait(number: str = numbers[n], answer: dict[str, Any] = answer) -> None:
                _, done, status, body = waiter.get("outbox/wait", recipient=number, timeout="10")
                answer.update(done=done, status=status, body=body)

            thread = threading.Thread(target=wait)
            thread.start()
            time.sleep(0.1)
            sent, order = send(port_b, account, numbers[n], f"Kodunuz {n:06d}")
            thread.join()
            if answer["status"] != 200 or answer["body"]["message"]["order_id"] != order:
                raise SystemExit(f"round {n}: wait answered {answer['status']} {answer['body']}")
            if n > 0:  # the first round warms both servers up
                latencies.append((answer["done"] - sent) * 1000)
        waiter.close()
    print(f"\nwait on A, send through B ({args.rounds} rounds): B's 200 -> A's answer")
    print(f"  {figures(latencies)}  (min {min(latencies):.2f} ms)")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with harness.database(args.database) as url:
        account = json.loads(
            harness.ileti_cli(
                url,
                "account",
                "create",
                "bench",
                "--sender",
                "ILETI",
                "--balance",
                str(args.rounds + 10),
                "--json",
            ).stdout
        )
        found = bench_search(args, url, account)
        latencies = bench_wait(args, url, account)
    worst = max(harness.percentile(found[k], 0.99) for k in ("ordinary", "busy"))
    wait_p99 = harness.percentile(latencies, 0.99)
    print(f"\noutbox ({harness.backend(url)}, {args.messages:,} messages, `ileti serve`)")
    print(f"  machine                          : {harness.machine()}")
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"  worst search p99                 : {worst:7.2f} ms ({verdict} the 50 ms target)")
    print(f"  search without / with the index  : x{found['ratio']:,.0f}")
    verdict = "meets" if wait_p99 <= TARGET_MS else "MISSES"
    print(f"  wait p99 after the send's 200    : {wait_p99:7.2f} ms ({verdict} the 50 ms target)")


if __name__ == "__main__":
    main()
