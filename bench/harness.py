"""Shared pieces of the benchmarks: start servers, run wrk, read its figures.

Every throughput figure is reported as a ratio to the bare-ASGI baseline
(``../shared/bench/baseline_app.py``) measured in the same run, under the same server
program and options, alternating baseline and ileti rounds.
"""

from __future__ import annotations

import contextlib
import json
import os
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
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = Path(os.environ.get("ILETI_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
VENV_BIN = Path(sys.executable).parent
UVICORN_OPTIONS = ["--no-access-log", "--log-level", "warning", "--no-proxy-headers",
                   "--no-server-header", "--workers"]


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
def server(args: list[str], port: int, env: dict[str, str] | None = None,
           ready_path: str = "/") -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    return server([str(VENV_BIN / "uvicorn"), "--app-dir", str(SHARED_BENCH), "baseline_app:app",
                   "--port", str(port), *UVICORN_OPTIONS, str(workers)], port)


def ileti(port: int, database_url: str, workers: int = 1,
          env: dict[str, str] | None = None) -> contextlib.AbstractContextManager[object]:
    """ileti under the same uvicorn options as the baseline (factory mode)."""
    return server([str(VENV_BIN / "uvicorn"), "--factory", "ileti.api.app:create_app",
                   "--port", str(port), *UVICORN_OPTIONS, str(workers)], port,
                  env={"ILETI_DATABASE_URL": database_url, **(env or {})}, ready_path="/healthz")


def create_account(database_url: str) -> dict[str, str]:
    out = subprocess.run([str(VENV_BIN / "ileti"), "--database", database_url, "account",
                          "create", "bench", "--json"], check=True, capture_output=True).stdout
    return json.loads(out)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    return wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, script: Path, seconds: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    """One wrk run: req/s, p99 latency (ms), non-2xx count."""
    out = subprocess.run(
        [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         url],
        check=True, capture_output=True, text=True, env={**os.environ, **env},
    ).stdout
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
