"""Identity indices across the processes of a distributed run: workers lease, the master lends.

A worker's users take their car, driver or canary index from pools that ask the master
(the Locust message ``fleetchaos_ids``) instead of counting on their own: the users a
worker starts in one go ask in one message, and what stopped users held is given back
the same way. The master keeps the ledger (fleet_sim/index_ledger.py) and answers with
the lowest free indices, so no two workers ever run the same car or driver, however
Locust deals the users out, whatever the number of workers. A local runner keeps its
own pools (``IndexPool``); nothing is asked.

A grant the master cannot make yet (the kind's fixed count is in use; a rebalance is
moving users) waits there; every second while something waits, the master also frees
what workers that left Locust's list of clients held.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import AsyncResult

from fleetchaos.fleet_sim.index_ledger import IndexLedger, from_ranges, to_ranges

if TYPE_CHECKING:
    from locust.env import Environment

MESSAGE = "fleetchaos_ids"
LEASE_TIMEOUT_S = 60.0  # a user that waited this long for its index fails (and says so)
RETRY_S = 1.0

log = logging.getLogger("fleet_sim")
Bounds = Callable[[], dict[str, int | None]]


class LeaseTimeout(RuntimeError):
    """The master did not grant an identity in time."""


class LeasedPool:
    """One kind's indices on a worker: ``take`` waits for the master's grant."""

    def __init__(self, kind: str, client: LeaseClient) -> None:
        self.kind = kind
        self.client = client
        self.waiters: deque[AsyncResult[int]] = deque()
        self.asked = 0  # asked of the master, not granted yet
        self.releasing: list[int] = []

    def take(self) -> int:
        waiter: AsyncResult[int] = AsyncResult()
        self.waiters.append(waiter)
        self.client.schedule()
        try:
            index = waiter.get(timeout=self.client.timeout_s)
        except gevent.Timeout:
            self._abandon(waiter)
            raise LeaseTimeout(f"no {self.kind} identity from the master within "
                               f"{self.client.timeout_s:g} s") from None
        except BaseException:  # killed while waiting (GreenletExit): nothing is kept
            self._abandon(waiter)
            raise
        assert index is not None  # granted() sets every waiter to an index
        return index

    def _abandon(self, waiter: AsyncResult[int]) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)  # its grant, when it comes, goes back at once
        elif waiter.ready() and waiter.successful() and waiter.value is not None:
            self.give_back(waiter.value)

    def give_back(self, index: int) -> None:
        self.releasing.append(index)
        self.client.schedule()

    def granted(self, indices: list[int]) -> None:
        self.asked -= len(indices)
        for index in indices:
            if self.waiters:
                self.waiters.popleft().set(index)
            else:
                self.give_back(index)

    def request(self) -> tuple[int, list[int]]:
        """What to ask for (users waiting beyond what was asked) and to give back, now."""
        need = max(0, len(self.waiters) - self.asked)
        self.asked += need
        release, self.releasing = self.releasing, []
        return need, release


class LeaseClient:
    """A worker's pools and the one message they send per batch of takes and gives."""

    def __init__(self, send: Callable[[dict[str, Any]], None], kinds: tuple[str, ...],
                 timeout_s: float = LEASE_TIMEOUT_S) -> None:
        self.send = send
        self.timeout_s = timeout_s
        self.pools = {kind: LeasedPool(kind, self) for kind in kinds}
        self.scheduled = False

    def schedule(self) -> None:
        """Send after the users started in this go have asked too (one message for all)."""
        if not self.scheduled:
            self.scheduled = True
            gevent.spawn(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        need: dict[str, int] = {}
        release: dict[str, list[list[int]]] = {}
        for kind, pool in self.pools.items():
            n, back = pool.request()
            if n:
                need[kind] = n
            if back:
                release[kind] = to_ranges(back)
        if need or release:
            self.send({"need": need, "release": release})

    def on_message(self, data: dict[str, Any]) -> None:
        for kind, ranges in (data.get("grant") or {}).items():
            if kind in self.pools:
                self.pools[kind].granted(list(from_ranges(ranges)))


class LeaseDesk:
    """The master's side: the ledger, the grants, the waiting, the workers that left."""

    def __init__(self, send: Callable[[str, dict[str, Any]], None], bounds: Bounds,
                 connected: Callable[[], set[str]]) -> None:
        self.ledger = IndexLedger()
        self.send = send  # (client id, message data)
        self.bounds = bounds
        self.connected = connected
        self.retrying: gevent.Greenlet[[], None] | None = None

    def on_message(self, client: str, data: dict[str, Any]) -> None:
        for kind, ranges in (data.get("release") or {}).items():
            self.ledger.release(client, kind, from_ranges(ranges))
        for kind, n in (data.get("need") or {}).items():
            self.ledger.need(client, kind, int(n))
        self.serve()

    def serve(self) -> None:
        """Grant what can be granted; while something still waits, look again every second."""
        self._grant()
        if self.retrying is None and self._waiting():
            self.retrying = gevent.spawn(self._retry)

    def _waiting(self) -> bool:
        return any(self.ledger.waiting(kind) for kind in self.ledger.kinds)

    def _grant(self) -> None:
        bounds = self.bounds()
        grants: dict[str, dict[str, list[list[int]]]] = {}
        for kind in list(self.ledger.kinds):
            for client, indices in self.ledger.serve(kind, bounds.get(kind)).items():
                grants.setdefault(client, {})[kind] = to_ranges(indices)
        for client, grant in grants.items():
            self.send(client, {"grant": grant})

    def _retry(self) -> None:
        try:
            while self._waiting():
                gevent.sleep(RETRY_S)
                for client in self.ledger.clients() - self.connected():
                    log.info("worker %s left: the identities it held are free again", client)
                    self.ledger.drop(client)
                self._grant()
        finally:
            self.retrying = None


def install(environment: Environment, kinds: tuple[str, ...], bounds: Bounds) -> None:
    """Workers lease their pools from the master; the master lends. Local runners: nothing."""
    from locust.runners import MasterRunner, WorkerRunner

    from fleetchaos.fleet_sim.runtime import runtime_of

    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        client = LeaseClient(lambda data: runner.send_message(MESSAGE, data), kinds)
        runtime_of(environment).pools = dict(client.pools)
        runner.register_message(MESSAGE, lambda msg, **_: client.on_message(msg.data))
    elif isinstance(runner, MasterRunner):
        desk = LeaseDesk(lambda client_id, data: runner.send_message(MESSAGE, data,
                                                                      client_id=client_id),
                         bounds, lambda: set(runner.clients.keys()))
        runtime_of(environment).lease_desk = desk
        runner.register_message(MESSAGE, lambda msg, **_: desk.on_message(msg.node_id, msg.data))
