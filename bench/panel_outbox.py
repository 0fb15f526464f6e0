"""Panel pages of orders, the sandbox outbox and sandbox control with 1,000,000
messages in the account: each page's time from request to last byte.

    .venv/bin/python bench/panel_outbox.py [--database URL] [--messages 1000000]
        [--per-order 50] [--repeat 20]

A fresh database (as bench/outbox.py makes it) gets one account with ``--messages``
messages in orders of ``--per-order`` (stored through the store's order insert, many
orders a transaction), a few rare ones on top (a scheduled order, another sender),
and a panel user. Against ``ileti serve`` (one worker) a logged-in client asks every
page ``--repeat`` times over one keep-alive connection: the outbox's first page, a
search by recipient, by a sender no message has and by a text no message holds (both
bounded walks), a deep page, a message's page and its row; the order list, filtered
by a sender and a status no order has, a deep page, an order's report; sandbox
control. Each answer is checked (200, the expected content). Times are measured by
the client on the same machine, so they bound the server's time from above.

Target: every page <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time

import harness
import httpx

TARGET_MS = 100.0


def populate(database_url: str, account_id: int, count: int, per_order: int) -> tuple[int, int]:
    """``count`` messages in orders of ``per_order``; (the oldest message id, the
    oldest order's submit cursor)."""
    from ileti import clock
    from ileti.config import Settings
    from ileti.store import Store
    from ileti.store import orders as orders_store
    from ileti.store.orders import NewOrder

    numbers = ["+90" + n for n in harness.mobile_numbers(100_000, seed=7)]
    store = Store(Settings(database_url=database_url))
    now = clock.now_us()
    orders = count // per_order
    batch = max(1, 50_000 // per_order)
    try:
        for first in range(0, orders, batch):
            made = []
            for o in range(first, min(orders, first + batch)):
                rows = [
                    (0, numbers[(o * per_order + i) % len(numbers)], 111, None, True)
                    for i in range(per_order)
                ]
                at = now - (orders - o) * 1000
                made.append(
                    NewOrder(
                        account_id=account_id,
                        sender="ILETI",
                        iys=False,
                        iys_list=None,
                        submit_at=at,
                        send_at=at,
                        scheduled=False,
                        price=per_order,
                        fingerprint=f"{o:064d}",
                        texts=[(f"Doğrulama kodunuz: {o % 1_000_000:06d}", 1)],
                        messages=rows,
                    )
                )

            def write(conn, made=made):  # type: ignore[no-untyped-def]
                for order in made:
                    orders_store.insert_order(conn, order)

            store.write_sync(write)
            print(f"  stored {min(orders, first + batch) * per_order:,} messages", end="\r")
    finally:
        store.close()
    print()
    return 1, now - orders * 1000


def login(client: httpx.Client, email: str, password: str) -> None:
    form = client.get("/panel/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/panel/login", data={"csrf": token.group(1), "email": email, "password": password}
    )
    assert answer.status_code == 303, answer.text
    assert client.get("/panel/").status_code == 200


def timed(client: httpx.Client, path: str, expect: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat + 2):
        start = time.perf_counter()
        answer = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        assert answer.status_code == 200, (path, answer.status_code)
        assert expect in answer.text, (path, expect)
        times.append(elapsed)
    return times[2:]  # the first two warm caches


def setup(url: str, args: argparse.Namespace) -> None:
    """The account, its messages and the panel user."""
    harness.ileti_cli(url, "migrate")
    account = json.loads(
        harness.ileti_cli(
            url, "account", "create", "bench", "--sender", "ILETI", "--balance", "100", "--json"
        ).stdout
    )
    key = account["account"]["key"] if "account" in account else account["key"]
    started = time.monotonic()
    populate(url, 1, args.messages, args.per_order)
    print(f"  populated in {time.monotonic() - started:.0f} s")
    if harness.backend(url) == "postgresql":
        from outbox import admin

        with admin(url) as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    subprocess.run(
        [
            str(harness.VENV_BIN / "ileti"),
            "--database",
            url,
            "user",
            "create",
            "bench@example.com",
            "--account",
            key,
            "--password-stdin",
        ],
        input="bench-password-1\n",
        text=True,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-order", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="the --database SQLite file was filled by an earlier run: only time the pages",
    )
    args = parser.parse_args()
    with harness.database(args.database) as url:
        if not args.reuse:
            setup(url, args)
        port = harness.free_port()
        pages = {
            "outbox, first page": ("/panel/outbox", "outbox-live"),
            "outbox, by recipient": ("/panel/outbox?recipient=0530+000+00+00", "<table"),
            "outbox, rare sender": ("/panel/outbox?sender=NOBODY", "Mesaj yok."),
            "outbox, rare text": ("/panel/outbox?text=yok-boyle-metin", "Mesaj yok."),
            "outbox, deep page": (f"/panel/outbox?before={args.messages // 2}", "outbox-rows"),
            "message page": (f"/panel/outbox/{args.messages // 2}", "Parça dökümü"),
            "message row": (f"/panel/outbox/row/{args.messages // 2}", "<tr"),
            "orders, first page": ("/panel/orders", "Sonraki sayfa"),
            "orders, rare sender": ("/panel/orders?sender=NOBODY", "<h1>Siparişler</h1>"),
            "orders, rare status": ("/panel/orders?status=cancelled", "<h1>Siparişler</h1>"),
            "order report": (f"/panel/orders/{args.messages // args.per_order // 2}", "Alıcılar"),
            "sandbox control": ("/panel/sandbox", "Hata kuralları"),
        }
        base = f"http://127.0.0.1:{port}"
        with harness.ileti_serve(port, url), httpx.Client(base_url=base, timeout=30) as client:
            login(client, "bench@example.com", "bench-password-1")
            results = {
                name: timed(client, path, expect, args.repeat)
                for name, (path, expect) in pages.items()
            }
    print(f"\npanel pages ({harness.backend(url)}, {args.messages:,} messages, `ileti serve`)")
    print(f"  machine: {harness.machine()}")
    worst = 0.0
    for name, times in results.items():
        p50, p99 = harness.percentile(times, 0.5), harness.percentile(times, 0.99)
        worst = max(worst, p99)
        print(f"  {name:24}: p50 {p50:7.2f} ms, p99 {p99:7.2f} ms")
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"  worst p99: {worst:.2f} ms ({verdict} the {TARGET_MS:.0f} ms target)")


if __name__ == "__main__":
    main()
