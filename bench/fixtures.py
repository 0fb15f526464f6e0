"""The pytest plugin's costs: starting ``ileti_server`` and the ``ileti`` fixture's reset
per test (targets: start <= 1 s, reset <= 20 ms).

    .venv/bin/python bench/fixtures.py [--starts 5] [--resets 200]

Start: in fresh interpreters, the time to import ``ileti.testing.server`` (once per
test session, before the first fixture) and the time from ``Sandbox()`` to serving (a
fresh SQLite database migrated, the app started). Reset: in one sandbox, each round
sends an SMS, lists a number and adds a fault rule through the account, then times
the fixture's reset (``ileti.testing.handle.reset``: reset everything, seed the
account) over the fixture's keep-alive connection.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import harness
import httpx

from ileti.client import Client
from ileti.testing.handle import AccountSpec, Control, reset
from ileti.testing.server import Sandbox

START = """
import json, time
t0 = time.perf_counter()
from ileti.testing.server import Sandbox
t1 = time.perf_counter()
sandbox = Sandbox().start()
t2 = time.perf_counter()
sandbox.stop()
print(json.dumps({"import": t1 - t0, "start": t2 - t1, "stop": time.perf_counter() - t2}))
"""


def starts(count: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"import": [], "start": [], "stop": []}
    for _ in range(count):
        out = subprocess.run(
            [sys.executable, "-c", START], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        for name, value in json.loads(out.strip().splitlines()[-1]).items():
            found[name].append(value)
    return found


def resets(count: int) -> list[float]:
    spec = AccountSpec()
    times = []
    with Sandbox() as sandbox, httpx.Client(base_url=sandbox.url, timeout=60) as http:
        control = Control(http, spec, sandbox.admin_token)
        reset(control, spec)
        with Client(spec.key, spec.hash, base_url=sandbox.base_url) as sms:
            for round_no in range(count):
                sms.send_sms("+905330000042", f"Kod: {round_no:06d}", sender="ILETI")
                sms.add_blacklist("+905330000043")
                control.request(
                    "POST", "/faults", json={"kind": "api", "action": "get-sender", "code": 503}
                )
                start = time.perf_counter()
                reset(control, spec)
                times.append(time.perf_counter() - start)
                assert sms.get_senders() == ["ILETI"]  # the fault rule is gone
    return times


def ms(values: list[float], q: float) -> str:
    return f"{harness.percentile(values, q) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--resets", type=int, default=200)
    args = parser.parse_args()
    found = starts(args.starts)
    print(
        f"ileti_server, {args.starts} fresh interpreters (median): "
        f"import {statistics.median(found['import']):.2f} s, "
        f"start {statistics.median(found['start']):.2f} s "
        f"(max {max(found['start']):.2f} s; target <= 1 s: "
        f"{'met' if statistics.median(found['start']) <= 1 else 'NOT met'}), "
        f"stop {statistics.median(found['stop']):.2f} s"
    )
    times = resets(args.resets)
    p50 = harness.percentile(times, 0.5)
    print(
        f"ileti fixture reset, {args.resets} rounds: p50 {ms(times, 0.5)}, p95 {ms(times, 0.95)}, "
        f"max {max(times) * 1000:.1f} ms (target <= 20 ms: {'met' if p50 <= 0.02 else 'NOT met'})"
    )
    print(harness.machine())


if __name__ == "__main__":
    main()
