"""ileti running inside the test process: a thread with its own event loop serves the
whole app (v1, the control API) on 127.0.0.1 over a socket bound before the thread
starts; in-process httpx transports hand requests to that loop without a socket."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from ileti.api.app import App
from ileti.api.runtime import Runtime
from ileti.config import Settings

T = TypeVar("T")
#: Where the sandbox's database goes: memory-backed when the machine has it.
SHM = Path("/dev/shm")
START_TIMEOUT = 30.0


def _workdir() -> Path:
    base = SHM if SHM.is_dir() and os.access(SHM, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="ileti-sandbox-", dir=base))


def _schema_key() -> str:
    """What the migrated schema depends on: the migrations' files, by content."""
    from ileti import store

    digest = hashlib.sha256()
    versions = Path(store.__file__).parent / "migrations" / "versions"
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def migrated_template() -> Path:
    """A migrated, empty SQLite database, made once per schema and kept in the
    temporary directory: a sandbox starts from a copy instead of migrating (importing
    Alembic and running every migration costs most of a second)."""
    folder = Path(tempfile.gettempdir()) / "ileti-sandbox-templates"
    template = folder / f"{_schema_key()}.db"
    if template.is_file():
        return template
    from ileti.store import Store

    folder.mkdir(parents=True, exist_ok=True)
    making = Path(tempfile.mkdtemp(prefix="making-", dir=folder))
    try:
        store = Store(Settings(database_url=f"sqlite:///{making}/t.db"))
        try:
            store.migrate()
        finally:
            store.close()
        os.replace(making / "t.db", template)  # atomic: concurrent sessions race safely
    finally:
        shutil.rmtree(making, ignore_errors=True)
    return template


class Sandbox:
    """ileti serving on ``url`` from a thread of this process until ``stop()``.

    ``port`` 0 picks a free one. The database is a fresh SQLite file (removed at stop)
    unless ``database_url`` names one: every account in it is removed by each reset, so
    never point it at data you keep. ``settings`` overrides (``Settings`` field names)
    apply on top of the sandbox's defaults (no limit on failed authentications)."""

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        database_url: str | None = None,
        **settings: Any,
    ) -> None:
        self._workdir = None if database_url else _workdir()
        if self._workdir is not None:
            shutil.copyfile(migrated_template(), self._workdir / "ileti.db")
        url = database_url or f"sqlite:///{self._workdir}/ileti.db"
        self.admin_token = secrets.token_urlsafe(24)
        values: dict[str, Any] = {
            "database_url": url,
            "admin_token": self.admin_token,
            "auth_failure_limit": 0,
            "log_level": "warning",
        }
        values.update(settings)
        self.settings = Settings(**values)
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted connections only then
        # (without it, a response written in two parts waits 40 ms for a delayed ACK).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self.runtime = Runtime.build(self.settings)
        if self._workdir is not None:  # a copy of the template: at the schema's head
            self.runtime.start = functools.partial(self.runtime.start, migrate=False)  # type: ignore[method-assign]
        self.app = App(self.runtime)
        self._loop = asyncio.new_event_loop()
        config = uvicorn.Config(
            self.app, lifespan="on", log_level="warning", access_log=False, loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="ileti-sandbox", daemon=True)
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the control API is under ``/_ileti/``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The v1 base URL a client takes: ``http://127.0.0.1:PORT/v1/``."""
        return f"{self.url}/v1/"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported by start()
            self._failure = exc
        finally:
            self._loop.close()

    def start(self) -> Sandbox:
        """Serve; returns once the app has started (migrated, loops running)."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ileti did not start: {self._failure!r}")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with contextlib.suppress(OSError):
            self._socket.close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- in process ---------------------------------------------------------------------

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Run a coroutine on the server's loop (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def run(self, work: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        return self.submit(work).result(timeout)

    def transport(self) -> httpx.BaseTransport:
        """A synchronous httpx transport to the app, without a socket."""
        return InProcessTransport(self)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An asynchronous httpx transport to the app, without a socket (usable from any
        event loop: each request runs on the server's)."""
        return AsyncInProcessTransport(self)


async def _answer(app: Any, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    response = await inner.handle_async_request(request)
    body = await response.aread()
    return response.status_code, list(response.headers.raw), body


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        status, headers, body = self._sandbox.run(_answer(self._sandbox.app, request))
        return httpx.Response(status, headers=headers, content=body, request=request)


class AsyncInProcessTransport(httpx.AsyncBaseTransport):
    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        future = self._sandbox.submit(_answer(self._sandbox.app, request))
        status, headers, body = await asyncio.wrap_future(future)
        return httpx.Response(status, headers=headers, content=body, request=request)
