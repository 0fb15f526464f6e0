"""get-blacklist latency over HTTP with 1,000,000 entries in one account, and the
server's memory after serving it.

    .venv/bin/python bench/get_blacklist.py [--database URL] [--entries 1000000]
        [--requests 50] [--seconds 10] [--connections 4]

Fills one account of a fresh database with ``--entries`` numbers through the store's
own bulk add, then VACUUM ANALYZE on PostgreSQL as an import does (200 blocked-at
times an hour apart, 5,000 numbers each, so that date filters select real ranges).
Starts the real server (``ileti serve``, one worker) and, over one keep-alive HTTP
connection, times ``--requests`` requests per page (after 3 warm-ups): from sending to
the last byte of the body, each answer checked for code 200, count and page size.
Pages: first, middle, last and some between; then the count with ``filter.start`` /
``filter.end`` (first and last page of each filtered range). The same client against
the bare-ASGI baseline gives the floor of one request. A ``wrk`` run of random pages
(``get-blacklist.lua``), alternated with the baseline, gives the throughput and its
ratio to the baseline measured in the same run. Last, the server's VmRSS and VmHWM
from /proc/PID/status.

Targets: every page <= 50 ms; server RSS <= 200 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import harness

TARGET_MS = 50.0  # issue: any page of 1000 <= 50 ms
TARGET_RSS_MB = 200.0  # issue: <= 200 MB RSS with 1,000,000 entries
HOUR = 3_600_000_000  # microseconds
ROWS = 1000
SLOTS = 200  # distinct blocked-at times, an hour apart
WARMUP = 3


def populate(database_url: str, account_id: int, entries: int, *, slots: int = SLOTS) -> int:
    """``entries`` numbers in ``slots`` blocked-at times an hour apart; the first time."""
    from ileti import clock
    from ileti.config import Settings
    from ileti.store import Store
    from ileti.store import blacklist as blacklist_store

    stored = [int("90" + n) for n in harness.mobile_numbers(entries, seed=2)]
    per_slot = -(-entries // slots)
    first = (clock.now_us() // HOUR - slots) * HOUR
    store = Store(Settings(database_url=database_url))
    try:

        def load(conn: Any) -> str | None:
            for slot in range(slots):
                chunk = stored[slot * per_slot : (slot + 1) * per_slot]
                blacklist_store.add_many(
                    conn, account_id, chunk, blocked_at=first + slot * HOUR, source="import"
                )
            return blacklist_store.bulk_add_marker(conn)

        marker = store.write_sync(load)
        blacklist_store.after_bulk_add(store.writer_engine, marker)
    finally:
        store.close()
    return first


class Client:
    """One keep-alive HTTP/1.1 connection; times send -> last byte of the body."""

    def __init__(self, port: int, path: str, account: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.auth = {"key": account["key"], "hash": account["hash"]}

    def call(self, query: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        body = json.dumps({"request": {"authentication": self.auth, "blacklist": query}})
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        self.conn.request("POST", self.path, body.encode(), headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status} for {query}: {data[:200]!r}")
        return elapsed, json.loads(data)

    def timed(self, query: dict[str, Any], requests: int) -> tuple[list[float], dict[str, Any]]:
        for _ in range(WARMUP):
            _, answer = self.call(query)
        times = []
        for _ in range(requests):
            elapsed, answer = self.call(query)
            times.append(elapsed)
        return times, answer

    def close(self) -> None:
        self.conn.close()


def check_page(answer: dict[str, Any], count: int | None, size: int) -> dict[str, Any]:
    found = answer["response"]["blacklist"]
    if answer["response"]["status"]["code"] != 200:
        raise SystemExit(f"unexpected answer: {answer['response']['status']}")
    if count is not None and found["count"] != count:
        raise SystemExit(f"count {found['count']}, expected {count}")
    if len(found["number"]) != size:
        raise SystemExit(f"{len(found['number'])} numbers on a page, expected {size}")
    return found


def row(label: str, times: list[float], extra: str = "") -> str:
    median = harness.median(times)
    p99 = harness.percentile(times, 0.99)
    flag = "" if p99 <= TARGET_MS else "  > target"
    return f"  {label:34} median {median:6.2f} ms  p99 {p99:6.2f} ms{extra}{flag}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds (0: skip wrk)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    args = parser.parse_args()

    from ileti.clock import format_local

    with harness.database(args.database) as url:
        backend = harness.backend(url)
        account = harness.create_account(url)
        started = time.perf_counter()
        first = populate(url, int(account["id"]), args.entries)
        print(
            f"filled one account with {args.entries:,} entries ({backend}) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        pages = -(-args.entries // ROWS)
        port, base_port = harness.free_port(), harness.free_port()
        with harness.ileti_serve(port, url) as proc:
            assert isinstance(proc, subprocess.Popen)
            idle = harness.rss_kb(proc.pid)
            client = Client(port, "/v1/get-blacklist/json", account)
            print(f"\nget-blacklist, {args.requests} requests per line, rowCount {ROWS}")
            worst = 0.0
            seen: dict[int, set[str]] = {}
            for page in sorted(
                {1, 2, pages // 4, pages // 2, pages // 2 + 1, 3 * pages // 4, pages - 1, pages}
            ):
                times, answer = client.timed({"page": page, "rowCount": ROWS}, args.requests)
                size = min(ROWS, args.entries - (page - 1) * ROWS)
                found = check_page(answer, args.entries, size)
                seen[page] = set(found["number"])
                worst = max(worst, harness.percentile(times, 0.99))
                print(row(f"page {page:>5} of {pages}", times), flush=True)
            middle = pages // 2
            if seen[middle] & seen[middle + 1]:
                raise SystemExit("pages overlap")

            print("\ncount with filters (filter.start / filter.end)")

            def slot(n: int) -> str:
                return format_local(first + n * HOUR)

            filters = {
                "last 10 hours (start)": {"start": slot(SLOTS - 10)},
                "a day, mid (start+end)": {"start": slot(SLOTS // 2), "end": slot(SLOTS // 2 + 23)},
                "first half (end)": {"end": slot(SLOTS // 2 - 1)},
                "everything (start)": {"start": slot(0)},
            }
            for label, window in filters.items():
                times, answer = client.timed({"filter": window, "page": 1}, args.requests)
                count = answer["response"]["blacklist"]["count"]
                check_page(answer, None, min(ROWS, count))
                print(row(f"{label}, page 1", times, f"  count {count:,}"), flush=True)
                last = max(1, -(-count // ROWS))
                if last == 1:
                    continue
                times, answer = client.timed({"filter": window, "page": last}, args.requests)
                check_page(answer, count, count - (last - 1) * ROWS)
                print(row(f"{label}, page {last}", times), flush=True)
            client.close()

            with harness.baseline(base_port):
                floor = Client(base_port, "/v1/get-blacklist/json", account)
                times = []
                for _ in range(WARMUP + args.requests):
                    started = time.perf_counter()
                    floor.conn.request("POST", floor.path, b"{}", {})
                    floor.conn.getresponse().read()
                    times.append((time.perf_counter() - started) * 1000)
                floor.close()
                print(f"\n{row('baseline (constant body), floor', times[WARMUP:])}")

                throughput: dict[str, list[float]] = {"baseline": [], "ileti": []}
                if args.seconds > 0:
                    harness.require_wrk()
                    script = Path(__file__).with_name("get-blacklist.lua")
                    env = {"KEY": account["key"], "HASH": account["hash"], "PAGES": str(pages)}
                    for name, at in (
                        ("baseline", base_port),
                        ("ileti", port),
                        ("baseline", base_port),
                        ("ileti", port),
                    ):
                        run = harness.wrk(
                            f"http://127.0.0.1:{at}/v1/get-blacklist/json",
                            script,
                            args.seconds,
                            args.connections,
                            env,
                        )
                        if name == "ileti" and run["non2xx"]:
                            raise SystemExit("ileti answered some get-blacklist with an error")
                        throughput[name].append(run["rps"])
                        print(
                            f"  wrk {name:8} random pages -c{args.connections}: "
                            f"{run['rps']:8.0f} req/s  p99 {run['p99_ms']:6.2f} ms",
                            flush=True,
                        )
            memory = harness.rss_kb(proc.pid)

    print(f"\nget-blacklist ({backend}, {args.entries:,} entries, `ileti serve`, one worker)")
    print(f"  machine                    : {harness.machine()}")
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"  worst p99 of any page      : {worst:6.2f} ms  ({verdict} the 50 ms target)")
    if throughput["ileti"]:
        ours = harness.median(throughput["ileti"])
        base = harness.median(throughput["baseline"])
        print(f"  random pages               : {ours:6.0f} req/s (baseline {base:.0f})")
        print(f"  ratio ileti/baseline       : {ours / base:.3f}")
    rss_mb = memory["VmRSS"] / 1024
    verdict = "meets" if rss_mb <= TARGET_RSS_MB else "MISSES"
    print(f"  server RSS after serving   : {rss_mb:6.1f} MB  ({verdict} the 200 MB target)")
    print(f"  server peak RSS (VmHWM)    : {memory['VmHWM'] / 1024:6.1f} MB")
    print(f"  server RSS idle at start   : {idle['VmRSS'] / 1024:6.1f} MB")


if __name__ == "__main__":
    main()
