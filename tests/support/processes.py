"""Real ``ileti serve`` processes on free ports, stopped (with their workers) afterwards."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 60.0


#: Where ``free_port`` looks: below Linux's ephemeral range (32768-60999), so that no
#: outgoing connection holds one of these ports, split into a block of its own per
#: pytest-xdist worker (``PYTEST_XDIST_WORKER`` = gw0, gw1, ... of
#: ``PYTEST_XDIST_WORKER_COUNT``).
PORTS = range(20000, 32000)
_ports = itertools.count(random.randrange(len(PORTS)))


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now, for a server about to be started.

    Asking the kernel for port 0 and releasing it races with every other process doing
    the same between the release and the server's bind: with the suite on several
    workers, two servers could be handed one port, and a test could then talk to
    another worker's server. Each worker therefore takes its ports in turn from a block
    of its own, skipping any that something holds."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    size = len(PORTS) // max(count, 1)
    base = PORTS.start + (int(worker) % count if worker.isdigit() else 0) * size
    for _ in range(size):
        port = base + next(_ports) % size
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + size - 1}")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        return self.output()[-4000:]


def start(url: str, log: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> Server:
    """``python -m ileti --database URL serve`` on a free port, not waited for; in a
    process group of its own, so that stopping it reaches its workers."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "ileti", "--database", url, "serve"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
            ],
            env={**clean, "ILETI_LOG_LEVEL": "warning", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(proc, port, log)


class PortTaken(Exception):
    """The server could not listen: something took its port after ``free_port``."""


def wait_healthy(server: Server, timeout: float = START_TIMEOUT) -> None:
    """Until ``/healthz`` answers 200; fails if the server exits or takes too long
    (``PortTaken`` if it exited because its port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            if "address already in use" in server.output().lower():
                raise PortTaken(server.tail())
            pytest.fail(f"ileti serve exited with {server.proc.returncode}:\n{server.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    pytest.fail(f"ileti serve did not become healthy:\n{server.tail()}")


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL to the whole process group (workers of a killed master)."""
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


@contextlib.contextmanager
def serving(
    url: str, log_dir: Path, *, count: int = 1, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[list[Server]]:
    """``count`` server processes on one database, started at once; all healthy."""
    servers: list[Server] = []
    try:
        for index in range(count):
            log = log_dir / f"serve-{index}-{uuid.uuid4().hex[:6]}.log"
            servers.append(start(url, log, workers=workers, env=env))
        for index, server in enumerate(servers):
            for attempt in range(3):
                try:
                    wait_healthy(server)
                    break
                except PortTaken:
                    if attempt == 2:
                        raise
                    stop(server)
                    log = server.log.with_name(f"{server.log.stem}-again{attempt}.log")
                    server = servers[index] = start(url, log, workers=workers, env=env)
        yield servers
    finally:
        for server in servers:
            stop(server)


@contextlib.contextmanager
def serve(url: str, log_dir: Path, *, workers: int = 1) -> Iterator[Server]:
    """One healthy server process for the duration."""
    with serving(url, log_dir, workers=workers) as (server,):
        yield server


def terminate(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """SIGTERM a process whose stderr is a pipe; what else it wrote while it stopped.
    Its output is read meanwhile (a full pipe would block it); one that does not stop
    in time is killed, never left running against a test database, and the test fails."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, rest = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, rest = proc.communicate()
        pytest.fail(f"the process did not stop within {timeout:g} s of SIGTERM:\n{rest[-3000:]}")
    return rest or ""
