"""The durable batched writer.

Every write of the running server goes through one thread that owns one database
connection. It takes whatever writes are waiting (up to a bound), runs them all in one
transaction, commits (for SQLite in WAL mode with ``synchronous=FULL`` that is one
fsync; for PostgreSQL one synchronous commit), and only then answers every caller.
So a 200 always means "on disk", and N concurrent writes cost one fsync, not N.

Two kinds of write:

- a *batched* write is a function ``fn(conn, args: list) -> list`` over the arguments
  of every queued call to the same function: calls are grouped by function, so N
  add-blacklist requests become one statement. It does not refuse.
- a *transaction* (``transaction(call)``) is one caller's ``call(conn)``, composed by a
  service from the store's primitives, run inside its own SAVEPOINT: when it raises
  (a refusal such as 402, or any other error of its own), its savepoint is rolled back
  and only its caller gets the exception, while the rest of the batch commits.

If running a batch fails with a database error, nothing of it was committed, and each
write is retried alone in its own transaction, so a broken write fails only its own
caller. If the COMMIT itself fails (the connection dropped while it was under way),
nobody can tell whether the batch is on disk: every caller gets ``CommitUnknown`` (a
503), and nothing is retried, so a committed order is never run again and refused as
its own duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ileti.store.errors import CommitUnknown, StoreUnavailable, is_driver_error, translate

log = logging.getLogger("ileti.store.writer")

A = TypeVar("A")
R = TypeVar("R")
WriteFn = Callable[[Connection, list[Any]], Sequence[Any]]

_STOP = object()
# A PostgreSQL connection idle for longer is checked before a batch: a server restart
# or a dropped connection then costs a reconnect, not a 503 for the first write.
_IDLE_CHECK_SECONDS = 1.0


class _Op:
    __slots__ = ("arg", "fn", "future", "loop")

    def __init__(
        self, fn: WriteFn, arg: Any, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        self.fn = fn
        self.arg = arg
        self.loop = loop
        self.future = future


#: Runs of one write that PostgreSQL rolled back as a deadlock's or a serialization
#: conflict's victim (two instances' batches locking the same rows in another order).
CONFLICT_RETRIES = 3
#: SQLSTATEs of those rollbacks: deadlock detected, serialization failure.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def _conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure reported by the database."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) in _CONFLICT_STATES


def _settle(pairs: list[tuple[asyncio.Future[Any], Any, bool]]) -> None:
    for future, value, failed in pairs:
        if future.done():
            continue
        if failed:
            future.set_exception(value)
        else:
            future.set_result(value)


class Refused:
    """What a transaction raised, delivered to its caller alone."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def run_isolated(conn: Connection, calls: list[Callable[[Connection], Any]]) -> list[Any]:
    """Each call in its own savepoint; one that raises is rolled back alone and its
    exception kept for its caller. A database error ends the batch (the connection may
    be broken): the writer then retries each write alone."""
    results: list[Any] = []
    for call in calls:
        try:
            with conn.begin_nested():
                results.append(call(conn))
        except Exception as exc:
            if is_driver_error(exc):
                raise
            results.append(Refused(exc))
    return results


def _outcome(result: Any) -> tuple[Any, bool]:
    if isinstance(result, Refused):
        return result.error, True
    return result, False


class BatchWriter:
    def __init__(self, engine: Engine, *, linger: float = 0.0, batch_max: int = 512) -> None:
        self._engine = engine
        self._linger = linger
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        self._pending: dict[asyncio.AbstractEventLoop, list[_Op]] = {}
        self._autocommit_ok = engine.dialect.name == "postgresql"
        # The driver's own errors (raised by store functions that use its cursor).
        self._driver_error: type[BaseException] = getattr(engine.dialect.dbapi, "Error", DBAPIError)
        self._check_idle = engine.dialect.name == "postgresql"
        self._used = 0.0
        self.batches = 0
        self.writes = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ileti-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish every queued write, then stop the thread."""
        if self._thread is not None:
            for ops in self._pending.values():
                self._queue.put(ops)
            self._pending.clear()
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def submit(self, fn: Callable[[Connection, list[A]], Sequence[R]], arg: A) -> asyncio.Future[R]:
        """Queue one write; the future resolves after the commit that contains it.

        Writes submitted during one turn of the event loop are handed to the writer
        thread together, at the end of that turn: one wake-up of the thread (and one
        hand-over of the GIL) per turn instead of one per request.
        """
        if self._thread is None:
            raise StoreUnavailable("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append(_Op(fn, arg, loop, future))
        return future

    def transaction(self, call: Callable[[Connection], R]) -> asyncio.Future[R]:
        """Queue ``call(conn)`` to run in its own savepoint of the next batch; the future
        resolves after the commit, or with what ``call`` raised (nothing of it kept)."""
        return self.submit(run_isolated, call)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        ops = self._pending.pop(loop, None)
        if ops:
            self._queue.put(ops)

    # -- the writer thread -------------------------------------------------------

    def _take_batch(self, first: list[_Op]) -> tuple[list[_Op], bool]:
        batch = list(first)
        stop = False
        deadline = time.monotonic() + self._linger if self._linger > 0 else 0.0
        while len(batch) < self._batch_max:
            try:
                if deadline:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    item = self._queue.get(timeout=remaining)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stop = True
                break
            batch.extend(item)
        return batch, stop

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            batch, stop = self._take_batch(item)
            outcomes = self._execute(batch)
            self._deliver(batch, outcomes)
            if stop:
                break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection:
        now = time.monotonic()
        if self._check_idle and self._conn is not None and now - self._used > _IDLE_CHECK_SECONDS:
            try:
                self._conn.exec_driver_sql("SELECT 1")
                self._conn.rollback()
            except (DBAPIError, SQLAlchemyError):
                self._drop_connection()
        self._used = now
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
            self._conn = self._engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _single_statement(self, groups: dict[WriteFn, list[int]]) -> Any:
        """For PostgreSQL, when every write of the batch is of one kind that can run as
        one autocommitted statement (``fn.single_statement``), that statement."""
        if not self._autocommit_ok or len(groups) != 1:
            return None
        return getattr(next(iter(groups)), "single_statement", None)

    def _execute(self, batch: list[_Op], conflicts: int = 0) -> list[tuple[Any, bool]]:
        groups: dict[WriteFn, list[int]] = {}
        for index, op in enumerate(batch):
            groups.setdefault(op.fn, []).append(index)
        outcomes: list[tuple[Any, bool]] = [(None, False)] * len(batch)
        try:
            conn = self._connection()
            single = self._single_statement(groups)
            if single is not None:
                # One statement is its own transaction: one round trip, one commit. Such
                # writes are idempotent (add-blacklist), so a retry after a failure at
                # any point, the COMMIT included, is safe.
                raw = conn.connection.dbapi_connection
                raw.autocommit = True  # type: ignore[union-attr]
                try:
                    results = single(raw, [op.arg for op in batch])
                finally:
                    raw.autocommit = False  # type: ignore[union-attr]
                self.batches += 1
                self.writes += len(batch)
                return [(result, False) for result in results]
            transaction = conn.begin()
            try:
                for fn, indexes in groups.items():
                    results = fn(conn, [batch[i].arg for i in indexes])
                    for i, result in zip(indexes, results, strict=True):
                        outcomes[i] = _outcome(result)
            except BaseException:
                with contextlib.suppress(Exception):
                    transaction.rollback()
                raise
            try:
                transaction.commit()
            except BaseException as exc:
                # Was the COMMIT carried out before the connection broke? Nobody knows:
                # answer 503 to everyone, and retry nothing.
                self._drop_connection()
                log.error("commit outcome unknown for %d write(s): %s", len(batch), exc)
                unknown = CommitUnknown(f"commit outcome unknown: {translate(exc)}")
                return [(unknown, True)] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            return outcomes
        except BaseException as exc:
            if is_driver_error(exc) or isinstance(exc, self._driver_error):
                # The connection may be broken (database restarted): start afresh.
                self._drop_connection()
            if len(batch) == 1:
                if _conflict(exc) and conflicts < CONFLICT_RETRIES:
                    # PostgreSQL chose this transaction as a deadlock's (or a
                    # serialization conflict's) victim and rolled it back before any
                    # COMMIT: nothing of it happened, so it is run again.
                    return self._execute(batch, conflicts + 1)
                log.warning("write failed: %s", translate(exc))
                return [(translate(exc), True)]
        # Retry alone, so one failing write fails only its own caller.
        return [self._execute([op])[0] for op in batch]

    def _deliver(self, batch: list[_Op], outcomes: list[tuple[Any, bool]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, bool]]] = {}
        for op, (value, failed) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(op.loop, []).append((op.future, value, failed))
        for loop, pairs in by_loop.items():
            # A closed loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, pairs)
