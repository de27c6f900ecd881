"""Who holds which identity across the workers of a distributed run: the master's ledger.

Locust does not split a class's fixed count evenly across workers (it deals users out
class by class to workers in turn, so a 1:1 car/driver mix on two workers can put every
car on one and every driver on the other), rebalances when a worker joins or leaves and
stops the users it spawned last. No split of the index space fixed in advance can follow
that, so the master hands indices out on demand, like a lease: a worker asks for as many
as it is about to start, gives back what its stopped users held, and the master always
grants the lowest free indices. No two workers ever hold the same index, and the
indices in use stay the lowest ones (inside the fleet the run registered), as in a
single process.

A grant waits while the indices in use have reached the kind's bound (the class's
fixed count on the master): during a rebalance one worker's new users may ask before
another worker's stopped users have given theirs back, and granting past the bound
would hand out a car the backend does not know. Pure data, no Locust: the wiring is
fleet_sim/identity_lease.py.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Ranges = list[list[int]]  # [[start, stop), ...]: how index lists cross processes


def to_ranges(indices: Iterable[int]) -> Ranges:
    """``[0, 1, 2, 7]`` -> ``[[0, 3], [7, 8]]`` (lowest-first grants are mostly runs)."""
    out: Ranges = []
    for i in sorted(indices):
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return out


def from_ranges(ranges: Iterable[Iterable[int]]) -> Iterator[int]:
    for start, stop in ranges:
        yield from range(int(start), int(stop))


@dataclass
class _Request:
    client: str
    count: int


@dataclass
class _Kind:
    free: list[int] = field(default_factory=list)  # a heap of given-back indices
    next: int = 0  # every index from here up was never handed out
    held: dict[str, set[int]] = field(default_factory=dict)  # client -> its indices
    waiting: deque[_Request] = field(default_factory=deque)  # in order of arrival
    in_use: int = 0

    def lowest(self) -> int:
        if self.free:
            return heapq.heappop(self.free)
        self.next += 1
        return self.next - 1

    def give(self, index: int) -> None:
        heapq.heappush(self.free, index)
        self.in_use -= 1


class IndexLedger:
    """The master's record of every identity index handed to a worker, per kind."""

    def __init__(self) -> None:
        self.kinds: dict[str, _Kind] = {}

    def _kind(self, kind: str) -> _Kind:
        return self.kinds.setdefault(kind, _Kind())

    def held(self, kind: str, client: str) -> set[int]:
        return set(self._kind(kind).held.get(client, ()))

    def waiting(self, kind: str) -> int:
        return sum(r.count for r in self._kind(kind).waiting)

    def release(self, client: str, kind: str, indices: Iterable[int]) -> None:
        """Indices a worker's stopped users held; one it does not hold is ignored."""
        k = self._kind(kind)
        mine = k.held.get(client, set())
        for index in indices:
            if index in mine:
                mine.discard(index)
                k.give(index)

    def need(self, client: str, kind: str, count: int) -> None:
        """A worker is about to start ``count`` more users of this kind."""
        if count > 0:
            self._kind(kind).waiting.append(_Request(client, count))

    def drop(self, client: str) -> None:
        """A worker that is gone: everything it held is free, its requests forgotten."""
        for k in self.kinds.values():
            for index in k.held.pop(client, set()):
                k.give(index)
            k.waiting = deque(r for r in k.waiting if r.client != client)

    def clients(self) -> set[str]:
        return {c for k in self.kinds.values() for c, held in k.held.items() if held} | {
            r.client for k in self.kinds.values() for r in k.waiting}

    def serve(self, kind: str, bound: int | None) -> dict[str, list[int]]:
        """Grant waiting requests in order, lowest indices first, while fewer than
        ``bound`` are in use (None: no bound); what cannot be granted keeps waiting."""
        k = self._kind(kind)
        grants: dict[str, list[int]] = {}
        while k.waiting and (bound is None or k.in_use < bound):
            request = k.waiting[0]
            client = request.client
            index = k.lowest()
            k.in_use += 1
            k.held.setdefault(client, set()).add(index)
            grants.setdefault(client, []).append(index)
            request.count -= 1
            if request.count <= 0:
                k.waiting.popleft()
        return grants
