"""get-report of a 50,000-message order over HTTP: first, middle and last page of 1000.

    .venv/bin/python bench/get_report.py [--database URL] [--messages 50000]
        [--requests 50]

In a fresh database (a new SQLite file, or a new schema on the PostgreSQL server of
``--database``), one account sends one order of ``--messages`` recipients through the
real server (``ileti serve``, one worker, the simulated carrier running); 1% of them are
blacklisted first so the order mixes 111 and 112. Once the carrier has delivered it
(status 114), ``--requests`` get-report requests per page (after 3 warm-ups) are timed
over one keep-alive connection, from sending to the last byte, each checked for code
200, the whole-order counters and a full page.

Target: every page <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os

import harness
from send_sms import Api, wait_finished

TARGET_MS = 50.0
ROWS = 1000
WARMUP = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with harness.database(args.database) as database:
        run(args, database)


def run(args: argparse.Namespace, database: str) -> None:
    backend = harness.backend(database)
    account = json.loads(
        harness.ileti_cli(
            database,
            "account",
            "create",
            "bench",
            "--sender",
            "ILETI",
            "--balance",
            str(args.messages),
            "--json",
        ).stdout
    )
    numbers = ["+90" + n for n in harness.mobile_numbers(args.messages, seed=3)]
    listed = numbers[::100]
    port = harness.free_port()
    pages = sorted({1, (args.messages // ROWS + 1) // 2, -(-args.messages // ROWS)})
    results: dict[int, list[float]] = {}
    with harness.ileti_serve(port, database):
        api = Api(port, account)
        try:
            for number in listed:
                _, response = api.call("add-blacklist", {"blacklist": {"number": number}})
                assert response["status"]["code"] == 200, response
            order = {
                "sender": "ILETI",
                "iys": "0",
                "message": {"text": "Rapor deneme", "receipents": {"number": numbers}},
            }
            _, response = api.call("send-sms", {"order": order})
            if response["status"]["code"] != 200:
                raise SystemExit(f"send-sms answered {response['status']}")
            order_id = response["order"]["id"]
            wait_finished(api, order_id)
            expected = (args.messages, args.messages - len(listed), len(listed), 0)
            for page in pages:
                size = min(ROWS, args.messages - (page - 1) * ROWS)
                query = {"order": {"id": order_id, "page": page, "rowCount": ROWS}}
                times: list[float] = []
                for i in range(WARMUP + args.requests):
                    seconds, response = api.call("get-report", query)
                    got = response["order"]
                    counters = (got["total"], got["delivered"], got["undelivered"], got["waiting"])
                    if counters != expected or len(got["message"]) != size:
                        raise SystemExit(f"unexpected report page {page}: {counters}")
                    if i >= WARMUP:
                        times.append(seconds * 1000)
                results[page] = times
        finally:
            api.close()

    print(f"\nget-report ({backend}, one order of {args.messages:,} messages, pages of {ROWS})")
    worst = 0.0
    for page, times in results.items():
        p99 = harness.percentile(times, 0.99)
        worst = max(worst, p99)
        print(
            f"  page {page:3}: median {harness.median(times):6.2f} ms  p99 {p99:6.2f} ms  "
            f"max {max(times):6.2f} ms"
        )
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"  target: every page <= {TARGET_MS:.0f} ms (p99): {verdict}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load}")


if __name__ == "__main__":
    main()
