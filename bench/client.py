"""ileti.client's AsyncClient against wrk on add-blacklist: the client's throughput as a
share of what wrk gets from the same ileti (32 concurrent requests, the client in one
process; target: at least 80 %).

    .venv/bin/python bench/client.py [--database URL] [--rounds 3] [--seconds 10]
        [--connections 32]

One ``ileti`` server (uvicorn, one worker, like bench/add_blacklist.py) on a fresh
SQLite file (or ``--database``); each round runs, for ``--seconds`` each, wrk (``-t1
-cN``, bench/add-blacklist.lua), AsyncClient with N tasks adding fresh numbers in a
loop, the same loop with a bare ``httpx.AsyncClient`` posting prebuilt bodies (what
httpx's own pool costs), then the three again in reverse order; prints each round's
req/s and the ratios of the medians of all runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import harness
import httpx

from ileti.client import AsyncClient


async def with_client(url: str, key: str, hash_: str, seconds: float, tasks: int) -> float:
    numbers = itertools.count()
    done = 0
    async with AsyncClient(key, hash_, base_url=f"{url}/v1/", retries=0) as sms:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await sms.add_blacklist(f"+90535{next(numbers) % 10_000_000:07d}")
                done += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return done / (time.monotonic() - start)


async def with_httpx(url: str, key: str, hash_: str, seconds: float, tasks: int) -> float:
    numbers = itertools.count()
    done = 0
    limits = httpx.Limits(max_connections=tasks, max_keepalive_connections=tasks)
    async with httpx.AsyncClient(limits=limits) as http:
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                number = f"+90536{next(numbers) % 10_000_000:07d}"
                body = json.dumps(
                    {
                        "request": {
                            "authentication": {"key": key, "hash": hash_},
                            "blacklist": {"number": number},
                        }
                    }
                ).encode()
                answer = await http.post(
                    f"{url}/v1/add-blacklist/json",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                assert answer.status_code == 200, answer.text
                done += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        return done / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    harness.require_wrk()
    with harness.database(args.database) as database:
        account = harness.create_account(database)
        key, hash_ = account["key"], account["hash"]
        port = harness.free_port()
        url = f"http://127.0.0.1:{port}"
        results: dict[str, list[float]] = {"wrk": [], "AsyncClient": [], "httpx": []}
        with harness.ileti(port, database):
            for round_no in range(1, args.rounds + 1):
                # wrk, client, httpx, then the other way round: the machine's other
                # work changes by the second, and so favours neither side.
                for name in ("wrk", "AsyncClient", "httpx", "httpx", "AsyncClient", "wrk"):
                    if name == "wrk":
                        run = harness.wrk(
                            f"{url}/v1/add-blacklist/json",
                            harness.BENCH / "add-blacklist.lua",
                            args.seconds,
                            args.connections,
                            {"KEY": key, "HASH": hash_},
                        )
                        rps = run["rps"]
                    else:
                        load = with_client if name == "AsyncClient" else with_httpx
                        rps = asyncio.run(load(url, key, hash_, args.seconds, args.connections))
                    results[name].append(rps)
                print(
                    f"round {round_no}: "
                    + "  ".join(
                        f"{name} {sum(values[-2:]) / 2:8.0f} req/s"
                        for name, values in results.items()
                    ),
                    flush=True,
                )
    wrk = harness.median(results["wrk"])
    ours = harness.median(results["AsyncClient"])
    bare = harness.median(results["httpx"])
    print(
        f"\nadd-blacklist ({harness.backend(database)}, 1 worker, {args.connections} concurrent, "
        f"medians of {2 * args.rounds} runs of {args.seconds} s)"
    )
    print(
        f"wrk {wrk:.0f} req/s; AsyncClient {ours:.0f} req/s = {ours / wrk:.2f} of wrk "
        f"(target >= 0.80: {'met' if ours >= 0.8 * wrk else 'NOT met'}); "
        f"bare httpx {bare:.0f} req/s = {bare / wrk:.2f}"
    )
    print(harness.machine())


if __name__ == "__main__":
    main()
