"""The MQTT broker's own figures (its ``$SYS`` counters, journalled in each sample's
``broker`` entry) per phase and per second, for the reports.

``messages_in``, ``messages_out`` and ``dropped`` are cumulative counters, so a phase's
figure is the sum of the increases between consecutive broker readings whose later sample
belongs to the phase (the previous phase's last reading is the first one's base, as for
the other phase figures). The first reading of the run is only a base: a broker the user
already runs has counted since it started. A counter that goes down means the broker
restarted and counts from zero again, so the increase is the new value itself.
``queued_inflight`` and ``clients_connected`` are levels: the phase's peak, and the last
reading in the phase. Samples without a ``broker`` entry (every non-MQTT run) give no rows
and no series, so those reports are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from fleetchaos.scenarios.records import JsonDict, PhaseSpan, SampleRecord, as_number

COUNTERS = ("messages_in", "messages_out", "dropped")


@dataclass(frozen=True)
class BrokerSeries:
    """Messages in / out and dropped per second at each broker update (None: no news)."""

    t: list[float] = field(default_factory=list)
    messages_in_per_s: list[float | None] = field(default_factory=list)
    messages_out_per_s: list[float | None] = field(default_factory=list)
    dropped_per_s: list[float | None] = field(default_factory=list)

    def rates(self, counter: str) -> list[float | None]:
        return {"messages_in": self.messages_in_per_s, "messages_out": self.messages_out_per_s,
                "dropped": self.dropped_per_s}[counter]

    def to_json(self) -> JsonDict:
        return asdict(self)


@dataclass(frozen=True)
class Reading:
    """One sample's broker figures (numbers only) and the counters' increases since the
    previous reading (0 for the first)."""

    t: float
    phase: str | None
    figures: dict[str, float]
    increases: dict[str, float]


@dataclass(frozen=True)
class BrokerRow:
    """One phase's broker figures; None where no reading says."""

    name: str
    start_s: float
    end_s: float
    messages_in: int | None
    messages_out: int | None
    dropped: int | None
    peak_queued_inflight: int | None
    clients_connected: int | None

    def to_json(self) -> JsonDict:
        return {"name": self.name, "start_s": self.start_s, "end_s": self.end_s,
                "messages_in": self.messages_in, "messages_out": self.messages_out,
                "dropped": self.dropped, "peak_queued_inflight": self.peak_queued_inflight,
                "clients_connected": self.clients_connected}


def _increase(now: float | None, before: float | None) -> float:
    if now is None or before is None:
        return 0.0
    return now - before if now >= before else now


def readings(samples: Sequence[SampleRecord]) -> list[Reading]:
    """Every sample with a usable ``broker`` entry, each with its counters' increases."""
    out: list[Reading] = []
    last: dict[str, float] = {}
    for s in samples:
        if s.broker is None:
            continue
        figures = {str(k): float(n) for k, v in s.broker.items()
                   if (n := as_number(v)) is not None}
        if not figures:
            continue
        increases = {c: _increase(figures.get(c), last.get(c)) for c in COUNTERS}
        out.append(Reading(float(s.t), s.phase, figures, increases))
        last.update({c: figures[c] for c in COUNTERS if c in figures})
    return out


def phase_rows(samples: Sequence[SampleRecord], phases: Sequence[PhaseSpan]) -> list[BrokerRow]:
    """One row per phase: counters' increases, peak queued/inflight, clients at its end.

    Empty when no sample has broker figures.
    """
    read = readings(samples)
    if not read:
        return []
    rows = []
    for phase in phases:
        mine = [r for r in read if r.phase == phase.name]
        queued = [r.figures["queued_inflight"] for r in mine if "queued_inflight" in r.figures]
        clients = [r.figures["clients_connected"] for r in mine
                   if "clients_connected" in r.figures]
        counted = {c: round(sum(r.increases[c] for r in mine)) if mine else None
                   for c in COUNTERS}
        rows.append(BrokerRow(phase.name, phase.start_s, phase.end_s, counted["messages_in"],
                              counted["messages_out"], counted["dropped"],
                              round(max(queued)) if queued else None,
                              round(clients[-1]) if clients else None))
    return rows


def series(samples: Sequence[SampleRecord]) -> BrokerSeries:
    """Messages in / out and dropped per second, one point per broker update.

    The broker publishes ``$SYS`` every few seconds and samples come every second, so a
    reading equal to the previous one is no news: no point there; a changed reading's
    rate is its increase over the time since the last changed reading. Empty lists when
    no sample has broker figures.
    """
    out = BrokerSeries()
    read = readings(samples)
    since = read[0].t if read else 0.0
    pending = {c: 0.0 for c in COUNTERS}
    changed_before = False
    for r in read[1:]:
        for c in COUNTERS:
            pending[c] += r.increases[c]
        changed = any(r.increases[c] for c in COUNTERS)
        out.t.append(round(r.t, 1))
        if not changed or r.t <= since:
            for c in COUNTERS:
                out.rates(c).append(None)
            continue
        for c in COUNTERS:
            out.rates(c).append(round(pending[c] / (r.t - since), 1))
        pending = {c: 0.0 for c in COUNTERS}
        since = r.t
        changed_before = True
    return out if changed_before else BrokerSeries()
