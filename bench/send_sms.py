"""send-sms with 50,000 recipients to an account holding 1,000,000 blacklisted numbers:
the time to accept it (validated, filtered against the blacklist, charged, stored) over
HTTP against the real server.

    .venv/bin/python bench/send_sms.py [--database URL] [--blacklist 1000000]
        [--recipients 50000] [--listed 5000] [--rounds 5]

Fills one account of a fresh database (a new SQLite file, or a new schema on the
PostgreSQL server of ``--database``) with ``--blacklist`` numbers through the store's
bulk add (as get_blacklist.py does), starts the real server (``ileti serve``, one
worker, the simulated carrier running), and over one keep-alive HTTP connection sends
``--rounds`` JSON send-sms requests (after one warm-up) of ``--recipients`` numbers each,
``--listed`` of them on the blacklist. Each is timed from sending the request to the
last byte of the answer, and checked: 200, then get-report shows every recipient, the
blacklisted ones 112, and the balance fell by exactly the charged recipients. Between
rounds the carrier is left to finish the previous order (report status 114), so each
request is timed on a quiet server. A different text per round avoids 451.

Target: <= 1 s per request, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import time
from typing import Any

import get_blacklist
import harness

TARGET_S = 1.0


class Api:
    """One keep-alive HTTP/1.1 connection to the v1 JSON API."""

    def __init__(self, port: int, account: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.auth = {"key": account["key"], "hash": account["hash"]}

    def call(self, action: str, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """(seconds from sending to the last byte, the ``response`` object)."""
        body = json.dumps({"request": {"authentication": self.auth, **request}}).encode()
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        self.conn.request("POST", f"/v1/{action}/json", body=body, headers=headers)
        answer = self.conn.getresponse()
        data = answer.read()
        elapsed = time.perf_counter() - started
        response = json.loads(data)["response"]
        if answer.status != response["status"]["code"]:
            raise SystemExit(f"HTTP {answer.status} but body {response['status']}")
        return elapsed, response

    def close(self) -> None:
        self.conn.close()


def recipients(blacklisted: list[str], count: int, listed: int, seed: int) -> list[str]:
    """``count`` numbers as +905XXXXXXXXX: ``listed`` from the blacklist, the rest not."""
    rng = random.Random(seed)
    chosen = rng.sample(blacklisted, listed)
    taken = set(blacklisted)
    fresh: list[str] = []
    for number in harness.mobile_numbers(count * 2, seed=seed + 1000):
        if number not in taken:
            fresh.append(number)
            if len(fresh) == count - listed:
                break
    out = ["+90" + n for n in chosen + fresh]
    rng.shuffle(out)
    return out


def wait_finished(api: Api, order_id: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, response = api.call("get-report", {"order": {"id": order_id, "rowCount": 1}})
        if response["order"]["status"] == 114:
            return
        time.sleep(0.5)
    raise SystemExit(f"order {order_id} not delivered within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--blacklist", type=int, default=1_000_000)
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--listed", type=int, default=5_000, help="recipients on the blacklist")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with harness.database(args.database) as database:
        run(args, database)


def run(args: argparse.Namespace, database: str) -> None:
    backend = harness.backend(database)
    credits = args.recipients * (args.rounds + 1) + 1
    account = json.loads(
        harness.ileti_cli(
            database,
            "account",
            "create",
            "bench",
            "--sender",
            "ILETI",
            "--balance",
            str(credits),
            "--rate-limit",
            str(min(args.recipients * 20, 1_000_000)),  # acceptance is measured, not the limiter
            "--json",
        ).stdout
    )
    started = time.perf_counter()
    get_blacklist.populate(database, account["id"], args.blacklist)
    print(f"{args.blacklist:,} blacklisted numbers loaded in {time.perf_counter() - started:.1f} s")
    blacklisted = harness.mobile_numbers(args.blacklist, seed=2)  # what populate stored

    port = harness.free_port()
    timings: list[float] = []
    with harness.ileti_serve(port, database):
        api = Api(port, account)
        try:
            balance = credits
            for round_no in range(args.rounds + 1):
                numbers = recipients(blacklisted, args.recipients, args.listed, seed=round_no)
                order = {
                    "sender": "ILETI",
                    "sendDateTime": "",
                    "iys": "0",
                    "message": {
                        "text": f"Kampanya {round_no}: bu ay tüm ürünlerde indirim.",
                        "receipents": {"number": numbers},
                    },
                }
                seconds, response = api.call("send-sms", {"order": order})
                if response["status"]["code"] != 200:
                    raise SystemExit(f"send-sms answered {response['status']}")
                order_id = response["order"]["id"]
                _, got = api.call("get-report", {"order": {"id": order_id, "rowCount": 1}})
                got = got["order"]
                charged = args.recipients - args.listed
                if (got["total"], got["undelivered"], got["price"]) != (
                    args.recipients,
                    args.listed,
                    charged,
                ):
                    raise SystemExit(f"unexpected report: {got}")
                _, money = api.call("get-balance", {})
                balance -= charged
                if money["balance"]["sms"] != balance:
                    raise SystemExit(f"balance {money['balance']['sms']}, expected {balance}")
                label = "warm-up" if round_no == 0 else f"round {round_no}"
                print(f"{label:8}: accepted in {seconds * 1000:7.1f} ms", flush=True)
                if round_no:
                    timings.append(seconds)
                wait_finished(api, order_id)
        finally:
            api.close()

    best, median, worst = min(timings), harness.median(timings), max(timings)
    print(
        f"\nsend-sms ({backend}, {args.recipients:,} recipients, {args.listed:,} of them "
        f"among {args.blacklist:,} blacklisted, one worker)"
    )
    print(
        f"  accept time: median {median * 1000:.0f} ms  best {best * 1000:.0f} ms  "
        f"worst {worst * 1000:.0f} ms  (target <= {TARGET_S * 1000:.0f} ms: "
        f"{'met' if worst <= TARGET_S else 'MISSED'})"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load}")


if __name__ == "__main__":
    main()
