"""A clean stop within the parent's grace, however many cars are connected (issue 27).

The harness stops a child with SIGTERM and SIGKILLs it when it is still running 5 s later
(``ChildProcess.stop``); a SIGKILL leaves SQLite's ``-wal`` and ``-shm`` files behind.
With 700-1,100 WebSocket cars under a flood the old stop took 8-12 s: it waited 2 s for
the cars to answer their close, then aiohttp waited up to twice its 5 s shutdown timeout
for handlers still busy with cars that did not answer, while the event loop kept serving
requests that arrived after the signal.

Here the stop has a budget (``--stop-timeout-s``, default 3 s, under the 5 s grace with
room for a loaded machine) and each step a bounded share of it, in the order that keeps
acked == stored:

1. the listener is closed (``serve_until_signalled``): nothing new comes in;
2. writes still queued for a database connection give up (their records are not acked,
   the cars resend them to the next backend), and the MQTT consumer stops taking messages;
3. transactions already running finish, so their acks go out before the links close
   (one still running past its share is interrupted: SQLite rolls it back, no ack);
4. every car link gets its close (1001) at once; a car that has not answered within its
   share is cut (its transport aborted), and every pending command fails (408);
5. aiohttp's own shutdown gets what is left for the HTTP handlers;
6. the WAL is checkpointed into the database file and every connection closed
   (``DbPool.close``), so SQLite removes ``-wal`` and ``-shm``.

One line in the backend's log says how long the stop took and what it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from fleetchaos.reference_backend.state import BackendState

DEFAULT_STOP_TIMEOUT_S = 3.0
# Shares of the budget: the MQTT consumer, running transactions, the cars' close replies,
# aiohttp's handler shutdown (it may wait twice this). The checkpoint gets the rest.
INGEST_SHARE, DRAIN_SHARE, CLOSE_SHARE, HANDLER_SHARE = 0.15, 0.2, 0.2, 0.1


@dataclass
class StopReport:
    """What the stop did, for its log line."""

    budget_s: float
    started: float = field(default_factory=time.monotonic)
    links: int = 0
    links_cut: int = 0
    given_up: int = 0
    interrupted: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    last: float = 0.0  # when the last step ended

    def step(self, name: str) -> None:
        """Record step ``name`` as lasting from the previous step's end to now."""
        now = time.monotonic()
        self.steps[name] = now - (self.last or self.started)
        self.last = now

    def line(self, wal_bytes: int) -> str:
        total = time.monotonic() - self.started
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in self.steps.items())
        return (f"stopped in {total:.2f} s (budget {self.budget_s:g} s): {self.links} car links "
                f"closed ({self.links_cut} cut without answering), {self.given_up} queued writes "
                f"given up, {self.interrupted} running writes interrupted, WAL of "
                f"{wal_bytes} bytes checkpointed; {steps}")


async def stop_cars_and_writes(state: BackendState, ingest: Any | None,
                               report: StopReport) -> None:
    """Steps 2-4 (the listener is already closed): fail the queue, drain, close the links."""
    budget = report.budget_s
    state.pool.stop_waiters()
    if ingest is not None:
        await ingest.stop(timeout_s=INGEST_SHARE * budget)
        state.pool.stop_waiters()  # the consumer's retries that queued meanwhile
    report.given_up = state.pool.given_up
    report.step("queue")
    report.interrupted = await state.pool.drain(DRAIN_SHARE * budget)
    await asyncio.sleep(0)  # the acks of what was just stored are written before the closes
    report.step("writes")
    links = list(state.cars.links.values())
    report.links = len(links)
    deadline = time.monotonic() + CLOSE_SHARE * budget
    closing = [asyncio.create_task(link.ws.close(code=1001, message=b"server shutting down"))
               for link in links]
    if closing:
        await asyncio.wait(closing, timeout=CLOSE_SHARE * budget)
    # A close task can end before its car answered (aiohttp's own close, run when a handler
    # returns, then waits up to 10 s for the reply): what counts is the connection.
    while any(link.is_open() for link in links) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    for link in links:
        if link.is_open():  # no close reply in time: cut the car (its handler ends at once)
            report.links_cut += 1
            with contextlib.suppress(Exception):
                link.cut()
        state.cars.disconnect(link)  # pending commands fail now (408), not at their timeout
    report.step("links")


def handler_timeout(budget_s: float) -> float:
    """aiohttp's shutdown timeout for the handlers left (it may wait twice this)."""
    return HANDLER_SHARE * budget_s


def log_stopped(report: StopReport, wal_bytes: int) -> None:
    """The stop's line on stderr (the run's backend log), past the logger's ERROR level."""
    print(f"fleetchaos backend: {report.line(wal_bytes)}", file=sys.stderr, flush=True)


__all__ = ["DEFAULT_STOP_TIMEOUT_S", "StopReport", "handler_timeout", "log_stopped",
           "stop_cars_and_writes"]
