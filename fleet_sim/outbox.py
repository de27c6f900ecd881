"""A car's telemetry outbox, open model: records come due on the car's own clock, whatever
the backend does, and wait here until the link can take them.

Three stages, each bounded:

- **Schedule**: record ``k`` of a rate period is due at ``start + k * interval`` (the
  start is the period's first instant plus the car's seeded phase). Waking at any moment,
  the car asks how many records came due since it last looked: one subtraction, not one
  timer per record. A car whose greenlet was late (a starved CPU, a blocking connect)
  catches up with the same arithmetic, so the rate offered is the configured one.
- **Buffer** (``Outbox.waiting``): records due and not yet sent, oldest first, at most
  the profile's ``buffer``. Held as *runs* (first seq, count, first due time, interval,
  field count, cohort flag), so a backlog of ten thousand records is a few numbers, and
  a record only becomes an object when it is sent. Overflow drops the oldest, counted.
- **In flight** (``Unacked``): records sent and not yet acknowledged, with their resend
  count. The window is the profile's ``max_in_flight`` records on a streaming link
  (WebSocket, MQTT), ``max_in_flight * max_batch`` on HTTP (requests are counted by the
  car). Past their ack timeout they are resent with a doubling wait; past
  ``resend.max`` they are dropped, counted.

Every record is counted where it changes stage (fleet_sim/stats.py): offered when it
comes due, sent when it first leaves, acked, resent, dropped (unsent: the buffer was
full; unacked: its resends ran out). Records of a car in the verbosity cohort (a level
above 1 and the car drawn into the share) are counted apart as well, with the records the
same car would have offered at its base interval over the same time, so a summary can
divide one by the other: the flood's delivered factor.

No clock is read here: callers pass ``now`` (time.monotonic() seconds), which keeps the
module testable without sleeping.
"""

from __future__ import annotations

import math
from typing import Any

from fleetchaos.fleet_sim.profiles import TelemetryContract
from fleetchaos.fleet_sim.stats import FleetCounters

DUE_SCAN = 64  # how many of the oldest in-flight records each look for resends examines


class Pending:
    """One record that left the car: when it came due, when it was last sent, its resends."""

    __slots__ = ("cohort", "due_t", "nfields", "record", "resends", "sent_at", "seq")

    def __init__(self, seq: int, due_t: float, nfields: int, cohort: bool) -> None:
        self.seq = seq
        self.due_t = due_t
        self.nfields = nfields
        self.cohort = cohort
        self.sent_at = 0.0
        self.resends = 0
        self.record: Any = None  # what the transport sent (kept for a resend)


class _Run:
    """Records ``seq .. seq+count-1``, due at ``t0``, ``t0+interval``, ... (not sent yet)."""

    __slots__ = ("cohort", "count", "interval", "nfields", "seq", "t0")

    def __init__(self, seq: int, count: int, t0: float, interval: float, nfields: int,
                 cohort: bool) -> None:
        self.seq, self.count, self.t0 = seq, count, t0
        self.interval, self.nfields, self.cohort = interval, nfields, cohort


class Unacked:
    """Records sent and not yet acked, oldest send first, with their resend count."""

    def __init__(self, contract: TelemetryContract | None = None,
                 counters: FleetCounters | None = None) -> None:
        self.counters = counters if counters is not None else FleetCounters()
        self.items: dict[int, Pending] = {}  # in send order (a resend moves to the end)
        self.max_resends = 3 if contract is None else contract.max_resends
        self.backoff_s = None if contract is None else contract.backoff_s
        self.backoff_max_s = 60.0 if contract is None else contract.backoff_max_s

    def __len__(self) -> int:
        return len(self.items)

    def sent(self, item: Pending, now: float) -> None:
        """``item`` left the car now: a first send, or a resend (its count is kept)."""
        item.sent_at = now
        self.items.pop(item.seq, None)
        self.items[item.seq] = item

    def ack(self, seq: int) -> Pending | None:
        return self.items.pop(seq, None)

    def wait_s(self, timeout_s: float, resends: int) -> float:
        first = self.backoff_s if self.backoff_s is not None else timeout_s
        return float(min(self.backoff_max_s, first * 2 ** resends))

    def next_resend_at(self, timeout_s: float) -> float:
        """When the oldest send's wait ends (inf when nothing is in flight)."""
        for item in self.items.values():
            return item.sent_at + self.wait_s(timeout_s, item.resends)
        return math.inf

    def due(self, now: float, timeout_s: float, limit: int) -> list[Pending]:
        """Records whose wait is over, to resend now (their count raised); those past the
        cap are dropped and counted."""
        out: list[Pending] = []
        dropped: list[int] = []
        for n, (seq, item) in enumerate(self.items.items()):
            if n >= DUE_SCAN or len(out) >= limit:
                break
            if now - item.sent_at < self.wait_s(timeout_s, item.resends):
                continue
            if item.resends >= self.max_resends:
                dropped.append(seq)
                continue
            item.resends += 1
            out.append(item)
        for seq in dropped:
            del self.items[seq]
        if dropped:
            self.counters.add("telemetry_dropped", len(dropped))
            self.counters.add("telemetry_dropped_unacked", len(dropped))
            self.counters.add("telemetry_in_flight", -len(dropped))
        return out


class Outbox:
    """One car's open-model telemetry: its schedule, its bounded buffer, its in-flight window.

    ``advance(now, ...)`` brings the schedule up to ``now`` (and switches rate when the
    car's interval, field count or cohort changed); ``take(now, ...)`` hands out the next
    batch to send: resends whose wait is over first, then the oldest waiting records, as
    far as the window allows.
    """

    def __init__(self, contract: TelemetryContract, counters: FleetCounters,
                 phase: float = 0.0) -> None:
        self.counters = counters
        self.capacity = contract.buffer
        self.max_batch = contract.max_batch
        per_request = contract.max_batch if contract.transport == "http" else 1
        self.window = contract.max_in_flight * per_request
        self.unacked = Unacked(contract, counters)
        self.phase = phase % 1.0  # where in its interval this car's records fall
        self.runs: list[_Run] = []  # a few at most: a list costs a car less than a deque
        self.waiting = 0
        self.seq = 0  # the last seq that came due
        self.next_due = math.inf  # when the next record comes due (inf: not generating)
        self.interval = 0.0
        self.nfields = 0
        self.cohort = False
        self.base_interval = 0.0
        self.running = False

    # --- the schedule ---------------------------------------------------------------------

    def advance(self, now: float, interval: float, nfields: int, cohort: bool,
                base_interval: float) -> None:
        """Count in what came due up to ``now``, and run at this rate from here on.

        A new rate takes effect at the record already pending (as a car's periodic timer
        is reprogrammed: the period in progress runs out, the next one has the new length),
        so cars do not all switch in the same instant; a car that was not generating
        starts at ``now`` plus its phase."""
        if self.running:
            self._generate(now)
            if (interval, nfields, cohort) == (self.interval, self.nfields, self.cohort):
                return
            self._cohort_cars(-1 if self.cohort else 0)
        else:
            self.next_due = now + self.phase * interval
        self.running = True
        self.interval, self.nfields, self.cohort = interval, nfields, cohort
        self.base_interval = base_interval
        self._cohort_cars(1 if cohort else 0)

    def pause(self, now: float) -> None:
        """No records from now on (an asleep or stopped car) until the next ``advance``."""
        if self.running:
            self._generate(now)
            self._cohort_cars(-1 if self.cohort else 0)
        self.running = False
        self.next_due = math.inf

    def _cohort_cars(self, n: int) -> None:
        if n:
            self.counters.add("telemetry_cohort_cars", n)

    def _generate(self, now: float) -> None:
        if now < self.next_due:
            return
        count = int((now - self.next_due) / self.interval) + 1
        first = self.next_due
        self.next_due = first + count * self.interval
        seq = self.seq + 1
        self.seq += count
        add = self.counters.add
        add("telemetry_offered", count)
        if self.cohort:
            add("telemetry_cohort_offered", count)
            add("telemetry_cohort_baseline", count * self.interval / self.base_interval)
        last = self.runs[-1] if self.runs else None
        if last is not None and last.seq + last.count == seq and last.nfields == self.nfields \
                and last.cohort == self.cohort and last.interval == self.interval \
                and abs(last.t0 + last.count * last.interval - first) < 1e-9:
            last.count += count
        else:
            self.runs.append(_Run(seq, count, first, self.interval, self.nfields, self.cohort))
        self.waiting += count
        add("telemetry_buffered", count)
        if self.waiting > self.capacity:
            self._drop_oldest(self.waiting - self.capacity)

    def _drop_oldest(self, n: int) -> None:
        self.waiting -= n
        add = self.counters.add
        add("telemetry_buffered", -n)
        add("telemetry_dropped", n)
        add("telemetry_dropped_unsent", n)
        while n:
            run = self.runs[0]
            k = min(n, run.count)
            run.seq += k
            run.t0 += k * run.interval
            run.count -= k
            n -= k
            if not run.count:
                del self.runs[0]

    # --- sending --------------------------------------------------------------------------

    def room(self) -> int:
        """How many waiting records the window lets out now."""
        return min(self.waiting, max(0, self.window - len(self.unacked)))

    def has_work(self, now: float, timeout_s: float) -> bool:
        return self.room() > 0 or self.unacked.next_resend_at(timeout_s) <= now

    def take(self, now: float, timeout_s: float) -> tuple[list[Pending], list[Pending]]:
        """(resends, fresh): at most ``max_batch`` in all, resends first. Both are marked
        sent now and counted; a caller whose write failed gives them back (``unsend``)."""
        resends = self.unacked.due(now, timeout_s, self.max_batch)
        fresh: list[Pending] = []
        n = min(self.max_batch - len(resends), self.room())
        while n > 0:
            run = self.runs[0]
            k = min(n, run.count)
            for i in range(k):
                fresh.append(Pending(run.seq + i, run.t0 + i * run.interval, run.nfields,
                                     run.cohort))
            run.seq += k
            run.t0 += k * run.interval
            run.count -= k
            n -= k
            if not run.count:
                del self.runs[0]
        add = self.counters.add
        if resends:
            add("telemetry_resent", len(resends))
        if fresh:
            k = len(fresh)
            self.waiting -= k
            add("telemetry_buffered", -k)
            add("telemetry_sent", k)
            add("telemetry_in_flight", k)
            cohort = sum(1 for p in fresh if p.cohort)
            if cohort:
                add("telemetry_cohort_sent", cohort)
        for item in resends:
            self.unacked.sent(item, now)
        for item in fresh:
            self.unacked.sent(item, now)
        return resends, fresh

    def unsend(self, resends: list[Pending], fresh: list[Pending]) -> None:
        """A write failed before anything left: fresh records wait again (oldest first),
        resends keep their place in flight with the resend not counted."""
        add = self.counters.add
        for item in resends:
            item.resends -= 1
        if resends:
            add("telemetry_resent", -len(resends))
        if not fresh:
            return
        for item in reversed(fresh):
            self.unacked.items.pop(item.seq, None)
            self.runs.insert(0, _Run(item.seq, 1, item.due_t, 0.0, item.nfields, item.cohort))
        k = len(fresh)
        self.waiting += k
        add("telemetry_buffered", k)
        add("telemetry_sent", -k)
        add("telemetry_in_flight", -k)
        cohort = sum(1 for p in fresh if p.cohort)
        if cohort:
            add("telemetry_cohort_sent", -cohort)

    def ack(self, seq: int) -> Pending | None:
        """The record this ack names, counted once (a late or repeated ack: None)."""
        item = self.unacked.ack(seq)
        if item is None:
            return None
        add = self.counters.add
        add("telemetry_acked")
        add("telemetry_in_flight", -1)
        if item.cohort:
            add("telemetry_cohort_acked")
        return item

    def close(self, now: float) -> None:
        """The car stops: its gauges (waiting, in flight, cohort car) leave the totals."""
        self.pause(now)
        add = self.counters.add
        if self.waiting:
            add("telemetry_buffered", -self.waiting)
        if self.unacked.items:
            add("telemetry_in_flight", -len(self.unacked.items))
        self.waiting = 0
        self.runs.clear()
        self.unacked.items.clear()


__all__ = ["DUE_SCAN", "Outbox", "Pending", "Unacked"]
