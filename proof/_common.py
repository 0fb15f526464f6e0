"""What the proof scripts share: databases of their own, real ``ileti serve`` processes,
accounts made with the CLI, a v1 client, reading back what the server holds, and the
one way a script reports what it found.

Everything here talks to ileti from the outside (processes, HTTP, the CLI), like an
operator would; only the SQLite ``integrity_check`` and PostgreSQL's
``pg_terminate_backend`` reach the database directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx

ISTANBUL = ZoneInfo("Europe/Istanbul")
POSTGRES_URL = os.environ.get("ILETI_TEST_POSTGRES_URL", "").strip()
START_TIMEOUT = 90.0
#: A request unanswered this long counts as a hang.
REQUEST_TIMEOUT = 30.0
BIG_BALANCE = 1_000_000_000


# -- command line and the report ---------------------------------------------------------


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="the short version CI runs")
    parser.add_argument(
        "--backend",
        choices=("all", "sqlite", "postgresql"),
        default="all",
        help="which databases (default: SQLite, and PostgreSQL when ILETI_TEST_POSTGRES_URL "
        "is set)",
    )
    parser.add_argument(
        "--database",
        help="use this migrated database instead of making one (the tests pass theirs); "
        "its backend is the URL's",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    random.seed(args.seed)
    return args


class Proof:
    """Anomalies found (each one a line) and the summary lines; the exit status."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.seed = seed
        self.anomalies: list[str] = []

    def anomaly(self, text: str) -> None:
        self.anomalies.append(text)
        print(f"ANOMALY {self.name}: {text}", flush=True)

    def check(self, ok: bool, text: str) -> bool:
        if not ok:
            self.anomaly(text)
        return ok

    def line(self, text: str) -> None:
        print(f"{self.name}: {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def finish(self) -> int:
        if self.anomalies:
            print(f"{self.name}: FAILED, {len(self.anomalies)} anomalies (seed {self.seed})")
            return 1
        print(f"{self.name}: ok (seed {self.seed})")
        return 0


# -- databases ------------------------------------------------------------------------------


@dataclass
class Database:
    backend: str  # "sqlite" or "postgresql"
    url: str

    @property
    def name(self) -> str:
        """PostgreSQL: the database's name."""
        return urlsplit(self.url).path.lstrip("/")


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_file(url: str) -> Path:
    """The file of a ``sqlite:///`` URL (absolute or relative)."""
    rest = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(rest)


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def admin_execute(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One autocommitted statement on the PostgreSQL server at ``url``; its rows."""
    import psycopg

    parts = urlsplit(_psycopg_url(url))
    with psycopg.connect(urlunsplit(parts._replace(query="")), autocommit=True) as conn:
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return list(cur.fetchall()) if cur.description else []


def terminate_backends(url: str) -> int:
    """``pg_terminate_backend`` for every other connection to the database of ``url``;
    how many were ended."""
    name = urlsplit(url).path.lstrip("/")
    rows = admin_execute(
        url,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    return int(rows[0][0])


@contextlib.contextmanager
def databases(args: argparse.Namespace, script: str) -> Iterator[list[Database]]:
    """The databases to run on: the one given (``--database``), or a fresh SQLite file on
    disk (not in memory: a commit is a real fsync) and, when ILETI_TEST_POSTGRES_URL is
    set, a PostgreSQL database made for the run and dropped afterwards."""
    if args.database:
        yield [Database(backend_of(args.database), args.database)]
        return
    made: list[Database] = []
    workdir = Path(tempfile.mkdtemp(prefix=f"ileti-proof-{script}-", dir=_disk_tmp()))
    try:
        if args.backend in ("all", "sqlite"):
            made.append(Database("sqlite", f"sqlite:///{workdir}/proof.db"))
        if args.backend in ("all", "postgresql"):
            if not POSTGRES_URL:
                if args.backend == "postgresql":
                    raise SystemExit("--backend postgresql needs ILETI_TEST_POSTGRES_URL")
                print(f"{script}: PostgreSQL skipped (ILETI_TEST_POSTGRES_URL is not set)")
            else:
                name = f"ileti_proof_{script}_{uuid.uuid4().hex[:8]}"
                admin_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"')
                parts = urlsplit(_psycopg_url(POSTGRES_URL))
                made.append(Database("postgresql", urlunsplit(parts._replace(path=f"/{name}"))))
        for db in made:
            cli(db.url, "migrate")
        yield made
    finally:
        for db in made:
            if db.backend == "postgresql":
                with contextlib.suppress(Exception):
                    terminate_backends(db.url)
                    admin_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{db.name}"')
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


def _disk_tmp() -> str:
    """A temporary directory on a disk (never /dev/shm)."""
    base = tempfile.gettempdir()
    return base if not base.startswith("/dev/shm") else "/var/tmp"


def integrity(path: Path) -> str:
    """SQLite's ``PRAGMA integrity_check`` of the file (with its WAL), as it says it."""
    conn = sqlite3.connect(path, timeout=60)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(row[0]) for row in rows)


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ileti_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ILETI_")}
    return {
        **clean,
        "ILETI_LOG_LEVEL": "warning",
        "ILETI_RATE_LIMIT": "0",
        "ILETI_AUTH_REFRESH_SECONDS": "0.5",
        **(extra or {}),
    }


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """``ileti --database URL ARGS...``; its standard output (exit 0 expected)."""
    done = subprocess.run(
        [sys.executable, "-m", "ileti", "--database", url, *args],
        env=ileti_env(env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ileti {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Account:
    key: str
    hash: str
    balance: int

    @property
    def auth(self) -> dict[str, str]:
        return {"key": self.key, "hash": self.hash}

    @property
    def headers(self) -> dict[str, str]:
        """The control API's credentials of the account."""
        return {"X-Ileti-Key": self.key, "X-Ileti-Hash": self.hash}


def create_account(url: str, name: str, balance: int = BIG_BALANCE, *more: str) -> Account:
    """``ileti account create NAME --balance N --sender ILETI --json``."""
    out = json.loads(
        cli(url, "account", "create", name, "--balance", str(balance), "--sender", "ILETI",
            "--json", *more)
    )  # fmt: skip
    return Account(out["key"], out["hash"], int(out["balance"]))


def create_accounts(url: str, *specs: tuple[str, int, dict[str, Any]]) -> list[Account]:
    """Several accounts in one CLI call (``ileti state import``, one process instead of
    one per account): (name, balance, more settings of the state document) each, with
    sender ILETI; chosen keys and secrets, the hash computed as the spec says."""
    made: list[Account] = []
    document: dict[str, Any] = {"version": 1, "accounts": []}
    for name, credits, more in specs:
        key, secret = f"proof-{name}-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
        document["accounts"].append(
            {"name": name, "key": key, "secret": secret, "senders": ["ILETI"],
             "balance": credits, **more}
        )  # fmt: skip
        digest = hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()
        made.append(Account(key, digest, credits))
    with tempfile.NamedTemporaryFile("w", suffix=".json") as out:
        json.dump(document, out)
        out.flush()
        cli(url, "state", "import", out.name)
    return made


@dataclass
class Server:
    db: Database
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kib(self) -> int:
        """The process's peak resident set (VmHWM), KiB; 0 once it is gone."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def kill(self) -> None:
        """SIGKILL to the whole process group, then reaped."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def terminate(self, timeout: float = 60.0) -> tuple[int | None, float]:
        """SIGTERM; (exit status or None if it had to be killed, seconds it took)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.monotonic() - start


def start_server(
    db: Database, logdir: Path, env: dict[str, str] | None = None, tag: str = "serve"
) -> Server:
    """``python -m ileti --database URL serve`` on a free port, in a process group of its
    own; returned once ``/healthz`` answers 200."""
    port = free_port()
    log = logdir / f"{tag}-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "ileti", "--database", db.url, "serve"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            env=ileti_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(db, proc, port, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ileti serve exited {proc.returncode}:\n{server.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return server
        time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"ileti serve did not become healthy:\n{server.output()[-3000:]}")


# -- the v1 API -------------------------------------------------------------------------------


class Unanswered(Exception):
    """No HTTP answer: the connection failed or was closed, or the request timed out."""


def client_of(url: str, connections: int = 64) -> httpx.AsyncClient:
    """A client of the server at ``url``. Idle connections are dropped after 1 s, well
    before the server closes them (uvicorn: 5 s), so that no request is ever sent on a
    connection the server is closing at that moment (an unanswered request that says
    nothing about the server)."""
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=1.0
    )
    return httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits)


@contextlib.asynccontextmanager
async def api(url: str, connections: int = 64) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(url, connections) as client:
        yield client


async def call(client: httpx.AsyncClient, action: str, request: dict[str, Any]) -> tuple[int, Any]:
    """POST ``/v1/<action>/json``; (HTTP status, the ``response`` object). Raises
    Unanswered when no answer came; a body that is not the envelope is an answer whose
    response is None."""
    try:
        r = await client.post(f"/v1/{action}/json", json={"request": request})
    except httpx.TransportError as exc:
        raise Unanswered(f"{action}: {type(exc).__name__}: {exc}") from None
    try:
        response = r.json()["response"]
        code = response["status"]["code"]
    except (ValueError, KeyError, TypeError):
        return r.status_code, None
    if code != r.status_code:
        return r.status_code, None
    return r.status_code, response


def number(prefix: int, index: int) -> str:
    """A valid Turkish mobile: ``+90 5PP`` then 7 digits (``prefix`` 30..59)."""
    return f"+905{prefix:02d}{index:07d}"


def send_time(delta: timedelta) -> str:
    """``sendDateTime`` now plus ``delta`` (Istanbul time)."""
    return (datetime.now(ISTANBUL) + delta).strftime("%d/%m/%Y %H:%M")


def order_request(
    account: Account, numbers: list[str], text: str, scheduled: bool = False
) -> dict[str, Any]:
    when = send_time(timedelta(days=1)) if scheduled else ""
    return {
        "authentication": account.auth,
        "order": {
            "sender": "ILETI",
            "sendDateTime": when,
            "iys": "0",
            "message": {"text": text, "receipents": {"number": numbers}},
        },
    }


async def listed(client: httpx.AsyncClient, account: Account) -> set[str]:
    """Every number on the account's blacklist (get-blacklist, page by page)."""
    out: list[str] = []
    page = 1
    while True:
        status, body = await call(
            client,
            "get-blacklist",
            {"authentication": account.auth, "blacklist": {"page": page, "rowCount": 1000}},
        )
        if status != 200 or body is None:
            raise RuntimeError(f"get-blacklist answered {status}: {body}")
        numbers = body["blacklist"]["number"]
        out.extend(numbers)
        if len(out) >= body["blacklist"]["count"] or not numbers:
            return set(out)
        page += 1


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    status, body = await call(client, "get-balance", {"authentication": account.auth})
    if status != 200 or body is None:
        raise RuntimeError(f"get-balance answered {status}: {body}")
    return int(body["balance"]["sms"])


async def orders(client: httpx.AsyncClient, account: Account) -> dict[int, dict[str, Any]]:
    """Every order of the account submitted yesterday to tomorrow (get-reports, 30 a
    page): id -> its summary (status, total, ...)."""
    today = datetime.now(ISTANBUL).date()
    span = {
        "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    }
    found: dict[int, dict[str, Any]] = {}
    page = 1
    while True:
        status, body = await call(
            client,
            "get-reports",
            {"authentication": account.auth, "filter": {**span, "page": page}},
        )
        if status != 200 or body is None:
            raise RuntimeError(f"get-reports answered {status}: {body}")
        for summary in body["orders"]:
            found[int(summary["id"])] = summary
        if len(found) >= body["count"] or not body["orders"]:
            return found
        page += 1


async def report(client: httpx.AsyncClient, account: Account, order_id: int) -> tuple[int, Any]:
    """get-report of an order (its first 1,000 messages)."""
    return await call(
        client, "get-report", {"authentication": account.auth, "order": {"id": order_id}}
    )


async def advance(client: httpx.AsyncClient, account: Account) -> None:
    """Dispatch every order of the account now, scheduled ones too (``/_ileti/advance``),
    so that get-report shows each one's charge."""
    r = await client.post("/_ileti/advance", headers=account.headers, json={})
    if r.status_code != 200:
        raise RuntimeError(f"/_ileti/advance answered {r.status_code}: {r.text}")


async def gather_limited(limit: int, coros: list[Any]) -> list[Any]:
    """``asyncio.gather`` with at most ``limit`` running at once."""
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


def counted(counter: Counter[Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=lambda kv: str(kv[0])))


def tracebacks(text: str) -> int:
    return text.count("Traceback (most recent call last)")
