"""add-blacklist under each HTTP server candidate, side by side, in one run.

    .venv/bin/python bench/servers.py [--rounds 3] [--seconds 10] [--connections 32]
        [--only NAME,NAME]

Serves ileti (one worker, a fresh SQLite file per server, durable) with each of

- ``uvicorn-httptools``: uvicorn's httptools protocol, as ``ileti serve`` ran it before
  it had its own bounds (the "before" figure);
- ``uvicorn-h11``: uvicorn's h11 protocol (h11's own header limit);
- ``granian``: granian's ASGI interface (Rust HTTP);
- ``hypercorn``: hypercorn's asyncio worker;
- ``ileti-serve``: ``ileti serve`` as operators start it, with its header, timeout and
  connection bounds (``ileti.server``; the "after" figure);

and the bare-ASGI baseline (``bench/baseline_app.py``) under uvicorn+httptools, the
reference every add-blacklist ratio in docs/benchmarks.md is taken against. Every
server is up for the whole run; each round loads each of them once with
``wrk -t1 -c32 -s bench/add-blacklist.lua`` in turn (so a noisy moment hits one round
of each, not one server), and the medians over the rounds are printed: req/s, p99 and
the ratio to the baseline. The candidates are the ``bench`` extra of pyproject.toml
(``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

import harness

# name -> (argv for a port, ready path); VENV_BIN holds every candidate's command.
Launcher = Callable[[int], list[str]]
BIN = harness.VENV_BIN
FACTORY = "ileti.api.app:create_app"


def _uvicorn(http: str) -> Launcher:
    def argv(port: int) -> list[str]:
        return [
            *(str(BIN / "uvicorn"), "--factory", FACTORY, "--port", str(port)),
            *("--http", http, *harness.UVICORN_OPTIONS, "1"),
        ]

    return argv


def _granian(port: int) -> list[str]:
    return [
        *(str(BIN / "granian"), "--interface", "asgi", "--factory", "--port", str(port)),
        *("--workers", "1", "--log-level", "warning", "--no-access-log", FACTORY),
    ]


def _hypercorn(port: int) -> list[str]:
    return [
        *(str(BIN / "hypercorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1"),
        *("--log-level", "warning", f"{FACTORY}()"),
    ]


def _ileti_serve(port: int) -> list[str]:
    return [str(BIN / "ileti"), "serve", "--port", str(port)]


CANDIDATES: dict[str, Launcher] = {
    "uvicorn-httptools": _uvicorn("httptools"),
    "uvicorn-h11": _uvicorn("h11"),
    "granian": _granian,
    "hypercorn": _hypercorn,
    "ileti-serve": _ileti_serve,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before round 1")
    parser.add_argument(
        "--only", help=f"comma-separated candidates (default: all of {', '.join(CANDIDATES)})"
    )
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown candidate(s): {', '.join(sorted(unknown))}")
    harness.require_wrk()
    with contextlib.ExitStack() as stack:
        targets: dict[str, tuple[int, dict[str, str]]] = {}
        port = harness.free_port()
        stack.enter_context(harness.baseline(port))
        targets["baseline"] = (port, {})
        for name in names:
            database = stack.enter_context(harness.database(None))
            account = harness.create_account(database)
            port = harness.free_port()
            stack.enter_context(
                harness.server(
                    CANDIDATES[name](port),
                    port,
                    env={"ILETI_DATABASE_URL": database, "ILETI_LOG_LEVEL": "warning"},
                    ready_path="/healthz",
                )
            )
            targets[name] = (port, {"KEY": account["key"], "HASH": account["hash"]})
        results = measure(targets, args)
    report(results, args)


def measure(
    targets: dict[str, tuple[int, dict[str, str]]], args: argparse.Namespace
) -> dict[str, list[dict[str, float]]]:
    script = harness.BENCH / "add-blacklist.lua"
    results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for port, env in targets.values():  # warm-up, not counted
        url = f"http://127.0.0.1:{port}/v1/add-blacklist/json"
        harness.wrk(url, script, args.warmup, args.connections, env)
    for round_no in range(1, args.rounds + 1):
        for name, (port, env) in targets.items():
            url = f"http://127.0.0.1:{port}/v1/add-blacklist/json"
            run = harness.wrk(url, script, args.seconds, args.connections, env)
            results[name].append(run)
            print(
                f"round {round_no} {name:18}: {run['rps']:9.0f} req/s  "
                f"p99 {run['p99_ms']:7.2f} ms  non-2xx {run['non2xx']:.0f}",
                flush=True,
            )
    return results


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    base = harness.median([r["rps"] for r in results["baseline"]])
    print(
        f"\nadd-blacklist by HTTP server (sqlite, 1 worker, -c{args.connections}, durable, "
        f"median of {args.rounds} rounds of {args.seconds} s; {harness.machine()})"
    )
    print(f"  {'server':18} {'req/s':>9} {'p99 ms':>8} {'ratio':>6}")
    for name, runs in results.items():
        rps = harness.median([r["rps"] for r in runs])
        p99 = harness.median([r["p99_ms"] for r in runs])
        errors = sum(r["non2xx"] for r in runs)
        note = f"  ({errors:.0f} non-2xx)" if errors else ""
        print(f"  {name:18} {rps:9.0f} {p99:8.2f} {rps / base:6.2f}{note}")
    print("  (ratio: to the bare-ASGI baseline under uvicorn+httptools, same run)")


if __name__ == "__main__":
    main()
