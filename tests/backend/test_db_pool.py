"""The shared pool on a real SQLite file: failed work never leaves a connection holding
the write lock, a connection is never lent twice, and close() closes them all."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from typing import Any

import pytest

from fleetchaos.reference_backend.db import DbPool, PoolTimeout, transaction


def insert(seq: int, fail: bool = False, managed: bool = True):
    def work(conn: sqlite3.Connection) -> int:
        if managed:
            with transaction(conn):
                conn.execute("INSERT INTO telemetry (vin, seq, ts, is_resend, body) "
                             "VALUES ('V', ?, 0, 0, '{}')", (seq,))
                if fail:
                    raise ValueError("boom after the insert")
        else:  # the pool's own safety net: a BEGIN left open by the work itself
            conn.execute("BEGIN")
            conn.execute("INSERT INTO telemetry (vin, seq, ts, is_resend, body) "
                         "VALUES ('V', ?, 0, 0, '{}')", (seq,))
            if fail:
                raise ValueError("boom inside a bare BEGIN")
            conn.execute("COMMIT")
        return id(conn)
    return work


def seqs(path: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM telemetry ORDER BY seq")]
    finally:
        conn.close()


@pytest.mark.parametrize("managed", [True, False], ids=["transaction", "bare-begin"])
def test_failed_work_is_rolled_back_and_its_connection_replaced(tmp_path, managed):
    path = str(tmp_path / "p.db")

    async def scenario() -> tuple[int, int, dict[str, Any]]:
        pool = DbPool(path, 4)
        try:
            for seq in range(4):  # every pooled connection fails once, as four 2^64 seqs did
                with pytest.raises(ValueError):
                    await pool.run(insert(seq, fail=True, managed=managed), 5)
            # Each next write would sit in the 30 s busy wait if a lock were still held.
            ok = [await pool.run(insert(10 + i, managed=managed), 5) for i in range(4)]
            return len(set(ok)), pool.size, pool.stats()
        finally:
            pool.close()

    distinct, size, stats = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert seqs(path) == [10, 11, 12, 13]
    assert size == 4 and stats["replaced"] == 4 and stats["idle"] == 4
    assert distinct == 4


def test_a_cancelled_request_does_not_return_a_connection_still_in_use(tmp_path):
    path = str(tmp_path / "p.db")
    release = threading.Event()

    def slow(conn: sqlite3.Connection) -> None:
        release.wait(10)

    async def scenario() -> tuple[bool, int]:
        pool = DbPool(path, 1)
        try:
            first = asyncio.create_task(pool.run(slow, 5))
            while pool.idle.qsize():  # the only connection is taken
                await asyncio.sleep(0.01)
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
            try:
                await pool.run(insert(1), 0.2)
                lent_twice = True
            except PoolTimeout:
                lent_twice = False
            release.set()
            await pool.run(insert(2), 10)  # back in the pool once its thread is done
            return lent_twice, pool.size
        finally:
            release.set()
            pool.close()

    lent_twice, size = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert not lent_twice
    assert size == 1
    assert seqs(path) == [2]


def test_close_closes_every_connection_and_sqlite_removes_wal_and_shm(tmp_path):
    path = str(tmp_path / "p.db")

    async def scenario() -> None:
        pool = DbPool(path, 4)
        await asyncio.gather(*(pool.run(insert(i), 5) for i in range(8)))
        with pytest.raises(ValueError):
            await pool.run(insert(99, fail=True), 5)
        assert os.path.exists(path + "-wal")
        pool.close()

    asyncio.run(scenario())
    assert sorted(os.listdir(tmp_path)) == ["p.db"]
    assert seqs(path) == list(range(8))


def test_drain_waits_for_running_work_and_interrupts_what_outlives_it(tmp_path):
    """At stop: work already on a connection finishes (its ack may go out), and a write
    still running when its share of the stop budget ends is interrupted: SQLite rolls it
    back, so nothing the caller could ack is lost, and close() then leaves no -wal/-shm."""
    path = str(tmp_path / "p.db")

    def endless(conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute("INSERT INTO telemetry (vin, seq, ts, is_resend, body) "
                         "VALUES ('V', 7, 0, 0, '{}')")
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                         "SELECT count(*) FROM c")  # never ends by itself

    def slow_read(conn: sqlite3.Connection) -> int:  # a reader does not wait for the writer
        time.sleep(0.2)
        return int(conn.execute("SELECT count(*) FROM telemetry").fetchone()[0])

    async def scenario() -> tuple[int, int, float, BaseException | None]:
        pool = DbPool(path, 2)
        await pool.run(insert(1), 5)  # committed: in the WAL until close() checkpoints it
        stuck = asyncio.create_task(pool.run(endless, 5))
        while not pool.busy:
            await asyncio.sleep(0.01)
        quick = asyncio.create_task(pool.run(slow_read, 5))
        while len(pool.busy) < 2:
            await asyncio.sleep(0.01)
        pool.stop_waiters()
        started = asyncio.get_running_loop().time()
        interrupted = await pool.drain(0.5)
        took = asyncio.get_running_loop().time() - started
        assert await quick == 1
        error = (await asyncio.gather(stuck, return_exceptions=True))[0]
        wal = pool.close()
        return interrupted, wal, took, error if isinstance(error, BaseException) else None

    interrupted, wal, took, error = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert interrupted == 1
    assert 0.4 < took < 5
    assert isinstance(error, sqlite3.OperationalError) and "interrupt" in str(error)
    assert wal > 0
    assert seqs(path) == [1]
    assert sorted(os.listdir(tmp_path)) == ["p.db"]
