"""The HTTP server's bounds: uvicorn's httptools protocol, with limits it lacks.

``ileti serve`` runs uvicorn with :class:`BoundedProtocol` (``http=``) and
:class:`BoundedServer` (docs/benchmarks.md, "HTTP server", says why uvicorn+httptools).
Every bound is a setting (docs/configuration.md), per worker process:

- request line and headers at most ``ILETI_MAX_HEADER_BYTES``: past it, ``431`` and
  the connection closed (httptools itself would buffer an endless header for ever);
- the line and headers within ``ILETI_HEADER_TIMEOUT_SECONDS`` of the connection
  opening or of the previous answer: past it, ``408`` and closed (just closed if
  nothing came at all);
- the whole body within ``ILETI_BODY_TIMEOUT_SECONDS`` of the headers: past it, the
  application sees the client gone, the client gets ``408`` and the connection closes;
- an idle keep-alive connection closed after ``ILETI_KEEPALIVE_SECONDS`` (in place of
  uvicorn's timer, which cost a timer armed and cancelled per request);
- at most ``ILETI_MAX_CONNECTIONS`` open connections: one more is answered ``503`` at
  once and closed without its request being read;
- on SIGTERM, ``ILETI_SHUTDOWN_SECONDS`` for in-flight requests to finish; those still
  unfinished then are cut (their clients see the connection close) and counted in one
  warning, ``N requests cut off at shutdown``, instead of a traceback per request.

Timeouts cost nothing per request beyond storing a deadline: :class:`BoundedServer`
checks every connection's deadline on uvicorn's 0.1 s tick. Refusals are logged by
``ileti.server`` at most once per reason every 10 seconds, with their count.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import multiprocess

from ileti.config import Settings

log = logging.getLogger("ileti.server")

_NOTHING = object()
#: How long a refused connection (over the cap) is kept to let its client read the 503.
REFUSED_LINGER_SECONDS = 1.0
#: Refusals of one kind are logged at most once per this many seconds.
LOG_WINDOW_SECONDS = 10.0


@dataclass(frozen=True)
class Bounds:
    """The limits one worker enforces (from Settings)."""

    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int
    shutdown_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> Bounds:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            max_connections=settings.max_connections,
            shutdown_seconds=settings.shutdown_seconds,
        )


class _Tally:
    """Counts one kind of refusal; :meth:`flush` logs the count (at most once a window)."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.count = 0
        self.logged_at = -math.inf

    def flush(self, now: float, *args: object) -> None:
        if self.count and now - self.logged_at >= LOG_WINDOW_SECONDS:
            log.warning(self.message, self.count, *args)
            self.count = 0
            self.logged_at = now


OVER_CAP = _Tally("%d connection(s) answered 503: already %d open (ILETI_MAX_CONNECTIONS)")
HEAD_TOO_LARGE = _Tally(
    "%d request(s) answered 431: line and headers over %d bytes (ILETI_MAX_HEADER_BYTES)"
)
HEAD_TOO_SLOW = _Tally(
    "%d request(s) answered 408: headers not complete within %g s (ILETI_HEADER_TIMEOUT_SECONDS)"
)
BODY_TOO_SLOW = _Tally(
    "%d request(s) answered 408: body not complete within %g s (ILETI_BODY_TIMEOUT_SECONDS)"
)


def _answer(status: int, text: str) -> bytes:
    body = text.encode()
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class _HeadTooLarge(Exception):
    pass


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header limit, a deadline and a connection cap.

    A connection has one deadline: for the next head when it opens or has answered, for
    the body once a head is read. What it was for is decided when it passes
    (:meth:`expire`, called by :class:`BoundedServer`'s tick), from the parser's
    progress, so that a request costs two overridden callbacks and no timer.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        bounds: Bounds,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.bounds = bounds
        self.keepalive = min(config.timeout_keep_alive, bounds.header_timeout)
        self.deadline = math.inf
        # uvicorn gives each request a new headers list when its first byte is read; the
        # head is complete while that list is the one on_headers_complete last saw.
        self.read_headers: object = _NOTHING
        self.head_bytes = 0  # of the head not complete yet (at least)
        self.arrived = False  # some of the head not complete yet came
        self.measure = False  # whether a head completed now must be measured
        self.refused = False
        self.cut_off = False  # shut down while a request's head was arriving
        self.idle = False  # answered, nothing of a next request yet
        self.idle_since = 0.0

    @property
    def reading_head(self) -> bool:
        return self.read_headers is not self.headers

    # -- connection ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.bounds.max_connections:
            self.refused = True
            self.connections.discard(self)
            OVER_CAP.count += 1
            transport.write(_answer(503, "ileti: too many connections, try again later\n"))
            with contextlib.suppress(OSError, NotImplementedError):
                transport.write_eof()
            self.loop.call_later(REFUSED_LINGER_SECONDS, transport.close)
            return
        self.deadline = self.loop.time() + self.bounds.header_timeout

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # the 503 is written; nothing of the request is read
        if self.idle:  # the next request's head is due within the header timeout
            self.idle = False
            self.deadline = self.idle_since + self.bounds.header_timeout
        headers = self.headers
        # A head completed in this chunk can only be too large if the chunk is large.
        self.measure = self.head_bytes + len(data) > self.bounds.max_header_bytes
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._head_too_large()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self.read_headers is not self.headers:
            # A head not complete yet: httptools keeps its bytes, so they are counted
            # here, chunk by chunk. A chunk in which a request began may hold the end of
            # the one before: it is not counted (what follows it is, so the count falls
            # short by one chunk, 256 KiB at most; complete heads are measured exactly).
            self.arrived = True
            if self.headers is headers:
                self.head_bytes += len(data)
                if self.head_bytes > self.bounds.max_header_bytes:
                    self._head_too_large()
            else:
                self.head_bytes = 0

    def shutdown(self) -> None:
        if self.reading_head and self.arrived:
            self.cut_off = True  # a request was arriving: counted by the server
        super().shutdown()

    # -- parser callbacks --------------------------------------------------------------

    def on_headers_complete(self) -> None:
        if self.measure:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.bounds.max_header_bytes:
                raise _HeadTooLarge
        self.read_headers = self.headers
        self.head_bytes = 0
        self.arrived = False
        self.deadline = self.loop.time() + self.bounds.body_timeout
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, with the keep-alive timer (one per request) replaced by the deadline.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.idle = True
            self.idle_since = now = self.loop.time()
            self.deadline = now + self.keepalive

    # -- bounds --------------------------------------------------------------------------

    def expire(self) -> None:
        """The deadline has passed: the head or the body took too long, or the
        connection stayed idle."""
        self.deadline = math.inf
        cycle = self.cycle
        if self.transport.is_closing():
            return
        if self.idle:
            self.transport.close()  # kept alive long enough
        elif self.reading_head:
            if self.arrived:
                HEAD_TOO_SLOW.count += 1
                self._close_with(408, "ileti: request headers not received in time\n")
            else:
                self.transport.close()  # idle: nothing to answer
        elif cycle.response_complete:
            self.transport.close()  # idle, or a body still coming that was not wanted
        elif cycle.more_body:
            BODY_TOO_SLOW.count += 1
            self._close_with(408, "ileti: request body not received in time\n")
        # else: the request is whole and the application is answering it: no deadline

    def cut(self) -> bool:
        """Close now (shutdown's window is over); whether a request was unfinished."""
        cycle = self.cycle
        unfinished = self.reading_head and self.arrived
        if cycle is not None and not cycle.response_complete:
            unfinished = True
            cycle.disconnected = True
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()
        return unfinished

    def _head_too_large(self) -> None:
        HEAD_TOO_LARGE.count += 1
        self.deadline = math.inf
        self._close_with(431, "ileti: request line and headers too large\n")

    def _close_with(self, status: int, text: str) -> None:
        """Answer ``status`` (unless an answer has begun) and close; the application, if
        it is still reading the body, sees the client gone."""
        cycle = self.cycle
        started = False
        if cycle is not None and not cycle.response_complete:
            started = cycle.response_started
            cycle.disconnected = True
            cycle.message_event.set()
        if not started:
            self.transport.write(_answer(status, text))
        self.transport.close()


class BoundedServer(Server):
    """uvicorn's server that checks the connections' deadlines on every tick, logs the
    refusals, and on shutdown cuts what the graceful window did not finish, counted in
    one line."""

    def __init__(self, config: Config, bounds: Bounds) -> None:
        super().__init__(config)
        self.bounds = bounds

    async def on_tick(self, counter: int) -> bool:
        now = asyncio.get_running_loop().time()
        for connection in list(self.server_state.connections):
            if connection.deadline <= now:  # type: ignore[attr-defined]
                connection.expire()  # type: ignore[attr-defined]
        if counter % 10 == 0:
            self.log_refusals(now)
        return await super().on_tick(counter)

    def log_refusals(self, now: float) -> None:
        b = self.bounds
        OVER_CAP.flush(now, b.max_connections)
        HEAD_TOO_LARGE.flush(now, b.max_header_bytes)
        HEAD_TOO_SLOW.flush(now, b.header_timeout)
        BODY_TOO_SLOW.flush(now, b.body_timeout)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, with the end of the graceful window handled here: the
        unfinished requests are cut and counted, none is cancelled with a traceback."""
        logger = logging.getLogger("uvicorn.error")
        logger.info("Shutting down")
        self.log_refusals(math.inf)
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        cut = 0
        for connection in list(self.server_state.connections):
            connection.shutdown()
            if getattr(connection, "cut_off", False):
                cut += 1
        if not await self._drained(self.bounds.shutdown_seconds):
            for connection in list(self.server_state.connections):
                cut += connection.cut()  # type: ignore[attr-defined]
            if not await self._drained(1.0):
                with _quiet_cancellations():
                    tasks = list(self.server_state.tasks)
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
        for server in self.servers:
            await server.wait_closed()
        if cut:
            log.warning(
                "%d request(s) cut off at shutdown (not finished within %g s, "
                "ILETI_SHUTDOWN_SECONDS)",
                cut,
                self.bounds.shutdown_seconds,
            )
        if not self.force_exit:
            await self.lifespan.shutdown()

    async def _drained(self, seconds: float) -> bool:
        """Waits until no connection and no request task is left (True), or ``seconds``
        pass or a second Ctrl-C forces the exit (False)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            if loop.time() >= end:
                return False
            await asyncio.sleep(0.05)
        return not self.force_exit


@contextlib.contextmanager
def _quiet_cancellations() -> Iterator[None]:
    """uvicorn logs a traceback for every request task cancelled; these are counted in
    the shutdown line instead."""

    def drop(record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))

    logger = logging.getLogger("uvicorn.error")
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class _Worker(multiprocess.Process):
    """A ``--workers`` process that runs :class:`BoundedServer` (its bounds read from
    the environment, like every setting of a worker)."""

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = BoundedServer(self.config, Bounds.of(Settings.from_env()))
        return self._server


def protocol(bounds: Bounds) -> Any:
    """What ``uvicorn.Config(http=...)`` takes: :class:`BoundedProtocol` with ``bounds``."""
    return functools.partial(BoundedProtocol, bounds=bounds)


def run(config: Config, bounds: Bounds) -> None:
    """``uvicorn.run`` for a ``config`` made with :func:`protocol`, with
    :class:`BoundedServer` (also in each ``--workers`` process)."""
    if config.workers > 1:
        sock = config.bind_socket()
        # uvicorn's supervisor makes its worker processes by this module-level name.
        multiprocess.Process = _Worker  # type: ignore[misc]
        multiprocess.Multiprocess(config, sockets=[sock]).run()
        return
    server = BoundedServer(config, bounds)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
