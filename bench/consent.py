"""İYS consent: consent/create of 5,000 records, and send-sms with iys=1 and 50,000
recipients, against an account holding 1,000,000 consent records and 1,000,000
blacklisted numbers, over HTTP against the real server.

    .venv/bin/python bench/consent.py [--database URL] [--consents 1000000]
        [--blacklist 1000000] [--records 5000] [--recipients 50000] [--rounds 5]

Fills one account (İYS brand code set) of a fresh database (a new SQLite file, or a new
schema on the PostgreSQL server of ``--database``) with ``--blacklist`` numbers (the
store's bulk add, as get_blacklist.py does) and ``--consents`` BIREYSEL MESAJ records
(the store's consent writes; one in 20 a RET), starts the real server (``ileti serve``,
one worker) and over one keep-alive HTTP connection, after one warm-up of each:

- ``--rounds`` consent/create calls of ``--records`` new records each (BIREYSEL MESAJ
  ONAY, HS_WEB, dated a minute before), each checked: 200, then consent/show of its
  last record;
- ``--rounds`` send-sms calls with iys=1, iysList BIREYSEL, of ``--recipients`` numbers:
  90 % with a record (ONAY or RET), 5 % blacklisted, 5 % without any record; each
  checked: 200, get-report's total and undelivered and the price exactly what the
  consent and blacklist say, the balance down by exactly the charged recipients.

Each request is timed from sending it to the last byte of the answer.

Targets: consent/create of 5,000 records <= 300 ms; send-sms <= 1 s; both databases.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import datetime, timedelta
from typing import Any

import get_blacklist
import harness
from send_sms import Api

from ileti.clock import ISTANBUL

BRAND = "696422"
CREATE_TARGET_S = 0.3
SEND_TARGET_S = 1.0
CHUNK = 100_000


def populate_consents(database_url: str, account_id: int, numbers: list[str]) -> set[str]:
    """A BIREYSEL MESAJ record for each of ``numbers`` (E.164), one in 20 a RET, through
    the store's consent writes; the E.164 numbers with a RET."""
    from ileti import clock
    from ileti.config import Settings
    from ileti.models import Consent
    from ileti.store import Store
    from ileti.store import consent as consent_store

    now = clock.now_us()
    dated = now - clock.DAY
    ret = {n for i, n in enumerate(numbers) if i % 20 == 0}
    store = Store(Settings(database_url=database_url))
    try:
        for start in range(0, len(numbers), CHUNK):
            chunk = [
                Consent(n, "BIREYSEL", "MESAJ", "RET" if n in ret else "ONAY", "HS_WEB", dated)
                for n in numbers[start : start + CHUNK]
            ]
            store.write_sync(
                lambda conn, chunk=chunk: consent_store.record(
                    conn, account_id, BRAND, chunk, now=now, origin="import"
                )
            )
        if store.dialect == "postgresql":
            # What autovacuum does after a bulk load (and ileti after a blacklist import):
            # statistics, and all-visible pages for index-only scans of ix_consents_number.
            with store.writer_engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM (ANALYZE) consents")
                conn.exec_driver_sql("VACUUM (ANALYZE) consent_records")
    finally:
        store.close()
    return ret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--blacklist", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=5_000, help="records per consent/create")
    parser.add_argument("--recipients", type=int, default=50_000)
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
            "--brand-code",
            BRAND,
            "--rate-limit",
            str(min(args.recipients * 20, 1_000_000)),  # acceptance is measured, not the limiter
            "--json",
        ).stdout
    )
    started = time.perf_counter()
    get_blacklist.populate(database, account["id"], args.blacklist)
    blacklisted = {"+90" + n for n in harness.mobile_numbers(args.blacklist, seed=2)}
    # consent records for numbers that are not blacklisted
    pool = [
        "+90" + n
        for n in harness.mobile_numbers(args.consents + args.blacklist // 2, seed=3)
        if "+90" + n not in blacklisted
    ]
    consented = pool[: args.consents]
    ret = populate_consents(database, account["id"], consented)
    print(
        f"{args.blacklist:,} blacklisted and {len(consented):,} consent records loaded in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    fresh = iter(n for n in pool[args.consents :])

    port = harness.free_port()
    known, listed = set(consented), sorted(blacklisted)
    create_times: list[float] = []
    send_times: list[float] = []
    with harness.ileti_serve(port, database):
        api = Api(port, account)
        try:
            for round_no in range(args.rounds + 1):
                create_times.append(create_round(api, fresh, args.records, round_no))
            balance = credits
            for round_no in range(args.rounds + 1):
                seconds, charged = send_round(
                    api, args, consented, known, ret, listed, fresh, round_no
                )
                balance -= charged
                _, money = api.call("get-balance", {})
                if money["balance"]["sms"] != balance:
                    raise SystemExit(f"balance {money['balance']['sms']}, expected {balance}")
                send_times.append(seconds)
        finally:
            api.close()

    report(
        f"consent/create ({backend}, {args.records:,} records, account holding "
        f"{len(consented):,} records, one worker)",
        create_times[1:],
        CREATE_TARGET_S,
    )
    report(
        f"send-sms iys=1 ({backend}, {args.recipients:,} recipients against "
        f"{len(consented):,} consent records and {args.blacklist:,} blacklisted, one worker)",
        send_times[1:],
        SEND_TARGET_S,
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load}")


def create_round(api: Api, fresh: Any, count: int, round_no: int) -> float:
    when = (datetime.now(ISTANBUL) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    numbers = [next(fresh) for _ in range(count)]
    records = [
        {
            "recipient": n,
            "recipientType": "BIREYSEL",
            "type": "MESAJ",
            "status": "ONAY",
            "source": "HS_WEB",
            "consentDate": when,
        }
        for n in numbers
    ]
    seconds, response = api.call(
        "consent/create", {"consent": {"brandCode": BRAND, "list": records}}
    )
    if response["status"]["code"] != 200:
        raise SystemExit(f"consent/create answered {response['status']}")
    query = {"brandCode": BRAND, "recipient": numbers[-1], "recipientType": "BIREYSEL"}
    _, shown = api.call("consent/show", {"consent": {**query, "type": "MESAJ"}})
    if shown["consent"]["status"] != "ONAY":
        raise SystemExit(f"consent/show: {shown}")
    label = "warm-up" if round_no == 0 else f"round {round_no}"
    print(f"consent/create {label:8}: {seconds * 1000:7.1f} ms", flush=True)
    return seconds


def send_round(
    api: Api,
    args: argparse.Namespace,
    consented: list[str],
    known: set[str],
    ret: set[str],
    blacklisted: list[str],
    fresh: Any,
    round_no: int,
) -> tuple[float, int]:
    """One send-sms with iys=1; (seconds, recipients charged)."""
    rng = random.Random(round_no)
    listed = args.recipients // 20
    unknown = args.recipients // 20
    with_record = args.recipients - listed - unknown
    numbers = rng.sample(consented, with_record) + rng.sample(blacklisted, listed)
    numbers += [next(fresh) for _ in range(unknown)]
    rng.shuffle(numbers)
    charged = sum(1 for n in numbers if n not in ret and n in known)
    order = {
        "sender": "ILETI",
        "sendDateTime": "",
        "iys": "1",
        "iysList": "BIREYSEL",
        "message": {
            "text": f"Kampanya {round_no}: bu ay tüm ürünlerde indirim.",
            "receipents": {"number": numbers},
        },
    }
    seconds, response = api.call("send-sms", {"order": order})
    if response["status"]["code"] != 200:
        raise SystemExit(f"send-sms answered {response['status']}")
    _, got = api.call("get-report", {"order": {"id": response["order"]["id"], "rowCount": 1}})
    got = got["order"]
    expected = (args.recipients, args.recipients - charged, charged)
    if (got["total"], got["undelivered"], got["price"]) != expected:
        raise SystemExit(f"unexpected report: {got}, expected {expected}")
    label = "warm-up" if round_no == 0 else f"round {round_no}"
    print(f"send-sms iys=1 {label:8}: {seconds * 1000:7.1f} ms", flush=True)
    return seconds, charged


def report(title: str, timings: list[float], target: float) -> None:
    best, median, worst = min(timings), harness.median(timings), max(timings)
    print(f"\n{title}")
    print(
        f"  time: median {median * 1000:.0f} ms  best {best * 1000:.0f} ms  "
        f"worst {worst * 1000:.0f} ms  (target <= {target * 1000:.0f} ms: "
        f"{'met' if worst <= target else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
