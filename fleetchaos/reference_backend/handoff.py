"""A FIFO hand-off of pooled items to waiters with deadlines, cheap per wait.

``asyncio.wait_for(queue.get(), t)`` costs a Task, a timer, a waiter future and, on
timeout, a cancellation that takes another loop pass, for every wait. Under a telemetry
flood the pool has 10,000 waiters and most of them time out: py-spy of the backend
showed that machinery at 43 % of the event loop's samples (Queue.get, ensure_future,
create_task, wait_for), which starved the loop that hands connections back. Here a wait
is one future and one timer; a waiter whose deadline passed is skipped when an item is
handed out (and the deque is compacted once most of it is dead), so a timeout is O(1).
Order is first come, first served, as with ``asyncio.Queue``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiters: deque[asyncio.Future[T]] = deque()
        self._live = 0  # waiters still waiting (the deque also holds dead ones)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def get_nowait(self) -> T:
        """The oldest item; IndexError when there is none."""
        return self._items.popleft()

    def put_nowait(self, item: T) -> None:
        """Give ``item`` to the oldest live waiter, or keep it for the next ``get``."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._live -= 1
                waiter.set_result(item)
                return
        self._items.append(item)

    async def get(self, timeout_s: float) -> T:
        """The oldest item, waiting at most ``timeout_s``; TimeoutError past it."""
        if self._items:
            return self._items.popleft()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._waiters.append(waiter)
        self._live += 1
        timer = loop.call_later(timeout_s, self._expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled by our caller: an item already handed to us goes to the next one.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.put_nowait(waiter.result())
            elif not waiter.done() or waiter.cancelled():
                self._dead()
            raise
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[T]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())
            self._dead()

    def _dead(self) -> None:
        """One waiter left without an item; drop the dead ones once they are most."""
        self._live -= 1
        if len(self._waiters) > 64 and len(self._waiters) > 2 * self._live:
            self._waiters = deque(w for w in self._waiters if not w.done())
