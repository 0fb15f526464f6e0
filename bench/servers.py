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

First, as a figure less exposed to a busy machine than req/s, the CPU time one
request costs uvicorn's httptools protocol and ileti's bounded one
(``ileti.api.server.BoundedProtocol``), in process, with the baseline app and a
stand-in transport: the medians of alternating runs (``--protocol-rounds``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import baseline_app
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
    parser.add_argument("--protocol-rounds", type=int, default=25)
    parser.add_argument(
        "--only", help=f"comma-separated candidates (default: all of {', '.join(CANDIDATES)})"
    )
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CANDIDATES)
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown candidate(s): {', '.join(sorted(unknown))}")
    harness.require_wrk()
    protocol_cost(args.protocol_rounds)
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


# -- the protocol's own cost, in process ---------------------------------------------------

BODY = b'{"request":{"authentication":{"key":"k","hash":"h"},"blacklist":{"number":"0"}}}'
REQUEST = (
    b"POST /v1/add-blacklist/json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


class _Transport:
    """Just enough of an asyncio transport for a protocol to answer into."""

    def __init__(self) -> None:
        self.closing = False

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _cpu_per_request(factory: Any, requests: int) -> float:
    """CPU microseconds per keep-alive request through one protocol instance."""
    from uvicorn import Config
    from uvicorn.server import ServerState

    config = Config(baseline_app.app, log_level="warning", access_log=False)
    config.load()
    state = ServerState()
    protocol = factory(config=config, server_state=state, app_state={})
    protocol.connection_made(_Transport())
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        while state.tasks:
            await asyncio.sleep(0)
    return (time.process_time() - started) / requests * 1e6


def protocol_cost(rounds: int, requests: int = 3000) -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from ileti.api.server import BoundedProtocol, Bounds
    from ileti.config import Settings

    bounded = functools.partial(BoundedProtocol, bounds=Bounds.of(Settings()))
    factories = {"uvicorn httptools": HttpToolsProtocol, "ileti bounded": bounded}
    costs: dict[str, list[float]] = {name: [] for name in factories}

    async def alternate() -> None:
        for _ in range(rounds):
            for name, factory in factories.items():
                costs[name].append(await _cpu_per_request(factory, requests))

    asyncio.run(alternate())
    print(f"CPU time per request in the protocol (median of {rounds} alternating runs):")
    for name, values in costs.items():
        print(f"  {name:18} {statistics.median(values):6.1f} us  (best {min(values):.1f})")
    print(flush=True)


# -- the servers over HTTP -----------------------------------------------------------------


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
