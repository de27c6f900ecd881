"""The pool's wait for a connection under a flood: first come first served, a deadline
costs no extra Task, dead waiters never take a connection.

Seen in the verbosity-flood demo (py-spy of the backend during the flood): with
``asyncio.wait_for(queue.get(), t)`` the per-wait machinery (a Task per wait, a
cancellation per timeout) was 43 % of the event loop's samples with ~10,000 waiters,
and the loop that hands connections back handed out about 10 a second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from fleetchaos.reference_backend.db import DbPool, PoolTimeout
from fleetchaos.reference_backend.handoff import Handoff


def test_many_waits_that_time_out_create_no_task_and_lose_no_connection(tmp_path):
    path = str(tmp_path / "p.db")
    release = threading.Event()

    async def scenario() -> tuple[int, int, int, int, int]:
        loop = asyncio.get_running_loop()
        created = 0

        def counting_factory(lp, coro, **kwargs):
            nonlocal created
            created += 1
            return asyncio.Task(coro, loop=lp, **kwargs)

        pool = DbPool(path, 1)
        try:
            holder = asyncio.create_task(pool.run(lambda conn: release.wait(20), 20))
            while pool.idle.qsize():  # the only connection is taken
                await asyncio.sleep(0.01)
            waits = [pool.run(lambda conn: 1, 0.3) for _ in range(3000)]
            loop.set_task_factory(counting_factory)
            gathered = asyncio.gather(*waits, return_exceptions=True)  # 3000 tasks of ours
            before = created
            results = await gathered
            loop.set_task_factory(None)
            timed_out = sum(isinstance(r, PoolTimeout) for r in results)
            release.set()
            await holder
            # The connection came back and goes to a live waiter, not to a dead one.
            after = await pool.run(lambda conn: conn.execute("SELECT 1").fetchone()[0], 5)
            return created - before, timed_out, after, pool.stats()["waiting"], \
                len(getattr(pool.idle, "_waiters", ()))
        finally:
            release.set()
            pool.close()

    extra_tasks, timed_out, after, waiting, dead_kept = asyncio.run(
        asyncio.wait_for(scenario(), 60))
    assert timed_out == 3000
    assert extra_tasks == 0, f"{extra_tasks} Tasks created by 3000 waits for a connection"
    assert after == 1 and waiting == 0
    assert dead_kept <= 64  # timed-out waiters are dropped, not kept until a put


def test_first_come_first_served_and_a_cancelled_winner_passes_its_item_on():
    async def scenario() -> list[str]:
        box: Handoff[str] = Handoff()
        got: list[str] = []

        async def take(name: str, timeout_s: float) -> None:
            try:
                got.append(f"{name}:{await box.get(timeout_s)}")
            except TimeoutError:
                got.append(f"{name}:timeout")

        first = asyncio.create_task(take("first", 0.05))  # expires before any item
        second = asyncio.create_task(take("second", 10))
        third = asyncio.create_task(take("third", 10))
        fourth = asyncio.create_task(take("fourth", 10))
        await asyncio.sleep(0.2)
        box.put_nowait("a")  # to the oldest live waiter: second
        box.put_nowait("b")  # handed to third ...
        third.cancel()  # ... which is cancelled before it runs: "b" goes to fourth
        await asyncio.gather(first, second, third, fourth, return_exceptions=True)
        box.put_nowait("c")  # nobody waits: kept
        got.append(f"kept:{box.qsize()}:{await box.get(0.01)}")
        return got

    got = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert got == ["first:timeout", "second:a", "fourth:b", "kept:1:c"]


def test_a_wait_past_its_deadline_raises_timeout_error():
    async def scenario() -> None:
        box: Handoff[int] = Handoff()
        with pytest.raises(TimeoutError):
            await box.get(0.01)
        box.put_nowait(1)
        assert await box.get(0.01) == 1

    asyncio.run(scenario())


def test_the_pool_still_serves_every_waiter_in_order_when_connections_come_back(tmp_path):
    """Ten waiters for one connection, each holding it briefly: all served, in order."""
    path = str(tmp_path / "p.db")

    async def scenario() -> list[int]:
        pool = DbPool(path, 1)
        order: list[int] = []
        try:
            def work(i: int):
                def fn(conn: sqlite3.Connection) -> None:
                    order.append(i)
                return fn
            await asyncio.gather(*(pool.run(work(i), 10) for i in range(10)))
            return order
        finally:
            pool.close()

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == list(range(10))
