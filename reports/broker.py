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

from typing import Any

COUNTERS = ("messages_in", "messages_out", "dropped")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value \
            and abs(value) != float("inf"):
        return float(value)
    return None


def _increase(now: float | None, before: float | None) -> float:
    if now is None or before is None:
        return 0.0
    return now - before if now >= before else now


def readings(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """(t, phase, figures) of every sample with a usable ``broker`` entry."""
    out = []
    for s in samples:
        broker = s.get("broker")
        t = _number(s.get("t"))
        if not isinstance(broker, dict) or t is None:
            continue
        figures = {str(k): _number(v) for k, v in broker.items()}
        figures = {k: v for k, v in figures.items() if v is not None}
        if figures:
            out.append({"t": t, "phase": s.get("phase"), "figures": figures})
    return out


def _with_increases(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each reading with the counters' increases since the previous reading (0 for the first)."""
    out: list[dict[str, Any]] = []
    last: dict[str, float] = {}
    for r in readings(samples):
        f = r["figures"]
        increases = {c: _increase(f.get(c), last.get(c)) for c in COUNTERS}
        out.append({**r, "increases": increases})
        last.update({c: f[c] for c in COUNTERS if c in f})
    return out


def phase_rows(samples: list[dict[str, Any]], phases: list[dict[str, Any]]
               ) -> list[dict[str, Any]]:
    """One row per phase: counters' increases, peak queued/inflight, clients at its end.

    Empty when no sample has broker figures.
    """
    read = _with_increases(samples)
    if not read:
        return []
    rows = []
    for phase in phases:
        name = phase.get("name")
        mine = [r for r in read if r["phase"] == name]
        queued = [r["figures"]["queued_inflight"] for r in mine
                  if "queued_inflight" in r["figures"]]
        clients = [r["figures"]["clients_connected"] for r in mine
                   if "clients_connected" in r["figures"]]
        row: dict[str, Any] = {"name": name, "start_s": phase.get("start_s"),
                               "end_s": phase.get("end_s")}
        for c in COUNTERS:
            row[c] = round(sum(r["increases"][c] for r in mine)) if mine else None
        row["peak_queued_inflight"] = round(max(queued)) if queued else None
        row["clients_connected"] = round(clients[-1]) if clients else None
        rows.append(row)
    return rows


def series(samples: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Messages in / out and dropped per second, one point per broker update.

    The broker publishes ``$SYS`` every few seconds and samples come every second, so a
    reading equal to the previous one is no news: no point there; a changed reading's
    rate is its increase over the time since the last changed reading. Empty lists when
    no sample has broker figures.
    """
    out: dict[str, list[Any]] = {"t": [], "messages_in_per_s": [], "messages_out_per_s": [],
                                 "dropped_per_s": []}
    read = _with_increases(samples)
    since = read[0]["t"] if read else 0.0
    pending = {c: 0.0 for c in COUNTERS}
    changed_before = False
    for r in read[1:]:
        for c in COUNTERS:
            pending[c] += r["increases"][c]
        changed = any(r["increases"][c] for c in COUNTERS)
        out["t"].append(round(r["t"], 1))
        if not changed or r["t"] <= since:
            for c in COUNTERS:
                out[f"{c}_per_s"].append(None)
            continue
        for c in COUNTERS:
            out[f"{c}_per_s"].append(round(pending[c] / (r["t"] - since), 1))
        pending = {c: 0.0 for c in COUNTERS}
        since = r["t"]
        changed_before = True
    if not changed_before:
        return {k: [] for k in out}
    return out
