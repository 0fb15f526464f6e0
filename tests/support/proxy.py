"""A TCP proxy on 127.0.0.1 that a test cuts and restores: a database that becomes
unreachable (every connection dropped, new ones refused) and reachable again on the
same port. It runs its own event loop in a thread, so that it keeps forwarding while
the code under test blocks its own loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support.processes import free_port


class Proxy:
    """``with Proxy(upstream_port) as proxy``: connect to ``proxy.port``;
    ``proxy.cut()`` and ``proxy.restore()``."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Proxy:
        self._thread.start()
        self.port = free_port()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self, coroutine: object, timeout: float = 10) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)  # type: ignore[arg-type]

    def restore(self) -> None:
        """Listen again (on the same port)."""

        async def listen() -> None:
            if self._server is None:
                self._server = await asyncio.start_server(
                    self._serve, "127.0.0.1", self.port, reuse_address=True
                )

        self._run(listen())

    def cut(self) -> None:
        """Stop listening (new connections are refused) and drop every open one."""

        async def close() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._run(close())

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while chunk := await reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            writer.transport.abort()

        try:
            await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))
        finally:
            self._writers.discard(client_w)
            self._writers.discard(server_w)
