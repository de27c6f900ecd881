"""SQLite (WAL) behind a bounded pool of connections with acquire deadlines.

Ingestion and the API take connections from the same FIFO pool, so when telemetry
floods in, an unlock request queues behind hundreds of telemetry writes and its
deadline passes: ``PoolTimeout`` surfaces as a 500, as in any service whose
connection pool is exhausted. Each connection runs its SQL on its own worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

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


class DbPool:
    def __init__(self, path: str, size: int, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self.executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="db")
        self.idle: asyncio.Queue[sqlite3.Connection] = asyncio.Queue()
        self.size = 0
        self.waiting = 0
        self.wait_count = 0
        self.wait_total_s = 0.0
        self.wait_max_s = 0.0
        self.timeouts = 0
        with self._connect() as conn:
            conn.executescript(SCHEMA)
        self.resize(size)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                               isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def resize(self, size: int) -> None:
        """Grow now; shrink as connections come back (see ``release``)."""
        while self.size < size:
            self.idle.put_nowait(self._connect())
            self.size += 1
        self.target = size

    async def run(self, fn: Callable[[sqlite3.Connection], T], timeout_s: float) -> T:
        """Run ``fn(conn)`` on a pooled connection, waiting at most ``timeout_s`` for one."""
        start = time.monotonic()
        self.waiting += 1
        try:
            conn = await asyncio.wait_for(self.idle.get(), timeout_s)
        except TimeoutError:
            self.timeouts += 1
            raise PoolTimeout(f"no database connection within {timeout_s:.1f} s") from None
        finally:
            self.waiting -= 1
        waited = time.monotonic() - start
        self.wait_count += 1
        self.wait_total_s += waited
        self.wait_max_s = max(self.wait_max_s, waited)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, conn)
        finally:
            self.release(conn)

    def release(self, conn: sqlite3.Connection) -> None:
        if self.size > self.target:
            self.size -= 1
            conn.close()
        else:
            self.idle.put_nowait(conn)

    def stats(self) -> dict[str, Any]:
        return {
            "size": self.size, "idle": self.idle.qsize(), "waiting": self.waiting,
            "waits": self.wait_count, "timeouts": self.timeouts,
            "wait_avg_ms": round(1000 * self.wait_total_s / self.wait_count, 2)
            if self.wait_count else 0.0,
            "wait_max_ms": round(1000 * self.wait_max_s, 2),
        }

    def count_telemetry(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM telemetry").fetchone()[0])

    def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait().close()
        self.executor.shutdown(wait=True)
