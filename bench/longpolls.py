"""Many outbox long-polls at once: what they cost the server in memory, and whether
they slow the add-blacklist path.

    .venv/bin/python bench/longpolls.py [--database URL] [--waits 500] [--rounds 3]
        [--seconds 10] [--connections 32]

Starts the bare-ASGI baseline and ileti (uvicorn, one worker, as bench/add_blacklist.py
does) on a fresh database with one account per 50 waits (an account may hold 50 waits
at once). Reads ileti's RSS idle; opens ``--waits`` long-polls
(``GET /_ileti/outbox/wait``, 30 s, each renewed as it ends, one connection each, from
a helper thread) and reads the RSS again once all are waiting. Then alternates wrk
add-blacklist rounds on the baseline and on ileti, first with the waits held open,
then after they are closed, and prints both ratios to the baseline and their change.

Targets: 500 waits cost <= 50 MB RSS; they lower the add-blacklist ratio by <= 5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import harness
import httpx

PER_ACCOUNT = 50
NOBODY = "+905330000001"  # no message is ever sent to it: every wait runs its 30 s


class Waiters:
    """``count`` long-polls kept open from a thread of their own until ``stop``."""

    def __init__(self, url: str, accounts: list[dict[str, str]], count: int) -> None:
        self._url = url
        self._accounts = accounts
        self._count = count
        self._stop = threading.Event()
        self.waiting = 0
        self.errors = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Waiters:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    async def _one(self, client: httpx.AsyncClient, account: dict[str, str]) -> None:
        headers = {"X-Ileti-Key": account["key"], "X-Ileti-Hash": account["hash"]}
        params = {"recipient": NOBODY, "timeout": "30"}
        while not self._stop.is_set():
            self.waiting += 1
            try:
                r = await client.get("/_ileti/outbox/wait", params=params, headers=headers)
                failed = r.status_code != 408
            except httpx.HTTPError:
                failed = True
            finally:
                self.waiting -= 1
            if failed:  # count it, and do not turn into a load of its own
                self.errors += 1
                await asyncio.sleep(0.5)

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self._count + 8, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=self._url, limits=limits, timeout=httpx.Timeout(40.0)
        ) as client:
            tasks = [
                asyncio.create_task(self._one(client, self._accounts[i // PER_ACCOUNT]))
                for i in range(self._count)
            ]
            while not self._stop.is_set():
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def one_round(args: argparse.Namespace, ports: dict[str, int], env: dict[str, str]) -> float:
    """wrk on the baseline, then on ileti; ileti's req/s over the baseline's."""
    script = harness.BENCH / "add-blacklist.lua"
    found: dict[str, float] = {}
    for name, port in ports.items():
        url = f"http://127.0.0.1:{port}/v1/add-blacklist/json"
        found[name] = harness.wrk(url, script, args.seconds, args.connections, env)["rps"]
    print(f"    baseline {found['baseline']:9.0f} req/s, ileti {found['ileti']:9.0f} req/s")
    return found["ileti"] / found["baseline"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--waits", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    harness.require_wrk()
    with harness.database(args.database) as database:
        run(args, database)


def run(args: argparse.Namespace, database: str) -> None:
    accounts = [harness.create_account(database) for _ in range(-(-args.waits // PER_ACCOUNT))]
    env = {"KEY": accounts[0]["key"], "HASH": accounts[0]["hash"]}
    ports = {"baseline": harness.free_port(), "ileti": harness.free_port()}
    ratios: dict[bool, list[float]] = {True: [], False: []}
    with (
        harness.baseline(ports["baseline"]),
        harness.ileti(ports["ileti"], database) as server,
    ):
        pid = server.pid  # type: ignore[attr-defined]
        url = f"http://127.0.0.1:{ports['ileti']}"
        time.sleep(1.0)
        idle = harness.rss_kb(pid)["VmRSS"]
        held = idle
        errors = 0
        # Rounds alternate (with, without, without, with, ...) so that neither side
        # always runs first on a fresher database.
        for round_no in range(args.rounds * 2):
            waits = round_no % 4 in (0, 3)
            print(f"round {round_no // 2 + 1}, {'with' if waits else 'without'} the waits:")
            if not waits:
                ratios[False].append(one_round(args, ports, env))
                continue
            with Waiters(url, accounts, args.waits) as waiters:
                deadline = time.monotonic() + 30
                while waiters.waiting < args.waits and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(1.0)
                held = max(held, harness.rss_kb(pid)["VmRSS"])
                print(f"    {waiters.waiting} waits open, ileti RSS {held / 1024:.1f} MB")
                ratios[True].append(one_round(args, ports, env))
                errors += waiters.errors
    with_waits, without = harness.median(ratios[True]), harness.median(ratios[False])
    change = (with_waits - without) / without * 100
    print(f"\nlong-polls ({database.split(':')[0]}, {args.waits} waits, one worker)")
    print(
        f"  RSS: {idle / 1024:.1f} MB idle, +{(held - idle) / 1024:.1f} MB with "
        f"{args.waits} waits (target <= 50 MB)"
    )
    print(
        f"  add-blacklist ratio, median of {args.rounds}: {with_waits:.2f} with the waits, "
        f"{without:.2f} without ({change:+.1f} %; target no lower than -5 %)"
    )
    if errors:
        print(f"  WARNING: {errors} waits ended other than with 408")
    print(f"  machine: {harness.machine()}")


if __name__ == "__main__":
    main()
