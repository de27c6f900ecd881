"""SQLite (WAL) behind a bounded pool of connections with acquire deadlines.

Ingestion and the API take connections from the same FIFO pool, so when telemetry
floods in, an unlock request queues behind hundreds of telemetry writes and its
deadline passes: ``PoolTimeout`` surfaces as a 500, as in any service whose
connection pool is exhausted. Each connection runs its SQL on its own worker thread.

A connection is never handed out in an unknown state: writes run inside
``transaction`` (rolled back on any error), and a connection whose work raised is
closed and replaced by a fresh one, so one failed insert cannot keep SQLite's write
lock and starve every later writer for the 30 s busy wait.

At stop (``shutdown.py``): ``stop_waiters`` fails the queue at once, ``drain`` waits for
the transactions already running (bounded; one past its deadline is interrupted and
rolls back, so it is not acked), and ``close`` checkpoints the WAL into the database file
and closes every connection, so SQLite removes its -wal and -shm files.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fleetchaos.reference_backend.handoff import Handoff

T = TypeVar("T")
log = logging.getLogger("reference_backend")

SCHEMA = """
CREATE TABLE IF NOT EXISTS owners (
    id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vehicles (
    id INTEGER PRIMARY KEY, vin TEXT UNIQUE NOT NULL, display_name TEXT,
    owner_id INTEGER NOT NULL REFERENCES owners(id), car_token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY, owner_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS telemetry (
    id INTEGER PRIMARY KEY, vin TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL,
    is_resend INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS telemetry_vin ON telemetry(vin, id);
CREATE TABLE IF NOT EXISTS signals (
    vin TEXT NOT NULL, name TEXT NOT NULL, ts REAL NOT NULL, value TEXT);
CREATE INDEX IF NOT EXISTS signals_by_name ON signals(vin, name, ts);
CREATE INDEX IF NOT EXISTS signals_by_time ON signals(ts, name);
CREATE TABLE IF NOT EXISTS vehicle_state (
    vin TEXT PRIMARY KEY, ts REAL NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, vin TEXT NOT NULL, command TEXT NOT NULL, result TEXT,
    created REAL NOT NULL);
"""


class PoolTimeout(RuntimeError):
    """No database connection within the deadline."""


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any error, the failed COMMIT included."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@dataclass
class _Done(Generic[T]):
    """What a worker thread hands back when the work returned: its result, and the
    connection to return."""

    conn: sqlite3.Connection
    value: T


@dataclass
class _Failed:
    """What a worker thread hands back when the work raised: the error, and a fresh
    connection in place of the one it ran on (None: lost)."""

    conn: sqlite3.Connection | None
    error: BaseException


class DbPool:
    def __init__(self, path: str, size: int, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        # One thread per busy connection (threads start on demand): the knob limit of 256.
        self.executor = ThreadPoolExecutor(max_workers=256, thread_name_prefix="db")
        self.idle: Handoff[sqlite3.Connection | None] = Handoff()  # None: stopping
        self.open: set[sqlite3.Connection] = set()  # every pooled connection, idle or busy
        self.lock = threading.Lock()
        self.closed = False
        self.stopping = False
        self.size = 0
        self.target = 0
        self.waiting = 0
        self.busy: set[sqlite3.Connection] = set()  # connections lent to running work
        self.drained: asyncio.Event | None = None  # set when busy empties (while draining)
        self.given_up = 0  # queued work failed by stop_waiters
        self.wait_count = 0
        self.wait_total_s = 0.0
        self.wait_max_s = 0.0
        self.timeouts = 0
        self.replaced = 0  # connections closed and reopened after their work raised
        with contextlib.closing(self._connect()) as conn:
            conn.executescript(SCHEMA)
        self.resize(size)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                               isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = self._connect()
        with self.lock:
            self.open.add(conn)
        return conn

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self.lock:
            self.open.discard(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    def resize(self, size: int) -> None:
        """Grow now; shrink as connections come back (see ``release``)."""
        self.target = size
        while self.size < size:
            self.idle.put_nowait(self._open())
            self.size += 1

    async def run(self, fn: Callable[[sqlite3.Connection], T], timeout_s: float) -> T:
        """Run ``fn(conn)`` on a pooled connection, waiting at most ``timeout_s`` for one."""
        if self.size < self.target:  # a connection that could not be reopened: try again
            with contextlib.suppress(sqlite3.Error):
                self.resize(self.target)
        start = time.monotonic()
        self.waiting += 1
        try:
            conn = None if self.stopping else await self.idle.get(timeout_s)
        except TimeoutError:
            self.timeouts += 1
            raise PoolTimeout(f"no database connection within {timeout_s:.1f} s") from None
        finally:
            self.waiting -= 1
        if conn is None:
            raise PoolTimeout("the server is stopping")
        waited = time.monotonic() - start
        self.busy.add(conn)
        self.wait_count += 1
        self.wait_total_s += waited
        self.wait_max_s = max(self.wait_max_s, waited)
        fut = asyncio.get_running_loop().run_in_executor(self.executor, self._call, fn, conn)
        # The connection goes back when its thread is done with it, not when the awaiting
        # request is cancelled (a client gone, a server stopping): shield the work.
        fut.add_done_callback(functools.partial(self._settle, conn))
        outcome = await asyncio.shield(fut)
        if isinstance(outcome, _Failed):
            raise outcome.error
        return outcome.value

    def _call(self, fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection
              ) -> _Done[T] | _Failed:
        """On the worker thread: the work, and a fresh connection if the work raised."""
        try:
            return _Done(conn, fn(conn))
        except Exception as exc:
            return _Failed(self._replace(conn), exc)

    def _replace(self, conn: sqlite3.Connection) -> sqlite3.Connection | None:
        """A connection whose work failed is not reused: roll back, close, reopen."""
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        self._discard(conn)
        try:
            fresh = self._open()
        except sqlite3.Error as exc:
            log.warning("cannot reopen a database connection: %s", exc)
            return None
        return fresh

    def _settle(self, lent: sqlite3.Connection, fut: asyncio.Future[_Done[Any] | _Failed]) -> None:
        self.busy.discard(lent)
        if not self.busy and self.drained is not None:
            self.drained.set()
        if fut.cancelled():  # never started (executor shut down): the connection is lost
            self.size -= 1
            return
        outcome = fut.result()
        if isinstance(outcome, _Failed):
            self.replaced += 1
        if outcome.conn is None:
            self.size -= 1
        else:
            self.release(outcome.conn)

    def stop_waiters(self) -> None:
        """At stop: whoever waits for a connection gets PoolTimeout now (a record waiting
        stays unacked and its car resends it), so a stop under a flood does not wait for
        the queue to drain and get killed past its grace period with -wal and -shm left."""
        self.stopping = True
        self.given_up += self.waiting
        for _ in range(self.waiting):
            self.idle.put_nowait(None)

    async def drain(self, timeout_s: float) -> int:
        """At stop, after ``stop_waiters``: wait up to ``timeout_s`` for the work already
        running on a connection; then interrupt what still runs (SQLite rolls it back and
        it fails, so nothing unstored is acked). Returns how many were interrupted."""
        if not self.busy:
            return 0
        self.drained = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained.wait(), timeout_s)
        late = list(self.busy)
        for conn in late:
            with contextlib.suppress(sqlite3.Error):
                conn.interrupt()
        return len(late)

    def release(self, conn: sqlite3.Connection) -> None:
        if self.closed or self.size > self.target:
            self.size -= 1
            self._discard(conn)
        else:
            self.idle.put_nowait(conn)

    def stats(self) -> dict[str, Any]:
        return {
            "size": self.size, "idle": self.idle.qsize(), "waiting": self.waiting,
            "waits": self.wait_count, "timeouts": self.timeouts, "replaced": self.replaced,
            "wait_avg_ms": round(1000 * self.wait_total_s / self.wait_count, 2)
            if self.wait_count else 0.0,
            "wait_max_ms": round(1000 * self.wait_max_s, 2),
        }

    def query(self, sql: str) -> list[Any]:
        """A one-off read outside the pool (admin stats, start-up), on its own connection."""
        with contextlib.closing(self._connect()) as conn:
            return conn.execute(sql).fetchall()

    def count_telemetry(self) -> int:
        return int(self.query("SELECT count(*) FROM telemetry")[0][0])

    def close(self) -> int:
        """Wait for running work, checkpoint the WAL into the database file, then close
        every connection, idle or not. Returns the WAL's size in bytes before the checkpoint
        (the stop's log line reports it)."""
        self.closed = True
        self.executor.shutdown(wait=True)
        while not self.idle.empty():
            self.idle.get_nowait()  # connections are closed below, through self.open
        with self.lock:
            conns, self.open = list(self.open), set()
        wal = 0
        with contextlib.suppress(OSError):
            wal = os.path.getsize(self.path + "-wal")
        if conns:  # TRUNCATE: every page into the file, the WAL emptied, fsynced
            with contextlib.suppress(sqlite3.Error):
                conns[0].execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        return wal
