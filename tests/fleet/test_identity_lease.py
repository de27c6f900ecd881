"""The master's identity ledger and the workers' leased pools, without Locust processes
(the real master and workers: tests/scale/test_identity_sharding.py)."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from fleetchaos.fleet_sim import identity_lease
from fleetchaos.fleet_sim.identity_lease import LeaseClient, LeaseDesk, LeasedPool, LeaseTimeout
from fleetchaos.fleet_sim.index_ledger import IndexLedger, from_ranges, to_ranges


def test_ranges_round_trip():
    indices = [7, 0, 1, 2, 9, 8, 20]
    assert to_ranges(indices) == [[0, 3], [7, 10], [20, 21]]
    assert list(from_ranges(to_ranges(indices))) == sorted(indices)
    assert to_ranges([]) == []


def test_ledger_grants_the_lowest_free_indices_in_order_of_asking():
    ledger = IndexLedger()
    ledger.need("a", "car", 3)
    ledger.need("b", "car", 2)
    assert ledger.serve("car", None) == {"a": [0, 1, 2], "b": [3, 4]}
    ledger.release("a", "car", [1])
    ledger.release("b", "car", [1])  # b does not hold 1: ignored, never freed twice
    ledger.need("b", "car", 2)
    assert ledger.serve("car", None) == {"b": [1, 5]}
    assert ledger.held("car", "a") == {0, 2}
    assert ledger.held("car", "b") == {1, 3, 4, 5}


def test_ledger_waits_at_the_bound_until_an_index_is_given_back():
    """A rebalance: b's new users ask before a's stopped users gave theirs back. Granting
    then would hand out car 4 of a four-car fleet, which the backend never registered."""
    ledger = IndexLedger()
    ledger.need("a", "car", 4)
    assert ledger.serve("car", 4) == {"a": [0, 1, 2, 3]}
    ledger.need("b", "car", 2)
    assert ledger.serve("car", 4) == {}
    assert ledger.waiting("car") == 2
    ledger.release("a", "car", [2])
    assert ledger.serve("car", 4) == {"b": [2]}
    ledger.release("a", "car", [0])
    assert ledger.serve("car", 4) == {"b": [0]}
    assert ledger.waiting("car") == 0


def test_ledger_frees_what_a_departed_worker_held_and_forgets_its_requests():
    ledger = IndexLedger()
    ledger.need("a", "driver", 3)
    ledger.serve("driver", 3)
    ledger.need("a", "driver", 1)
    ledger.need("b", "driver", 2)
    assert ledger.clients() == {"a", "b"}
    ledger.drop("a")
    assert ledger.serve("driver", 3) == {"b": [0, 1]}
    assert ledger.clients() == {"b"}


class Wire:
    """Master and workers in one process: messages delivered on the next gevent tick."""

    def __init__(self, bounds: dict[str, int | None], kinds: tuple[str, ...] = ("car",)):
        self.bounds = bounds
        self.workers: dict[str, LeaseClient] = {}
        self.connected: set[str] = set()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.desk = LeaseDesk(self.to_worker, lambda: self.bounds, lambda: set(self.connected))
        self.kinds = kinds

    def worker(self, name: str, timeout_s: float = 10.0) -> LeaseClient:
        client = LeaseClient(lambda data: self.to_master(name, data), self.kinds, timeout_s)
        self.workers[name] = client
        self.connected.add(name)
        return client

    def to_master(self, name: str, data: dict[str, Any]) -> None:
        self.sent.append((name, data))
        gevent.spawn(self.desk.on_message, name, data)

    def to_worker(self, name: str, data: dict[str, Any]) -> None:
        if name in self.workers:
            gevent.spawn(self.workers[name].on_message, data)


def start(pool: LeasedPool, n: int) -> list[gevent.Greenlet[[], int]]:
    return [gevent.spawn(pool.take) for _ in range(n)]


def test_users_started_together_ask_in_one_message_and_two_workers_never_overlap():
    wire = Wire({"car": 10})
    a, b = wire.worker("a"), wire.worker("b")
    got_a = start(a.pools["car"], 6)
    got_b = start(b.pools["car"], 4)
    gevent.joinall(got_a + got_b, timeout=5, raise_error=True)
    assert sorted(g.get(block=False) for g in got_a + got_b) == list(range(10))
    assert [d["need"] for _, d in wire.sent] == [{"car": 6}, {"car": 4}]


def test_a_user_waits_while_another_worker_gives_back_then_gets_that_index():
    wire = Wire({"car": 3})
    a, b = wire.worker("a"), wire.worker("b")
    held = start(a.pools["car"], 3)
    gevent.joinall(held, timeout=5, raise_error=True)
    late = gevent.spawn(b.pools["car"].take)
    gevent.sleep(0.05)
    assert not late.ready()  # the fleet's three cars are in use: b waits
    a.pools["car"].give_back(held[1].get(block=False))
    late.join(timeout=5)
    assert late.value == held[1].value


def test_a_user_killed_while_waiting_leaves_nothing_held():
    wire = Wire({"car": 1})
    a, b = wire.worker("a"), wire.worker("b")
    first = gevent.spawn(a.pools["car"].take)
    first.join(timeout=5)
    waiting = gevent.spawn(b.pools["car"].take)
    gevent.sleep(0.05)
    waiting.kill()  # Locust stops the user before its identity came
    a.pools["car"].give_back(first.get(block=False))
    gevent.sleep(0.2)
    # the grant that arrived for the killed user went straight back to the master
    assert wire.desk.ledger.held("car", "b") == set()
    again = gevent.spawn(a.pools["car"].take)
    again.join(timeout=5)
    assert again.value == 0


def test_a_worker_that_left_gives_its_identities_to_the_waiting_ones(monkeypatch):
    monkeypatch.setattr(identity_lease, "RETRY_S", 0.05)
    wire = Wire({"car": 2})
    a, b = wire.worker("a"), wire.worker("b")
    gevent.joinall(start(a.pools["car"], 2), timeout=5, raise_error=True)
    late = gevent.spawn(b.pools["car"].take)
    gevent.sleep(0.1)
    assert not late.ready()
    wire.connected.discard("a")  # Locust dropped the worker (quit, or missing too long)
    late.join(timeout=5)
    assert late.value in (0, 1)


def test_a_user_that_never_gets_an_identity_fails_with_a_reason():
    wire = Wire({"car": 1})
    a, b = wire.worker("a"), wire.worker("b", timeout_s=0.2)
    gevent.spawn(a.pools["car"].take).join(timeout=5)
    with pytest.raises(LeaseTimeout, match=r"no car identity from the master within 0\.2 s"):
        b.pools["car"].take()
