"""add-blacklist throughput, durable, as a ratio to the bare-ASGI baseline.

    .venv/bin/python bench/add_blacklist.py [--database URL] [--workers N]
        [--rounds 3] [--seconds 10] [--connections 32]

Starts the baseline and ileti under the same uvicorn options, loads each with
``wrk -t1 -c32`` and ``bench/add-blacklist.lua`` (a fresh valid number per
request), alternating baseline and ileti, and prints the medians, p99 latencies and
the ratio. Default database: a fresh SQLite file (fsync on every commit); for a
``postgresql://`` URL, a fresh schema in that database, dropped afterwards.
"""

from __future__ import annotations

import argparse

import harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    harness.require_wrk()
    with harness.database(args.database) as database:
        run(args, database)


def run(args: argparse.Namespace, database: str) -> None:
    account = harness.create_account(database)
    script = harness.BENCH / "add-blacklist.lua"
    env = {"KEY": account["key"], "HASH": account["hash"]}
    base_port, ileti_port = harness.free_port(), harness.free_port()
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "ileti": []}
    with (
        harness.baseline(base_port, args.workers),
        harness.ileti(ileti_port, database, args.workers),
    ):
        for round_no in range(1, args.rounds + 1):
            for name, port in (("baseline", base_port), ("ileti", ileti_port)):
                url = f"http://127.0.0.1:{port}/v1/add-blacklist/json"
                run = harness.wrk(url, script, args.seconds, args.connections, env)
                results[name].append(run)
                print(
                    f"round {round_no} {name:8}: {run['rps']:9.0f} req/s  "
                    f"p99 {run['p99_ms']:6.2f} ms  non-2xx {run['non2xx']:.0f}",
                    flush=True,
                )
    base = harness.median([r["rps"] for r in results["baseline"]])
    ours = harness.median([r["rps"] for r in results["ileti"]])
    print(
        f"\nadd-blacklist ({database.split(':')[0]}, {args.workers} worker(s), "
        f"-c{args.connections}, durable)"
    )
    print(
        f"  baseline median {base:9.0f} req/s  p99 "
        f"{harness.median([r['p99_ms'] for r in results['baseline']]):.2f} ms"
    )
    print(
        f"  ileti    median {ours:9.0f} req/s  p99 "
        f"{harness.median([r['p99_ms'] for r in results['ileti']]):.2f} ms"
    )
    print(f"  ratio ileti/baseline: {ours / base:.2f}")
    if any(r["non2xx"] for r in results["ileti"]):
        print("  WARNING: ileti answered some requests with an error")


if __name__ == "__main__":
    main()
