"""Shared pieces of the benchmarks: start servers, run wrk, read its figures.

Every throughput figure is reported as a ratio to the bare-ASGI baseline
(``bench/baseline_app.py``) measured in the same run, under the same server program
and options, alternating baseline and ileti rounds.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
UVICORN_OPTIONS = [
    "--no-access-log",
    "--log-level",
    "warning",
    "--no-proxy-headers",
    "--no-server-header",
    "--workers",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up")


@contextlib.contextmanager
def server(
    args: list[str], port: int, env: dict[str, str] | None = None, ready_path: str = "/"
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready_path}")
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def baseline(port: int, workers: int = 1) -> contextlib.AbstractContextManager[object]:
    return server(
        [
            str(VENV_BIN / "uvicorn"),
            "--app-dir",
            str(BENCH),
            "baseline_app:app",
            "--port",
            str(port),
            *UVICORN_OPTIONS,
            str(workers),
        ],
        port,
    )


def ileti(
    port: int, database_url: str, workers: int = 1, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[object]:
    """ileti under the same uvicorn options as the baseline (factory mode)."""
    return server(
        [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "ileti.api.app:create_app",
            "--port",
            str(port),
            *UVICORN_OPTIONS,
            str(workers),
        ],
        port,
        env={"ILETI_DATABASE_URL": database_url, **(env or {})},
        ready_path="/healthz",
    )


def create_account(database_url: str) -> dict[str, str]:
    out = subprocess.run(
        [
            str(VENV_BIN / "ileti"),
            "--database",
            database_url,
            "account",
            "create",
            "bench",
            "--json",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    return wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(
    url: str, script: Path, seconds: int, connections: int, env: dict[str, str]
) -> dict[str, float]:
    """One wrk run: req/s, p99 latency (ms), non-2xx count."""
    return parse_wrk(_wrk_output(url, script, seconds, connections, env))


def _wrk_output(url: str, script: Path, seconds: int, connections: int, env: dict[str, str]) -> str:
    return subprocess.run(
        [
            require_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout


def parse_wrk(out: str) -> dict[str, float]:
    """req/s, p99 latency (ms) and non-2xx count from wrk's ``--latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def temp_sqlite() -> tuple[str, tempfile.TemporaryDirectory[str]]:
    tmp = tempfile.TemporaryDirectory(prefix="ileti-bench-")
    return f"sqlite:///{tmp.name}/bench.db", tmp


# -- databases, data and processes for the 1,000,000-entry benchmarks -------------------


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """A fresh, empty database for one benchmark run, removed afterwards.

    None: a new SQLite file in a temporary directory. A PostgreSQL URL: a new schema on
    that server, selected through ``options=-csearch_path=...`` and dropped at the end.
    """
    if url is None:
        path, tmp = temp_sqlite()
        try:
            yield path
        finally:
            tmp.cleanup()
        return
    if not url.startswith(("postgresql:", "postgresql+", "postgres:")):
        yield url  # an SQLite file (or anything else) the caller chose: used as is
        return
    import sqlalchemy as sa

    from ileti.store.engine import normalize_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in url else "?"
    try:
        yield f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgres") else "sqlite"


# Mobile prefixes whose every 7-digit subscriber number is valid in phonenumbers'
# Turkish metadata (530-559); the accepted written forms of spec section 4, in turn.
MOBILE_PREFIXES = range(530, 560)
NUMBER_FORMS = ("0{}", "+90{}", "{}", "90{}")


def mobile_numbers(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct valid Turkish mobiles (10 national digits), in random order."""
    space = len(MOBILE_PREFIXES) * 10_000_000
    picks = random.Random(seed).sample(range(space), count)
    first = MOBILE_PREFIXES[0]
    return [f"{first + v // 10_000_000}{v % 10_000_000:07d}" for v in picks]


def write_number_file(path: Path, count: int, seed: int = 1) -> None:
    """An import file: one number per line, cycling through the accepted forms."""
    forms = NUMBER_FORMS
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(
            forms[i % len(forms)].format(n) + "\n"
            for i, n in enumerate(mobile_numbers(count, seed))
        )


def ileti_cli(database_url: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "ileti"), "--database", database_url, *args],
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def ileti_serve(port: int, database_url: str) -> contextlib.AbstractContextManager[object]:
    """The real server, as operators start it: ``ileti serve`` (one worker, in process)."""
    return server(
        [str(VENV_BIN / "ileti"), "--database", database_url, "serve", "--port", str(port)],
        port,
        ready_path="/healthz",
    )


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc/PID/status."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (with fewer than 100 samples, p99 is the largest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def machine() -> str:
    """What the figures were measured on, and how busy it was (other work skews them)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"
