"""The Store: engines, the durable writer, reads on a thread pool, migrations.

Callers pass store functions (``ileti.store.accounts``, ``ileti.store.blacklist``, ...);
only those hold SQL. Reads run on a small thread pool; writes go through the batched
writer (``write`` for batched functions, ``transaction`` for a service's composed
transaction) and resolve only after their commit.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, text

from ileti.config import Settings
from ileti.store.engine import create_engines
from ileti.store.errors import is_driver_error, translate
from ileti.store.writer import BatchWriter

R = TypeVar("R")
A = TypeVar("A")


class Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reader, self.writer_engine = create_engines(
            settings.database_url, read_pool_size=settings.read_pool_size
        )
        self.dialect = self.reader.dialect.name
        self.writer = BatchWriter(
            self.writer_engine,
            linger=settings.write_linger_seconds,
            batch_max=settings.write_batch_max,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=settings.read_pool_size, thread_name_prefix="ileti-read"
        )

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        self._executor.shutdown(wait=True)
        self.reader.dispose()
        if self.writer_engine is not self.reader:
            self.writer_engine.dispose()

    def migrate(self) -> None:
        from ileti.store.migrate import upgrade

        upgrade(self.writer_engine)

    # -- running store functions -----------------------------------------------------

    def read_sync(self, fn: Callable[..., R], *args: Any) -> R:
        try:
            with self.reader.connect() as conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return fn(conn, *args)
        except Exception as exc:
            if is_driver_error(exc):
                raise translate(exc) from exc
            raise

    def write_sync(self, fn: Callable[[Connection], R]) -> R:
        """One transaction outside the batched writer (CLI bulk work, migrations)."""
        try:
            with self.writer_engine.begin() as conn:
                return fn(conn)
        except Exception as exc:
            if is_driver_error(exc):
                raise translate(exc) from exc
            raise

    async def read(self, fn: Callable[..., R], *args: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self.read_sync, fn, *args)
        )

    def write(self, fn: Callable[[Connection, list[A]], list[R]], arg: A) -> Awaitable[R]:
        """Queue a batched write; await it for the result after commit."""
        return self.writer.submit(fn, arg)

    def transaction(self, call: Callable[[Connection], R]) -> Awaitable[R]:
        """Run ``call(conn)`` (a service's composition of store primitives) in its own
        savepoint of the writer's next transaction; its result after the commit, or what
        it raised, with nothing of it kept."""
        return self.writer.transaction(call)

    @staticmethod
    def ping_conn(conn: Connection) -> int:
        return int(conn.execute(text("SELECT 1")).scalar_one())
